// The seed's config.py, class by class, in its order.
#include "common/flasky/config.hpp"

#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/Path.h>

#include <Poco/String.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace flasky {

using common::config::ConfigError;
using common::config::env;

std::string sqlite_in_working_directory(std::string_view file) {
    // Poco::Path::current() ends with '/', so this is 'sqlite:///' + '/abs/dir/' + file. It
    // throws when the working directory has been deleted; the config objects are built at
    // start-up, so that ended every program before main(), `flasky --help` too. The name
    // stays relative then, and opening the database says what is wrong.
    try {
        return "sqlite:///" + Poco::Path::current() + std::string(file);
    } catch (const Poco::Exception&) {
        return "sqlite:///" + std::string(file);
    }
}

namespace {

/// Not in the notes: the session cookie's keys from the environment, as the classes' keys are
/// (they are Flask's, not config.py's, so no class lists them). Behind HTTPS:
/// export SESSION_COOKIE_SECURE=1.
void session_cookie_from_env(common::config::Config& app_config) {
    const auto variable = [](const char* name) { return Poco::Environment::get(name, ""); };
    if (auto name = variable("SESSION_COOKIE_NAME"); !name.empty())
        app_config.set("SESSION_COOKIE_NAME", name, "env SESSION_COOKIE_NAME");
    if (auto secure = Poco::toLower(variable("SESSION_COOKIE_SECURE")); !secure.empty()) {
        const bool on = secure == "1" || secure == "true" || secure == "yes" || secure == "on";
        if (!on && secure != "0" && secure != "false" && secure != "no" && secure != "off")
            throw ConfigError("environment variable SESSION_COOKIE_SECURE=" + secure +
                              " is not a bool; use 1/0, true/false, yes/no or on/off");
        app_config.set("SESSION_COOKIE_SECURE", on, "env SESSION_COOKIE_SECURE");
    }
    if (auto lifetime = variable("PERMANENT_SESSION_LIFETIME"); !lifetime.empty()) {
        std::int64_t seconds = 0;
        const auto [end, ec] =
            std::from_chars(lifetime.data(), lifetime.data() + lifetime.size(), seconds);
        if (ec != std::errc{} || end != lifetime.data() + lifetime.size() || seconds <= 0)
            throw ConfigError("environment variable PERMANENT_SESSION_LIFETIME=" + lifetime +
                              " is not a positive number of seconds");
        app_config.set("PERMANENT_SESSION_LIFETIME", seconds, "env PERMANENT_SESSION_LIFETIME");
    }
}

}  // namespace

// ANCHOR: bodies
Config::Config() {
    class_body("Config");
    attr("SECRET_KEY", env("SECRET_KEY", std::string(default_secret_key)));
    // Erratum: Flask-SQLAlchemy removed this option (it committed half-done work when a
    // request failed). Kept so the table matches the notes; nothing reads it.
    attr("SQLALCHEMY_COMMIT_ON_TEARDOWN", true);
    attr("FLASKY_MAIL_SUBJECT_PREFIX", "[Flasky]");
    // The notes' address; the book has 'Flasky Admin <flasky@example.com>'.
    attr("FLASKY_MAIL_SENDER", "879651072@qq.com");
    attr("FLASKY_ADMIN", env("FLASKY_ADMIN"));
}

void Config::init_app(common::config::Config& /*app_config*/) const {
    // `pass` in the seed: the base class needs no set-up. Subclasses override it.
}

DevelopmentConfig::DevelopmentConfig() {
    class_body("DevelopmentConfig");
    attr("DEBUG", true);
    attr("MAIL_SERVER", "smtp.qq.com");
    attr("MAIL_PORT", 587);
    attr("MAIL_USE_TLS", true);
    attr("MAIL_USERNAME", env("MAIL_USERNAME"));
    attr("MAIL_PASSWORD", env("MAIL_PASSWORD"));
    attr("SQLALCHEMY_DATABASE_URI",
         env("DEV_DATABASE_URI", sqlite_in_working_directory("data-dev.sqlite")));
}

TestingConfig::TestingConfig() {
    class_body("TestingConfig");
    // Not the workbook's same-name variables: the tests must see this config on every machine,
    // and an exported SQLALCHEMY_DATABASE_URI must not be the database the tests drop. Python's
    // TestingConfig reads TEST_DATABASE_URI (and the base class's lookups) only.
    only_the_seeds_lookups();
    attr("TESTING", true);
    attr("SQLALCHEMY_DATABASE_URI",
         env("TEST_DATABASE_URI", sqlite_in_working_directory("data-test.sqlite")));
}

ProductionConfig::ProductionConfig() {
    class_body("ProductionConfig");
    attr("SQLALCHEMY_DATABASE_URI",
         env("DATABASE_URI", sqlite_in_working_directory("data.sqlite")));
    // Not in the notes: without these keys the production app could not be pointed at a mail
    // server. Flask-Mail's own defaults; a same-name environment variable overrides each.
    attr("MAIL_SERVER", "localhost");
    attr("MAIL_PORT", 25);
    attr("MAIL_USE_TLS", false);
    attr("MAIL_USE_SSL", false);
    attr("MAIL_USERNAME", env("MAIL_USERNAME"));
    attr("MAIL_PASSWORD", env("MAIL_PASSWORD"));
}

void ProductionConfig::init_app(common::config::Config& app_config) const {
    Config::init_app(app_config);
    // Whoever knows the secret key can forge session cookies, and the default one is printed
    // in every copy of config.py.
    const std::string key = app_config.get_string_or("SECRET_KEY", "");
    const bool blank =
        std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isspace(c); });
    if (blank || key == default_secret_key)
        throw ConfigError(std::string("ProductionConfig refuses to start with ") +
                          (blank ? "an empty SECRET_KEY" : "the default SECRET_KEY") +
                          ": set SECRET_KEY to a long random value, e.g. "
                          "export SECRET_KEY=$(openssl rand -hex 32)");
    session_cookie_from_env(app_config);
}
// ANCHOR_END: bodies

namespace {
// One object per class, like Python's class objects; the registry points at them.
const DevelopmentConfig development_config;
const TestingConfig testing_config;
const ProductionConfig production_config;
}  // namespace

// ANCHOR: registry
const common::config::Registry<Config> config{
    {"development", &development_config},
    {"testing", &testing_config},
    {"production", &production_config},
    {"default", &development_config},
};
// ANCHOR_END: registry

ConfigChoice choose_config(std::optional<std::string> argument) {
    if (argument) return {std::move(*argument), "from the command line"};
    // FLASKY_CONFIG first; FLASK_CONFIG is the book's name for it (manage.py's
    // os.getenv('FLASK_CONFIG')), so a reader of the book gets the config they asked for.
    for (const char* variable : {"FLASKY_CONFIG", "FLASK_CONFIG"}) {
        const std::string from_env = Poco::Environment::get(variable, "");
        if (!from_env.empty()) return {from_env, std::string("from env ") + variable};
    }
    return {"default", "the default: no argument, FLASKY_CONFIG and FLASK_CONFIG unset"};
}

std::vector<std::string> environment_variables() {
    std::set<std::string> names{"FLASKY_CONFIG", "FLASK_CONFIG"};
    for (const auto& name : config.names())
        for (auto& variable : config[name].environment_variables()) names.insert(variable);
    return {names.begin(), names.end()};
}

}  // namespace flasky

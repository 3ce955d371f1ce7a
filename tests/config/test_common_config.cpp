#define BOOST_TEST_MODULE common_config
#include <boost/test/unit_test.hpp>

#include "common/config/config.hpp"
#include "common/config/config_class.hpp"
#include "common/config/scoped_env.hpp"

#include <memory>
#include <vector>

using common::config::Config;
using common::config::ConfigError;
using common::config::ScopedEnv;
using common::config::Value;

namespace {

// A two-level hierarchy shaped like the seed's, with names no machine sets.
struct BaseCfg : common::config::ConfigClass {
    BaseCfg() {
        class_body("BaseCfg");
        attr("WB_TEST_NAME", "base");
        attr("WB_TEST_PORT", 587);
        attr("WB_TEST_TLS", true);
        attr("WB_TEST_USER", common::config::env("WB_TEST_USER"));
        attr("WB_TEST_SECRET_KEY", common::config::env("WB_TEST_SECRET_KEY", "dev secret"));
    }
};
struct ChildCfg : BaseCfg {
    ChildCfg() {
        class_body("ChildCfg");
        attr("WB_TEST_NAME", "child");
        attr("WB_TEST_URI", common::config::env("WB_TEST_ALIAS_URI", "sqlite:///x.sqlite"));
    }
};

// Every variable the classes read, unset for the test's duration.
struct CleanEnv {
    std::vector<std::unique_ptr<ScopedEnv>> guards;
    CleanEnv() {
        for (const auto& name : ChildCfg{}.environment_variables())
            guards.push_back(std::make_unique<ScopedEnv>(name, std::nullopt));
    }
};

bool message_has(const ConfigError& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Store)

BOOST_AUTO_TEST_CASE(typed_getters_return_the_stored_type) {
    Config c;
    c.set("S", "text");
    c.set("I", 42);
    c.set("B", false);
    c.set("N", Value{});
    BOOST_TEST(c.get_string("S") == "text");
    BOOST_TEST(c.get_int("I") == 42);
    BOOST_TEST(c.get_bool("B") == false);
    BOOST_TEST(c.source("S") == "set in code");
    BOOST_TEST(c.keys() == (std::vector<std::string>{"B", "I", "N", "S"}));
    BOOST_TEST(std::holds_alternative<std::monostate>(c["N"]));
}

BOOST_AUTO_TEST_CASE(const_char_is_stored_as_str_not_bool) {
    Config c;
    c.set("S", "smtp.qq.com");
    BOOST_TEST(std::holds_alternative<std::string>(c["S"]));
}

BOOST_AUTO_TEST_CASE(wrong_type_names_key_and_expected_type) {
    Config c;
    c.set("MAIL_PORT", "abc");
    BOOST_CHECK_EXCEPTION(c.get_int("MAIL_PORT"), ConfigError, [](const ConfigError& e) {
        return message_has(e, "'MAIL_PORT' is str 'abc'") && message_has(e, "expected int");
    });
    BOOST_CHECK_EXCEPTION(c.get_bool("MAIL_PORT"), ConfigError,
                          [](const ConfigError& e) { return message_has(e, "expected bool"); });
}

BOOST_AUTO_TEST_CASE(missing_key_is_an_error_naming_it) {
    Config c;
    BOOST_CHECK_EXCEPTION(c["NOPE"], ConfigError, [](const ConfigError& e) {
        return message_has(e, "no config key 'NOPE'");
    });
    BOOST_CHECK_EXCEPTION(c.source("NOPE"), ConfigError,
                          [](const ConfigError& e) { return message_has(e, "'NOPE'"); });
}

BOOST_AUTO_TEST_CASE(fallbacks_apply_to_missing_and_none_only) {
    Config c;
    c.set("N", Value{});
    c.set("S", "x");
    BOOST_TEST(c.get_string_or("MISSING", "fb") == "fb");
    BOOST_TEST(c.get_string_or("N", "fb") == "fb");
    BOOST_TEST(c.get_string_or("S", "fb") == "x");
    BOOST_TEST(c.get_int_or("N", 7) == 7);
    BOOST_TEST(c.get_bool_or("MISSING", true) == true);
    BOOST_TEST(!c.get_optional_string("N").has_value());
    BOOST_TEST(c.get_optional_string("S").value() == "x");
    BOOST_CHECK_THROW(c.get_int_or("S", 1), ConfigError);  // a str is still not an int
}

BOOST_AUTO_TEST_CASE(secrets_are_masked) {
    Config c;
    c.set("SECRET_KEY", "s3cret");
    c.set("MAIL_PASSWORD", "pw");
    c.set("API_TOKEN", "t");
    c.set("MAIL_SERVER", "smtp.qq.com");
    c.set("NO_PASSWORD_SET", Value{});
    BOOST_TEST(c.display("SECRET_KEY") == "***");
    BOOST_TEST(c.display("MAIL_PASSWORD") == "***");
    BOOST_TEST(c.display("API_TOKEN") == "***");
    BOOST_TEST(c.display("MAIL_SERVER") == "'smtp.qq.com'");
    BOOST_TEST(c.display("NO_PASSWORD_SET") == "None");
    c.set("MAIL_PORT", "s3cret");
    BOOST_CHECK_EXCEPTION(c.get_int("SECRET_KEY"), ConfigError, [](const ConfigError& e) {
        return message_has(e, "***") && !message_has(e, "s3cret");
    });
}

BOOST_AUTO_TEST_CASE(repr_is_pythons) {
    using common::config::repr;
    BOOST_TEST(repr(Value{}) == "None");
    BOOST_TEST(repr(Value{true}) == "True");
    BOOST_TEST(repr(Value{std::int64_t{587}}) == "587");
    BOOST_TEST(repr(Value{std::string("a'b")}) == "\"a'b\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(FromObject)

BOOST_AUTO_TEST_CASE(loads_inherited_and_own_attributes_with_their_class) {
    CleanEnv clean;
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(c.get_string("WB_TEST_NAME") == "child");
    BOOST_TEST(c.source("WB_TEST_NAME") == "ChildCfg");
    BOOST_TEST(c.get_int("WB_TEST_PORT") == 587);
    BOOST_TEST(c.source("WB_TEST_PORT") == "BaseCfg");
    BOOST_TEST(c.get_bool("WB_TEST_TLS") == true);
    BOOST_TEST(c.get_string("WB_TEST_SECRET_KEY") == "dev secret");
    BOOST_TEST(c.get_string("WB_TEST_URI") == "sqlite:///x.sqlite");
    BOOST_TEST(std::holds_alternative<std::monostate>(c["WB_TEST_USER"]));
    BOOST_TEST((ChildCfg{}.lineage() == std::vector<std::string>{"BaseCfg", "ChildCfg"}));
}

BOOST_AUTO_TEST_CASE(same_name_environment_variable_wins_typed) {
    CleanEnv clean;
    ScopedEnv port("WB_TEST_PORT", "2525"), tls("WB_TEST_TLS", "no"), name("WB_TEST_NAME", "env");
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(c.get_int("WB_TEST_PORT") == 2525);
    BOOST_TEST(c.source("WB_TEST_PORT") == "env WB_TEST_PORT");
    BOOST_TEST(c.get_bool("WB_TEST_TLS") == false);
    BOOST_TEST(c.get_string("WB_TEST_NAME") == "env");
}

BOOST_AUTO_TEST_CASE(bool_spellings) {
    CleanEnv clean;
    for (const char* falsy : {"0", "false", "False", "no", "off"}) {
        ScopedEnv tls("WB_TEST_TLS", falsy);
        Config c;
        c.from_object(ChildCfg{});
        BOOST_TEST(c.get_bool("WB_TEST_TLS") == false, falsy);
    }
    for (const char* truthy : {"1", "true", "yes", "ON"}) {
        ScopedEnv tls("WB_TEST_TLS", truthy);
        Config c;
        c.from_object(ChildCfg{});
        BOOST_TEST(c.get_bool("WB_TEST_TLS") == true, truthy);
    }
}

BOOST_AUTO_TEST_CASE(bad_typed_environment_value_names_the_variable) {
    CleanEnv clean;
    {
        ScopedEnv port("WB_TEST_PORT", "abc");
        Config c;
        BOOST_CHECK_EXCEPTION(c.from_object(ChildCfg{}), ConfigError, [](const ConfigError& e) {
            return message_has(e, "WB_TEST_PORT='abc'") && message_has(e, "not an int");
        });
    }
    {
        ScopedEnv tls("WB_TEST_TLS", "maybe");
        Config c;
        BOOST_CHECK_EXCEPTION(c.from_object(ChildCfg{}), ConfigError, [](const ConfigError& e) {
            return message_has(e, "WB_TEST_TLS='maybe'") && message_has(e, "not a bool");
        });
    }
}

BOOST_AUTO_TEST_CASE(seed_lookup_variable_sets_the_key_and_is_the_source) {
    CleanEnv clean;
    ScopedEnv alias("WB_TEST_ALIAS_URI", "sqlite:////tmp/a.db");
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(c.get_string("WB_TEST_URI") == "sqlite:////tmp/a.db");
    BOOST_TEST(c.source("WB_TEST_URI") == "env WB_TEST_ALIAS_URI");
}

BOOST_AUTO_TEST_CASE(a_seed_lookup_reads_its_own_variable_only) {
    // A same-name variable for a key the seed reads from another variable is not read: an
    // exported SQLALCHEMY_DATABASE_URI replaced DEV_DATABASE_URI's database.
    CleanEnv clean;
    ScopedEnv same("WB_TEST_URI", "sqlite:////tmp/b.db");
    {
        Config c;
        c.from_object(ChildCfg{});
        BOOST_TEST(c.source("WB_TEST_URI") != "env WB_TEST_URI");
    }
    ScopedEnv alias("WB_TEST_ALIAS_URI", "sqlite:////tmp/a.db");
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(c.get_string("WB_TEST_URI") == "sqlite:////tmp/a.db");
    BOOST_TEST(c.source("WB_TEST_URI") == "env WB_TEST_ALIAS_URI");
}

BOOST_AUTO_TEST_CASE(empty_variable_counts_as_unset) {
    CleanEnv clean;
    ScopedEnv secret("WB_TEST_SECRET_KEY", ""), port("WB_TEST_PORT", "");
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(c.get_string("WB_TEST_SECRET_KEY") == "dev secret");
    BOOST_TEST(c.source("WB_TEST_SECRET_KEY") == "BaseCfg");
    BOOST_TEST(c.get_int("WB_TEST_PORT") == 587);
}

BOOST_AUTO_TEST_CASE(variables_for_keys_the_class_does_not_define_are_not_read) {
    CleanEnv clean;
    ScopedEnv other("WB_TEST_NOT_A_KEY", "x");
    Config c;
    c.from_object(ChildCfg{});
    BOOST_TEST(!c.contains("WB_TEST_NOT_A_KEY"));
}

BOOST_AUTO_TEST_CASE(unset_variable_says_what_to_export) {
    CleanEnv clean;
    Config c;
    c.from_object(ChildCfg{});
    BOOST_CHECK_EXCEPTION(c.get_string("WB_TEST_USER"), ConfigError, [](const ConfigError& e) {
        return message_has(e, "WB_TEST_USER is not set") && message_has(e, "export WB_TEST_USER=");
    });
    BOOST_TEST(!c.get_optional_string("WB_TEST_USER").has_value());
}

BOOST_AUTO_TEST_CASE(lowercase_attribute_is_refused) {
    struct Bad : common::config::ConfigClass {
        Bad() {
            class_body("Bad");
            attr("debug", true);
        }
    };
    BOOST_CHECK_EXCEPTION(Bad{}, ConfigError,
                          [](const ConfigError& e) { return message_has(e, "not UPPERCASE"); });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(RegistryLookup)

BOOST_AUTO_TEST_CASE(unknown_name_lists_valid_names_and_hints_case) {
    BaseCfg base;
    ChildCfg child;
    common::config::Registry<common::config::ConfigClass> r{
        {"base", &base}, {"child", &child}, {"default", &base}};
    BOOST_TEST(&r["default"] == &r["base"]);
    BOOST_TEST(r["child"].name() == "ChildCfg");
    BOOST_CHECK_EXCEPTION(r["Child"], ConfigError, [](const ConfigError& e) {
        return message_has(e, "unknown config name 'Child'") &&
               message_has(e, "valid names: base, child, default") &&
               message_has(e, "did you mean 'child'");
    });
    BOOST_CHECK_EXCEPTION(r["nope"], ConfigError,
                          [](const ConfigError& e) { return !message_has(e, "did you mean"); });
}

BOOST_AUTO_TEST_SUITE_END()

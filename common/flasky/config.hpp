#pragma once
// The seed's config.py as C++: the Config base class, one subclass per environment, and the
// `config` registry that create_app() picks a class from by name.

#include "common/config/config.hpp"
#include "common/config/config_class.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flasky {

/// The SECRET_KEY every copy of config.py ships with; fine for development, refused by
/// ProductionConfig::init_app.
inline constexpr std::string_view default_secret_key = "hard to guess string";

// ANCHOR: classes
/// class Config: — the settings every configuration shares.
class Config : public common::config::ConfigClass {
public:
    Config();
    /// `@staticmethod def init_app(app)`: configuration-specific set-up of the app. Python calls
    /// it on the class, `config[name].init_app(app)`; here the registry holds one object per
    /// class and the call is virtual, so a subclass's override runs. There is no App yet, so it
    /// takes the app's config; chapter 04's create_app passes app.config.
    virtual void init_app(common::config::Config& app_config) const;
};

/// class DevelopmentConfig(Config):
class DevelopmentConfig : public Config {
public:
    DevelopmentConfig();
};

/// class TestingConfig(Config):
class TestingConfig : public Config {
public:
    TestingConfig();
};

/// class ProductionConfig(Config):
class ProductionConfig : public Config {
public:
    ProductionConfig();
    /// Refuses to run with the default or an empty SECRET_KEY.
    void init_app(common::config::Config& app_config) const override;
};

/// config = {'development': DevelopmentConfig, 'testing': TestingConfig,
///           'production': ProductionConfig, 'default': DevelopmentConfig}
/// Lowercase names only (the seed's 'Production' is an erratum); an unknown name is a
/// ConfigError listing the valid ones. Do not use it from another file's static initialiser.
extern const common::config::Registry<Config> config;
// ANCHOR_END: classes

/// `'sqlite:///' + os.path.join(basedir, file)`, with the working directory for basedir. The
/// seed's basedir is the folder of config.py; a compiled program has no source folder at run
/// time, so the database goes where the program was started (read once, when the config
/// classes are created).
std::string sqlite_in_working_directory(std::string_view file);

/// Which config to use, and why.
struct ConfigChoice {
    std::string name;  ///< e.g. "default"
    /// "from the command line", "from env FLASKY_CONFIG" or
    /// "the default: no argument, FLASKY_CONFIG and FLASK_CONFIG unset"
    std::string source;
};

/// manage.py's `os.getenv('FLASK_CONFIG') or 'default'`, with an argument first: the
/// argument if given, else the FLASKY_CONFIG environment variable (empty counts as unset),
/// else FLASK_CONFIG (the book's name), else 'default'. The name is not checked here; `config[name]` does that.
ConfigChoice choose_config(std::optional<std::string> argument);

/// Every environment variable loading any registered config may read, plus FLASKY_CONFIG and
/// FLASK_CONFIG;
/// sorted. Tests unset them; the chapter lists them.
std::vector<std::string> environment_variables();

}  // namespace flasky

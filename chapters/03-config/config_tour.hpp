#pragma once
// Chapter 03: the seed's config.py — config classes, the `config` registry and environment
// overrides — run and printed as a table.

#include "common/config/config.hpp"
#include "common/flasky/config.hpp"

#include <iosfwd>
#include <optional>
#include <string>

namespace ch03 {

/// What create_app() does with a config class (chapter 04 does it for real):
///     app.config.from_object(config[name])
///     config[name].init_app(app)
/// Throws ConfigError when init_app refuses (ProductionConfig without a SECRET_KEY).
void configure(common::config::Config& app_config, const flasky::Config& cls);

/// The chapter: the registry, then for the chosen config (argument, else FLASKY_CONFIG, else
/// 'default') every key with its source and value (secrets masked), and what unset values
/// say when used. Throws ConfigError for an unknown name (before printing the table) and when
/// init_app refuses (after it).
void run(std::ostream& out, std::optional<std::string> name);

}  // namespace ch03

#pragma once
// app/__init__.py: the extensions, created without an app, and the application factory.

#include "common/flasky/extensions.hpp"
#include "common/web/app.hpp"
#include "common/web/extensions.hpp"

#include <memory>
#include <string_view>

namespace flasky {

// ANCHOR: extensions
// bootstrap = Bootstrap(); mail = Mail(); moment = Moment(); db = SQLAlchemy()
extern common::web::Bootstrap bootstrap;
extern Mail mail;
extern common::web::Moment moment;
extern SQLAlchemy db;
// ANCHOR_END: extensions

/// create_app(config_name): a new, fully configured app. Throws ConfigError for an unknown
/// name (listing the valid ones) or a config its init_app refuses.
std::unique_ptr<common::web::App> create_app(std::string_view config_name);

}  // namespace flasky

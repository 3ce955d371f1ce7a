#include "common/flasky/app.hpp"

#include "common/flasky/config.hpp"
#include "common/flasky/main/main.hpp"

namespace flasky {

common::web::Bootstrap bootstrap;
Mail mail;
common::web::Moment moment;
SQLAlchemy db;

// ANCHOR: create_app
std::unique_ptr<common::web::App> create_app(std::string_view config_name) {
    auto app = std::make_unique<common::web::App>("flasky", FLASKY_ROOT);
    app->config.from_object(config[config_name]);
    config[config_name].init_app(app->config);

    bootstrap.init_app(*app);
    mail.init_app(*app);
    moment.init_app(*app);
    db.init_app(*app);

    app->register_blueprint(main::blueprint());
    return app;
}
// ANCHOR_END: create_app

}  // namespace flasky

#include "common/flasky/extensions.hpp"

#include "common/db/db.hpp"
#include "common/flasky/models.hpp"
#include "common/mail/async_sender.hpp"
#include "common/mail/mail.hpp"
#include "common/mail/settings.hpp"

#include <iostream>
#include <variant>

namespace flasky {

namespace web = common::web;

namespace {

constexpr std::string_view db_key = "sqlalchemy";
constexpr std::string_view session_key = "sqlalchemy.session";
constexpr std::string_view mail_key = "mail";

// What init_app leaves in app.extensions for Mail: the settings-bound Mail and its sender.
// The sender is declared last so that it stops (and drains) before the Mail it sends with.
struct MailState {
    explicit MailState(common::mail::MailSettings settings)
        : mail(std::move(settings)), sender(mail) {}
    common::mail::Mail mail;
    common::mail::AsyncSender sender;
};

}  // namespace

// ---- SQLAlchemy ---------------------------------------------------------------------------

// ANCHOR: db_init_app
void SQLAlchemy::init_app(web::App& app) {
    const std::string uri = app.config.get_string("SQLALCHEMY_DATABASE_URI");
    std::ostream* echo = app.config.get_bool_or("SQLALCHEMY_ECHO", false) ? &std::clog : nullptr;
    app.extensions.add(std::string(db_key),
                       std::make_shared<common::db::Database>(uri, metadata(), echo));
    // Flask-SQLAlchemy's teardown_appcontext → session.remove(): a request's unfinished work
    // is rolled back, never left for the next request.
    app.teardown_request(
        [](web::Context& ctx, std::exception_ptr) { ctx.g.erase(std::string(session_key)); });
}

common::db::Session& SQLAlchemy::session(web::Context& ctx) const {
    auto it = ctx.g.find(session_key);
    if (it == ctx.g.end()) {
        auto session = std::make_shared<common::db::Session>(engine(ctx.app));
        it = ctx.g.emplace(std::string(session_key), std::move(session)).first;
    }
    return *std::any_cast<std::shared_ptr<common::db::Session>&>(it->second);
}
// ANCHOR_END: db_init_app

common::db::Database& SQLAlchemy::engine(const web::App& app) const {
    return app.extensions.get<common::db::Database>(db_key);
}

void SQLAlchemy::create_all(const web::App& app) const { engine(app).create_all(); }
void SQLAlchemy::drop_all(const web::App& app) const { engine(app).drop_all(); }

// ---- Mail ---------------------------------------------------------------------------------

void Mail::init_app(web::App& app) {
    const auto& config = app.config;
    auto settings = common::mail::MailSettings::from_lookup(
        [&config](std::string_view key) -> std::optional<std::string> {
            if (!config.contains(key)) {
                if (key == "MAIL_SUPPRESS_SEND")
                    return config.get_bool_or("TESTING", false) ? "true" : "false";
                return std::nullopt;
            }
            const auto& value = config[key];
            if (std::holds_alternative<std::monostate>(value)) return std::nullopt;
            if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
            if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
            return std::get<std::string>(value);
        });
    auto state = std::make_shared<MailState>(std::move(settings));
    app.extensions.add(std::string(mail_key), state);
    // On SIGINT/SIGTERM the server finishes its requests, then this delivers what is queued.
    app.on_shutdown([weak = std::weak_ptr<MailState>(state)] {
        if (auto s = weak.lock()) s->sender.shutdown();
    });
}

common::mail::Mail& Mail::for_app(const web::App& app) const {
    return app.extensions.get<MailState>(mail_key).mail;
}

common::mail::AsyncSender& Mail::sender(const web::App& app) const {
    return app.extensions.get<MailState>(mail_key).sender;
}

}  // namespace flasky

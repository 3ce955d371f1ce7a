#include "common/flasky/extensions.hpp"

#include "common/db/db.hpp"
#include "common/flasky/app.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/mail/mail.hpp"
#include "common/mail/settings.hpp"

#include <iostream>
#include <mutex>
#include <variant>

namespace flasky {

namespace web = common::web;

namespace {

constexpr std::string_view db_key = "sqlalchemy";
constexpr std::string_view session_key = "sqlalchemy.session";
constexpr std::string_view mail_key = "mail";

constexpr std::string_view outbox_queued_key = "mail.outbox_queued";

/// Removes `key` from g, saying whether it was there. The teardowns below run on every
/// request, and std::map::erase takes a string_view key only from C++23: finding it first
/// builds no std::string (a malloc) each time.
bool erase_from_g(web::Context& ctx, std::string_view key) {
    const auto it = ctx.g.find(key);
    if (it == ctx.g.end()) return false;
    ctx.g.erase(it);
    return true;
}

// What init_app leaves in app.extensions for Mail: the settings-bound Mail and the outbox
// drainer, made on first use (it needs the app's database, which db.init_app opens later).
// The drainer is declared last so that it stops before the Mail it sends with.
struct MailState {
    explicit MailState(common::mail::MailSettings settings) : mail(std::move(settings)) {}
    common::mail::Mail mail;
    std::mutex drainer_mutex;
    std::unique_ptr<OutboxDrainer> drainer;
};

}  // namespace

// ---- SQLAlchemy ---------------------------------------------------------------------------

namespace {

/// Flask-SQLAlchemy 2.x's pool settings (3.x moved them into SQLALCHEMY_ENGINE_OPTIONS, a
/// dict our flat config does not have); unset, SQLAlchemy's defaults: 5 + 10, 30 s.
common::db::PoolOptions pool_options(const common::config::Config& config) {
    common::db::PoolOptions pool;
    const auto count = [&](std::string_view key, std::size_t fallback) {
        const auto n = config.get_int_or(key, static_cast<std::int64_t>(fallback));
        if (n < 0)
            throw common::config::ConfigError("config " + std::string(key) +
                                              " must be 0 or more, got " + std::to_string(n));
        return static_cast<std::size_t>(n);
    };
    pool.pool_size = count("SQLALCHEMY_POOL_SIZE", pool.pool_size);
    pool.max_overflow = count("SQLALCHEMY_MAX_OVERFLOW", pool.max_overflow);
    pool.timeout = std::chrono::seconds(
        count("SQLALCHEMY_POOL_TIMEOUT",
              static_cast<std::size_t>(
                  std::chrono::duration_cast<std::chrono::seconds>(pool.timeout).count())));
    if (pool.pool_size + pool.max_overflow == 0)
        throw common::config::ConfigError(
            "config SQLALCHEMY_POOL_SIZE + SQLALCHEMY_MAX_OVERFLOW must be at least 1");
    return pool;
}

}  // namespace

// ANCHOR: db_init_app
void SQLAlchemy::init_app(web::App& app) {
    const std::string uri = app.config.get_string("SQLALCHEMY_DATABASE_URI");
    std::ostream* echo = app.config.get_bool_or("SQLALCHEMY_ECHO", false) ? &std::clog : nullptr;
    app.extensions.add(std::string(db_key), std::make_shared<common::db::Database>(
                                                uri, metadata(), echo, pool_options(app.config)));
    // Flask-SQLAlchemy's teardown_appcontext → session.remove(): a request's unfinished work
    // is rolled back, never left for the next request.
    app.teardown_request(
        [](web::Context& ctx, std::exception_ptr) { erase_from_g(ctx, session_key); });
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

void SQLAlchemy::create_all(const web::App& app) const {
    engine(app).create_all();
    upgrade_outbox_table(engine(app), std::clog);  // a table from before its last column
}
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
    // On SIGINT/SIGTERM the server finishes its requests, then the drainer stops after the
    // mail in flight; what is unsent stays in the outbox for the next start.
    app.on_shutdown([weak = std::weak_ptr<MailState>(state)] {
        if (auto s = weak.lock()) {
            std::lock_guard lock(s->drainer_mutex);
            if (s->drainer) s->drainer->stop();
        }
    });
    // A request that queued a mail has committed (or rolled back) by now: wake the drainer.
    app.teardown_request(
        [weak = std::weak_ptr<MailState>(state)](web::Context& ctx, std::exception_ptr) {
            if (!erase_from_g(ctx, outbox_queued_key)) return;
            if (auto s = weak.lock()) {
                std::lock_guard lock(s->drainer_mutex);
                if (s->drainer) s->drainer->wake();
            }
        });
}

void Mail::send(web::Context& ctx, const common::mail::Message& msg) const {
    enqueue(db.session(ctx), msg);
    ctx.g[std::string(outbox_queued_key)] = true;
}

OutboxDrainer& Mail::outbox(const web::App& app) const {
    auto& state = app.extensions.get<MailState>(mail_key);
    std::lock_guard lock(state.drainer_mutex);
    if (!state.drainer) state.drainer = std::make_unique<OutboxDrainer>(db.engine(app), state.mail);
    return *state.drainer;
}

common::mail::Mail& Mail::for_app(const web::App& app) const {
    return app.extensions.get<MailState>(mail_key).mail;
}

}  // namespace flasky

#pragma once
// The two extensions of the seed that are not about HTML: Flask-SQLAlchemy's `db` and
// Flask-Mail's `mail`. Like their Python originals they are created without an app and bound
// to one with init_app(); what they hold for an app lives in app.extensions, so one extension
// object serves many apps at once (a test creates an app per test case).

#include "common/web/app.hpp"

#include <memory>

namespace common::db {
class Database;
class Session;
}  // namespace common::db

namespace common::mail {
class Mail;
class Message;
}  // namespace common::mail

namespace flasky {

class OutboxDrainer;

/// `db = SQLAlchemy()`: the database of SQLALCHEMY_DATABASE_URI, and `db.session` — one
/// unit of work per request, removed (rolled back if not committed) when the request ends.
class SQLAlchemy {
public:
    /// Opens the database (SQLALCHEMY_ECHO=True prints the SQL to stderr) and adds the
    /// teardown that removes the request's session.
    void init_app(common::web::App& app);

    /// db.session inside a request.
    common::db::Session& session(common::web::Context& ctx) const;
    /// db.engine of an app: for sessions outside a request (commands, tests).
    common::db::Database& engine(const common::web::App& app) const;
    /// db.create_all() / db.drop_all()
    void create_all(const common::web::App& app) const;
    void drop_all(const common::web::App& app) const;
};

/// `mail = Mail()`: Flask-Mail configured from the app's MAIL_* keys, plus a durable outbox
/// (outbox.hpp) so that a slow or dead mail server never slows a request and never loses a
/// mail (the book's send_async_email thread, which forgets its message when the process ends).
class Mail {
public:
    /// Reads MAIL_* (MAIL_SUPPRESS_SEND defaults to TESTING, as in Flask-Mail). The app's
    /// shutdown stops the outbox drainer; the end of a request that queued a mail wakes it.
    void init_app(common::web::App& app);

    /// Queues `msg` in the request's db.session: it is committed with the request's work
    /// (or rolled back with it) and then delivered by the outbox drainer.
    void send(common::web::Context& ctx, const common::mail::Message& msg) const;

    /// The app's Mail (Flask-Mail state bound to it): send() now, connect(), record_messages()
    /// in tests.
    common::mail::Mail& for_app(const common::web::App& app) const;
    /// The app's outbox drainer: start() when serving, drain() for one pass in tests.
    OutboxDrainer& outbox(const common::web::App& app) const;
};

}  // namespace flasky

#include "common/db/database.hpp"

#include <algorithm>

namespace common::db {

Database::Database(std::string_view uri, Metadata metadata, std::ostream* echo)
    : uri_(uri), dialect_(Dialect::from_uri(uri)), metadata_(std::move(metadata)), echo_(echo) {
    // Open one connection now, so a bad path or a file that is not a database fails here,
    // with the URI in the message, rather than at the first query.
    idle_.push_back(dialect_->connect(echo_));
}

Database::~Database() { shared_.reset(); }

void Database::set_echo(std::ostream* echo) {
    std::lock_guard lock(mutex_);
    echo_ = echo;
}

std::shared_ptr<Connection> Database::acquire() {
    std::lock_guard lock(mutex_);
    if (dialect_->in_memory()) {
        // sqlite:// — one connection shared by every session, like SQLAlchemy's StaticPool:
        // a second connection would see a different, empty database.
        if (!shared_) shared_ = std::shared_ptr<Connection>(take_idle_or_connect());
        if (shared_->echo() != echo_) shared_->set_echo(echo_);
        return shared_;
    }
    std::unique_ptr<Connection> c = take_idle_or_connect();
    if (c->echo() != echo_) c->set_echo(echo_);
    // Back to the pool when the last user lets go (unless the Database is already gone).
    std::weak_ptr<bool> alive = alive_;
    return std::shared_ptr<Connection>(c.release(), [this, alive](Connection* p) {
        if (auto still = alive.lock())
            release(p);
        else
            delete p;
    });
}

std::unique_ptr<Connection> Database::take_idle_or_connect() {
    // A server restart leaves broken connections in the pool: drop them, open a new one.
    while (!idle_.empty() && !idle_.back()->usable()) idle_.pop_back();
    if (idle_.empty()) return dialect_->connect(echo_);
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
}

void Database::release(Connection* connection) {
    std::lock_guard lock(mutex_);
    idle_.emplace_back(connection);
}

void Database::create_all() {
    auto c = acquire();
    // In memory, a session may have a transaction open on the shared connection: join it.
    bool own = !c->in_transaction();
    if (own) c->execute("BEGIN");
    try {
        for (const auto* table : metadata_.tables()) {
            if (c->has_table(table->name())) continue;
            for (const auto& sql : table->create_sql(*dialect_)) c->execute(sql);
        }
        if (own) c->execute("COMMIT");
    } catch (...) {
        if (own) c->execute("ROLLBACK");
        throw;
    }
}

void Database::drop_all() {
    auto c = acquire();
    // In memory, a session may have a transaction open on the shared connection: join it.
    bool own = !c->in_transaction();
    if (own) c->execute("BEGIN");
    try {
        const auto& tables = metadata_.tables();
        for (auto it = tables.rbegin(); it != tables.rend(); ++it)
            if (c->has_table((*it)->name())) c->execute((*it)->drop_sql());
        if (own) c->execute("COMMIT");
    } catch (...) {
        if (own) c->execute("ROLLBACK");
        throw;
    }
}

}  // namespace common::db

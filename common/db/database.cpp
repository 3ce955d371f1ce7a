#include "common/db/database.hpp"

#include <algorithm>

namespace common::db {

Database::Database(std::string_view uri, Metadata metadata, std::ostream* echo, PoolOptions pool)
    : uri_(uri), dialect_(Dialect::from_uri(uri)), metadata_(std::move(metadata)), echo_(echo),
      pool_(pool) {
    if (pool_.pool_size + pool_.max_overflow == 0)
        throw UsageError("PoolOptions: pool_size + max_overflow must allow one connection");
    // Open one connection now, so a bad path or a file that is not a database fails here,
    // with the URI in the message, rather than at the first query.
    idle_.push_back(dialect_->connect(echo_));
    open_ = 1;
}

Database::~Database() { shared_.reset(); }

void Database::set_echo(std::ostream* echo) {
    std::lock_guard lock(mutex_);
    echo_ = echo;
}

std::shared_ptr<Connection> Database::acquire() {
    std::unique_lock lock(mutex_);
    if (dialect_->in_memory()) {
        // sqlite:// — one connection shared by every session, like SQLAlchemy's StaticPool:
        // a second connection would see a different, empty database.
        if (!shared_) shared_ = std::shared_ptr<Connection>(dialect_->connect(echo_));
        if (shared_->echo() != echo_) shared_->set_echo(echo_);
        return shared_;
    }
    const std::size_t bound = pool_.pool_size + pool_.max_overflow;
    if (!returned_.wait_for(lock, pool_.timeout, [&] { return !idle_.empty() || open_ < bound; }))
        throw OperationalError(
            "no database connection came free: all " + std::to_string(bound) +
            " of the pool (pool_size " + std::to_string(pool_.pool_size) + " + max_overflow " +
            std::to_string(pool_.max_overflow) + ") stayed in use for " +
            std::to_string(pool_.timeout.count()) +
            " ms; commit or close sessions sooner, or allow more connections (PoolOptions, "
            "SQLALCHEMY_POOL_SIZE and SQLALCHEMY_MAX_OVERFLOW)");
    // A server restart leaves broken connections in the pool: drop them.
    while (!idle_.empty() && !idle_.back()->usable()) {
        idle_.pop_back();
        --open_;
    }
    std::unique_ptr<Connection> c;
    if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
    } else {
        // Connecting may take up to the connect timeout (a server that accepts and never
        // answers): not under the lock, which every other session's acquire() and release()
        // need meanwhile. The slot is taken first, so the bound holds.
        ++open_;
        lock.unlock();
        try {
            c = dialect_->connect(echo_);
        } catch (...) {
            {
                std::lock_guard relock(mutex_);
                --open_;
            }
            returned_.notify_one();
            throw;
        }
    }
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

void Database::release(Connection* connection) {
    std::unique_ptr<Connection> closing(connection);
    {
        std::lock_guard lock(mutex_);
        // Kept for the next session, the overflow too, unlike SQLAlchemy's QueuePool, which
        // closes connections beyond pool_size as they come back: under a steady load above
        // pool_size that reopened a PostgreSQL connection (a server process, a few ms) for
        // nearly every request: 700 POSTs/s instead of 8,700. A connection the server dropped
        // is closed (outside the lock: closing may wait for the network).
        if (closing->usable())
            idle_.push_back(std::move(closing));
        else
            --open_;
    }
    returned_.notify_one();
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

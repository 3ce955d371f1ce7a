#pragma once
/// The engine: a database opened from a URI, its metadata, and its connections.
///
///     db::Database db("sqlite:///ch01.db", metadata);   // SQLALCHEMY_DATABASE_URI
///     db.create_all();
///     db::Session session(db);

#include "common/db/dialect.hpp"
#include "common/db/model.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace common::db {

/// The connection pool's bound, with SQLAlchemy's QueuePool defaults: at most pool_size +
/// max_overflow connections open at once (all of them kept open when idle: database.cpp says
/// why). A session that finds them all in use waits up to `timeout` for one, then gets an
/// OperationalError. Without a bound, 64 worker threads in each of two processes opened 128
/// connections to a PostgreSQL whose default max_connections is 100.
struct PoolOptions {
    std::size_t pool_size = 5;
    std::size_t max_overflow = 10;
    std::chrono::milliseconds timeout{30'000};
};

class Database {
public:
    /// Opens (and for SQLite files, creates) the database; throws UriError for a bad URI,
    /// OperationalError when a server cannot be reached.
    /// `echo`, like SQLALCHEMY_ECHO, receives every statement with its parameters.
    Database(std::string_view uri, Metadata metadata, std::ostream* echo = nullptr,
             PoolOptions pool = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// CREATE TABLE (and indexes) for every table that does not exist yet, parents first.
    void create_all();
    /// DROP TABLE for every table of the metadata that exists, children first.
    void drop_all();

    const std::string& uri() const { return uri_; }
    const Dialect& dialect() const { return *dialect_; }
    const Metadata& metadata() const { return metadata_; }
    std::ostream* echo() const { return echo_; }
    void set_echo(std::ostream* echo);

    /// A connection for a session: from the pool, or new, or the first one to come back when
    /// the pool is at its bound (PoolOptions). In-memory databases have exactly one
    /// connection, which every session shares (as SQLAlchemy's StaticPool does).
    std::shared_ptr<Connection> acquire();

    /// Held by a session from its first write to its commit or rollback: one writer at a time
    /// in this process, on engines that allow only one anyway (SQLite: queueing here wakes
    /// the next writer the moment the lock is free, where SQLite's busy handler polls with
    /// sleeps of up to 100 ms: a p99 of 250 ms under a write-heavy load, against 12 ms with
    /// the mutex). Not taken on PostgreSQL (Dialect::one_writer_at_a_time()).
    std::timed_mutex& writer() { return writer_; }

private:
    /// Back to the pool (or closed, when the server dropped it); wakes a waiting acquire().
    void release(Connection* connection);

    std::string uri_;
    std::unique_ptr<Dialect> dialect_;
    Metadata metadata_;
    std::ostream* echo_;
    std::mutex mutex_;
    std::timed_mutex writer_;
    PoolOptions pool_;
    std::size_t open_ = 0;              ///< connections of the pool, idle or in use
    std::condition_variable returned_;  ///< a connection came back (or was dropped)
    std::vector<std::unique_ptr<Connection>> idle_;
    std::shared_ptr<Connection> shared_;  // in-memory databases
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace common::db

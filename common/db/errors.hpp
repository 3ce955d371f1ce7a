#pragma once
/// Exceptions of common::db. Every message says what went wrong and what to do about it.

#include <stdexcept>
#include <string>

namespace common::db {

/// Base of every database error (catch this to catch them all).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The database URI cannot be used: unknown scheme, unreadable path, not a database.
class UriError : public Error {
public:
    using Error::Error;
};

/// A constraint (UNIQUE, FOREIGN KEY, NOT NULL) rejected a statement, like SQLAlchemy's
/// IntegrityError. The session that raised it needs `rollback()` before it is used again.
class IntegrityError : public Error {
public:
    IntegrityError(const std::string& message, std::string constraint, std::string sql)
        : Error(message), constraint_(std::move(constraint)), sql_(std::move(sql)) {}
    /// What failed, as the database names it, e.g. "users.name".
    const std::string& constraint() const noexcept { return constraint_; }
    /// The statement (with its bound parameters) that failed.
    const std::string& sql() const noexcept { return sql_; }

private:
    std::string constraint_;
    std::string sql_;
};

/// The statement is fine but the database cannot run it now: locked by another connection
/// past the busy timeout, the connection lost, a serialization failure. SQLAlchemy's
/// OperationalError. Trying again later may work, so a web app answers 503, not 500.
class OperationalError : public Error {
public:
    using Error::Error;
};

/// A previous flush failed; the session's transaction is gone until `rollback()`.
class PendingRollbackError : public Error {
public:
    using Error::Error;
};

/// `one()` found no row.
class NoResultFound : public Error {
public:
    using Error::Error;
};

/// `one()` found more than one row.
class MultipleResultsFound : public Error {
public:
    using Error::Error;
};

/// The object's row is gone: deleted in this session, or by someone else behind its back.
class ObjectDeletedError : public Error {
public:
    using Error::Error;
};

/// A flush found fewer rows than it changed in memory, like SQLAlchemy's StaleDataError: e.g.
/// removing from a dynamic many-to-many relationship an object that was not in it.
class StaleDataError : public Error {
public:
    using Error::Error;
};

/// A value that the column or the C++ member cannot hold (a std::uint64_t above 2^63 - 1, or a
/// row's 2^40 read into an int). SQLAlchemy raises OverflowError for the first; Python's int
/// has no second.
class DataError : public Error {
public:
    using Error::Error;
};

/// The program used the ORM the wrong way (a mapping mistake, a null handle, a model that is
/// not in the metadata). These are bugs to fix in the code, not conditions to handle.
class UsageError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

}  // namespace common::db

#pragma once
/// The dialect layer: everything that differs between database engines lives behind these
/// three interfaces (URI parsing, DDL types, placeholders, connections and statements), so a
/// PostgreSQL dialect is one more implementation, not a change all over the ORM.

#include "common/db/value.hpp"

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace common::db {

/// SQL column types the models can declare (SQLAlchemy's Integer, BigInteger, String(n),
/// Text, Boolean, Float). Each dialect spells them in its own DDL.
enum class SqlType { Integer, BigInteger, String, Text, Boolean, Float };

struct ColumnType {
    SqlType kind = SqlType::Integer;
    int length = 0;  ///< for String(n); 0 = no limit
};

/// A prepared statement. Bind (1-based, like SQL placeholders), step through the rows, reset,
/// bind again: that reuse is what makes batched inserts fast.
class Statement {
public:
    explicit Statement(std::string sql, std::ostream* echo) : sql_(std::move(sql)), echo_(echo) {}
    virtual ~Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind_null(int index);
    void bind(int index, std::int64_t v);
    void bind(int index, double v);
    /// The text must stay alive until the next step() (it is not copied).
    void bind(int index, std::string_view v);
    void bind(int index, const Value& v);

    /// Runs the statement (first call) or advances; true while a row is available.
    /// Constraint violations throw IntegrityError, other failures Error; both name the SQL.
    bool step();
    /// Ready for the next set of parameters.
    void reset();

    virtual bool is_null(int column) = 0;
    virtual std::int64_t get_int(int column) = 0;
    virtual double get_double(int column) = 0;
    virtual std::string_view get_text(int column) = 0;

    const std::string& sql() const { return sql_; }
    /// The SQL with the parameters bound so far, for error messages.
    std::string describe() const;

protected:
    virtual void do_bind_null(int index) = 0;
    virtual void do_bind(int index, std::int64_t v) = 0;
    virtual void do_bind(int index, double v) = 0;
    virtual void do_bind(int index, std::string_view v) = 0;
    virtual bool do_step() = 0;
    virtual void do_reset() = 0;

private:
    /// A parameter as bound, kept (without copying text) for echo and error messages.
    struct Bound {
        enum Kind : unsigned char { null, integer, real, text } kind = null;
        std::int64_t i = 0;
        double d = 0;
        std::string_view s;
    };
    Bound& slot(int index);

    std::string sql_;
    std::ostream* echo_;
    bool started_ = false;
    std::vector<Bound> params_;  // reused from row to row: no allocation after the first
};

/// One open connection. Statements are prepared once and cached by their SQL text.
class Connection {
public:
    explicit Connection(std::ostream* echo) : echo_(echo) {}
    virtual ~Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// The cached prepared statement for `sql` (reset, ready to bind).
    Statement& prepare(const std::string& sql);
    /// Runs statements without parameters (DDL, BEGIN, COMMIT), echoing them.
    void execute(const std::string& sql);
    /// The key the last INSERT generated, for an engine without returning_key() (SQLite).
    virtual std::int64_t last_insert_id();
    /// Rows changed by the last INSERT/UPDATE/DELETE.
    virtual std::int64_t changes() = 0;
    virtual bool has_table(const std::string& name) = 0;
    /// True between BEGIN and COMMIT/ROLLBACK.
    virtual bool in_transaction() = 0;
    /// False once the link to a server is broken: the pool drops such a connection.
    virtual bool usable() { return true; }

    std::ostream* echo() const { return echo_; }
    void set_echo(std::ostream* echo);

protected:
    virtual std::unique_ptr<Statement> do_prepare(const std::string& sql) = 0;
    virtual void do_execute(const std::string& sql) = 0;
    /// Drops the cached statements (call it before closing the underlying connection).
    void clear_cache() { cache_.clear(); }

private:
    std::ostream* echo_;
    std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

/// Engine-specific knowledge. Obtain one with Dialect::from_uri().
class Dialect {
public:
    virtual ~Dialect() = default;
    /// Parses `uri` and returns the dialect bound to that database. Throws UriError naming
    /// the URI and the accepted forms.
    static std::unique_ptr<Dialect> from_uri(std::string_view uri);
    /// The forms from_uri() accepts, for error messages and --help.
    static std::string accepted_uris();

    virtual std::string_view name() const = 0;
    /// DDL spelling of a column type, e.g. INTEGER, VARCHAR(64): SQLAlchemy's generic
    /// spellings, which SQLite and PostgreSQL share; a dialect that differs overrides it.
    virtual std::string type_ddl(ColumnType type) const;
    /// DDL type of a table's own generated key (its only primary-key column, no foreign key):
    /// SQLite numbers an INTEGER PRIMARY KEY itself, PostgreSQL needs SERIAL.
    virtual std::string key_type_ddl(ColumnType type) const { return type_ddl(type); }
    /// The n-th (1-based) parameter placeholder: "?" for SQLite, "$1" for PostgreSQL.
    virtual std::string placeholder(int n) const = 0;
    /// Opens a new connection with the per-connection settings applied.
    virtual std::unique_ptr<Connection> connect(std::ostream* echo) const = 0;
    /// Where the data lives, for messages ("file /work/ch01.db", "memory").
    virtual std::string location() const = 0;
    /// What precedes OFFSET when a query has no LIMIT (SQLite requires one: "LIMIT -1").
    virtual std::string offset_without_limit() const { return ""; }
    /// In-memory databases live in one connection, which all sessions must share.
    virtual bool in_memory() const { return false; }
    /// The statement that opens a session's transaction, at its first write.
    virtual std::string begin_write() const { return "BEGIN"; }
    /// What ends an INSERT so that it answers with the generated key (" RETURNING id" on
    /// PostgreSQL: the key comes back with the INSERT, not in a second round trip); "" when
    /// the connection's last_insert_id() gives it for free, as SQLite's does.
    virtual std::string returning_key(std::string_view) const { return ""; }
    /// True when the engine lets one transaction write at a time (SQLite locks the whole
    /// file): the sessions of one Database then queue for Database::writer() in-process.
    /// PostgreSQL locks rows, so its writers run side by side.
    virtual bool one_writer_at_a_time() const { return true; }
};

/// The URI as it may be shown (logs, transcripts, error messages): the password replaced by
/// `***`, as SQLAlchemy's repr(engine.url) shows it: postgresql://user:***@host/db. A
/// `password=` query parameter (libpq's socket form) is masked the same way.
std::string uri_for_display(std::string_view uri);

/// Where the user info of a URI ends (the index of its '@' in `authority_on`, the text after
/// "://"), as SQLAlchemy splits it: the user name runs to the first ':' and holds no '/', the
/// password runs to the next '@' and may hold '/', '?' or '#' written raw. npos: none.
std::size_t user_info_end(std::string_view authority_on);

}  // namespace common::db

// PostgreSQL on libpq, the C library every PostgreSQL client is built on. Why not Poco's
// PostgreSQL connector (Poco::Data::PostgreSQL, Debian's libpocodatapostgresql80)? Two
// measured reasons, on Poco 1.11:
// - it leaks: its SessionHandle calls PQfinish only while the connection's status is OK, so
//   a failed connect and a connection the server dropped both leave their PGconn behind
//   (ASan: 35 KB per refused connect). A server whose database is down would leak on every
//   request that tries to connect.
// - its statements bind through an AbstractBinder into Poco types on every execution and copy
//   every extracted value; the ORM's Statement is prepared once and bound, stepped and reset
//   per row, with text read back as string_view (for SQLite the same machinery costs five
//   times the raw library's insert time). PQprepare/PQexecPrepared is exactly that reuse.
// An earlier version let Poco open the connection and ran statements on its PGconn handle,
// like sqlite_dialect.cpp; the leak above is why the connection is now libpq's too.

#include "common/db/postgresql_dialect.hpp"

#include "common/db/errors.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <libpq-fe.h>
#include <poll.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <string_view>

namespace common::db::detail {
namespace {

std::string forms() {
    return "postgresql://user:password@host:port/dbname, postgresql:///dbname?host=/socket/dir";
}

/// libpq quoting for a value in a key=value string: single quotes, backslash escapes.
std::string quote(std::string_view v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

struct Target {
    std::map<std::string, std::string> params;  // libpq keywords → values
    std::string conninfo() const {
        std::string s;
        for (const auto& [k, v] : params) s += (s.empty() ? "" : " ") + k + '=' + quote(v);
        return s;
    }
    std::string get(const std::string& k, std::string fallback) const {
        auto it = params.find(k);
        return it == params.end() ? fallback : it->second;
    }
    /// Where the server is, without the password (error messages, location()).
    std::string describe() const {
        std::string host = get("host", "/var/run/postgresql");
        std::string where = host.starts_with('/') ? "socket directory " + host
                                                  : "host " + host + " port " + get("port", "5432");
        return "database " + get("dbname", get("user", "(user name)")) + " at " + where;
    }
};

/// %XX escapes decoded; a '%' that starts none is kept, as Python's urllib.parse.unquote
/// keeps it (SQLAlchemy reads a URI's user name and password with it).
std::string decode_lenient(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() &&
            std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// ANCHOR: parse
Target parse(std::string_view uri) {
    auto bad = [&](const std::string& why) {
        return UriError("bad PostgreSQL URI '" + uri_for_display(uri) + "': " + why +
                        "; accepted: " + forms());
    };
    constexpr std::string_view scheme = "postgresql://";
    if (!uri.starts_with(scheme)) throw bad("the scheme must be postgresql://");
    Target t;
    // The user info is split here, as SQLAlchemy splits it (user_info_end): a password with
    // '#', '/' or '?' written raw is still a password, where Poco::URI would read a fragment
    // or a path into it. Its %XX escapes are decoded; a '%' that starts none stays a '%'.
    std::string_view rest = uri.substr(scheme.size());
    if (const auto at = user_info_end(rest); at != std::string_view::npos) {
        const std::string_view info = rest.substr(0, at);
        const auto colon = info.find(':');
        t.params["user"] = decode_lenient(info.substr(0, colon));
        if (colon != std::string_view::npos)
            t.params["password"] = decode_lenient(info.substr(colon + 1));
        if (t.params["user"].empty()) t.params.erase("user");
        rest.remove_prefix(at + 1);
    }
    Poco::URI u;
    try {
        u = Poco::URI(std::string(scheme) + std::string(rest));
        if (!u.getHost().empty()) t.params["host"] = u.getHost();
        if (u.getPort() != 0 && !u.getHost().empty())
            t.params["port"] = std::to_string(u.getPort());
        std::string db = u.getPath();
        if (db.starts_with('/')) db.erase(0, 1);
        if (db.find('/') != std::string::npos) throw bad("the database name cannot contain '/'");
        if (!db.empty()) t.params["dbname"] = db;
        // ?host=/socket/dir&port=5433&sslmode=require...: passed to libpq as they are.
        for (const auto& [k, v] : u.getQueryParameters()) {
            if (k.empty() ||
                k.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
                throw bad("'" + k + "' is not a libpq connection keyword");
            t.params[k] = v;
        }
    } catch (const Poco::Exception& e) {  // its messages may quote the URI: never the password
        throw bad(std::string("it is not a URI Poco can read (") + e.className() +
                  "); write a '%' or '&' inside a query value as %25 or %26");
    }
    // libpq waits forever for an unreachable host unless told otherwise.
    t.params.try_emplace("connect_timeout", "5");
    return t;
}
// ANCHOR_END: parse

/// "Key (name)=(admin) already exists." → "name"
std::string key_column(const char* detail) {
    std::string_view d = detail ? detail : "";
    auto open = d.find("Key (");
    if (open == std::string_view::npos) return "";
    auto close = d.find(")=", open);
    if (close == std::string_view::npos) return "";
    return std::string(d.substr(open + 5, close - open - 5));
}

class PgConnection;

class PgStatement final : public Statement {
public:
    PgStatement(PgConnection& owner, PGconn* conn, std::string name, const std::string& sql,
                std::ostream* echo);
    ~PgStatement() override { PQclear(result_); }

    bool is_null(int c) override { return PQgetisnull(result_, row_, c) != 0; }
    std::int64_t get_int(int c) override {
        std::string_view s = get_text(c);
        if (s == "t") return 1;  // BOOLEAN comes back as t/f in text format
        if (s == "f") return 0;
        std::int64_t v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    }
    double get_double(int c) override {
        std::string_view s = get_text(c);
        double v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    }
    std::string_view get_text(int c) override {
        return {PQgetvalue(result_, row_, c),
                static_cast<std::size_t>(PQgetlength(result_, row_, c))};
    }

protected:
    // Every parameter goes as text and the server infers its type from where it is used,
    // which is what the ORM's SQL (col = $1, VALUES ($1, $2)) needs.
    void do_bind_null(int i) override { slot(i).reset(); }
    void do_bind(int i, std::int64_t v) override {
        slot(i) = std::to_string(v);
        if (!fits(i, v)) widened_ = true;
    }
    void do_bind(int i, double v) override {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        slot(i) = std::string(buf, end);
    }
    void do_bind(int i, std::string_view v) override { slot(i) = std::string(v); }
    bool do_step() override;
    void do_reset() override {
        PQclear(result_);
        result_ = nullptr;
        row_ = -1;
        for (auto& p : params_) p.reset();
        widened_ = false;
    }

private:
    // pg_type.h's OIDs, which only the server's headers name.
    static constexpr Oid int2_oid = 21, int4_oid = 23, int8_oid = 20;

    /// Whether v fits the type the server gave parameter i when it prepared the statement.
    bool fits(int i, std::int64_t v) const {
        const auto n = static_cast<std::size_t>(i) - 1;
        const Oid type = n < types_.size() ? types_[n] : 0;
        if (type == int4_oid) return v >= INT32_MIN && v <= INT32_MAX;
        if (type == int2_oid) return v >= INT16_MIN && v <= INT16_MAX;
        return true;
    }

    std::optional<std::string>& slot(int i) {
        auto n = static_cast<std::size_t>(i);
        if (params_.size() < n) params_.resize(n);
        return params_[n - 1];
    }

    PgConnection& owner_;
    PGconn* conn_;
    std::string name_;
    std::vector<std::optional<std::string>> params_;
    std::vector<Oid> types_;  ///< as the server inferred them (`id = $1`: INTEGER)
    bool widened_ = false;    ///< an integer bound that its inferred type cannot hold
    std::vector<const char*> values_;
    PGresult* result_ = nullptr;
    int row_ = -1;
};

class PgConnection final : public Connection {
public:
    PgConnection(const Target& target, std::ostream* echo) : Connection(echo), target_(target) {
        conn_ = PQconnectdb(target.conninfo().c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
            PQfinish(conn_);  // a failed connection is an allocated one too
            while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
            // OperationalError, as SQLAlchemy raises it: a server that is down (restarting,
            // failed over) is there again later, and a web app answers 503 meanwhile.
            throw OperationalError("cannot connect to PostgreSQL " + target.describe() + ": " +
                                   msg + connect_hint());
        }
        // The ORM's messages and the notes' names are UTF-8; do not depend on the server's.
        PQsetClientEncoding(conn_, "UTF8");
    }
    ~PgConnection() override {
        clear_cache();  // statements first (they hold results of this connection)
        PQfinish(conn_);
    }

    std::int64_t changes() override { return changes_; }
    // A broken connection has no transaction left (the server rolled it back when it went):
    // the session then releases it without a ROLLBACK that could only fail again.
    bool in_transaction() override {
        const auto status = PQtransactionStatus(conn_);
        return status != PQTRANS_IDLE && status != PQTRANS_UNKNOWN;
    }
    // A connection the server closed while it sat in the pool (a restart, a failover,
    // pg_terminate_backend) has the server's goodbye waiting on its socket: a FATAL message
    // and the end of the stream. An idle connection has nothing to read, so anything there
    // means "do not hand this one out". One poll() that does not wait, where SQLAlchemy's
    // pool_pre_ping costs a round trip; with neither, the first request on each stale
    // connection fails (SQLAlchemy then empties the whole pool after that first failure).
    bool usable() override {
        if (PQstatus(conn_) != CONNECTION_OK) return false;
        if (in_transaction()) return true;  // in a session's hands: its statements will tell
        pollfd socket{PQsocket(conn_), POLLIN, 0};
        return ::poll(&socket, 1, 0) == 0;
    }
    bool has_table(const std::string& name) override {
        auto& st = prepare("SELECT relname FROM pg_class c JOIN pg_namespace n ON "
                           "n.oid=c.relnamespace WHERE n.nspname=current_schema() AND "
                           "c.relkind IN ('r','p') AND c.relname=$1");
        st.bind(1, std::string_view(name));
        bool found = st.step();
        st.reset();
        return found;
    }

    void set_changes(std::int64_t n) { changes_ = n; }

    /// Turns a failed result into the ORM's exceptions: constraint violations into
    /// IntegrityError (named table.column, as SQLite names them), the rest into Error with
    /// what to check.
    [[noreturn]] void fail(const PGresult* r, const std::string& where) {
        std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        auto field = [r](int code) -> std::string {
            const char* f = r ? PQresultErrorField(r, code) : nullptr;
            return f ? f : "";
        };
        const std::string state = field(PG_DIAG_SQLSTATE);
        if (state.starts_with("23")) {  // integrity_constraint_violation and its kinds
            std::string table = field(PG_DIAG_TABLE_NAME);
            std::string column = field(PG_DIAG_COLUMN_NAME);
            if (column.empty()) column = key_column(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
            std::string constraint = !table.empty() && !column.empty()
                                         ? table + "." + column
                                         : field(PG_DIAG_CONSTRAINT_NAME);
            // Worded as SQLite words it first, so messages read the same on both engines.
            const char* kind = state == "23505"   ? "UNIQUE"
                               : state == "23503" ? "FOREIGN KEY"
                               : state == "23502" ? "NOT NULL"
                               : state == "23514" ? "CHECK"
                                                  : "integrity";
            throw IntegrityError("IntegrityError: " + std::string(kind) + " constraint failed: " +
                                     constraint + " (" + msg + ")\n[SQL: " + where + "]",
                                 constraint, where);
        }
        if (state == "40001" || state == "40P01")
            throw OperationalError(
                "PostgreSQL could not serialize this transaction with a concurrent one (" + msg +
                "); roll the session back and run the unit of work again\n[SQL: " + where + "]");
        // A value the column cannot hold: too long, out of range, not a number, not UTF-8.
        if (state.starts_with("22"))
            throw DataError("DataError: " + msg + "\n[SQL: " + where + "]");
        if (state == "57014")  // statement_timeout, a cancel: the server is busy, try later
            throw OperationalError("PostgreSQL cancelled the statement (" + msg +
                                   "); roll the session back and try again\n[SQL: " + where + "]");
        if (state == "25P02")
            throw Error("an earlier statement of this transaction failed, and PostgreSQL "
                        "refuses every other until it ends (" +
                        msg + "); roll the session back\n[SQL: " + where + "]");
        if (PQstatus(conn_) != CONNECTION_OK || state.starts_with("08") || state == "57P01")
            throw OperationalError(
                "lost the connection to PostgreSQL " + target_.describe() + " (" + msg +
                "); check that the server is still running (pg_isready), then roll the "
                "session back: the pool opens a new connection\n[SQL: " +
                where + "]");
        throw Error("SQL error: " + msg + "\n[SQL: " + where + "]");
    }

protected:
    std::unique_ptr<Statement> do_prepare(const std::string& sql) override {
        return std::make_unique<PgStatement>(*this, conn_, "s" + std::to_string(++prepared_), sql,
                                             echo());
    }
    void do_execute(const std::string& sql) override {
        PGresult* r = PQexec(conn_, sql.c_str());
        std::unique_ptr<PGresult, decltype(&PQclear)> guard(r, PQclear);
        auto status = PQresultStatus(r);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, sql);
        // PostgreSQL answers the COMMIT of a transaction in which a statement failed (an
        // error the program caught and went on from) with ROLLBACK, and no error: nothing was
        // stored, and the caller must hear it, as on SQLite, where that COMMIT does store.
        if (sql == "COMMIT" && std::string_view(PQcmdStatus(r)) == "ROLLBACK")
            throw Error("PostgreSQL rolled the transaction back instead of committing it: a "
                        "statement in it had failed (an error caught and gone on from); nothing "
                        "of it was stored; roll the session back and run the unit of work again");
    }

private:
    std::string connect_hint() const {
        return "; check that the server is running and accepts connections there (pg_isready), "
               "that the database exists (createdb) and the user name and password in the URI";
    }

    Target target_;
    PGconn* conn_ = nullptr;
    std::int64_t changes_ = 0;
    int prepared_ = 0;
};

PgStatement::PgStatement(PgConnection& owner, PGconn* conn, std::string name,
                         const std::string& sql, std::ostream* echo)
    : Statement(sql, echo), owner_(owner), conn_(conn), name_(std::move(name)) {
    PGresult* r = PQprepare(conn, name_.c_str(), sql.c_str(), 0, nullptr);
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(r, PQclear);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) owner_.fail(r, sql);
    // A prepared statement's parameter count is known now, so a missing bind is sent as NULL.
    PGresult* d = PQdescribePrepared(conn, name_.c_str());
    if (PQresultStatus(d) == PGRES_COMMAND_OK) {
        params_.resize(static_cast<std::size_t>(PQnparams(d)));
        for (int i = 0; i < PQnparams(d); ++i) types_.push_back(PQparamtype(d, i));
    }
    PQclear(d);
}

bool PgStatement::do_step() {
    if (!result_) {  // first step: run it and keep the whole result (rows are then local)
        // libpq sends a text parameter up to its first NUL byte, so "A\0B" would be stored as
        // "A" without a word. PostgreSQL cannot hold NUL in text at all (psycopg2 refuses such
        // a string too): say so rather than store less than was given.
        for (std::size_t i = 0; i < params_.size(); ++i)
            if (params_[i] && params_[i]->find('\0') != std::string::npos)
                throw Error(
                    "PostgreSQL text cannot hold the character NUL (0x00), and parameter $" +
                    std::to_string(i + 1) +
                    " has one: remove it from the value (SQLite stores it, PostgreSQL "
                    "does not)\n[SQL: " +
                    sql() + "]");
        values_.resize(params_.size());
        for (std::size_t i = 0; i < params_.size(); ++i)
            values_[i] = params_[i] ? params_[i]->c_str() : nullptr;
        if (!widened_) {
            result_ = PQexecPrepared(conn_, name_.c_str(), static_cast<int>(values_.size()),
                                     values_.data(), nullptr, nullptr, 0);
        } else {
            // `id = $1` was prepared with $1 an INTEGER, so 2^40 would fail as "out of range
            // for type integer", where psycopg2's literal 1099511627776 is a BIGINT that simply
            // matches no row. Run this once with such parameters sent as BIGINT: a comparison
            // then finds nothing, and a store into an INTEGER column still fails (22003).
            std::vector<Oid> types = types_;
            for (std::size_t i = 0; i < types.size(); ++i)
                if (params_[i] && (types[i] == int4_oid || types[i] == int2_oid))
                    types[i] = int8_oid;
            result_ = PQexecParams(conn_, sql().c_str(), static_cast<int>(values_.size()),
                                   types.data(), values_.data(), nullptr, nullptr, 0);
        }
        auto status = PQresultStatus(result_);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            std::string where = describe();
            std::unique_ptr<PGresult, decltype(&PQclear)> guard(result_, PQclear);
            result_ = nullptr;
            owner_.fail(guard.get(), where);
        }
        const char* n = PQcmdTuples(result_);
        owner_.set_changes(n && *n ? std::stoll(n) : 0);
    }
    return ++row_ < PQntuples(result_);
}

class PgDialect final : public Dialect {
public:
    explicit PgDialect(Target target) : target_(std::move(target)) {}

    std::string_view name() const override { return "postgresql"; }
    // The key numbers itself from a sequence (SQLAlchemy emits SERIAL for an Integer primary
    // key that is the table's only key column and no foreign key).
    std::string key_type_ddl(ColumnType t) const override {
        return t.kind == SqlType::Integer ? "SERIAL" : type_ddl(t);
    }
    std::string placeholder(int n) const override { return "$" + std::to_string(n); }
    // The new key comes back with the INSERT: one round trip, where SELECT lastval() after it
    // was a second (SQLAlchemy does the same on PostgreSQL).
    std::string returning_key(std::string_view column) const override {
        return " RETURNING " + std::string(column);
    }
    // Row locks: two sessions inserting different users do not wait for each other, and two
    // inserting the same name meet at the UNIQUE index (the second waits for the first's
    // COMMIT, then gets 23505, an IntegrityError).
    bool one_writer_at_a_time() const override { return false; }
    std::unique_ptr<Connection> connect(std::ostream* echo) const override {
        return std::make_unique<PgConnection>(target_, echo);
    }
    std::string location() const override { return "PostgreSQL " + target_.describe(); }

private:
    Target target_;
};

}  // namespace

std::string postgresql_conninfo(std::string_view uri) { return parse(uri).conninfo(); }

std::unique_ptr<Dialect> make_postgresql_dialect(std::string_view uri) {
    return std::make_unique<PgDialect>(parse(uri));
}

}  // namespace common::db::detail

#include "common/db/dialect.hpp"

#include "common/db/errors.hpp"

#include <Poco/UTF8Encoding.h>

#include <algorithm>
#include <charconv>
#include <ostream>
#include <sstream>

namespace common::db {

std::string Dialect::type_ddl(ColumnType t) const {
    switch (t.kind) {
        case SqlType::Integer: return "INTEGER";
        case SqlType::BigInteger: return "BIGINT";
        case SqlType::String:
            return t.length ? "VARCHAR(" + std::to_string(t.length) + ")" : "VARCHAR";
        case SqlType::Text: return "TEXT";
        case SqlType::Boolean: return "BOOLEAN";
        case SqlType::Float: return "FLOAT";
    }
    return "INTEGER";
}

namespace {

/// A text value as Python's repr() shows it in SQLAlchemy's messages: quotes and backslashes
/// escaped, control characters and bytes that are not UTF-8 as \xNN (a raw byte in an error
/// message garbles the terminal or the log it lands in), and a long value cut in the middle,
/// as SQLAlchemy cuts at 300 characters (a 1 MB name would otherwise be a 1 MB message).
void write_text_literal(std::ostream& os, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    const Poco::UTF8Encoding utf8;
    std::string rep = "'";
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {  // a whole UTF-8 character is kept; a stray byte is escaped below
            const auto* bytes = reinterpret_cast<const unsigned char*>(s.data() + i);
            const int left = static_cast<int>(std::min<std::size_t>(s.size() - i, 4));
            const int n = utf8.sequenceLength(bytes, left);
            if (n > 1 && n <= left && Poco::UTF8Encoding::isLegal(bytes, n)) {
                rep.append(s.data() + i, static_cast<std::size_t>(n));
                i += static_cast<std::size_t>(n);
                continue;
            }
        }
        if (c == '\'' || c == '\\')
            rep += {'\\', static_cast<char>(c)};
        else if (c == '\n' || c == '\r' || c == '\t')
            rep += {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
        else if (c >= 0x20 && c < 0x7f)
            rep += static_cast<char>(c);
        else
            rep += {'\\', 'x', hex[c >> 4], hex[c & 15]};
        ++i;
    }
    rep += '\'';
    constexpr std::size_t max_chars = 300, segment = max_chars / 2;
    const auto is_continuation = [&](std::size_t at) {
        return (static_cast<unsigned char>(rep[at]) & 0xC0) == 0x80;
    };
    if (rep.size() <= max_chars) {
        os << rep;
        return;
    }
    std::size_t head = segment, tail = rep.size() - segment;  // never inside a character
    while (head > 0 && is_continuation(head)) --head;
    while (tail < rep.size() && is_continuation(tail)) ++tail;
    const auto cut = std::count_if(rep.begin() + static_cast<std::ptrdiff_t>(head),
                                   rep.begin() + static_cast<std::ptrdiff_t>(tail), [](char ch) {
                                       return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
                                   });
    os << std::string_view(rep).substr(0, head) << " ... (" << cut << " characters truncated) ... "
       << std::string_view(rep).substr(tail);
}

void write_double(std::ostream& os, double d) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    os.write(buf, end - buf);
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Value& v) {
    std::visit(
        [&os](const auto& x) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::monostate>)
                os << "None";
            else if constexpr (std::is_same_v<X, std::int64_t>)
                os << x;
            else if constexpr (std::is_same_v<X, double>)
                write_double(os, x);
            else
                write_text_literal(os, x);
        },
        v.storage());
    return os;
}

std::size_t user_info_end(std::string_view rest) {
    const std::size_t at = rest.find('@');
    if (at == std::string_view::npos) return at;
    const std::string_view user = rest.substr(0, std::min(rest.find(':'), at));
    return user.find('/') == std::string_view::npos ? at : std::string_view::npos;
}

std::string uri_for_display(std::string_view uri) {
    std::string out(uri);
    // The password: from the user info's first ':' (user_info_end says there is one) to the
    // URI's last '@', which hides a password with a raw '@' too (more hidden rather than less).
    if (const auto scheme = out.find("://"); scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t at = user_info_end(std::string_view(out).substr(start));
        const std::size_t colon = out.find(':', start);
        if (at != std::string::npos && colon < start + at) {
            const std::size_t last_at = out.rfind('@');
            out.replace(colon + 1, last_at - colon - 1, "***");
        }
    }
    // ...?host=/run/postgresql&password=secret
    if (const auto query = out.find('?'); query != std::string::npos) {
        for (std::size_t p = query; p != std::string::npos; p = out.find('&', p + 1)) {
            constexpr std::string_view key = "password=";
            if (out.compare(p + 1, key.size(), key) != 0) continue;
            const std::size_t value = p + 1 + key.size();
            const std::size_t end = std::min(out.find_first_of("&#", value), out.size());
            out.replace(value, end - value, "***");
        }
    }
    return out;
}

// ---- Statement --------------------------------------------------------------------------

Statement::Bound& Statement::slot(int index) {
    auto i = static_cast<std::size_t>(index - 1);
    if (params_.size() <= i) params_.resize(i + 1);
    return params_[i];
}

void Statement::bind_null(int index) {
    slot(index) = Bound{};
    do_bind_null(index);
}

void Statement::bind(int index, std::int64_t v) {
    auto& b = slot(index);
    b.kind = Bound::integer;
    b.i = v;
    do_bind(index, v);
}

void Statement::bind(int index, double v) {
    auto& b = slot(index);
    b.kind = Bound::real;
    b.d = v;
    do_bind(index, v);
}

void Statement::bind(int index, std::string_view v) {
    auto& b = slot(index);
    b.kind = Bound::text;
    b.s = v;
    do_bind(index, v);
}

void Statement::bind(int index, const Value& v) {
    std::visit(
        [&](const auto& x) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::monostate>)
                bind_null(index);
            else if constexpr (std::is_same_v<X, std::string>)
                bind(index, std::string_view(x));
            else
                bind(index, x);
        },
        v.storage());
}

std::string Statement::describe() const {
    std::ostringstream os;
    os << sql_ << "\n(";
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (i) os << ", ";
        const auto& b = params_[i];
        switch (b.kind) {
            case Bound::null: os << "None"; break;
            case Bound::integer: os << b.i; break;
            case Bound::real: write_double(os, b.d); break;
            case Bound::text: write_text_literal(os, b.s); break;
        }
    }
    if (params_.size() == 1) os << ',';
    os << ')';
    return os.str();
}

bool Statement::step() {
    if (!started_) {
        started_ = true;
        if (echo_) *echo_ << describe() << '\n';
    }
    return do_step();
}

void Statement::reset() {
    do_reset();
    started_ = false;
    params_.clear();
}

// ---- Connection -------------------------------------------------------------------------

Statement& Connection::prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) it = cache_.emplace(sql, do_prepare(sql)).first;
    it->second->reset();
    return *it->second;
}

void Connection::execute(const std::string& sql) {
    if (echo_) {  // DDL is formatted with surrounding newlines (as SQLAlchemy's); echo it trimmed
        auto first = sql.find_first_not_of('\n'), last = sql.find_last_not_of('\n');
        *echo_ << (first == std::string::npos ? sql : sql.substr(first, last - first + 1)) << '\n';
    }
    do_execute(sql);
}

std::int64_t Connection::last_insert_id() {
    throw UsageError("this engine returns new keys with the INSERT (Dialect::returning_key)");
}

void Connection::set_echo(std::ostream* echo) {
    echo_ = echo;
    cache_.clear();  // statements remember the echo stream they were prepared with
}

}  // namespace common::db

// ---- URIs -------------------------------------------------------------------------------

#include "common/db/postgresql_dialect.hpp"
#include "common/db/sqlite_dialect.hpp"

namespace common::db {

std::string Dialect::accepted_uris() {
    return "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory), "
           "postgresql://user:password@host:port/dbname, postgresql:///dbname?host=/socket/dir";
}

// The one place that knows URI schemes; a PostgreSQL dialect adds its branch here.
std::unique_ptr<Dialect> Dialect::from_uri(std::string_view uri) {
    // The message may end up in a log: the password is masked, as SQLAlchemy's repr(url) does.
    auto bad = [&](const std::string& why) {
        return UriError("unsupported database URI '" + uri_for_display(uri) + "': " + why +
                        "; accepted: " + accepted_uris());
    };
    auto sep = uri.find("://");
    if (sep == std::string_view::npos) throw bad("expected scheme://...");
    std::string_view scheme = uri.substr(0, sep), rest = uri.substr(sep + 3);
    // SQLAlchemy's dialect+driver form, as a Flask config often has it
    // (postgresql+psycopg2://, sqlite+pysqlite://): the driver names a Python module, and
    // here libpq or SQLite is the driver either way, so the URI means the same without it.
    std::string plain;
    if (const auto plus = scheme.find('+'); plus != std::string_view::npos) {
        const auto driver = scheme.substr(plus + 1);
        if (driver.empty() ||
            driver.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != driver.npos)
            throw bad("'" + std::string(driver) + "' is not a driver name");
        scheme = scheme.substr(0, plus);
        plain = std::string(scheme) + "://" + std::string(rest);
        uri = plain;
    }
    if (scheme == "sqlite") {
        if (rest.find('?') != std::string_view::npos) throw bad("query options are not supported");
        if (rest.empty() || rest == "/:memory:")
            return detail::make_sqlite_dialect(std::string(uri), "");
        if (rest.front() != '/')
            throw bad("a host is not allowed for sqlite (did you mean sqlite:///" +
                      std::string(rest) + "?)");
        std::string path(rest.substr(1));  // "/rel.db" → "rel.db", "//abs.db" → "/abs.db"
        if (path.empty()) throw bad("the path is empty");
        return detail::make_sqlite_dialect(std::string(uri), path);
    }
    if (scheme == "postgresql") return detail::make_postgresql_dialect(uri);
    if (scheme == "postgres")  // as SQLAlchemy 1.4+, which dropped this alias
        throw bad("write postgresql:// instead of postgres://");
    throw bad("unknown scheme '" + std::string(scheme) + "'");
}

}  // namespace common::db

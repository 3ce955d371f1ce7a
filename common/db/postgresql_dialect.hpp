#pragma once
/// PostgreSQL, the engine a deployment grows into. Internal: use Dialect::from_uri().

#include "common/db/dialect.hpp"

#include <string>
#include <string_view>

namespace common::db::detail {

/// `uri` is postgresql://user:password@host:port/dbname?key=value... (every part optional;
/// postgresql:///dbname?host=/run/postgresql reaches a unix socket directory).
std::unique_ptr<Dialect> make_postgresql_dialect(std::string_view uri);

/// The libpq `key=value` connection string for `uri` (what Poco's connector and PQconnectdb
/// take); exposed for tests. Throws UriError for a malformed URI.
std::string postgresql_conninfo(std::string_view uri);

}  // namespace common::db::detail

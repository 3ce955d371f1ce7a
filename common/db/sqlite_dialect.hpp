#pragma once
/// SQLite, the dialect the workbook runs on. Internal: use Dialect::from_uri().

#include "common/db/dialect.hpp"

namespace common::db::detail {

/// `path` is a file path or "" for a private in-memory database; `uri` is kept for messages.
std::unique_ptr<Dialect> make_sqlite_dialect(std::string uri, std::string path);

}  // namespace common::db::detail

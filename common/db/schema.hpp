#pragma once
/// Tables and columns as the database sees them (SQLAlchemy Core's Table/Column), and the DDL
/// that create_all() emits. Models own one Table each; association tables are plain Tables.

#include "common/db/dialect.hpp"

#include <cstdint>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace common::db {

// ---- column types, spelled like SQLAlchemy's ----------------------------------------------
inline constexpr ColumnType Integer{SqlType::Integer};
/// 64-bit on every engine (PostgreSQL's INTEGER is 32-bit): for times in milliseconds.
inline constexpr ColumnType BigInteger{SqlType::BigInteger};
inline constexpr ColumnType Text{SqlType::Text};
inline constexpr ColumnType Boolean{SqlType::Boolean};
inline constexpr ColumnType Float{SqlType::Float};
constexpr ColumnType String(int length = 0) { return {SqlType::String, length}; }

// ---- column options -----------------------------------------------------------------------
struct PrimaryKey {};
inline constexpr PrimaryKey primary_key{};
struct Unique {};
inline constexpr Unique unique{};
/// index: CREATE INDEX ix_<table>_<column>; with `unique`, a UNIQUE index instead of a
/// UNIQUE constraint (as SQLAlchemy does).
struct Index {
    bool on = true;
};
inline constexpr Index index{};
/// Foreign-key columns get an index anyway (SQLite makes none, and every r.users would scan
/// the table).
struct Nullable {
    bool value;
};
constexpr Nullable nullable(bool value) { return {value}; }

/// ForeignKey("roles.id")
struct ForeignKey {
    explicit ForeignKey(std::string_view target);
    std::string table, column;
};

struct ColumnDef {
    std::string name;
    ColumnType type;
    bool primary_key = false;
    bool unique = false;
    std::optional<bool> index{};     ///< unset: true for foreign keys, false otherwise
    std::optional<bool> nullable{};  ///< unset: NOT NULL only for the primary key
    std::optional<ForeignKey> foreign_key{};

    bool is_nullable() const { return nullable.value_or(!primary_key); }
    bool is_indexed() const { return index.value_or(foreign_key.has_value()); }
};

namespace detail {
inline void apply(ColumnDef& c, PrimaryKey) { c.primary_key = true; }
inline void apply(ColumnDef& c, Unique) { c.unique = true; }
inline void apply(ColumnDef& c, Index i) { c.index = i.on; }
inline void apply(ColumnDef& c, Nullable n) { c.nullable = n.value; }
inline void apply(ColumnDef& c, const ForeignKey& fk) { c.foreign_key = fk; }
}  // namespace detail

/// Column("student_id", Integer, ForeignKey("students.id")), for association tables.
template <class... Options>
ColumnDef Column(std::string name, ColumnType type, const Options&... options) {
    ColumnDef c{std::move(name), type};
    (detail::apply(c, options), ...);
    return c;
}

class Table {
public:
    Table(std::string name, std::vector<ColumnDef> columns = {});

    const std::string& name() const { return name_; }
    const std::vector<ColumnDef>& columns() const { return columns_; }
    /// Index of the column called `name`, or -1.
    int find(std::string_view column) const;
    /// Index of the first column with a foreign key to `table`, or -1.
    int find_foreign_key(std::string_view table) const;
    void add(ColumnDef column);

    /// CREATE TABLE followed by its CREATE INDEX statements, formatted as SQLAlchemy
    /// formats them (so sqlite_master reads the same for both).
    std::vector<std::string> create_sql(const Dialect& dialect) const;
    std::string drop_sql() const;

    // The statements a flush runs, in SQLAlchemy's shape (what echo shows):
    /// INSERT INTO t (a, b) VALUES (?, ?) for the given columns, in table order.
    std::string insert_sql(const Dialect& dialect, const std::vector<int>& columns) const;
    /// UPDATE t SET a=?, b=? WHERE t.id = ? for the columns whose bit is set in `columns`.
    std::string update_sql(const Dialect& dialect, std::uint64_t columns, int where) const;
    /// UPDATE t SET fk=NULL WHERE t.fk = ? (children losing a deleted parent).
    std::string set_null_sql(const Dialect& dialect, int column) const;
    /// DELETE FROM t WHERE t.a = ? AND t.b = ?
    std::string delete_sql(const Dialect& dialect, const std::vector<int>& where) const;

private:
    std::string name_;
    std::vector<ColumnDef> columns_;
};

}  // namespace common::db

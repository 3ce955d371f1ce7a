#include "common/db/schema.hpp"

#include "common/db/errors.hpp"

namespace common::db {

ForeignKey::ForeignKey(std::string_view target) {
    auto dot = target.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == target.size())
        throw UsageError("ForeignKey(\"" + std::string(target) + "\"): expected \"table.column\"");
    table = target.substr(0, dot);
    column = target.substr(dot + 1);
}

Table::Table(std::string name, std::vector<ColumnDef> columns) : name_(std::move(name)) {
    for (auto& c : columns) add(std::move(c));
}

void Table::add(ColumnDef column) {
    if (find(column.name) >= 0)
        throw UsageError("table " + name_ + ": column " + column.name + " is declared twice");
    columns_.push_back(std::move(column));
}

int Table::find(std::string_view column) const {
    for (std::size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i].name == column) return static_cast<int>(i);
    return -1;
}

int Table::find_foreign_key(std::string_view table) const {
    for (std::size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i].foreign_key && columns_[i].foreign_key->table == table)
            return static_cast<int>(i);
    return -1;
}

// SQLAlchemy's layout: one column per line, then PRIMARY KEY, UNIQUE and FOREIGN KEY
// constraints; a unique *indexed* column gets a UNIQUE INDEX instead of a UNIQUE constraint.
std::vector<std::string> Table::create_sql(const Dialect& dialect) const {
    std::string sql = "\nCREATE TABLE " + name_ + " (";
    const char* sep = "\n\t";
    for (const auto& c : columns_) {
        sql += sep + c.name + ' ' + dialect.type_ddl(c.type);
        if (!c.is_nullable()) sql += " NOT NULL";
        sep = ", \n\t";
    }
    std::string pk;
    for (const auto& c : columns_)
        if (c.primary_key) pk += (pk.empty() ? "" : ", ") + c.name;
    if (!pk.empty()) sql += sep + ("PRIMARY KEY (" + pk + ")");
    for (const auto& c : columns_)
        if (c.unique && !c.is_indexed()) sql += sep + ("UNIQUE (" + c.name + ")");
    for (const auto& c : columns_)
        if (c.foreign_key)
            sql += sep + ("FOREIGN KEY(" + c.name + ") REFERENCES " + c.foreign_key->table + " (" +
                          c.foreign_key->column + ")");
    sql += "\n)\n\n";

    std::vector<std::string> out{std::move(sql)};
    for (const auto& c : columns_)
        if (c.is_indexed())
            out.push_back(std::string(c.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + "ix_" +
                          name_ + '_' + c.name + " ON " + name_ + " (" + c.name + ")");
    return out;
}

std::string Table::drop_sql() const { return "\nDROP TABLE " + name_ + "\n"; }

std::string Table::insert_sql(const Dialect& d, const std::vector<int>& columns) const {
    std::string names, marks;
    for (std::size_t p = 0; p < columns.size(); ++p) {
        names += (p ? ", " : "") + columns_[static_cast<std::size_t>(columns[p])].name;
        marks += (p ? ", " : "") + d.placeholder(static_cast<int>(p) + 1);
    }
    return "INSERT INTO " + name_ + " (" + names + ") VALUES (" + marks + ")";
}

std::string Table::update_sql(const Dialect& d, std::uint64_t columns, int where) const {
    std::string sql = "UPDATE " + name_ + " SET ";
    int p = 0;
    for (std::size_t i = 0; i < columns_.size(); ++i)
        if (columns >> i & 1) {
            sql += (p ? ", " : "") + columns_[i].name + "=" + d.placeholder(p + 1);
            ++p;
        }
    return sql + " WHERE " + name_ + "." + columns_[static_cast<std::size_t>(where)].name + " = " +
           d.placeholder(p + 1);
}

std::string Table::set_null_sql(const Dialect& d, int column) const {
    const auto& c = columns_[static_cast<std::size_t>(column)].name;
    return "UPDATE " + name_ + " SET " + c + "=NULL WHERE " + name_ + "." + c + " = " +
           d.placeholder(1);
}

std::string Table::delete_sql(const Dialect& d, const std::vector<int>& where) const {
    std::string sql = "DELETE FROM " + name_ + " WHERE ";
    for (std::size_t p = 0; p < where.size(); ++p)
        sql += (p ? " AND " : "") + name_ + "." +
               columns_[static_cast<std::size_t>(where[p])].name + " = " +
               d.placeholder(static_cast<int>(p) + 1);
    return sql;
}

}  // namespace common::db

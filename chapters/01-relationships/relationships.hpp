#pragma once
/// Chapter 01: the notes' three relationship kinds as common::db models, and run(), which
/// replays the notes' REPL sessions and prints what the C++ code produces.

#include "common/db/db.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace ch01 {

namespace db = common::db;

struct User;
struct Class;

// Members without an initializer get `{}`, so `User{.name = "Hyman"}` leaves them empty
// without a -Wmissing-field-initializers warning.

// ANCHOR: one_to_one
/// idents — an identity document; at most one user carries it.
struct Identification {
    std::int64_t id = 0;
    db::One<User> user{};  // uselist=False: one User, not a list

    static db::Model<Identification>& model();
};
// ANCHOR_END: one_to_one

// ANCHOR: one_to_many
/// roles — one role, many users.
struct Role {
    std::int64_t id = 0;
    std::string name;
    db::Many<User> users{};

    static db::Model<Role>& model();
};
// ANCHOR_END: one_to_many

// ANCHOR: user
/// users — the notes define User twice (once per example); here it is one table holding
/// both foreign keys (see README.md).
struct User {
    std::int64_t id = 0;
    std::string name;
    std::optional<std::int64_t> ident_id{};  // NULL until flush
    std::optional<std::int64_t> role_id{};
    db::One<Identification> ident{};  // backref of Identification::user
    db::One<Role> role{};             // backref of Role::users

    static db::Model<User>& model();
};
// ANCHOR_END: user

// ANCHOR: many_to_many
/// relations — the association table: one row per (student, class) pair.
extern const db::Table relations;

struct Student {
    std::int64_t id = 0;
    std::string name;
    db::Dynamic<Class> classes{};  // lazy='dynamic': a query, nothing loaded until asked

    static db::Model<Student>& model();
};

struct Class {
    std::int64_t id = 0;
    std::string name;
    db::Dynamic<Student> students{};  // backref, also dynamic

    static db::Model<Class>& model();
};
// ANCHOR_END: many_to_many

// ANCHOR: repr
// __repr__ is operator<<: `std::cout << u->ident` prints <Identification 123>.
std::ostream& operator<<(std::ostream& os, const Identification& i);
std::ostream& operator<<(std::ostream& os, const Role& r);
std::ostream& operator<<(std::ostream& os, const User& u);
std::ostream& operator<<(std::ostream& os, const Student& s);
std::ostream& operator<<(std::ostream& os, const Class& c);
// ANCHOR_END: repr

/// All five models (and, through Student.classes, the relations table).
const db::Metadata& metadata();

/// The default database: ch01.db in the current directory, left there for `sqlite3 ch01.db`.
inline constexpr std::string_view default_uri = "sqlite:///ch01.db";

/// Replays the notes' examples on `uri`, printing each REPL line and the C++ result to
/// `out`; with `echo`, the SQL each step causes appears between the lines.
void run(std::ostream& out, std::string_view uri = default_uri, bool echo = false);

}  // namespace ch01

#pragma once
/// Chapter 01: the notes' three relationship examples as common::db models, and run(), which
/// replays the notes' REPL sessions and prints what the C++ code produces.
///
/// The notes write each example as its own module (`from test.py import Role,User`), and two
/// of them define a different `User` on the same `users` table. So each example here is a
/// namespace with its own models and metadata, and run() gives each a fresh schema.

#include "common/db/db.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace ch01 {

namespace db = common::db;

// Members without an initializer get `{}`, so `User{.name = "Hyman"}` leaves them empty
// without a -Wmissing-field-initializers warning. Nullable columns are std::optional: an
// empty one is NULL in the database and None in the REPL.

namespace one_to_one {

struct User;

// ANCHOR: one_to_one
/// idents — an identity document; at most one user carries it.
struct Identification {
    std::int64_t id = 0;
    std::optional<std::string> address{};
    db::One<User> user{};  // uselist=False: one User, not a list

    static db::Model<Identification>& model();
};

/// users, as the one-to-one example defines it: the key of an identity document.
struct User {
    std::int64_t id = 0;
    std::optional<std::string> name{};
    std::optional<std::int64_t> ident_id{};  // NULL until flush
    db::One<Identification> ident{};         // backref of Identification::user

    static db::Model<User>& model();
};
// ANCHOR_END: one_to_one

/// Identification and User: the first example's schema.
const db::Metadata& metadata();

std::ostream& operator<<(std::ostream& os, const Identification& i);
std::ostream& operator<<(std::ostream& os, const User& u);

}  // namespace one_to_one

namespace one_to_many {

struct User;

// ANCHOR: one_to_many
/// roles — one role, many users.
struct Role {
    std::int64_t id = 0;
    std::optional<std::string> name{};
    db::Many<User> users{};

    static db::Model<Role>& model();
};

/// users, as the one-to-many example defines it: the key of a role.
struct User {
    std::int64_t id = 0;
    std::optional<std::string> name{};
    std::optional<std::int64_t> role_id{};
    db::One<Role> role{};  // backref of Role::users

    static db::Model<User>& model();
};
// ANCHOR_END: one_to_many

/// Role and User: the second example's schema.
const db::Metadata& metadata();

std::ostream& operator<<(std::ostream& os, const Role& r);
std::ostream& operator<<(std::ostream& os, const User& u);

}  // namespace one_to_many

namespace many_to_many {

struct Class;

// ANCHOR: many_to_many
/// relations — the association table: one row per (student, class) pair.
extern const db::Table relations;

struct Student {
    std::int64_t id = 0;
    std::optional<std::string> name{};
    db::Dynamic<Class> classes{};  // lazy='dynamic': a query, nothing loaded until asked

    static db::Model<Student>& model();
};

struct Class {
    std::int64_t id = 0;
    std::optional<std::string> name{};
    db::Dynamic<Student> students{};  // backref, also dynamic

    static db::Model<Class>& model();
};
// ANCHOR_END: many_to_many

/// Student, Class and (through Student.classes) relations: the third example's schema.
const db::Metadata& metadata();

std::ostream& operator<<(std::ostream& os, const Student& s);
std::ostream& operator<<(std::ostream& os, const Class& c);

}  // namespace many_to_many

/// The default database: ch01.db in the current directory, left there for `sqlite3 ch01.db`.
inline constexpr std::string_view default_uri = "sqlite:///ch01.db";

/// Replays the notes' examples on `uri`, printing each REPL line and the C++ result to
/// `out`; with `echo`, the SQL each step causes appears between the lines. Each example
/// starts from its own fresh tables (drop_all, create_all of its metadata).
void run(std::ostream& out, std::string_view uri = default_uri, bool echo = false);

}  // namespace ch01

#pragma once
// app/models.py: the two models chapter 7 of the book has — a Role has many Users.

#include "common/db/db.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace flasky {

struct User;

// ANCHOR: models
/// class Role(db.Model): __tablename__ = 'roles'
struct Role {
    std::int64_t id = 0;
    std::string name;
    /// users = db.relationship('User', backref='role', lazy='dynamic')
    common::db::Dynamic<User> users{};

    static common::db::Model<Role>& model();
};

/// class User(db.Model): __tablename__ = 'users'
struct User {
    std::int64_t id = 0;
    std::string username;
    std::optional<std::int64_t> role_id{};
    common::db::One<Role> role{};  ///< the backref of Role::users

    static common::db::Model<User>& model();
};

/// __repr__: <Role 'Admin'>, <User 'bob'>
std::ostream& operator<<(std::ostream& os, const Role& role);
std::ostream& operator<<(std::ostream& os, const User& user);
// ANCHOR_END: models

/// db.Model.metadata: every table of the app, for create_all()/drop_all().
const common::db::Metadata& metadata();

/// Inserts the roles the app expects (Administrator, Moderator, User) where missing; returns
/// how many it added. Serving calls it on start so a first run on an empty database works.
int insert_roles(common::db::Session& session);

}  // namespace flasky

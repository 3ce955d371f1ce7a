#include "common/flasky/models.hpp"

#include "common/flasky/outbox.hpp"

#include <array>
#include <ostream>

namespace flasky {

namespace db = common::db;

// ANCHOR: mapping
db::Model<Role>& Role::model() {
    static auto model = db::Model<Role>("roles")
                            .column("id", &Role::id, db::Integer, db::primary_key)
                            .column("name", &Role::name, db::String(64), db::unique)
                            .relationship("users", &Role::users, db::backref("role", &User::role),
                                          db::lazy::dynamic);
    return model;
}

db::Model<User>& User::model() {
    static auto model =
        db::Model<User>("users")
            .column("id", &User::id, db::Integer, db::primary_key)
            .column("username", &User::username, db::String(64), db::unique, db::index)
            .column("role_id", &User::role_id, db::Integer, db::ForeignKey("roles.id"));
    return model;
}
// ANCHOR_END: mapping

std::ostream& operator<<(std::ostream& os, const Role& role) {
    return os << "<Role '" << role.name << "'>";
}
std::ostream& operator<<(std::ostream& os, const User& user) {
    return os << "<User '" << user.username << "'>";
}

const db::Metadata& metadata() {
    static const auto all = db::Metadata::of<Role, User, OutboxMail>();
    return all;
}

int insert_roles(db::Session& session) {
    static constexpr std::array names{"Administrator", "Moderator", "User"};
    int added = 0;
    for (const char* name : names) {
        if (!session.query<Role>().filter_by("name", name).first()) {
            session.add(Role{.name = name});
            ++added;
        }
    }
    session.commit();
    return added;
}

}  // namespace flasky

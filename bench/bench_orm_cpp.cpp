// The ORM side of the ORM benchmark: peers/orm_sqlalchemy.py's models and workload written
// with common::db, with the same access pattern — lazy r->users per role, a dynamic
// c->students.count() per class, u->role->name per user after loading all users.
#include "orm_workload.hpp"

#include "common/db/db.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bench {
namespace {

namespace db = common::db;

struct User;
struct Class;

struct Role {
    std::int64_t id = 0;
    std::string name;
    db::Many<User> users{};
    static db::Model<Role>& model();
};

struct User {
    std::int64_t id = 0;
    std::string username;
    std::optional<std::int64_t> role_id{};
    db::One<Role> role{};
    static db::Model<User>& model();
};

struct Student {
    std::int64_t id = 0;
    std::string name;
    db::Dynamic<Class> classes{};
    static db::Model<Student>& model();
};

struct Class {
    std::int64_t id = 0;
    std::string name;
    db::Dynamic<Student> students{};
    static db::Model<Class>& model();
};

db::Model<Role>& Role::model() {
    static auto model = db::Model<Role>("roles")
                            .column("id", &Role::id, db::Integer, db::primary_key)
                            .column("name", &Role::name, db::String(64), db::unique)
                            .relationship("users", &Role::users, db::backref("role", &User::role));
    return model;
}

db::Model<User>& User::model() {
    static auto model =
        db::Model<User>("users")
            .column("id", &User::id, db::Integer, db::primary_key)
            .column("username", &User::username, db::String(64), db::unique)
            .column("role_id", &User::role_id, db::Integer, db::ForeignKey("roles.id"));
    return model;
}

const db::Table relations("relations",
                          {
                              db::Column("student_id", db::Integer, db::ForeignKey("students.id")),
                              db::Column("class_id", db::Integer, db::ForeignKey("classes.id")),
                          });

db::Model<Student>& Student::model() {
    static auto model =
        db::Model<Student>("students")
            .column("id", &Student::id, db::Integer, db::primary_key)
            .column("name", &Student::name, db::String(64))
            .relationship("classes", &Student::classes, db::secondary(relations),
                          db::backref("students", &Class::students, db::lazy::dynamic),
                          db::lazy::dynamic);
    return model;
}

db::Model<Class>& Class::model() {
    static auto model = db::Model<Class>("classes")
                            .column("id", &Class::id, db::Integer, db::primary_key)
                            .column("name", &Class::name, db::String(64));
    return model;
}

void insert(db::Database& database, int users) {
    const Phase phase("insert");
    db::Session session(database);
    std::vector<db::Ptr<Role>> all_roles;
    for (int i = 0; i < roles; ++i)
        all_roles.push_back(session.add(Role{.name = "role" + std::to_string(i)}));
    for (int i = 0; i < users; ++i) {
        auto u = session.add(User{.username = "user" + std::to_string(i)});
        u->role = all_roles[static_cast<std::size_t>(i % roles)];
    }
    std::vector<db::Ptr<Class>> all_classes;
    for (int c = 0; c < classes; ++c)
        all_classes.push_back(session.add(Class{.name = "class" + std::to_string(c)}));
    for (int s = 0; s < students; ++s) {
        auto student = session.add(Student{.name = "student" + std::to_string(s)});
        for (int k = 0; k < classes_per_student; ++k)
            student->classes.append(all_classes[static_cast<std::size_t>(class_of(s, k))]);
    }
    session.commit();
    phase.done();
}

void load_users_role(db::Database& database) {
    const Phase phase("load_users_role");
    db::Session session(database);
    std::size_t total = 0;
    for (const auto& u : session.query<User>().all()) total += u->role->name.size();
    phase.done();
    check(total > 0, "no role names were read");
}

void role_users_and_class_counts(db::Database& database, int users) {
    db::Session session(database);
    const Phase role_users("role_users");
    std::size_t loaded = 0;
    for (const auto& r : session.query<Role>().all()) loaded += r->users.size();
    role_users.done();
    check(loaded == static_cast<std::size_t>(users),
          "roles hold " + std::to_string(loaded) + " users");

    const Phase class_counts("class_students_count");
    std::int64_t members = 0;
    for (const auto& c : session.query<Class>().all()) members += c->students.count();
    class_counts.done();
    check(members == students * classes_per_student,
          "classes hold " + std::to_string(members) + " students");
}

}  // namespace

void run_orm(const std::string& path, int users) {
    db::Database database("sqlite:///" + path, db::Metadata::of<Role, User, Student, Class>());
    database.create_all();
    insert(database, users);
    load_users_role(database);
    role_users_and_class_counts(database, users);
}

}  // namespace bench

// The floor of the ORM benchmark: the same statements as the ORM's, through the sqlite3 C API
// with no ORM at all — prepared once, reused, one transaction for the inserts, and indexes on
// the foreign-key columns. No ORM can beat this; a good one stays within 2× of it.
#include "orm_workload.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace bench {
namespace {

// A few lines of RAII over the C API; Poco::Data would add its own cost, which is exactly
// what this floor must not contain.
class Db {
public:
    explicit Db(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
            const std::string why = sqlite3_errmsg(db_);
            sqlite3_close(db_);
            throw std::runtime_error("cannot open " + path + ": " + why);
        }
        // The same connection set-up as common::db's SQLite dialect, so that the floor differs
        // from the ORM only by the ORM.
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA foreign_keys=ON");
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
    }
    ~Db() { sqlite3_close(db_); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            const std::string why = err ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error(std::string(sql) + ": " + why);
        }
    }
    sqlite3* handle() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

class Stmt {
public:
    Stmt(Db& db, const char* sql) : db_(db.handle()) {
        if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    /// True while there is a row; throws on errors.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
        return false;
    }
    void run() {  // for INSERTs: step once, then ready for the next binding
        step();
        sqlite3_reset(stmt_);
    }
    void reset() { sqlite3_reset(stmt_); }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
                 : std::string();
    }
    std::int64_t last_id() const { return sqlite3_last_insert_rowid(db_); }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

struct User {
    std::int64_t id;
    std::string username;
    std::int64_t role_id;
};

void create_schema(Db& db) {
    // The tables Flask-SQLAlchemy creates for the peer's models, plus the foreign-key indexes.
    db.exec("CREATE TABLE roles (id INTEGER NOT NULL, name VARCHAR(64), PRIMARY KEY (id), UNIQUE "
            "(name))");
    db.exec("CREATE TABLE users (id INTEGER NOT NULL, username VARCHAR(64), role_id INTEGER, "
            "PRIMARY KEY (id), UNIQUE (username), FOREIGN KEY(role_id) REFERENCES roles (id))");
    db.exec("CREATE TABLE students (id INTEGER NOT NULL, name VARCHAR(64), PRIMARY KEY (id))");
    db.exec("CREATE TABLE classes (id INTEGER NOT NULL, name VARCHAR(64), PRIMARY KEY (id))");
    db.exec("CREATE TABLE relations (student_id INTEGER, class_id INTEGER, "
            "FOREIGN KEY(student_id) REFERENCES students (id), FOREIGN KEY(class_id) REFERENCES "
            "classes (id))");
    db.exec("CREATE INDEX ix_users_role_id ON users (role_id)");
    db.exec("CREATE INDEX ix_relations_student_id ON relations (student_id)");
    db.exec("CREATE INDEX ix_relations_class_id ON relations (class_id)");
}

void insert(Db& db, int users) {
    const Phase phase("insert");
    db.exec("BEGIN");
    std::vector<std::int64_t> role_ids, class_ids;
    Stmt role(db, "INSERT INTO roles (name) VALUES (?)");
    for (int i = 0; i < roles; ++i) {
        role.bind(1, "role" + std::to_string(i)).run();
        role_ids.push_back(role.last_id());
    }
    Stmt user(db, "INSERT INTO users (username, role_id) VALUES (?, ?)");
    for (int i = 0; i < users; ++i)
        user.bind(1, "user" + std::to_string(i))
            .bind(2, role_ids[static_cast<std::size_t>(i % roles)])
            .run();
    Stmt klass(db, "INSERT INTO classes (name) VALUES (?)");
    for (int c = 0; c < classes; ++c) {
        klass.bind(1, "class" + std::to_string(c)).run();
        class_ids.push_back(klass.last_id());
    }
    Stmt student(db, "INSERT INTO students (name) VALUES (?)");
    Stmt relation(db, "INSERT INTO relations (student_id, class_id) VALUES (?, ?)");
    for (int s = 0; s < students; ++s) {
        student.bind(1, "student" + std::to_string(s)).run();
        const std::int64_t sid = student.last_id();
        for (int k = 0; k < classes_per_student; ++k)
            relation.bind(1, sid)
                .bind(2, class_ids[static_cast<std::size_t>(class_of(s, k))])
                .run();
    }
    db.exec("COMMIT");
    phase.done();
}

void load_users_role(Db& db) {
    const Phase phase("load_users_role");
    std::vector<User> all;
    Stmt select(db, "SELECT id, username, role_id FROM users");
    while (select.step()) all.push_back({select.integer(0), select.text(1), select.integer(2)});
    // u.role.name with an identity map: each role is fetched once, on first use, by id.
    std::unordered_map<std::int64_t, std::string> role_names;
    Stmt role(db, "SELECT id, name FROM roles WHERE id = ?");
    std::size_t total = 0;
    for (const User& u : all) {
        auto it = role_names.find(u.role_id);
        if (it == role_names.end()) {
            role.bind(1, u.role_id);
            check(role.step(), "user " + u.username + " has no role");
            it = role_names.emplace(u.role_id, role.text(1)).first;
            role.reset();
        }
        total += it->second.size();
    }
    phase.done();
    check(total > 0, "no role names were read");
}

void role_users(Db& db, int users) {
    const Phase phase("role_users");
    std::vector<std::int64_t> ids;
    Stmt all_roles(db, "SELECT id, name FROM roles");
    while (all_roles.step()) ids.push_back(all_roles.integer(0));
    // r.users: a lazy one-to-many loads the whole collection of each role.
    Stmt of_role(db, "SELECT id, username, role_id FROM users WHERE ? = role_id");
    std::size_t loaded = 0;
    for (const std::int64_t id : ids) {
        std::vector<User> members;
        of_role.bind(1, id);
        while (of_role.step())
            members.push_back({of_role.integer(0), of_role.text(1), of_role.integer(2)});
        of_role.reset();
        loaded += members.size();
    }
    phase.done();
    check(loaded == static_cast<std::size_t>(users),
          "roles hold " + std::to_string(loaded) + " users");
}

void class_students_count(Db& db) {
    const Phase phase("class_students_count");
    std::vector<std::int64_t> ids;
    Stmt all_classes(db, "SELECT id, name FROM classes");
    while (all_classes.step()) ids.push_back(all_classes.integer(0));
    // c.students.count() on a dynamic relationship: one COUNT through the association table.
    Stmt count(db, "SELECT count(*) FROM students, relations "
                   "WHERE ? = relations.class_id AND students.id = relations.student_id");
    std::int64_t members = 0;
    for (const std::int64_t id : ids) {
        count.bind(1, id);
        count.step();
        members += count.integer(0);
        count.reset();
    }
    phase.done();
    check(members == students * classes_per_student,
          "classes hold " + std::to_string(members) + " students");
}

}  // namespace

void run_raw(const std::string& path, int users) {
    {
        Db db(path);
        create_schema(db);
        insert(db, users);
    }
    Db db(path);  // a new connection, as the ORM side opens a new session
    load_users_role(db);
    role_users(db, users);
    class_students_count(db);
}

}  // namespace bench

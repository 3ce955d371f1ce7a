#include "relationships.hpp"

#include <ostream>

namespace ch01 {

// ANCHOR: mappings
db::Model<Identification>& Identification::model() {
    static auto model = db::Model<Identification>("idents")
                            .column("id", &Identification::id, db::Integer, db::primary_key)
                            .relationship("user", &Identification::user,
                                          db::backref("ident", &User::ident), db::uselist(false));
    return model;
}

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
            .column("name", &User::name, db::String(64), db::unique)
            .column("ident_id", &User::ident_id, db::Integer, db::ForeignKey("idents.id"))
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
// ANCHOR_END: mappings

const db::Metadata& metadata() {
    static const auto m = db::Metadata::of<Identification, Role, User, Student, Class>();
    return m;
}

// ANCHOR: repr_impl
std::ostream& operator<<(std::ostream& os, const Identification& i) {
    return os << "<Identification " << i.id << '>';
}
std::ostream& operator<<(std::ostream& os, const Role& r) {
    return os << "<Role " << r.name << '>';
}
std::ostream& operator<<(std::ostream& os, const User& u) {
    return os << "<User " << u.name << '>';
}
std::ostream& operator<<(std::ostream& os, const Student& s) {
    return os << "<Student " << s.name << '>';
}
std::ostream& operator<<(std::ostream& os, const Class& c) {
    return os << "<Class " << c.name << '>';
}
// ANCHOR_END: repr_impl

namespace {

/// Prints a value the way the Python REPL shows it (None for an empty optional).
template <class T>
void show(std::ostream& out, const std::optional<T>& v) {
    if (v)
        out << *v << '\n';
    else
        out << "None\n";
}
template <class T>
void show(std::ostream& out, const T& v) {
    out << v << '\n';
}

}  // namespace

void run(std::ostream& out, std::string_view uri, bool echo) {
    db::Database database(uri, metadata(), echo ? &out : nullptr);
    out << "Chapter 01: SQLAlchemy relationships in C++ (common::db)\n"
        << "database: " << uri << " (" << database.dialect().location() << ")\n"
        << "# start clean, so that every run prints the same: drop_all(), create_all()\n";
    database.drop_all();
    database.create_all();
    db::Session session(database);
    auto seed = [&out](std::string_view line) { out << ">>> " << line << '\n'; };
    auto note = [&out](std::string_view line) { out << "# " << line << '\n'; };

    out << "\n## One-to-one: Identification.user (uselist=False), backref User.ident\n";
    // ANCHOR: one_to_one_steps
    seed("i=Identification(id=123)");
    auto i = session.add(Identification{.id = 123});
    seed("u=User(name='Hyman')");
    auto u = session.add(User{.name = "Hyman"});
    seed("i.user=u");
    i->user = u;
    seed("u.ident");
    show(out, u->ident);  // the backref, set at once
    note("the foreign key is written at flush, not before:");
    seed("u.ident_id");
    show(out, u->ident_id);
    seed("db.session.add(i); db.session.commit()");
    session.commit();
    seed("u.ident_id");
    show(out, u->ident_id);
    // ANCHOR_END: one_to_one_steps

    out << "\n## One-to-many: Role.users, backref User.role\n";
    // ANCHOR: one_to_many_steps
    seed("r=Role(name='admin')");
    auto r = session.add(Role{.name = "admin"});
    seed("u=User(name='Hyman')");
    note("users.name is unique and Hyman is already stored (one users table for both");
    note("examples, see README), so u is that row: User.query.filter_by(name='Hyman').one()");
    u = session.query<User>().filter_by("name", "Hyman").one();
    seed("r.users.append(u)");
    r->users.append(u);
    seed("print u.role");
    show(out, u->role);  // set by the backref at append()
    note("(Python 3 spells it print(u.role); the notes are Python 2)");
    seed("r.users");
    show(out, r->users);
    seed("db.session.add(r); db.session.commit()");
    session.commit();
    seed("u.role_id");
    show(out, u->role_id);
    // ANCHOR_END: one_to_many_steps

    out << "\n## Many-to-many: Student.classes / Class.students through relations "
           "(lazy='dynamic')\n";
    note("the notes give no output here; a small example of our own:");
    // ANCHOR: many_to_many_steps
    seed("s=Student(name='Ann')");
    auto s = session.add(Student{.name = "Ann"});
    seed("math=Class(name='Math'); art=Class(name='Art')");
    auto math = session.add(Class{.name = "Math"});
    auto art = session.add(Class{.name = "Art"});
    seed("s.classes.append(math); s.classes.append(art)");
    s->classes.append(math);
    s->classes.append(art);
    seed("db.session.add(s); db.session.commit()");
    session.commit();
    seed("s.classes.count()");
    show(out, s->classes.count());
    seed("s.classes.order_by(Class.name).all()");
    show(out, s->classes.order_by("name").all());
    seed("math.students.all()");
    show(out, math->students.all());
    seed("s.classes.filter_by(name='Math').first()");
    show(out, s->classes.filter_by("name", "Math").first());
    note("the notes' Class.__repr__ returns '<CLass %s>'; the typo is fixed: <Class Math>");
    seed("s.classes.remove(art); db.session.commit()");
    s->classes.remove(art);
    session.commit();
    seed("s.classes.count(), art.students.count()");
    out << '(' << s->classes.count() << ", " << art->students.count() << ")\n";
    // ANCHOR_END: many_to_many_steps

    out << "\n## What the notes' second User(name='Hyman') does to one users table\n";
    // ANCHOR: integrity_steps
    seed("db.session.add(User(name='Hyman')); db.session.commit()");
    session.add(User{.name = "Hyman"});
    try {
        session.commit();
    } catch (const db::IntegrityError& e) {
        out << "IntegrityError: " << e.constraint() << " must be unique\n";
    }
    seed("db.session.rollback()");
    session.rollback();
    seed("User.query.count()");
    show(out, session.query<User>().count());
    // ANCHOR_END: integrity_steps

    out << "\nThe tables are left in " << database.dialect().location()
        << "; try: sqlite3 ch01.db .schema\n";
}

}  // namespace ch01

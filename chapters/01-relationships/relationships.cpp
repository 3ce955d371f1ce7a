#include "relationships.hpp"

#include <ostream>

namespace ch01 {

// ANCHOR: mappings
namespace one_to_one {

db::Model<Identification>& Identification::model() {
    static auto model = db::Model<Identification>("idents")
                            .column("id", &Identification::id, db::Integer, db::primary_key)
                            .column("address", &Identification::address, db::String(64), db::unique)
                            .relationship("user", &Identification::user,
                                          db::backref("ident", &User::ident), db::uselist(false));
    return model;
}

db::Model<User>& User::model() {
    static auto model =
        db::Model<User>("users")
            .column("id", &User::id, db::Integer, db::primary_key)
            .column("name", &User::name, db::String(64), db::unique)
            .column("ident_id", &User::ident_id, db::Integer, db::ForeignKey("idents.id"));
    return model;
}

}  // namespace one_to_one

namespace one_to_many {

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
            .column("role_id", &User::role_id, db::Integer, db::ForeignKey("roles.id"));
    return model;
}

}  // namespace one_to_many

namespace many_to_many {

const db::Table relations("relations",
                          {
                              db::Column("student_id", db::Integer, db::ForeignKey("students.id")),
                              db::Column("class_id", db::Integer, db::ForeignKey("classes.id")),
                          });

db::Model<Student>& Student::model() {
    static auto model =
        db::Model<Student>("students")
            .column("id", &Student::id, db::Integer, db::primary_key)
            .column("name", &Student::name, db::String())  // db.String: VARCHAR, no length
            .relationship("classes", &Student::classes, db::secondary(relations),
                          db::backref("students", &Class::students, db::lazy::dynamic),
                          db::lazy::dynamic);
    return model;
}

db::Model<Class>& Class::model() {
    static auto model = db::Model<Class>("classes")
                            .column("id", &Class::id, db::Integer, db::primary_key)
                            .column("name", &Class::name, db::String());
    return model;
}

}  // namespace many_to_many
// ANCHOR_END: mappings

const db::Metadata& one_to_one::metadata() {
    static const auto m = db::Metadata::of<Identification, User>();
    return m;
}
const db::Metadata& one_to_many::metadata() {
    static const auto m = db::Metadata::of<Role, User>();
    return m;
}
const db::Metadata& many_to_many::metadata() {
    static const auto m = db::Metadata::of<Student, Class>();
    return m;
}

namespace {
/// '%s' % value: None for NULL.
std::string_view text(const std::optional<std::string>& v) {
    if (v) return *v;
    return "None";
}
}  // namespace

// ANCHOR: repr_impl
// __repr__ is operator<<: `std::cout << u->ident` prints <Identification 123>.
std::ostream& one_to_one::operator<<(std::ostream& os, const Identification& i) {
    return os << "<Identification " << i.id << '>';
}
std::ostream& one_to_one::operator<<(std::ostream& os, const User& u) {
    return os << "<User " << text(u.name) << '>';
}
std::ostream& one_to_many::operator<<(std::ostream& os, const Role& r) {
    return os << "<Role " << text(r.name) << '>';
}
std::ostream& one_to_many::operator<<(std::ostream& os, const User& u) {
    return os << "<User " << text(u.name) << '>';
}
std::ostream& many_to_many::operator<<(std::ostream& os, const Student& s) {
    return os << "<Student " << text(s.name) << '>';
}
std::ostream& many_to_many::operator<<(std::ostream& os, const Class& c) {
    return os << "<Class " << text(c.name) << '>';
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
/// A string as the REPL shows it: 'Bob' (its repr), None for NULL.
void show(std::ostream& out, const std::optional<std::string>& v) {
    if (v)
        out << '\'' << *v << "'\n";
    else
        out << "None\n";
}

/// The REPL's prompt before a line of the notes (a label we print, not Python we run).
void notes(std::ostream& out, std::string_view line) { out << ">>> " << line << '\n'; }
/// A line the notes do not have, marked as ours.
void ours(std::ostream& out, std::string_view line) { out << ">>> " << line << "  # ours\n"; }
void note(std::ostream& out, std::string_view line) { out << "# " << line << '\n'; }

/// A fresh schema for one example, as if its module were the only one: drop_all() and
/// create_all() of its metadata.
void fresh(db::Database& database) {
    database.drop_all();
    database.create_all();
}

}  // namespace

void run(std::ostream& out, std::string_view uri, bool echo) {
    out << "Chapter 01: SQLAlchemy relationships in C++ (common::db)\n";
    bool on_sqlite = false;
    {
        db::Database probe(uri, one_to_one::metadata());  // a bad URI fails here, before output
        // Never the password: printed as SQLAlchemy's repr(engine.url) shows it (user:***@).
        out << "database: " << db::uri_for_display(uri) << " (" << probe.dialect().location()
            << ")\n";
        on_sqlite = probe.dialect().name() == "sqlite";
    }
    out << "# each example is its own module in the notes, with its own User class: each starts\n"
        << "# from fresh tables here (drop_all(), create_all() of its models), so every run\n"
        << "# prints the same. The >>> lines are labels for the C++ that runs.\n";

    out << "\n## One-to-one: Identification.user (uselist=False), backref User.ident\n";
    {
        using namespace one_to_one;
        db::Database database(uri, metadata(), echo ? &out : nullptr);
        fresh(database);
        db::Session session(database);
        // ANCHOR: one_to_one_steps
        notes(out, "i=Identification(id=123)");
        auto i = session.add(Identification{.id = 123});
        notes(out, "u=User(name='Hyman')");
        auto u = session.add(User{.name = "Hyman"});
        notes(out, "i.user=u");
        i->user = u;
        notes(out, "u.ident");
        show(out, u->ident);  // the backref, set at once
        note(out, "the foreign key is written at flush, not before:");
        ours(out, "u.ident_id");
        show(out, u->ident_id);
        ours(out, "db.session.add(i); db.session.commit()");
        session.commit();
        ours(out, "u.ident_id");
        show(out, u->ident_id);  // the commit expired u: this reads the row again
        // ANCHOR_END: one_to_one_steps
    }

    out << "\n## One-to-many: Role.users, backref User.role\n";
    {
        using namespace one_to_many;
        db::Database database(uri, metadata(), echo ? &out : nullptr);
        fresh(database);
        db::Session session(database);
        // ANCHOR: one_to_many_steps
        notes(out, "from test.py import Role,User");
        note(out, "(erratum: Python imports a module, `from test import Role, User`; here the");
        note(out, "models are compiled in, see docs/errata.md)");
        notes(out, "r=Role(id=1,name='admin')");
        auto r = session.add(Role{.id = 1, .name = "admin"});
        notes(out, "u=User(id=10,name='Hyman',role_id=1)");
        auto u = session.add(User{.id = 10, .name = "Hyman", .role_id = 1});
        notes(out, "r.users.append(u)");
        r->users.append(u);
        notes(out, "print u.role");
        show(out, u->role);  // set by the backref at append()
        note(out, "(Python 3 spells it print(u.role); the notes are Python 2)");
        ours(out, "r.users");
        show(out, r->users);
        ours(out, "db.session.add(r); db.session.commit()");
        session.commit();
        ours(out, "u.role_id, u.id");
        const auto role_id = u->role_id.value_or(0);  // first: --echo prints the reload's SELECT
        out << '(' << role_id << ", " << u->id << ")\n";
        // ANCHOR_END: one_to_many_steps

        out << "\n## Ours: change tracking, expiry and rollback (on the same session)\n";
        // ANCHOR: tracking_steps
        ours(out, "u.name='Bob'; db.session.commit()");
        u->name = "Bob";  // no session.add(u): the flush finds the change (--echo: the UPDATE)
        session.commit();
        ours(out, "u.name");
        show(out, u->name);  // expired by the commit, read again
        ours(out, "u.name='typo'; db.session.rollback(); u.name");
        u->name = "typo";
        session.rollback();
        show(out, u->name);  // the rollback expired it: the database's value again
        ours(out, "db.session.add(User(name='Bob')); db.session.commit()");
        session.add(User{.name = "Bob"});
        try {
            session.commit();
        } catch (const db::IntegrityError& e) {
            out << "IntegrityError: " << e.constraint() << " must be unique\n";
        }
        ours(out, "db.session.rollback(); User.query.count()");
        session.rollback();  // the pending twin leaves the session
        show(out, session.query<User>().count());
        ours(out, "User().name");
        show(out, User{}.name);  // NULL, None: not ''
        // ANCHOR_END: tracking_steps
    }

    out << "\n## Many-to-many: Student.classes / Class.students through relations "
           "(lazy='dynamic')\n";
    note(out, "the notes give no REPL here; every line below is ours:");
    {
        using namespace many_to_many;
        db::Database database(uri, metadata(), echo ? &out : nullptr);
        fresh(database);
        db::Session session(database);
        // ANCHOR: many_to_many_steps
        ours(out, "s=Student(name='Ann')");
        auto s = session.add(Student{.name = "Ann"});
        ours(out, "math=Class(name='Math'); art=Class(name='Art')");
        auto math = session.add(Class{.name = "Math"});
        auto art = session.add(Class{.name = "Art"});
        ours(out, "s.classes.append(math); s.classes.append(art)");
        s->classes.append(math);
        s->classes.append(art);
        ours(out, "db.session.add(s); db.session.commit()");
        session.commit();
        ours(out, "s.classes.count()");
        show(out, s->classes.count());
        ours(out, "s.classes.order_by(Class.name).all()");
        show(out, s->classes.order_by("name").all());
        ours(out, "math.students.all()");
        show(out, math->students.all());
        ours(out, "s.classes.filter_by(name='Math').first()");
        show(out, s->classes.filter_by("name", "Math").first());
        note(out,
             "the notes' Class.__repr__ returns '<CLass %s>'; the typo is fixed: <Class Math>");
        ours(out, "s.classes.remove(art); db.session.commit()");
        s->classes.remove(art);
        session.commit();
        ours(out, "s.classes.count(), art.students.count()");
        const auto classes = s->classes.count(), students = art->students.count();  // --echo
        out << '(' << classes << ", " << students << ")\n";
        // ANCHOR_END: many_to_many_steps
    }

    out << "\nThe last tables are left in the database (with idents from the first example)"
        << (on_sqlite ? ";\ntry: sqlite3 ch01.db .schema\n" : ".\n");
}

}  // namespace ch01

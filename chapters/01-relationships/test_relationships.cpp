// Chapter 01 tests: one fixture per relationship kind (setup/teardown play unittest's
// setUp/tearDown), checking the notes' stated outcomes and each relationship rule.
#define BOOST_TEST_MODULE ch01_relationships
#include <boost/test/unit_test.hpp>

#include "relationships.hpp"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>

using namespace ch01;

namespace {

template <class T>
std::string repr(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

/// A fresh in-memory database per test: create_all() in setup, drop_all() in teardown; the
/// schema is one example's (`Metadata`).
template <const db::Metadata& (*Metadata)()>
struct Fixture {
    // tests/postgres runs these cases again with a postgresql:// URI in this variable.
    db::Database database{[] {
                              const char* uri = std::getenv("WORKBOOK_TEST_DATABASE_URI");
                              return std::string(uri ? uri : "sqlite://");
                          }(),
                          Metadata()};
    std::optional<db::Session> session;

    void setup() {
        database.create_all();
        session.emplace(database);
    }
    void teardown() {
        session.reset();
        database.drop_all();
        auto c = database.acquire();
        for (const auto* t : Metadata().tables())
            BOOST_TEST(!c->has_table(t->name()), t->name() << " dropped");
    }
    /// A second session, to see what really reached the database.
    std::int64_t scalar(const std::string& sql) {
        auto c = database.acquire();
        auto& st = c->prepare(sql);
        std::int64_t v = st.step() ? st.get_int(0) : -1;
        st.reset();
        return v;
    }
};

using OneToOneFixture = Fixture<one_to_one::metadata>;
using OneToManyFixture = Fixture<one_to_many::metadata>;
using ManyToManyFixture = Fixture<many_to_many::metadata>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(OneToOne, OneToOneFixture)
using namespace one_to_one;

BOOST_AUTO_TEST_CASE(ident_backref_is_set_at_assignment) {
    auto i = session->add(Identification{.id = 123});
    auto u = session->add(User{.name = "Hyman"});
    i->user = u;
    BOOST_TEST(repr(u->ident) == "<Identification 123>");
    BOOST_TEST((i->user == u));
}

BOOST_AUTO_TEST_CASE(foreign_key_is_written_at_flush) {
    auto i = session->add(Identification{.id = 123});
    auto u = session->add(User{.name = "Hyman"});
    i->user = u;
    BOOST_TEST(!u->ident_id.has_value());
    session->commit();
    BOOST_TEST(u->ident_id.value() == 123);
    BOOST_TEST(scalar("SELECT ident_id FROM users WHERE name='Hyman'") == 123);
}

BOOST_AUTO_TEST_CASE(reassigning_clears_the_previous_owner) {
    auto i = session->add(Identification{.id = 123});
    auto u1 = session->add(User{.name = "Hyman"});
    i->user = u1;
    session->commit();
    auto u2 = session->add(User{.name = "Bob"});
    i->user = u2;
    BOOST_TEST(repr(u1->ident) == "None");  // at once, in memory
    BOOST_TEST(repr(u2->ident) == "<Identification 123>");
    BOOST_TEST(u1->ident_id.value() == 123);  // the column changes at flush
    session->commit();
    BOOST_TEST(!u1->ident_id.has_value());
    BOOST_TEST(scalar("SELECT count(*) FROM users WHERE name='Hyman' AND ident_id IS NULL") == 1);
    BOOST_TEST(scalar("SELECT ident_id FROM users WHERE name='Bob'") == 123);
}

BOOST_AUTO_TEST_CASE(assigning_from_the_foreign_key_side_too) {
    auto i = session->add(Identification{.id = 7});
    auto u1 = session->add(User{.name = "Hyman"});
    u1->ident = i;
    BOOST_TEST((i->user == u1));
    auto u2 = session->add(User{.name = "Bob"});
    u2->ident = i;
    BOOST_TEST((i->user == u2));
    BOOST_TEST(repr(u1->ident) == "None");
}

BOOST_AUTO_TEST_CASE(loaded_lazily_in_a_new_session) {
    auto i = session->add(Identification{.id = 123});
    i->user = session->add(User{.name = "Hyman"});
    session->commit();
    db::Session other(database);
    auto u = other.query<User>().filter_by("name", "Hyman").one();
    BOOST_TEST(repr(u->ident) == "<Identification 123>");
    BOOST_TEST(repr(other.get<Identification>(123)->user) == "<User Hyman>");
}

BOOST_AUTO_TEST_CASE(identity_map_gives_one_object_per_row) {
    session->add(User{.name = "Hyman"});
    session->commit();
    auto a = session->query<User>().filter_by("name", "Hyman").one();
    auto b = session->get<User>(a->id);
    BOOST_TEST((a == b));
    BOOST_TEST(a.get() == b.get());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(OneToMany, OneToManyFixture)
using namespace one_to_many;

BOOST_AUTO_TEST_CASE(append_sets_role_at_once) {
    auto r = session->add(Role{.name = "admin"});
    auto u = session->add(User{.name = "Hyman"});
    r->users.append(u);
    BOOST_TEST(repr(u->role) == "<Role admin>");
    BOOST_TEST(r->users.size() == 1u);
    BOOST_TEST(!u->role_id.has_value());
    session->commit();
    BOOST_TEST(u->role_id.value() == r->id);
}

BOOST_AUTO_TEST_CASE(assigning_role_moves_user_between_lists) {
    auto admin = session->add(Role{.name = "admin"});
    auto guest = session->add(Role{.name = "guest"});
    auto u = session->add(User{.name = "Hyman"});
    u->role = admin;
    BOOST_TEST(repr(admin->users) == "[<User Hyman>]");
    u->role = guest;
    BOOST_TEST(repr(admin->users) == "[]");
    BOOST_TEST(repr(guest->users) == "[<User Hyman>]");
    session->commit();
    db::Session other(database);
    BOOST_TEST(other.query<Role>().filter_by("name", "guest").one()->users.size() == 1u);
    BOOST_TEST(other.query<Role>().filter_by("name", "admin").one()->users.size() == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_name_raises_integrity_error_and_rollback_recovers) {
    session->add(Role{.name = "admin"});
    session->commit();
    session->add(Role{.name = "admin"});
    try {
        session->commit();
        BOOST_FAIL("expected IntegrityError");
    } catch (const db::IntegrityError& e) {
        BOOST_TEST(e.constraint() == "roles.name");
        BOOST_TEST(e.sql().find("INSERT INTO roles") != std::string::npos);
    }
    BOOST_CHECK_THROW(session->query<Role>().count(), db::PendingRollbackError);
    session->rollback();
    BOOST_TEST(session->query<Role>().count() == 1);
    session->add(Role{.name = "guest"});
    session->commit();
    BOOST_TEST(scalar("SELECT count(*) FROM roles") == 2);
}

BOOST_AUTO_TEST_CASE(deleting_a_role_nulls_its_users_foreign_key) {
    auto r = session->add(Role{.name = "admin"});
    auto u = session->add(User{.name = "Hyman"});
    r->users.append(u);
    session->commit();
    session->delete_(r);
    session->commit();
    BOOST_TEST(repr(u->role) == "None");
    BOOST_TEST(scalar("SELECT count(*) FROM users WHERE role_id IS NULL") == 1);
    BOOST_TEST(*r->name == "admin");  // a deleted object keeps its values, as in SQLAlchemy
}

// The notes' name columns are nullable: User() stores NULL (None), not '', so two nameless
// users do not collide on UNIQUE(name), and NULL reads back as NULL.
BOOST_AUTO_TEST_CASE(a_user_without_a_name_stores_null) {
    session->add(User{});
    session->add(User{});
    session->commit();
    BOOST_TEST(scalar("SELECT count(*) FROM users WHERE name IS NULL") == 2);
    db::Session other(database);
    auto users = other.query<User>().all();
    BOOST_TEST(users.size() == 2u);
    BOOST_TEST(!users[0]->name.has_value());
    BOOST_TEST(repr(users[0]) == "<User None>");
}

BOOST_AUTO_TEST_CASE(sql_injection_attempt_is_stored_literally) {
    const std::string evil = "Robert'); DROP TABLE users;--";
    session->add(User{.name = evil});
    session->commit();
    BOOST_TEST(session->query<User>().filter_by("name", evil).one()->name.value_or("") == evil);
    BOOST_TEST(scalar("SELECT count(*) FROM users") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(ManyToMany, ManyToManyFixture)
using namespace many_to_many;

BOOST_AUTO_TEST_CASE(dynamic_queries_count_filter_and_backref) {
    auto s = session->add(Student{.name = "Ann"});
    auto math = session->add(Class{.name = "Math"});
    auto art = session->add(Class{.name = "Art"});
    s->classes.append(math);
    s->classes.append(art);
    BOOST_TEST(s->classes.count() == 2);  // autoflush before the query
    BOOST_TEST(repr(s->classes.order_by("name").all()) == "[<Class Art>, <Class Math>]");
    BOOST_TEST(repr(s->classes.filter_by("name", "Math").first()) == "<Class Math>");
    BOOST_TEST(repr(math->students.all()) == "[<Student Ann>]");
    BOOST_TEST(s->classes.limit(1).count() == 1);
}

BOOST_AUTO_TEST_CASE(association_row_is_written_once_at_flush) {
    auto s = session->add(Student{.name = "Ann"});
    auto math = session->add(Class{.name = "Math"});
    s->classes.append(math);
    BOOST_TEST(scalar("SELECT count(*) FROM sqlite_master WHERE name='relations'") == 1);
    session->commit();
    BOOST_TEST(scalar("SELECT count(*) FROM relations") == 1);
    BOOST_TEST(math->students.count() == 1);
}

BOOST_AUTO_TEST_CASE(remove_deletes_the_association_row) {
    auto s = session->add(Student{.name = "Ann"});
    auto math = session->add(Class{.name = "Math"});
    s->classes.append(math);
    session->commit();
    math->students.remove(s);  // from the other side
    session->commit();
    BOOST_TEST(scalar("SELECT count(*) FROM relations") == 0);
    BOOST_TEST(s->classes.count() == 0);
}

BOOST_AUTO_TEST_CASE(nothing_is_loaded_until_asked) {
    auto s = session->add(Student{.name = "Ann"});
    s->classes.append(session->add(Class{.name = "Math"}));
    session->commit();
    std::ostringstream sql;
    database.set_echo(&sql);
    db::Session other(database);
    auto s2 = other.get<Student>(s->id);
    sql.str("");
    auto query = s2->classes.filter_by("name", "Math");  // builds a query, runs nothing
    BOOST_TEST(sql.str().empty());
    BOOST_TEST(query.count() == 1);
    BOOST_TEST(sql.str().find("SELECT count(*)") != std::string::npos);
    database.set_echo(nullptr);
}

BOOST_AUTO_TEST_CASE(deleting_a_student_removes_its_association_rows) {
    auto s = session->add(Student{.name = "Ann"});
    auto math = session->add(Class{.name = "Math"});
    s->classes.append(math);
    session->commit();
    session->delete_(s);
    session->commit();
    BOOST_TEST(scalar("SELECT count(*) FROM relations") == 0);
    BOOST_TEST(math->students.count() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Fidelity)

namespace {

/// Every CREATE statement of the file, by table, as notes_models.py prints them; without our
/// indexes on foreign-key columns (ix_<table>_<column>), the one documented difference.
std::string schema_of(const std::string& path, const db::Metadata& metadata) {
    std::vector<std::string> ours;
    for (const auto* t : metadata.tables())
        for (const auto& c : t->columns())
            if (c.foreign_key) ours.push_back("ix_" + t->name() + "_" + c.name);
    db::Database d("sqlite:///" + path, metadata);
    d.create_all();
    auto c = d.acquire();
    auto& st = c->prepare("SELECT name, type, sql FROM sqlite_master WHERE sql IS NOT NULL "
                          "ORDER BY tbl_name, type DESC, name");
    std::string out;
    std::size_t indexes = 0;
    while (st.step()) {
        const std::string name(st.get_text(0));
        if (st.get_text(1) == "index" && std::find(ours.begin(), ours.end(), name) != ours.end()) {
            ++indexes;
            continue;
        }
        out += std::string(st.get_text(2)) + ";\n";
    }
    st.reset();
    BOOST_TEST(indexes == ours.size(), "one index per foreign-key column");
    return out;
}

}  // namespace

// The notes' models, run by Flask-SQLAlchemy (notes_models.py), give the same tables,
// columns, types, UNIQUE constraints and foreign keys as chapter 01's create_all().
BOOST_AUTO_TEST_CASE(create_all_matches_the_notes_under_flask_sqlalchemy) {
    Poco::TemporaryFile dir;
    dir.createDirectories();
    Poco::Pipe pipe;
    auto handle = Poco::Process::launch(WORKBOOK_PYTHON, {NOTES_MODELS_PY, dir.path()}, nullptr,
                                        &pipe, &pipe);
    Poco::PipeInputStream stream(pipe);
    std::string python;
    Poco::StreamCopier::copyToString(stream, python);
    BOOST_TEST_REQUIRE(handle.wait() == 0, "notes_models.py failed:\n" << python);
    const auto file = [&](const char* name) { return Poco::Path(dir.path(), name).toString(); };
    const std::string cpp = "== one_to_one\n" + schema_of(file("1.db"), one_to_one::metadata()) +
                            "== one_to_many\n" + schema_of(file("2.db"), one_to_many::metadata()) +
                            "== many_to_many\n" + schema_of(file("3.db"), many_to_many::metadata());
    BOOST_TEST(cpp == python);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Chapter)

BOOST_AUTO_TEST_CASE(transcript_shows_the_notes_outcomes_and_repeats) {
    Poco::TemporaryFile file;  // removed at scope exit
    const std::string uri = "sqlite:///" + file.path();
    std::ostringstream first, second;
    run(first, uri);
    run(second, uri);  // an existing file gives the same transcript
    const std::string out = first.str();
    BOOST_TEST(out == second.str());
    BOOST_TEST(out.find(">>> u.ident\n<Identification 123>\n") != std::string::npos);
    BOOST_TEST(out.find(">>> r=Role(id=1,name='admin')\n>>> u=User(id=10,name='Hyman',role_id=1)\n"
                        ">>> r.users.append(u)\n>>> print u.role\n<Role admin>\n") !=
               std::string::npos);
    BOOST_TEST(out.find("<Class Math>") != std::string::npos);
    BOOST_TEST(out.find("<CLass Math>") == std::string::npos);
    Poco::File(file.path() + "-wal").exists() ? Poco::File(file.path() + "-wal").remove() : void();
    Poco::File(file.path() + "-shm").exists() ? Poco::File(file.path() + "-shm").remove() : void();
}

BOOST_AUTO_TEST_CASE(echo_shows_sql_with_parameters) {
    std::ostringstream out;
    run(out, "sqlite://", true);
    BOOST_TEST(out.str().find("INSERT INTO idents (id, address) VALUES (?, ?)\n(123, None)") !=
               std::string::npos);
    BOOST_TEST(out.str().find("INSERT INTO relations (student_id, class_id) VALUES (?, ?)") !=
               std::string::npos);
    // u.name='Bob' without session.add: the commit writes the changed column, and only it
    BOOST_TEST(out.str().find("UPDATE users SET name=? WHERE users.id = ?\n('Bob', 10)") !=
               std::string::npos);
    // A lazy load's SQL comes before the line that shows its value, as in the REPL, never
    // inside it: no printed value starts with the SELECT.
    BOOST_TEST(out.str().find("\n(SELECT") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_uri_names_the_uri_and_the_accepted_forms) {
    std::ostringstream out;
    try {
        run(out, "mysql://localhost/x");
        BOOST_FAIL("expected UriError");
    } catch (const db::UriError& e) {
        BOOST_TEST(std::string(e.what()).find("mysql://localhost/x") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("sqlite:///relative/path.db") != std::string::npos);
    }
    BOOST_CHECK_THROW(run(out, "sqlite:////no/such/dir/x.db"), db::UriError);
}

BOOST_AUTO_TEST_SUITE_END()

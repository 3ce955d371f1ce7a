// common::db on PostgreSQL: what only this engine has (URI translation, SERIAL keys, SQLSTATE
// mapping, the pool after a lost connection). Run under tests/postgres/throwaway.sh, which
// sets WORKBOOK_TEST_DATABASE_URI; the engine-neutral tests (tests/db, chapter 01) run there
// too, see tests/postgres/CMakeLists.txt.
#define BOOST_TEST_MODULE postgres
#include <boost/test/unit_test.hpp>

#include "common/db/db.hpp"
#include "common/db/postgresql_dialect.hpp"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace db = common::db;

namespace {

struct Author;
struct Book {
    std::int64_t id = 0;
    std::string title;
    double price = 0;
    bool in_print = false;
    std::optional<std::int64_t> author_id{};
    std::int64_t printed_ms = 0;  // milliseconds since 1970: past 2^31, so BigInteger
    db::One<Author> author{};
    static db::Model<Book>& model();
};
struct Author {
    std::int64_t id = 0;
    std::string name;
    db::Dynamic<Book> books{};
    static db::Model<Author>& model();
};

db::Model<Author>& Author::model() {
    static auto m = db::Model<Author>("authors")
                        .column("id", &Author::id, db::Integer, db::primary_key)
                        .column("name", &Author::name, db::String(64), db::unique)
                        .relationship("books", &Author::books, db::backref("author", &Book::author),
                                      db::lazy::dynamic);
    return m;
}
db::Model<Book>& Book::model() {
    static auto m =
        db::Model<Book>("books")
            .column("id", &Book::id, db::Integer, db::primary_key)
            .column("title", &Book::title, db::Text)
            .column("price", &Book::price, db::Float)
            .column("in_print", &Book::in_print, db::Boolean)
            .column("author_id", &Book::author_id, db::Integer, db::ForeignKey("authors.id"))
            .column("printed_ms", &Book::printed_ms, db::BigInteger);
    return m;
}

const db::Metadata& metadata() {
    static const auto m = db::Metadata::of<Author, Book>();
    return m;
}

std::string uri() {
    const char* u = std::getenv("WORKBOOK_TEST_DATABASE_URI");
    if (!u || std::string_view(u).substr(0, 13) != "postgresql://")
        throw std::runtime_error("set WORKBOOK_TEST_DATABASE_URI to a postgresql:// URI (run "
                                 "through tests/postgres/throwaway.sh)");
    return u;
}

struct Fixture {
    db::Database database{uri(), metadata()};
    std::optional<db::Session> session;
    Fixture() {
        database.drop_all();  // a failed earlier case may have left tables behind
        database.create_all();
        session.emplace(database);
    }
    ~Fixture() {
        session.reset();
        database.drop_all();
    }
    std::string text(const std::string& sql) {
        auto c = database.acquire();
        auto& st = c->prepare(sql);
        std::string out;
        while (st.step()) out += std::string(st.get_text(0)) + "\n";
        st.reset();
        return out;
    }
};

/// pg_terminate_backend() only signals the backend: wait until it has really gone.
void wait_until_gone(db::Connection& c, const std::string& condition) {
    auto& st = c.prepare("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND " +
                         condition);
    for (int i = 0; i < 100; ++i) {
        BOOST_REQUIRE(st.step());
        const auto left = st.get_int(0);
        st.reset();
        if (left == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_FAIL("the terminated backend is still there after 5 s");
}

/// What a server restart or failover does to a session that has flushed: its backend goes.
void kill_sessions_in_a_transaction(db::Database& database) {
    auto killer = database.acquire();
    killer->execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "datname = current_database() AND pid <> pg_backend_pid() AND state = "
                    "'idle in transaction'");
    wait_until_gone(*killer, "state = 'idle in transaction'");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Uris)

BOOST_AUTO_TEST_CASE(uris_become_libpq_key_value_strings) {
    using db::detail::postgresql_conninfo;
    BOOST_TEST(postgresql_conninfo("postgresql://ann:s%40cret@db.example:5433/flasky") ==
               "connect_timeout='5' dbname='flasky' host='db.example' password='s@cret' "
               "port='5433' user='ann'");
    BOOST_TEST(postgresql_conninfo("postgresql:///flasky?host=/run/postgresql") ==
               "connect_timeout='5' dbname='flasky' host='/run/postgresql'");
    BOOST_TEST(postgresql_conninfo("postgresql://h/d?connect_timeout=1&sslmode=require") ==
               "connect_timeout='1' dbname='d' host='h' sslmode='require'");
    BOOST_TEST(postgresql_conninfo("postgresql://o'b@h/d") ==
               "connect_timeout='5' dbname='d' host='h' user='o\\'b'");
    // As SQLAlchemy reads them: '#', '/', '?' and a '%' that starts no escape, written raw in
    // a password, are the password; %3A in a user name is its ':'. (Before: Poco read a
    // fragment or a path into the password and quoted it in the error, or threw its own
    // exception for the '%'.)
    BOOST_TEST(postgresql_conninfo("postgresql://u:pa#s/s?%zz@h/d") ==
               "connect_timeout='5' dbname='d' host='h' password='pa#s/s?%zz' user='u'");
    BOOST_TEST(postgresql_conninfo("postgresql://us%3Aer:pw@h/d") ==
               "connect_timeout='5' dbname='d' host='h' password='pw' user='us:er'");
    try {
        postgresql_conninfo("postgresql://u:tiger@h/d?password=s%zz");
        BOOST_FAIL("a bad escape in the query was accepted");
    } catch (const db::UriError& e) {
        BOOST_TEST(std::string(e.what()).find("tiger") == std::string::npos, e.what());
    }
    BOOST_CHECK_THROW(postgresql_conninfo("postgresql://h/a/b"), db::UriError);
    BOOST_CHECK_THROW(postgresql_conninfo("postgresql://h/d?bad-key=1"), db::UriError);
    try {
        db::Database d("postgres://h/d", metadata());
        BOOST_FAIL("postgres:// accepted");
    } catch (const db::UriError& e) {
        BOOST_TEST(std::string(e.what()).find("write postgresql://") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(unreachable_server_says_what_to_check_and_hides_the_password) {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    try {
        db::Database d("postgresql://ann:topsecret@127.0.0.1:1/flasky", metadata());
        BOOST_FAIL("connected to port 1");
    } catch (const db::OperationalError& e) {  // as SQLAlchemy's: the server may come back
        std::string m = e.what();
        BOOST_TEST(m.find("host 127.0.0.1 port 1") != std::string::npos, m);
        BOOST_TEST(m.find("pg_isready") != std::string::npos, m);
        BOOST_TEST(m.find("topsecret") == std::string::npos, m);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Engine, Fixture)

// A Flask config written for SQLAlchemy names its driver: postgresql+psycopg2://...
BOOST_AUTO_TEST_CASE(a_uri_naming_a_python_driver_reaches_the_same_database) {
    db::Database same("postgresql+psycopg2://" + uri().substr(13), metadata());
    db::Session s(same);
    s.add(Author{.name = "Miguel"});
    s.commit();
    BOOST_TEST(session->query<Author>().count() == 1);
}

BOOST_AUTO_TEST_CASE(create_all_makes_serial_keys_and_sqlalchemy_types) {
    // What Flask-SQLAlchemy's create_all() makes of the same model on PostgreSQL.
    BOOST_TEST(text("SELECT column_name || ' ' || data_type || coalesce('(' || "
                    "character_maximum_length || ')', '') || ' ' || is_nullable || ' ' || "
                    "coalesce(column_default, '') FROM information_schema.columns WHERE "
                    "table_name='books' ORDER BY ordinal_position") ==
               "id integer NO nextval('books_id_seq'::regclass)\n"
               "title text YES \n"
               "price double precision YES \n"
               "in_print boolean YES \n"
               "author_id integer YES \n"
               "printed_ms bigint YES \n");
    BOOST_TEST(text("SELECT conname || ' ' || contype::text FROM pg_constraint WHERE conrelid = "
                    "'authors'::regclass ORDER BY conname") ==
               "authors_name_key u\nauthors_pkey p\n");
    BOOST_TEST(text("SELECT indexname FROM pg_indexes WHERE tablename='books' ORDER BY 1") ==
               "books_pkey\nix_books_author_id\n");
}

BOOST_AUTO_TEST_CASE(keys_values_and_relationships_round_trip) {
    auto a = session->add(Author{.name = "Grinberg"});
    auto b = session->add(Book{.title = "Flask Web Development",
                               .price = 39.99,
                               .in_print = true,
                               .printed_ms = 1796004471466});
    a->books.append(b);
    session->add(Book{.title = "It's \"quoted\" -- ; DROP TABLE books", .price = 0.5});
    session->commit();
    BOOST_TEST(a->id == 1);
    BOOST_TEST(b->id == 1);

    db::Session other(database);
    auto found = other.query<Book>().filter_by("title", "Flask Web Development").one();
    BOOST_TEST(found->price == 39.99);
    BOOST_TEST(found->in_print);
    BOOST_TEST(found->author->name == "Grinberg");
    BOOST_TEST(other.query<Book>().filter("price < ?", {1.0}).one()->title ==
               "It's \"quoted\" -- ; DROP TABLE books");
    BOOST_TEST(other.query<Author>().one()->books.count() == 1);
    // A 64-bit value bound against the column, as the mail outbox binds its next_attempt_at.
    BOOST_TEST(
        other.query<Book>().filter("printed_ms >= ?", {std::int64_t{1796004471466}}).count() == 1);
    BOOST_TEST(found->printed_ms == 1796004471466);
}

BOOST_AUTO_TEST_CASE(unique_violation_is_integrity_error_named_like_sqlite) {
    session->add(Author{.name = "Ann"});
    session->commit();
    session->add(Author{.name = "Ann"});
    try {
        session->commit();
        BOOST_FAIL("duplicate name accepted");
    } catch (const db::IntegrityError& e) {
        BOOST_TEST(e.constraint() == "authors.name");
        BOOST_TEST(std::string(e.what()).find("23505") == std::string::npos);  // message, not code
        BOOST_TEST(std::string(e.what()).find("duplicate key") != std::string::npos);
    }
    session->rollback();
    BOOST_TEST(session->query<Author>().count() == 1);
    session->add(Author{.name = "Bob"});  // the session is usable again
    session->commit();
    BOOST_TEST(session->query<Author>().count() == 2);
}

BOOST_AUTO_TEST_CASE(foreign_key_violation_is_integrity_error) {
    session->add(Book{.title = "orphan", .author_id = 42});
    try {
        session->commit();
        BOOST_FAIL("dangling foreign key accepted");
    } catch (const db::IntegrityError& e) {
        BOOST_TEST(e.constraint() == "books.author_id");
    }
    session->rollback();
}

BOOST_AUTO_TEST_CASE(serialization_failure_says_to_retry) {
    session->add(Author{.name = "Ann"});
    session->commit();
    auto a = database.acquire(), b = database.acquire();
    a->execute("BEGIN ISOLATION LEVEL SERIALIZABLE");
    a->execute("SELECT name FROM authors");
    b->execute("UPDATE authors SET name='Bob'");
    try {
        a->execute("UPDATE authors SET name='Cy'");
        BOOST_FAIL("no serialization failure");
    } catch (const db::Error& e) {
        BOOST_TEST(std::string(e.what()).find("run the unit of work again") != std::string::npos,
                   e.what());
    }
    a->execute("ROLLBACK");
}

BOOST_AUTO_TEST_CASE(insert_reads_its_key_from_returning_not_lastval) {
    std::ostringstream echo;
    database.set_echo(&echo);
    auto a = session->add(Author{.name = "Ann"});
    auto b = session->add(Author{.name = "Bob"});
    session->commit();
    database.set_echo(nullptr);
    BOOST_TEST(a->id == 1);
    BOOST_TEST(b->id == 2);
    BOOST_TEST(echo.str().find("INSERT INTO authors (name) VALUES ($1) RETURNING id") !=
                   std::string::npos,
               echo.str());
    BOOST_TEST(echo.str().find("lastval") == std::string::npos, echo.str());
}

// Dialect::one_writer_at_a_time() is false: a session holding a write transaction open does
// not stop another session of the same Database from writing (on SQLite the second would
// wait up to 5 s for Database::writer(), then fail).
BOOST_AUTO_TEST_CASE(writers_do_not_queue_in_process) {
    BOOST_TEST(!database.dialect().one_writer_at_a_time());
    session->add(Author{.name = "Ann"});
    session->flush();  // BEGIN and INSERT, not committed
    db::Session other(database);
    other.add(Author{.name = "Bob"});
    const auto start = std::chrono::steady_clock::now();
    other.commit();
    const bool quick = std::chrono::steady_clock::now() - start < std::chrono::seconds(2);
    BOOST_TEST(quick, "the second writer waited for the first");
    session->commit();
    BOOST_TEST(other.query<Author>().count() == 2);
}

// Two sessions insert the same unique name at once: the second waits at the UNIQUE index for
// the first's COMMIT, then fails with 23505 → IntegrityError (what add_user_if_new relies on).
BOOST_AUTO_TEST_CASE(concurrent_duplicate_insert_is_integrity_error_for_the_second) {
    session->add(Author{.name = "Ann"});
    session->flush();  // holds the index entry for "Ann" until commit
    std::optional<std::string> second;
    std::thread other([&] {
        db::Session s(database);
        s.add(Author{.name = "Ann"});
        try {
            s.commit();
            second = "committed";
        } catch (const db::IntegrityError& e) {
            second = "IntegrityError " + e.constraint();
            s.rollback();
        } catch (const std::exception& e) {
            second = std::string("other error: ") + e.what();
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it reach the index
    session->commit();
    other.join();
    BOOST_TEST(second.value_or("nothing") == "IntegrityError authors.name");
    BOOST_TEST(session->query<Author>().count() == 1);
}

BOOST_AUTO_TEST_CASE(pool_replaces_a_connection_the_server_dropped) {
    session->add(Author{.name = "Ann"});
    session->commit();
    session.reset();  // its connection goes back to the pool
    {
        auto killer = database.acquire();
        auto victim = database.acquire();
        auto& pid = victim->prepare("SELECT pg_backend_pid()");
        BOOST_REQUIRE(pid.step());
        std::string victim_pid(pid.get_text(0));
        pid.reset();
        killer->execute("SELECT pg_terminate_backend(" + victim_pid + ")");
        wait_until_gone(*killer, "pid = " + victim_pid);
        try {
            victim->execute("SELECT 1");
            BOOST_FAIL("a terminated connection still answered");
        } catch (const db::Error& e) {
            BOOST_TEST(std::string(e.what()).find("lost the connection") != std::string::npos,
                       e.what());
        }
    }  // both go back to the pool; the dead one must not come out again
    {
        // A session whose connection dies mid-transaction: the error names the cause, and
        // rollback() recovers instead of failing on the dead connection again.
        db::Session s(database);
        s.add(Author{.name = "Bob"});
        s.flush();
        kill_sessions_in_a_transaction(database);
        s.add(Author{.name = "Cy"});
        BOOST_CHECK_THROW(s.commit(), db::Error);
        BOOST_CHECK_NO_THROW(s.rollback());
        BOOST_TEST(s.query<Author>().count() == 1);
    }
    for (int i = 0; i < 3; ++i) {
        db::Session s(database);
        BOOST_TEST(s.query<Author>().count() == 1);
    }
}

// `id = $1` is prepared with $1 an INTEGER; psycopg2 sends 2^40 as a BIGINT literal that
// matches nothing. A key beyond 32 bits (from a URL: /user/1099511627776) is "no such row",
// not an error that would also abort the session's transaction.
BOOST_AUTO_TEST_CASE(a_key_beyond_the_column_type_finds_no_row) {
    const std::int64_t big = std::int64_t{1} << 40;
    session->add(Author{.name = "Ann"});
    session->flush();
    BOOST_TEST(!session->get<Author>(big));
    BOOST_TEST(session->query<Author>().filter_by("id", big).count() == 0);
    BOOST_TEST(session->query<Author>().filter_by("id", -big).count() == 0);
    BOOST_TEST(session->query<Author>().filter_by("id", std::int64_t{1}).count() == 1);
    session->commit();  // the transaction was not aborted: Ann is stored
    db::Session other(database);
    BOOST_TEST(other.query<Author>().count() == 1);
    // Storing such a value in an INTEGER column is still refused, as SQLAlchemy's is.
    other.add(Author{.id = big, .name = "Bob"});
    BOOST_CHECK_THROW(other.commit(), db::DataError);
}

// The connection dies after a flush; a read of the same session fails and the program carries
// on (a fallback page, say); then commit(). The flushed row went with the connection, so the
// commit must fail rather than report it stored: SQLAlchemy raises PendingRollbackError.
BOOST_AUTO_TEST_CASE(a_transaction_lost_with_its_connection_is_not_reported_committed) {
    db::Session s(database);
    s.add(Author{.name = "Bob"});
    s.flush();
    kill_sessions_in_a_transaction(database);
    BOOST_CHECK_THROW(s.query<Author>().count(), db::OperationalError);  // caught, carried on
    try {
        s.commit();
        BOOST_FAIL("commit() returned normally after its transaction was lost");
    } catch (const db::OperationalError& e) {
        BOOST_TEST(std::string(e.what()).find("ended without a COMMIT") != std::string::npos,
                   e.what());
    }
    BOOST_CHECK_THROW(s.commit(), db::PendingRollbackError);  // until rollback()
    s.rollback();
    BOOST_TEST(s.query<Author>().count() == 0);
    s.add(Author{.name = "Bob"});  // the unit of work, run again, is stored
    s.commit();
    BOOST_TEST(session->query<Author>().count() == 1);
}

// A COMMIT the server refuses (here a deferred constraint, checked only at COMMIT): nothing is
// stored, and as in SQLAlchemy the session refuses work until rollback(). (Before: the next
// commit() was accepted, and its INSERTs ran outside any transaction, one by one.)
BOOST_AUTO_TEST_CASE(a_refused_commit_needs_rollback_and_stores_nothing) {
    database.acquire()->execute(
        "ALTER TABLE books ADD CONSTRAINT books_title_later UNIQUE (title) DEFERRABLE INITIALLY "
        "DEFERRED");
    session->add(Book{.title = "x"});
    session->add(Book{.title = "x"});
    BOOST_CHECK_THROW(session->commit(), db::IntegrityError);
    session->add(Book{.title = "y"});
    BOOST_CHECK_THROW(session->commit(), db::PendingRollbackError);
    session->rollback();
    BOOST_TEST(session->query<Book>().count() == 0);
    // A unit of work after the rollback is one transaction again: all or nothing.
    session->add(Book{.title = "p1"});
    session->add(Book{.title = "p1"});
    BOOST_CHECK_THROW(session->commit(), db::IntegrityError);
    session->rollback();
    BOOST_TEST(session->query<Book>().count() == 0);
    session->add(Book{.title = "p2"});
    session->commit();
    BOOST_TEST(session->query<Book>().count() == 1);
}

BOOST_AUTO_TEST_CASE(a_nul_in_text_is_refused_not_cut_short) {
    // libpq would send "A\0B" as "A"; psycopg2 refuses the string, and so does common::db.
    session->add(Author{.name = std::string("A\0B", 3)});
    try {
        session->commit();
        BOOST_FAIL("a name with NUL was stored");
    } catch (const db::Error& e) {
        BOOST_TEST(std::string(e.what()).find("cannot hold the character NUL") != std::string::npos,
                   e.what());
    }
    session->rollback();
    BOOST_TEST(session->query<Author>().count() == 0);
    session->add(Author{.name = "AB"});  // the session and its cached statement still work
    session->commit();
    BOOST_TEST(session->query<Author>().count() == 1);
}

BOOST_AUTO_TEST_CASE(a_restart_leaves_no_stale_connection_for_the_next_sessions) {
    // Every connection of the pool idle, then the server drops them all, as a restart or a
    // failover does. The next sessions must get working connections: none of them fails on
    // a dead one (SQLAlchemy's default pool fails the first, then empties the pool).
    session->add(Author{.name = "Ann"});
    session->commit();
    session.reset();
    {
        std::vector<std::shared_ptr<db::Connection>> held;
        for (int i = 0; i < 4; ++i) held.push_back(database.acquire());
    }  // four idle connections in the pool
    {
        db::Database other(uri(), metadata());  // outside the pool under test
        auto killer = other.acquire();
        killer->execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = current_database() AND pid <> pg_backend_pid()");
        wait_until_gone(*killer, "pid <> pg_backend_pid()");
    }
    for (int i = 0; i < 4; ++i) {
        db::Session s(database);
        s.add(Author{.name = "After " + std::to_string(i)});
        BOOST_CHECK_NO_THROW(s.commit());
    }
    db::Session s(database);
    BOOST_TEST(s.query<Author>().count() == 5);
}

BOOST_AUTO_TEST_SUITE_END()

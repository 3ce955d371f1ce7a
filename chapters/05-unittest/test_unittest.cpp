// Chapter 05: the fixture really is setUp/tearDown, and `flasky test` reports what ran.
#define BOOST_TEST_MODULE ch05_unittest
#include <boost/test/unit_test.hpp>

#include "common/config/scoped_env.hpp"
#include "common/flasky/app.hpp"
#include "common/flasky/manage.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/testing.hpp"

#include <Poco/TemporaryFile.h>

#include <sstream>

using common::config::ScopedEnv;

namespace {

/// The tables of a SQLite database file, sorted, read with a fresh engine.
std::vector<std::string> tables_in(const std::string& uri) {
    common::db::Database database(uri, flasky::metadata());
    auto connection = database.acquire();
    auto& st =
        connection->prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
    std::vector<std::string> names;
    while (st.step()) names.emplace_back(st.get_text(0));
    st.reset();
    return names;
}

struct Run {
    int status;
    std::string output;
};

Run flasky_test(const std::vector<std::string>& names) {
    std::ostringstream out;
    int status = flasky::manage::test(out, names);
    return {status, out.str()};
}

Run flasky_command(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int status = flasky::manage::main(args, out, err);
    return {status, out.str() + err.str()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Fixture)

BOOST_AUTO_TEST_CASE(setup_creates_the_tables_and_teardown_drops_them) {
    Poco::TemporaryFile file;
    const std::string uri = "sqlite:///" + file.path();
    ScopedEnv database{"TEST_DATABASE_URI", uri};
    {
        flasky::BasicTestCase test;  // setUp
        BOOST_TEST(test.app->config.get_bool("TESTING"));
        BOOST_TEST((tables_in(uri) == std::vector<std::string>{"outbox", "roles", "users"}));
    }  // tearDown
    BOOST_TEST(tables_in(uri).empty());
}

BOOST_AUTO_TEST_CASE(each_fixture_gets_its_own_database) {
    flasky::BasicTestCase a, b;
    BOOST_TEST(flasky::db.engine(*a.app).uri() != flasky::db.engine(*b.app).uri());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Manager)

BOOST_AUTO_TEST_CASE(test_runs_the_named_tests_verbosely) {
    auto run = flasky_test({"BasicTestCase"});
    BOOST_TEST(run.status == 0);
    BOOST_TEST(run.output.find("Entering test case \"test_app_exists\"") != std::string::npos);
    BOOST_TEST(run.output.find("Leaving test case \"test_app_is_testing\"") != std::string::npos);
    BOOST_TEST(run.output.find("tests/flasky/test_basics.cpp(") !=
               std::string::npos);  // relative paths
}

BOOST_AUTO_TEST_CASE(a_failing_test_makes_the_command_fail) {
    auto run = flasky_test({"SeedErrata/test_app_is_testing_inverted"});
    BOOST_TEST(run.status != 0);
    BOOST_TEST(run.output.find("has failed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_never_called_setup_leaves_no_tables) {
    auto run = flasky_test({"SeedErrata/test_without_setup"});
    BOOST_TEST(run.status != 0);
    BOOST_TEST(run.output.find("no such table: users") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_test_name_fails) {
    BOOST_TEST(flasky_test({"NoSuchSuite"}).status != 0);
    // Beside a right name too (the notes' own typo): Boost.Test alone would run the right one
    // and pass.
    auto run = flasky_test({"BasicTestCase/test_app_exits", "BasicTestCase/test_app_is_testing"});
    BOOST_TEST(run.status == 200);
    BOOST_TEST(run.output.find("no test or suite is named 'BasicTestCase/test_app_exits'") !=
               std::string::npos);
    BOOST_TEST(run.output.find("  BasicTestCase/test_app_exists\n") != std::string::npos);
    BOOST_TEST(flasky_test({"BasicTestCase/test_app_exists", "BasicTestCase/test_app_*"}).status ==
               0);
}

BOOST_AUTO_TEST_CASE(unknown_subcommand_prints_usage_and_exits_2) {
    auto run = flasky_command({"frobnicate"});
    BOOST_TEST(run.status == 2);
    BOOST_TEST(run.output.find("unknown command 'frobnicate'") != std::string::npos);
    BOOST_TEST(run.output.find("runserver") != std::string::npos);
    BOOST_TEST(flasky_command({}).status == 2);
    // Arguments a command does not take are its error, not "unknown command"; `db nope`
    // created the database file before it said so.
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"routes", "extra"}, {"db", "nope"}, {"db", "create", "--yes"}}) {
        auto refused = flasky_command(bad);
        BOOST_TEST(refused.status == 2, bad[0] + " " + bad[1]);
        BOOST_TEST(refused.output.find("unknown command") == std::string::npos, refused.output);
    }
    BOOST_TEST(flasky_command({"db", "--help"}).status == 0);
    BOOST_TEST(flasky_command({"runserver", "--help"}).status == 0);
}

BOOST_AUTO_TEST_CASE(runserver_refuses_bad_numbers_before_serving) {
    auto threads = flasky_command({"runserver", "--threads", "0"});
    BOOST_TEST(threads.status == 2);
    BOOST_TEST(threads.output.find("--threads must be a whole number from 1 to 1024, not '0'") !=
               std::string::npos);
    auto port = flasky_command({"runserver", "--port", "http"});
    BOOST_TEST(port.status == 2);
    BOOST_TEST(port.output.find("--port must be a whole number from 1 to 65535") !=
               std::string::npos);
    // A typo is an error, not the number it starts with ("5000abc" served on 5000).
    for (const char* typo : {"5000abc", "50.5", ""})
        BOOST_TEST(flasky_command({"runserver", "--port", typo}).status == 2, typo);
    auto missing = flasky_command({"runserver", "--port"});
    BOOST_TEST(missing.status == 2);
    BOOST_TEST(missing.output.find("--port needs a value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(routes_prints_the_url_map) {
    ScopedEnv config{"FLASKY_CONFIG", "testing"};
    auto run = flasky_command({"routes"});
    BOOST_TEST(run.status == 0);
    BOOST_TEST(run.output.find("main.index") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(db_create_and_drop) {
    Poco::TemporaryFile file;
    const std::string uri = "sqlite:///" + file.path();
    ScopedEnv config{"FLASKY_CONFIG", "testing"};
    ScopedEnv database{"TEST_DATABASE_URI", uri};
    auto created = flasky_command({"db", "create"});
    BOOST_TEST(created.status == 0);
    BOOST_TEST(created.output.find("3 roles added") != std::string::npos);
    BOOST_TEST((tables_in(uri) == std::vector<std::string>{"outbox", "roles", "users"}));
    BOOST_TEST(flasky_command({"db", "drop"}).status == 0);
    BOOST_TEST(tables_in(uri).empty());
    auto wrong = flasky_command({"db", "migrate"});
    BOOST_TEST(wrong.status == 2);
    BOOST_TEST(wrong.output.find("unknown arguments 'migrate'") != std::string::npos);
    auto bare = flasky_command({"db"});
    BOOST_TEST(bare.status == 2);
    BOOST_TEST(bare.output.find("say what to do: use `flasky db create`, `flasky db drop`") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(db_drop_in_production_needs_yes) {
    Poco::TemporaryFile file;
    const std::string uri = "sqlite:///" + file.path();
    ScopedEnv config{"FLASKY_CONFIG", "production"};
    ScopedEnv database{"DATABASE_URI", uri};
    ScopedEnv secret{"SECRET_KEY", "a production secret of thirty-two bytes or more"};
    BOOST_TEST(flasky_command({"db", "create"}).status == 0);
    auto refused = flasky_command({"db", "drop"});
    BOOST_TEST(refused.status == 1);
    BOOST_TEST(refused.output.find("flasky db drop --yes") != std::string::npos);
    BOOST_TEST((tables_in(uri) == std::vector<std::string>{"outbox", "roles", "users"}));
    BOOST_TEST(flasky_command({"db", "drop", "--yes"}).status == 0);
    BOOST_TEST(tables_in(uri).empty());
}

BOOST_AUTO_TEST_SUITE_END()

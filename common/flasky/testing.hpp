#pragma once
// tests/test_basics.py's fixture, for every test of the app: the seed's setUp and tearDown
// steps as the constructor and destructor of a Boost.Test fixture
// (BOOST_FIXTURE_TEST_SUITE(BasicTestCase, flasky::BasicTestCase)).

#include "common/db/db.hpp"
#include "common/web/app.hpp"

#include <Poco/TemporaryFile.h>

#include <memory>
#include <optional>

namespace flasky {

// ANCHOR: fixture
/// class BasicTestCase(unittest.TestCase)
struct BasicTestCase {
    /// def setUp(self): an app for 'testing', its context, and the tables.
    BasicTestCase();
    /// def tearDown(self): remove the session, drop the tables, pop the context.
    ~BasicTestCase();

    BasicTestCase(const BasicTestCase&) = delete;
    BasicTestCase& operator=(const BasicTestCase&) = delete;

    std::unique_ptr<common::web::App> app;       ///< self.app
    std::optional<common::db::Session> session;  ///< db.session of the pushed app context

private:
    // Each test gets its own database file: ctest runs tests in parallel processes, and the
    // seed's one data-test.sqlite would let one test's drop_all() pull the tables from under
    // another. (Set TEST_DATABASE_URI to choose the database yourself.)
    Poco::TemporaryFile database_file_;
};
// ANCHOR_END: fixture

}  // namespace flasky

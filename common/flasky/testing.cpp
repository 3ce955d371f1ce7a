#include "common/flasky/testing.hpp"

#include "common/config/scoped_env.hpp"
#include "common/flasky/app.hpp"

#include <cstdlib>

namespace flasky {

namespace {

// ANCHOR: testing_app
/// create_app('testing') on `file` unless TEST_DATABASE_URI chooses a database.
std::unique_ptr<common::web::App> testing_app(const Poco::TemporaryFile& file) {
    const char* chosen = std::getenv("TEST_DATABASE_URI");
    if (chosen && *chosen) return create_app("testing");
    common::config::ScopedEnv uri("TEST_DATABASE_URI", "sqlite:///" + file.path());
    return create_app("testing");
}
// ANCHOR_END: testing_app

}  // namespace

// ANCHOR: setup_teardown
BasicTestCase::BasicTestCase() {
    app = testing_app(database_file_);  // self.app = create_app('testing')
    session.emplace(db.engine(*app));   // self.app_context.push(): db.session is this app's
    db.create_all(*app);                // db.create_all()
}

BasicTestCase::~BasicTestCase() {
    session.reset();    // db.session.remove()
    db.drop_all(*app);  // db.drop_all()
    app.reset();        // self.app_context.pop()
}
// ANCHOR_END: setup_teardown

}  // namespace flasky

// tests/test_client.py: the Flasky page through the socketless test client, in the book's
// style (a fixture per test case, one request flow per test).
#include <boost/test/unit_test.hpp>

#include "common/config/scoped_env.hpp"
#include "common/flasky/app.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/flasky/testing.hpp"
#include "common/mail/mail.hpp"
#include "common/web/test_client.hpp"

namespace web = common::web;

namespace {

// ANCHOR: client_fixture
/// class FlaskClientTestCase(unittest.TestCase): BasicTestCase plus self.client.
struct FlaskClientFixture : flasky::BasicTestCase {
    web::TestClient client = app->test_client();

    /// Posts the name form the way a browser does: the token comes from the rendered page.
    web::TestResponse post_name(const std::string& name, bool follow_redirects = false) {
        auto token = web::TestClient::csrf_token(client.get("/").body);
        return client.post("/", {{"name", name}, {"csrf_token", token}},
                           {.follow_redirects = follow_redirects});
    }
};
// ANCHOR_END: client_fixture

}  // namespace

BOOST_FIXTURE_TEST_SUITE(FlaskClientTestCase, FlaskClientFixture)

// ANCHOR: client_tests
BOOST_AUTO_TEST_CASE(test_home_page) {
    auto response = client.get("/");
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.contains("Hello, Stranger!"));
}

BOOST_AUTO_TEST_CASE(test_new_then_known_user) {
    auto response = post_name("susan", true);
    BOOST_TEST(response.contains("Hello, susan!"));
    BOOST_TEST(response.contains("Pleased to meet you!"));
    response = post_name("susan", true);
    BOOST_TEST(response.contains("Happy to see you again!"));
    BOOST_TEST(session->query<flasky::User>().filter_by("username", "susan").count() == 1);
}
// ANCHOR_END: client_tests

BOOST_AUTO_TEST_CASE(test_post_without_csrf_token_shows_the_form_again) {
    client.get("/");
    auto response = client.post("/", {{"name", "mallory"}});
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.contains("The CSRF token is missing."));
    // A token without its session (cookies blocked, or another browser's token): Flask-WTF's
    // form has made this session a token of its own by then, so they do not match.
    const std::string token = web::TestClient::csrf_token(client.get("/").body);
    auto cookieless = app->test_client();
    response = cookieless.post("/", {{"name", "mallory"}, {"csrf_token", token}});
    BOOST_TEST(response.contains("The CSRF tokens do not match."));
    BOOST_TEST(session->query<flasky::User>().count() == 0);
}

BOOST_AUTO_TEST_CASE(test_empty_name_is_required) {
    auto response = post_name("");
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.contains("This field is required."));
    // Blank as Python's str.strip() sees it: a no-break space, an ideographic space, \x1f.
    for (const char* name : {" \t", "\xC2\xA0", "\xE3\x80\x80", "\x1f"}) {
        response = post_name(name);
        BOOST_TEST(response.contains("This field is required."), name);
    }
    BOOST_TEST(session->query<flasky::User>().count() == 0);
}

BOOST_AUTO_TEST_CASE(test_unknown_page_is_404) {
    auto response = client.get("/wrong/url");
    BOOST_TEST(response.status == 404);
    BOOST_TEST(response.contains("Not Found"));
}

BOOST_AUTO_TEST_SUITE_END()

// The admin mail needs FLASKY_ADMIN before create_app reads the config.
struct AdminMailFixture {
    common::config::ScopedEnv admin{"FLASKY_ADMIN", "admin@example.com"};
    flasky::BasicTestCase base;
    web::TestClient client = base.app->test_client();
};

BOOST_FIXTURE_TEST_CASE(test_new_user_mails_the_admin, AdminMailFixture) {
    auto outbox = flasky::mail.for_app(*base.app).record_messages();
    auto token = web::TestClient::csrf_token(client.get("/").body);
    client.post("/", {{"name", "john"}, {"csrf_token", token}});
    flasky::mail.outbox(*base.app).drain();  // what the server's drainer thread does
    BOOST_REQUIRE(outbox.size() == 1);
    auto msg = outbox.messages().front();
    BOOST_TEST(msg.subject == "[Flasky] New User");
    BOOST_TEST(msg.recipients.front() == "admin@example.com");
    BOOST_TEST(msg.body.find("User john has joined.") != std::string::npos);
}

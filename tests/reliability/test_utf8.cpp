// Issue 16 item 4: form values that are not UTF-8 (name=%ff%fe) are decoded as current
// Werkzeug decodes them — each invalid sequence becomes U+FFFD, as Python's
// bytes.decode('utf-8', 'replace') — so nothing invalid reaches the database, and the
// session cookie always round-trips.
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

struct EchoApp {
    App app{"utf8"};
    EchoApp() {
        app.config.set("SECRET_KEY", std::string(40, 'k'));
        app.config.set("WTF_CSRF_ENABLED", false);
        app.route("/name", "name",
                  [](Context& ctx) {
                      if (ctx.request.method == "POST")
                          ctx.session()["name"] = ctx.request.form().get("name");
                      return Response(ctx.session().get("name", "Stranger").to_text(), 200,
                                      "text/plain");
                  },
                  {"GET", "POST"});
        app.route("/args", "args", [](Context& ctx) {
            return Response(ctx.request.args().get("q"), 200, "text/plain");
        });
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(Utf8)

BOOST_AUTO_TEST_CASE(invalid_bytes_become_the_replacement_character_as_python_decodes) {
    // Expected values: urllib.parse.unquote_to_bytes(q).decode('utf-8', 'replace').
    const std::vector<std::pair<std::string, std::string>> cases{
        {"%ff%fe", fffd + fffd},
        {"%e2%82x", fffd + "x"},  // truncated sequence
        {"a%c3%a9b%ed%a0%80z", "a\xC3\xA9"
                               "b" +
                                   fffd + fffd + fffd + "z"},  // a surrogate
        {"%f0%9f%98%80%f0%9f", "\xF0\x9F\x98\x80" + fffd},     // emoji, then half of one
        {"%C0%AF", fffd + fffd},                               // overlong '/'
        {"%f4%90%80%80", fffd + fffd + fffd + fffd},           // above U+10FFFF
        {"caf%C3%A9", "caf\xC3\xA9"},                          // valid stays as is
    };
    EchoApp e;
    for (const auto& [query, expected] : cases) {
        BOOST_TEST_CONTEXT(query) {
            auto client = e.app.test_client();
            auto posted =
                client.open("POST", "/name", "name=" + query, "application/x-www-form-urlencoded");
            BOOST_TEST(posted.body == expected);
            BOOST_TEST(client.get("/args?q=" + query).body == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_session_cookie_round_trips_after_invalid_input) {
    EchoApp e;
    auto client = e.app.test_client();
    client.open("POST", "/name", "name=%ff%fe", "application/x-www-form-urlencoded");
    // The next request still knows the visitor: the cookie decoded.
    BOOST_TEST(client.get("/name").body == fffd + fffd);
    BOOST_TEST(client.session()["name"].as_string() == fffd + fffd);
}

BOOST_AUTO_TEST_CASE(a_view_that_stores_raw_bytes_keeps_its_session) {
    EchoApp e;
    e.app.route("/raw", "raw", [](Context& ctx) {
        ctx.session()["raw"] = std::string("\xFF\xFE");
        ctx.session()["name"] = std::string("kept");
        return Response("ok");
    });
    auto client = e.app.test_client();
    client.get("/raw");
    BOOST_TEST(client.get("/name").body == "kept");
}

BOOST_AUTO_TEST_SUITE_END()

// The URL map on its own: rules, typed variables, specificity, 404/405/308 and url building.
#include "common/web/routing.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

namespace {

Router sample() {
    Router r;
    r.add("/", "index", {"GET", "POST"}, 0);
    r.add("/user/<username>", "user", {"GET"}, 1);
    r.add("/user/new", "new_user", {"GET"}, 2);
    r.add("/post/<int:id>", "post", {"GET", "DELETE"}, 3);
    r.add("/files/<path:name>", "files", {"GET"}, 4);
    r.add("/about/", "about", {"GET"}, 5);
    return r;
}

int status_of(const Router& r, std::string_view path, std::string_view method = "GET") {
    try {
        r.match(path, method, "");
        return 200;
    } catch (const HTTPError& e) {
        return e.code();
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Routing)

BOOST_AUTO_TEST_CASE(static_and_variable_rules_match) {
    auto r = sample();
    auto m = r.match("/user/bob", "GET", "");
    BOOST_TEST(m.rule->endpoint == "user");
    BOOST_REQUIRE(m.args.size() == 1u);
    BOOST_TEST(m.args[0].first == "username");
    BOOST_TEST(m.args[0].second == "bob");
    BOOST_TEST(r.match("/", "POST", "").rule->endpoint == "index");
}

BOOST_AUTO_TEST_CASE(static_segment_beats_variable_whatever_the_order) {
    auto r = sample();
    BOOST_TEST(r.match("/user/new", "GET", "").rule->endpoint == "new_user");
}

BOOST_AUTO_TEST_CASE(int_converter_only_matches_digits) {
    auto r = sample();
    auto m = r.match("/post/42", "GET", "");
    BOOST_TEST(m.rule->endpoint == "post");
    BOOST_TEST(m.args[0].second == "42");
    BOOST_TEST(status_of(r, "/post/abc") == 404);
    BOOST_TEST(status_of(r, "/post/-1") == 404);
}

BOOST_AUTO_TEST_CASE(path_converter_takes_the_rest) {
    auto r = sample();
    auto m = r.match("/files/css/site.css", "GET", "");
    BOOST_TEST(m.args[0].second == "css/site.css");
    BOOST_TEST(status_of(r, "/files/") == 404);
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow_header) {
    auto r = sample();
    try {
        r.match("/post/1", "PUT", "");
        BOOST_FAIL("expected 405");
    } catch (const HTTPError& e) {
        BOOST_TEST(e.code() == 405);
        BOOST_TEST(e.headers.get("Allow") == "DELETE, GET, HEAD, OPTIONS");
    }
}

BOOST_AUTO_TEST_CASE(get_implies_head) {
    auto r = sample();
    BOOST_TEST(r.match("/user/x", "HEAD", "").rule->endpoint == "user");
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404) { BOOST_TEST(status_of(sample(), "/nope") == 404); }

BOOST_AUTO_TEST_CASE(missing_trailing_slash_redirects_permanently) {
    auto r = sample();
    try {
        r.match("/about", "GET", "x=1");
        BOOST_FAIL("expected 308");
    } catch (const HTTPError& e) {
        BOOST_TEST(e.code() == 308);
        BOOST_TEST(e.headers.get("Location") == "/about/?x=1");
    }
}

BOOST_AUTO_TEST_CASE(build_fills_variables_and_query) {
    auto r = sample();
    BOOST_TEST(r.build("index", {}) == "/");
    BOOST_TEST(r.build("user", {{"username", "Zoë Smith"}}) == "/user/Zo%C3%AB%20Smith");
    BOOST_TEST(r.build("post", {{"id", 7}, {"page", 2}}) == "/post/7?page=2");
    BOOST_TEST(r.build("files", {{"name", "css/a b.css"}}) == "/files/css/a%20b.css");
}

BOOST_AUTO_TEST_CASE(build_errors_name_what_is_missing) {
    auto r = sample();
    try {
        r.build("user", {});
        BOOST_FAIL("expected an error");
    } catch (const common::web::BuildError& e) {
        BOOST_TEST(std::string(e.what()).find("['username']") != std::string::npos);
    }
    BOOST_CHECK_THROW(r.build("nope", {}), common::web::BuildError);
    BOOST_CHECK_THROW(r.build("post", {{"id", "abc"}}), common::web::BuildError);
}

BOOST_AUTO_TEST_CASE(malformed_rules_are_rejected_with_a_reason) {
    Router r;
    BOOST_CHECK_THROW(r.add("no-slash", "a", {}, 0), common::web::UsageError);
    BOOST_CHECK_THROW(r.add("/x/<float:f>", "b", {}, 1), common::web::UsageError);
    BOOST_CHECK_THROW(r.add("/x/file-<int:id>", "c", {}, 2), common::web::UsageError);
    BOOST_CHECK_THROW(r.add("/x/<path:p>/y", "d", {}, 3), common::web::UsageError);
    BOOST_CHECK_THROW(r.add("/x/<a>/<a>", "e", {}, 4), common::web::UsageError);
    r.add("/ok", "ok", {}, 5);
    BOOST_CHECK_THROW(r.add("/other", "ok", {}, 6),
                      common::web::UsageError);  // endpoint bound to another view
}

BOOST_AUTO_TEST_SUITE_END()

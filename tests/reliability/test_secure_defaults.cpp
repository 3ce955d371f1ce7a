// Issue 16 item 5: secure defaults. Every response carries the browser's defences; pages
// that belong to one visitor (a CSRF token, a cookie) are never cached; CSRF tokens expire;
// a POST from another site's page is refused.
#include "common/web/test_client.hpp"
#include "server_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace common::web;
using namespace reliability;

namespace {

struct FormApp : ServedApp {
    FormApp() {
        app.add_template("form.html", "<form method=post>{{{csrf_field}}}</form>");
        app.route("/form", "form",
                  [](Context& ctx) {
                      if (ctx.request.method == "POST") return Response("posted");
                      return Response(ctx.render_template("form.html"));
                  },
                  {"GET", "POST"});
    }
};

void has_security_headers(const Headers& h) {
    BOOST_TEST(h.get("X-Content-Type-Options") == "nosniff");
    BOOST_TEST(h.get("Content-Security-Policy") ==
               "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    BOOST_TEST(h.get("Referrer-Policy") == "strict-origin-when-cross-origin");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(SecureDefaults)

BOOST_AUTO_TEST_CASE(every_response_has_the_security_headers) {
    FormApp served;
    auto client = served.app.test_client();
    for (const char* url : {"/", "/form", "/nope"}) {
        BOOST_TEST_CONTEXT(url) { has_security_headers(client.get(url).headers); }
    }
    // The server's own answers too (here a 400 for a request without Host).
    served.start();
    bool closed = false;
    const std::string got = exchange(served.port(), "GET / HTTP/1.1\r\n\r\n", closed);
    BOOST_TEST(got.find("\r\nX-Content-Type-Options: nosniff\r\n") != std::string::npos);
    BOOST_TEST(got.find("\r\nContent-Security-Policy: ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_view_or_config_can_change_them) {
    ServedApp served;
    served.app.config.set("Content-Security-Policy", std::string("default-src 'self' cdn.test"));
    served.app.config.set("Referrer-Policy", std::string());  // empty: no header
    served.app.route("/framable", "framable", [](Context&) {
        Response r("ok");
        r.headers.set("Content-Security-Policy", "frame-ancestors 'self'");
        return r;
    });
    auto client = served.app.test_client();
    BOOST_TEST(client.get("/").headers.get("Content-Security-Policy") ==
               "default-src 'self' cdn.test");
    BOOST_TEST(!client.get("/").headers.contains("Referrer-Policy"));
    BOOST_TEST(client.get("/framable").headers.get_all("Content-Security-Policy").size() == 1u);
}

BOOST_AUTO_TEST_CASE(pages_with_a_token_or_a_cookie_are_not_cached) {
    FormApp served;
    auto client = served.app.test_client();
    auto form = client.get("/form");  // carries a CSRF token and sets the session cookie
    BOOST_TEST(form.headers.get("Cache-Control") == "no-store");
    BOOST_TEST(!client.get("/").headers.contains("Cache-Control"));  // a page like any other
}

BOOST_AUTO_TEST_CASE(csrf_tokens_expire_after_the_time_limit) {
    FormApp served;
    served.app.config.set("WTF_CSRF_TIME_LIMIT", std::int64_t{1});
    auto client = served.app.test_client();
    const std::string token = TestClient::csrf_token(client.get("/form").body);
    BOOST_TEST(client.post("/form", {{"csrf_token", token}}).status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto late = client.post("/form", {{"csrf_token", token}});
    BOOST_TEST(late.status == 400);
    BOOST_TEST(late.contains("The CSRF token has expired."));
    // A fresh page gives a fresh token.
    const std::string fresh = TestClient::csrf_token(client.get("/form").body);
    BOOST_TEST(client.post("/form", {{"csrf_token", fresh}}).status == 200);
}

BOOST_AUTO_TEST_CASE(a_post_from_another_site_is_refused) {
    FormApp served;
    auto client = served.app.test_client();
    const std::string token = TestClient::csrf_token(client.get("/form").body);
    TestClient::Options evil;
    evil.headers.set("Origin", "https://evil.example");
    auto refused = client.post("/form", {{"csrf_token", token}}, evil);
    BOOST_TEST(refused.status == 400);
    BOOST_TEST(refused.contains("another site"));
    TestClient::Options same;
    same.headers.set("Origin", "http://localhost");  // the test client's Host
    BOOST_TEST(client.post("/form", {{"csrf_token", token}}, same).status == 200);
    // A browser under Referrer-Policy: no-referrer says "null" for its own site's form: the
    // token decides. (Before: every such form was refused as another site's.)
    TestClient::Options unnamed;
    unnamed.headers.set("Origin", "null");
    BOOST_TEST(client.post("/form", {{"csrf_token", token}}, unnamed).status == 200);
    BOOST_TEST(client.post("/form", {{"csrf_token", "forged"}}, unnamed).status == 400);
    // Behind a proxy that passes `Host: $host`, the port the browser used is gone: the name
    // decides (every form was refused behind such an nginx), or the proxy's X-Forwarded-Host.
    const auto from = [&](const std::string& origin, const std::string& host,
                          const std::string& forwarded = "") {
        TestClient::Options o;
        o.headers.set("Origin", origin);
        o.headers.set("Host", host);
        if (!forwarded.empty()) o.headers.set("X-Forwarded-Host", forwarded);
        return client.post("/form", {{"csrf_token", token}}, o).status;
    };
    BOOST_TEST(from("http://127.0.0.1:8080", "127.0.0.1") == 200);
    BOOST_TEST(from("http://127.0.0.1:8080", "127.0.0.1:5000", "127.0.0.1:8080") == 200);
    BOOST_TEST(from("http://127.0.0.1:8080", "127.0.0.1:5000", "127.0.0.1:8080, lb:80") == 200);
    BOOST_TEST(from("http://127.0.0.1:8080", "127.0.0.1:5000") == 400);
    BOOST_TEST(from("http://evil.example:8080", "127.0.0.1") == 400);
    BOOST_TEST(from("http://evil.example", "127.0.0.1:5000", "127.0.0.1:5000") == 400);
}

BOOST_AUTO_TEST_SUITE_END()

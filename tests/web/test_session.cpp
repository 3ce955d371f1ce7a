// Signed-cookie sessions, flash and CSRF, through the test client and the serializer.
#include "common/web/app.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace common::web;

namespace {

struct SessionFixture {
    App app{"test", WEB_TEST_DATA};
    SessionFixture() {
        app.config.set("SECRET_KEY", std::string("hard to guess string"));
        app.route("/set/<value>", "set", [](Context& ctx) {
            ctx.session()["name"] = ctx.request.view_arg("value");
            return Response("set");
        });
        app.route("/get", "get", [](Context& ctx) {
            return Response(ctx.session().get("name", "Stranger").to_text());
        });
        app.route("/logout", "logout", [](Context& ctx) {
            ctx.session().clear();
            return Response("bye");
        });
        app.route("/flash", "flash", [](Context& ctx) {
            ctx.flash("Looks like you have changed your name!");
            ctx.flash("<b>careful</b>", "error");
            return redirect(ctx.url_for("show"));
        });
        app.route("/show", "show",
                  [](Context& ctx) { return Response(ctx.render_template("hello.html")); });
        app.route("/form", "form",
                  [](Context& ctx) -> Response {
                      if (ctx.request.method == "POST")
                          return "posted " + ctx.request.form().get("name");
                      return ctx.render_template("form.html");
                  },
                  {"GET", "POST"});
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Sessions, SessionFixture)

BOOST_AUTO_TEST_CASE(session_survives_across_requests_in_the_cookie_jar) {
    auto client = app.test_client();
    BOOST_TEST(client.get("/get").body == "Stranger");
    auto r = client.get("/set/Bob");
    const std::string cookie = r.headers.get("Set-Cookie");
    BOOST_TEST(cookie.starts_with("session="));
    BOOST_TEST(cookie.find("; HttpOnly") != std::string::npos);
    BOOST_TEST(cookie.find("; SameSite=Lax") != std::string::npos);
    BOOST_TEST(cookie.find("Secure") == std::string::npos);
    BOOST_TEST(client.get("/get").body == "Bob");
    BOOST_TEST(client.session()["name"].as_string() == "Bob");
}

BOOST_AUTO_TEST_CASE(secure_flag_when_configured) {
    app.config.set("SESSION_COOKIE_SECURE", true);
    auto r = app.test_client().get("/set/x");
    BOOST_TEST(r.headers.get("Set-Cookie").find("; Secure") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reading_does_not_rewrite_the_cookie) {
    auto client = app.test_client();
    client.get("/set/Bob");
    auto r = client.get("/get");
    BOOST_TEST(!r.headers.contains("Set-Cookie"));
    BOOST_TEST(r.headers.get("Vary") == "Cookie");
}

BOOST_AUTO_TEST_CASE(tampered_cookie_gives_an_empty_session) {
    auto client = app.test_client();
    client.get("/set/Bob");
    std::string value = *client.cookie("session");
    // Forge the payload: put {"name":"Admin"} in front of the old signature.
    const std::string forged_payload = "eyJuYW1lIjoiQWRtaW4ifQ";  // base64url of {"name":"Admin"}
    client.set_cookie("session", forged_payload + value.substr(value.find('.')));
    BOOST_TEST(client.get("/get").body == "Stranger");
    // Change the last character of the signature, including to spellings that decode to
    // the same bytes (base64's spare bits): only the exact signature is accepted.
    for (char c : std::string("ABCDEFGHQgw")) {
        if (c == value.back()) continue;
        std::string changed = value;
        changed.back() = c;
        client.set_cookie("session", changed);
        BOOST_TEST(client.get("/get").body == "Stranger", "last signature character " << c);
    }
    client.set_cookie("session", "garbage");
    BOOST_TEST(client.get("/get").body == "Stranger");
}

BOOST_AUTO_TEST_CASE(cookie_signed_with_another_key_is_rejected) {
    SessionSerializer other("another key");
    auto client = app.test_client();
    client.set_cookie("session", other.dumps(Data{{"name", "Mallory"}}, unix_now() + 3600));
    BOOST_TEST(client.get("/get").body == "Stranger");
}

BOOST_AUTO_TEST_CASE(clearing_the_session_deletes_the_cookie) {
    auto client = app.test_client();
    client.get("/set/Bob");
    auto r = client.get("/logout");
    BOOST_TEST(r.headers.get("Set-Cookie").find("Max-Age=0") != std::string::npos);
    BOOST_TEST(!client.cookie("session").has_value());
}

BOOST_AUTO_TEST_CASE(session_without_secret_key_is_a_clear_500) {
    App bare;
    std::string logged;
    bare.set_error_logger([&](const std::string& m) { logged = m; });
    bare.route("/", "i", [](Context& ctx) {
        ctx.session()["x"] = 1;
        return Response("x");
    });
    BOOST_TEST(bare.test_client().get("/").status == 500);
    BOOST_TEST(logged.find("no SECRET_KEY is set") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flash_then_render_once) {
    auto client = app.test_client();
    auto r = client.get("/flash", {.follow_redirects = true});
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.redirects.size() == 1u);
    BOOST_TEST(r.request_path == "/show");
    BOOST_TEST(r.contains(
        R"(<div class="alert alert-info">Looks like you have changed your name!</div>)"));
    BOOST_TEST(r.contains(R"(<div class="alert alert-danger">&lt;b&gt;careful&lt;/b&gt;</div>)"));
    // Shown once: the next page has no flashes.
    BOOST_TEST(!client.get("/show").contains("alert"));
}

BOOST_AUTO_TEST_CASE(csrf_token_is_required_on_post) {
    auto client = app.test_client();
    auto missing = client.post("/form", {{"name", "Bob"}});
    BOOST_TEST(missing.status == 400);
    BOOST_TEST(missing.contains("The CSRF token is missing."));

    auto page = client.get("/form");
    const std::string token = TestClient::csrf_token(page.body);
    BOOST_TEST(std::count(token.begin(), token.end(), '.') == 2);  // signed, with its expiry

    auto wrong = client.post("/form", {{"name", "Bob"}, {"csrf_token", std::string(64, '0')}});
    BOOST_TEST(wrong.status == 400);
    BOOST_TEST(wrong.contains("The CSRF token is invalid."));

    auto ok = client.post("/form", {{"name", "Bob"}, {"csrf_token", token}});
    BOOST_TEST(ok.status == 200);
    BOOST_TEST(ok.body == "posted Bob");
}

BOOST_AUTO_TEST_CASE(csrf_token_from_another_session_is_rejected) {
    auto alice = app.test_client();
    auto mallory = app.test_client();
    const std::string token = TestClient::csrf_token(alice.get("/form").body);
    mallory.get("/form");
    BOOST_TEST(mallory.post("/form", {{"name", "x"}, {"csrf_token", token}}).status == 400);
}

BOOST_AUTO_TEST_CASE(csrf_header_works_for_scripts) {
    auto client = app.test_client();
    const std::string token = TestClient::csrf_token(client.get("/form").body);
    TestClient::Options options;
    options.headers.set("X-CSRFToken", token);
    BOOST_TEST(client.post("/form", {{"name", "Ann"}}, options).body == "posted Ann");
}

BOOST_AUTO_TEST_CASE(csrf_can_be_disabled_by_config) {
    app.config.set("WTF_CSRF_ENABLED", false);
    BOOST_TEST(app.test_client().post("/form", {{"name", "Bob"}}).status == 200);
}

BOOST_AUTO_TEST_CASE(csrf_error_page_goes_through_the_400_handler) {
    app.errorhandler(
        400, [](Context&, const HTTPError& e) { return Response("bad: " + e.description(), 400); });
    BOOST_TEST(app.test_client().post("/form").body == "bad: The CSRF token is missing.");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Serializer)

BOOST_AUTO_TEST_CASE(round_trip_and_expiry) {
    SessionSerializer s("key");
    const Data data{{"name", "Bob"}, {"known", true}, {"n", 3}};
    const auto cookie = s.dumps(data, 2000);
    BOOST_TEST(cookie.find_first_of(" ;,\"") == std::string::npos);
    auto back = s.loads(cookie, 1999);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == data));
    BOOST_TEST(!s.loads(cookie, 2000).has_value());  // expired
}

BOOST_AUTO_TEST_CASE(cookies_are_the_bytes_python_computes) {
    // Expected values from Python: urlsafe_b64encode without '=' of the compact JSON, the
    // expiry, and hmac.new(k, signed_part, sha256) with k = hmac.new(b"key",
    // b"cookie-session", sha256).digest(); JSON of 14, 16 and 9 bytes covers every base64 tail.
    SessionSerializer s("key");
    BOOST_TEST(s.dumps(Data{{"name", "Bob"}}, 2000) ==
               "eyJuYW1lIjoiQm9iIn0.2000.Ek5LJNOSkzFspGwUV4EpLmocZoiw7i6YTDIv8DadNXk");
    BOOST_TEST(s.dumps(Data{{"name", "Bobby"}}, 2000) ==
               "eyJuYW1lIjoiQm9iYnkifQ.2000.WOX6O_1lxbz4jZZVIcDf1B3mUrsI6lptssszc0DZpKQ");
    BOOST_TEST(s.dumps(Data{{"ab", 12}}, 2000) ==
               "eyJhYiI6MTJ9.2000.vrWJC-cA4IWQ4Sauv6vFa3FtyFGsZtYNnVkPUYhL7z0");
}

namespace {
/// Letters that do not repeat in any pattern zlib could use much (a fixed LCG, so the test
/// is the same on every run): they compress only by the bits a letter does not need.
std::string random_letters(std::size_t n) {
    std::string out;
    std::uint32_t x = 12345;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        out += static_cast<char>('a' + (x >> 16) % 26);
    }
    return out;
}
}  // namespace

// As itsdangerous does for Flask: a payload that shrinks is zlib-compressed and marked with a
// leading '.'; a browser drops a cookie over 4096 bytes, so without it a long name lost the
// session (3,000 random letters made a 4,203-byte cookie; Flask's is 3,095).
BOOST_AUTO_TEST_CASE(a_long_session_is_compressed_and_reads_back) {
    SessionSerializer s("key");
    for (const std::string& name : {std::string(2900, 'y'), random_letters(3000)}) {
        const Data data{{"name", name}};
        const auto cookie = s.dumps(data, 2000);
        BOOST_TEST(cookie.front() == '.');
        BOOST_TEST(cookie.size() < 4000u, cookie.size());
        auto back = s.loads(cookie, 1999);
        BOOST_REQUIRE(back.has_value());
        BOOST_TEST((*back == data));
        BOOST_TEST(!s.loads(cookie.substr(1), 1999).has_value());  // the mark is signed too
    }
}

// Werkzeug logs a warning when a cookie is over 4093 bytes; so does the app.
BOOST_AUTO_TEST_CASE(a_session_cookie_too_large_for_browsers_is_logged) {
    App app;
    app.config.set("SECRET_KEY", std::string("k"));
    std::string logged;
    app.set_error_logger([&](const std::string& msg) { logged += msg; });
    app.route("/", "i", [](Context& ctx) {
        ctx.session()["name"] = random_letters(8000);
        return Response("ok");
    });
    auto r = app.test_client().get("/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(logged.find("'session' cookie is too large") != std::string::npos, logged);
}

BOOST_AUTO_TEST_CASE(expiry_cannot_be_extended_by_the_client) {
    SessionSerializer s("key");
    const auto cookie = s.dumps(Data{{"a", 1}}, 2000);
    const auto first = cookie.find('.');
    const auto second = cookie.find('.', first + 1);
    const std::string extended = cookie.substr(0, first + 1) + "9999999999" + cookie.substr(second);
    BOOST_TEST(!s.loads(extended, 1000).has_value());
}

BOOST_AUTO_TEST_CASE(expired_session_cookie_is_ignored_by_the_app) {
    App app;
    app.config.set("SECRET_KEY", std::string("k"));
    app.route("/", "i",
              [](Context& ctx) { return Response(ctx.session().get("name", "none").to_text()); });
    auto client = app.test_client();
    SessionSerializer s("k");
    client.set_cookie("session", s.dumps(Data{{"name", "Old"}}, unix_now() - 1));
    BOOST_TEST(client.get("/").body == "none");
    client.set_cookie("session", s.dumps(Data{{"name", "Fresh"}}, unix_now() + 60));
    BOOST_TEST(client.get("/").body == "Fresh");
}

BOOST_AUTO_TEST_CASE(random_tokens_never_repeat_across_the_buffer_and_a_fork) {
    // random_hex hands out bytes from a 4 KiB per-thread buffer: 300 tokens of 32 bytes cross
    // it twice, and none may repeat (a refill bug would hand out the same bytes again).
    std::set<std::string> seen;
    for (int i = 0; i < 300; ++i) {
        const std::string token = random_hex(32);
        BOOST_TEST(token.size() == 64u);
        BOOST_TEST(token.find_first_not_of("0123456789abcdef") == std::string::npos);
        BOOST_TEST(seen.insert(token).second);
    }
    // A forked child (a pre-forking server) must not issue the tokens its parent will.
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        const std::string token = random_hex(32);
        [[maybe_unused]] auto n = ::write(fds[1], token.data(), token.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    char buf[64];
    std::size_t got = 0;
    for (ssize_t n; got < sizeof buf && (n = ::read(fds[0], buf + got, sizeof buf - got)) > 0;)
        got += static_cast<std::size_t>(n);
    ::close(fds[0]);
    ::waitpid(child, nullptr, 0);
    BOOST_REQUIRE(got == sizeof buf);
    const std::string from_child(buf, sizeof buf);
    BOOST_TEST(from_child != random_hex(32));
    BOOST_TEST(!seen.contains(from_child));
}

BOOST_AUTO_TEST_CASE(constant_time_equals_compares_fully) {
    BOOST_TEST(constant_time_equals("abc", "abc"));
    BOOST_TEST(!constant_time_equals("abc", "abd"));
    BOOST_TEST(!constant_time_equals("abc", "ab"));
}

BOOST_AUTO_TEST_SUITE_END()

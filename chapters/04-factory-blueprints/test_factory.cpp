// Chapter 04: the factory, the blueprint and each behaviour of the Flasky page, through the
// socketless test client (and real threads for the race on a new name).
#define BOOST_TEST_MODULE ch04_factory_blueprints
#include <boost/test/unit_test.hpp>

#include "common/config/scoped_env.hpp"
#include "common/flasky/app.hpp"
#include "common/flasky/config.hpp"
#include "common/flasky/main/main.hpp"
#include "common/flasky/manage.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/mail/async_sender.hpp"
#include "common/mail/mail.hpp"
#include "common/web/test_client.hpp"

#include <Poco/TemporaryFile.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

namespace web = common::web;
using common::config::ScopedEnv;

namespace {

/// setUp/tearDown: an app for 'testing' on its own SQLite file, tables created; the file goes
/// away afterwards.
struct AppFixture {
    Poco::TemporaryFile file;
    ScopedEnv database{"TEST_DATABASE_URI", "sqlite:///" + file.path()};
    ScopedEnv admin{"FLASKY_ADMIN", std::nullopt};
    std::unique_ptr<web::App> app;
    std::optional<web::TestClient> client;

    AppFixture() { start(); }
    void start() {
        app = flasky::create_app("testing");
        flasky::db.create_all(*app);
        client.emplace(app->test_client());
    }
    ~AppFixture() {
        client.reset();
        if (app) flasky::db.drop_all(*app);
    }

    std::string token() { return web::TestClient::csrf_token(client->get("/").body); }
    web::TestResponse post_name(const std::string& name) {
        return client->post("/", {{"name", name}, {"csrf_token", token()}});
    }
    std::int64_t users_named(const std::string& name) {
        common::db::Session session(flasky::db.engine(*app));
        return static_cast<std::int64_t>(
            session.query<flasky::User>().filter_by("username", name).count());
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(Factory)

BOOST_AUTO_TEST_CASE(each_config_name_gives_its_config) {
    ScopedEnv secret{"SECRET_KEY", "a real secret"};
    auto testing = flasky::create_app("testing");
    BOOST_TEST(testing->config.get_bool("TESTING"));
    auto development = flasky::create_app("development");
    BOOST_TEST(development->config.get_bool("DEBUG"));
    BOOST_TEST(!development->config.get_bool_or("TESTING", false));
    auto production = flasky::create_app("production");
    BOOST_TEST(!production->config.get_bool_or("DEBUG", false));
    BOOST_TEST(production->config.get_string("SECRET_KEY") == "a real secret");
    auto fallback = flasky::create_app("default");
    BOOST_TEST(fallback->config.get_bool("DEBUG"));
}

BOOST_AUTO_TEST_CASE(unknown_or_capitalised_name_is_refused_with_the_valid_names) {
    for (const char* name : {"Production", "staging"}) {
        try {
            flasky::create_app(name);
            BOOST_FAIL("create_app accepted " << name);
        } catch (const common::config::ConfigError& e) {
            BOOST_TEST(std::string(e.what()).find("development, testing, production, default") !=
                       std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(production_refuses_the_default_secret) {
    ScopedEnv secret{"SECRET_KEY", std::nullopt};
    BOOST_CHECK_THROW(flasky::create_app("production"), common::config::ConfigError);
}

BOOST_AUTO_TEST_CASE(two_apps_at_once_do_not_share_state) {
    Poco::TemporaryFile a_file, b_file;
    std::unique_ptr<web::App> a, b;
    {
        ScopedEnv uri{"TEST_DATABASE_URI", "sqlite:///" + a_file.path()};
        a = flasky::create_app("testing");
    }
    {
        ScopedEnv uri{"TEST_DATABASE_URI", "sqlite:///" + b_file.path()};
        b = flasky::create_app("testing");
    }
    BOOST_TEST(&flasky::db.engine(*a) != &flasky::db.engine(*b));
    BOOST_TEST(flasky::db.engine(*a).uri() != flasky::db.engine(*b).uri());
}

BOOST_FIXTURE_TEST_CASE(extensions_are_bound_and_main_is_registered, AppFixture) {
    for (const char* name : {"bootstrap", "mail", "moment", "sqlalchemy"})
        BOOST_TEST(app->extensions.contains(name), name);
    BOOST_TEST(app->blueprints() == std::vector<std::string>{"main"});
    BOOST_TEST(app->url_for("main.index") == "/");
    BOOST_TEST(app->url_for("main.index", {{"page", "2"}}) == "/?page=2");
}

// Issue 15: the templates build their links from the URL map ({{url_for.main.index}}), so main
// registered under a url_prefix keeps a working navbar, home link and form.
BOOST_AUTO_TEST_CASE(main_under_a_url_prefix_keeps_its_links) {
    Poco::TemporaryFile file;
    ScopedEnv database{"TEST_DATABASE_URI", "sqlite:///" + file.path()};
    ScopedEnv admin{"FLASKY_ADMIN", std::nullopt};
    // create_app('testing'), but with main.register under url_prefix='/app'.
    const std::string root = flasky::create_app("testing")->root_path();
    web::App app("flasky", root);
    app.config.from_object(flasky::config["testing"]);
    flasky::config["testing"].init_app(app.config);
    flasky::bootstrap.init_app(app);
    flasky::mail.init_app(app);
    flasky::moment.init_app(app);
    flasky::db.init_app(app);
    app.register_blueprint(flasky::main::blueprint(), "/app");
    flasky::db.create_all(app);
    auto client = app.test_client();

    BOOST_TEST(app.url_for("main.index") == "/app/");
    auto page = client.get("/app/");
    BOOST_TEST(page.status == 200);
    BOOST_TEST(page.contains(R"(<a class="navbar-brand" href="/app/">Flasky</a>)"));
    BOOST_TEST(page.contains(R"(<a class="nav-link" href="/app/">Home</a>)"));
    BOOST_TEST(page.contains(R"(<form action="/app/" method="post")"));
    BOOST_TEST(!page.contains(R"(href="/")"));

    auto posted = client.post(
        "/app/", {{"name", "Bob"}, {"csrf_token", web::TestClient::csrf_token(page.body)}});
    BOOST_TEST(posted.status == 302);
    BOOST_TEST(posted.location() == "/app/");

    auto missing = client.get("/");  // the old home is not there any more...
    BOOST_TEST(missing.status == 404);
    BOOST_TEST(missing.contains(R"(<a href="/app/">Back to the home page</a>)"));  // ...its link is
    flasky::db.drop_all(app);
}

// Issue 16: the pages work under the default Content-Security-Policy (default-src 'self'):
// every script and stylesheet is a file from this site, and no markup carries inline script
// or style, which the policy would block.
BOOST_FIXTURE_TEST_CASE(the_pages_need_nothing_the_csp_blocks, AppFixture) {
    for (const char* url : {"/", "/nope"}) {
        auto page = client->get(url);
        BOOST_TEST_CONTEXT(url) {
            BOOST_TEST(page.headers.get("Content-Security-Policy") ==
                       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
            BOOST_TEST(!page.contains("<script>"));  // every <script> has a src
            BOOST_TEST(!page.contains(" style="));
            BOOST_TEST(!page.contains("onclick="));  // no inline event handlers
            BOOST_TEST(!page.contains("onload="));
            BOOST_TEST(!page.contains("src=\"http"));
            BOOST_TEST(!page.contains("href=\"http"));
        }
    }
    for (const char* asset : {"/static/flask-moment/render.js", "/static/moment/moment.min.js",
                              "/static/bootstrap4/css/bootstrap.min.css"})
        BOOST_TEST(client->get(asset).status == 200, asset);
}

// Issue 16: production reads the session cookie's keys from the environment, and serving it
// wants a SECRET_KEY of 32 bytes or more.
BOOST_AUTO_TEST_CASE(production_session_cookie_keys_come_from_the_environment) {
    Poco::TemporaryFile file;
    ScopedEnv uri{"DATABASE_URI", "sqlite:///" + file.path()};
    ScopedEnv secret{"SECRET_KEY", std::string(40, 's')};
    ScopedEnv name{"SESSION_COOKIE_NAME", "flasky_session"};
    ScopedEnv secure{"SESSION_COOKIE_SECURE", "yes"};
    ScopedEnv lifetime{"PERMANENT_SESSION_LIFETIME", "600"};
    auto app = flasky::create_app("production");
    BOOST_TEST(app->config.get_bool("SESSION_COOKIE_SECURE"));
    BOOST_TEST(app->config.get_int("PERMANENT_SESSION_LIFETIME") == 600);
    flasky::db.create_all(*app);
    auto page = app->test_client().get("/");
    const std::string cookie = page.headers.get("Set-Cookie");
    BOOST_TEST(cookie.rfind("flasky_session=", 0) == 0u);
    BOOST_TEST(cookie.find("; Secure") != std::string::npos);
    BOOST_TEST(page.headers.get("Cache-Control") == "no-store");  // a form with a CSRF token
    flasky::db.drop_all(*app);
}

BOOST_AUTO_TEST_CASE(production_refuses_to_serve_with_a_short_secret_key) {
    Poco::TemporaryFile file;
    ScopedEnv uri{"DATABASE_URI", "sqlite:///" + file.path()};
    ScopedEnv secret{"SECRET_KEY", "only twenty-one bytes"};
    std::ostringstream out;
    BOOST_CHECK_EXCEPTION(flasky::manage::runserver(out, "production", {.port = 0}),
                          common::config::ConfigError, [](const auto& e) {
                              return std::string(e.what()).find("SECRET_KEY of 21 bytes") !=
                                     std::string::npos;
                          });
    ScopedEnv bad{"SESSION_COOKIE_SECURE", "maybe"};
    ScopedEnv long_key{"SECRET_KEY", std::string(40, 's')};
    BOOST_CHECK_THROW(flasky::create_app("production"), common::config::ConfigError);
}

BOOST_AUTO_TEST_CASE(templates_link_to_the_root_without_a_prefix) {
    auto app = flasky::create_app("testing");
    auto page = app->test_client().get("/nope");
    BOOST_TEST(page.contains(R"(<a class="navbar-brand" href="/">Flasky</a>)"));
    BOOST_TEST(page.contains(R"(src="/static/flask-moment/render.js")"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Views, AppFixture)

BOOST_AUTO_TEST_CASE(home_page_greets_a_stranger_with_the_form) {
    auto r = client->get("/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.contains("Hello, Stranger!"));
    BOOST_TEST(r.contains("Pleased to meet you!"));
    BOOST_TEST(r.contains("What is your name?"));
    BOOST_TEST(r.contains("name=\"name\""));
    BOOST_TEST(!web::TestClient::csrf_token(r.body).empty());
    BOOST_TEST(r.contains("class=\"flask-moment\""));  // moment renders the time
    BOOST_TEST(r.contains("/static/bootstrap4/"));     // Debian's Bootstrap, no CDN
    BOOST_TEST(r.contains("/static/moment/moment.min.js"));
    BOOST_TEST(r.contains("navbar-brand"));
}

BOOST_AUTO_TEST_CASE(new_name_redirects_then_greets_and_stores_the_user) {
    auto posted = post_name("Bob");
    BOOST_TEST(posted.status == 302);
    BOOST_TEST(posted.location() == "/");
    auto page = client->get("/");
    BOOST_TEST(page.contains("Hello, Bob!"));
    BOOST_TEST(page.contains("Pleased to meet you!"));
    BOOST_TEST(users_named("Bob") == 1);
    BOOST_TEST(client->session()["name"].as_string() == "Bob");
    BOOST_TEST(client->session()["known"].as_bool() == false);
}

BOOST_AUTO_TEST_CASE(known_name_is_happy_to_see_you_again) {
    post_name("Bob");
    auto page =
        client->post("/", {{"name", "Bob"}, {"csrf_token", token()}}, {.follow_redirects = true});
    BOOST_TEST(page.status == 200);
    BOOST_TEST(page.contains("Hello, Bob!"));
    BOOST_TEST(page.contains("Happy to see you again!"));
    BOOST_TEST(users_named("Bob") == 1);
}

BOOST_AUTO_TEST_CASE(empty_name_shows_the_form_again_with_the_error) {
    for (const char* blank : {"", "   "}) {
        auto r = post_name(blank);
        BOOST_TEST(r.status == 200);
        BOOST_TEST(r.contains("This field is required."));
        BOOST_TEST(r.contains("Hello, Stranger!"));
    }
    common::db::Session session(flasky::db.engine(*app));
    BOOST_TEST(session.query<flasky::User>().count() == 0);
}

BOOST_AUTO_TEST_CASE(a_post_without_a_valid_csrf_token_gets_the_form_back_and_adds_no_user) {
    // As the book's FlaskForm does: validate_on_submit() fails on the hidden field, and the
    // page shows the form again with Flask-WTF's message and the name as typed.
    client->get("/");
    auto missing = client->post("/", {{"name", "Mallory"}});
    BOOST_TEST(missing.status == 200);
    BOOST_TEST(missing.contains(
        "<div class=\"d-block invalid-feedback\">The CSRF token is missing.</div>"));
    BOOST_TEST(missing.contains("value=\"Mallory\""));
    BOOST_TEST(!web::TestClient::csrf_token(missing.body).empty());  // a token to try again with
    auto wrong = client->post("/", {{"name", "Mallory"}, {"csrf_token", "not-the-token"}});
    BOOST_TEST(wrong.status == 200);
    BOOST_TEST(wrong.contains("The CSRF token is invalid."));
    auto foreign = client->post("/", {{"name", "Mallory"}, {"csrf_token", token()}},
                                {.headers = {{"Origin", "http://evil.example"}}});
    BOOST_TEST(foreign.status == 200);
    BOOST_TEST(foreign.contains("The request came from another site"));
    BOOST_TEST(users_named("Mallory") == 0);
    // With the page's token the same post goes through.
    BOOST_TEST(client->post("/", {{"name", "Mallory"}, {"csrf_token", token()}}).status == 302);
    BOOST_TEST(users_named("Mallory") == 1);
}

BOOST_AUTO_TEST_CASE(a_page_left_open_past_the_token_time_limit_gets_the_form_back) {
    // As with the book's FlaskForm: the POST shows the form again with Flask-WTF's message,
    // the name as typed and a fresh token, and the next Submit goes through.
    client.reset();
    app = flasky::create_app("testing");  // the same database file; the limit before freezing
    app->config.set("WTF_CSRF_TIME_LIMIT", std::int64_t{1});
    client.emplace(app->test_client());
    const auto stale = token();
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto again = client->post("/", {{"name", "Susan"}, {"csrf_token", stale}});
    BOOST_TEST(again.status == 200);
    BOOST_TEST(again.contains("The CSRF token has expired."));
    BOOST_TEST(again.contains("value=\"Susan\""));
    const auto fresh = web::TestClient::csrf_token(again.body);
    BOOST_TEST(fresh != stale);
    BOOST_TEST(users_named("Susan") == 0);
    BOOST_TEST(client->post("/", {{"name", "Susan"}, {"csrf_token", fresh}}).status == 302);
    BOOST_TEST(users_named("Susan") == 1);
}

BOOST_AUTO_TEST_CASE(a_tampered_session_cookie_is_ignored) {
    post_name("Bob");
    auto cookie = client->cookie("session");
    BOOST_REQUIRE(cookie);
    std::string forged = *cookie;
    forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
    client->set_cookie("session", forged);
    auto page = client->get("/");
    BOOST_TEST(page.status == 200);
    BOOST_TEST(page.contains("Hello, Stranger!"));
}

BOOST_AUTO_TEST_CASE(unknown_page_is_404_in_the_site_layout) {
    auto r = client->get("/nope");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.contains("Not Found"));
    BOOST_TEST(r.contains("navbar-brand"));
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
    auto r = client->open("DELETE", "/");
    BOOST_TEST(r.status == 405);
    auto allow = r.headers.get("Allow");
    BOOST_TEST(allow.find("GET") != std::string::npos);
    BOOST_TEST(allow.find("POST") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_body_over_max_content_length_is_413) {
    client.reset();
    app = flasky::create_app("testing");
    app->config.set("MAX_CONTENT_LENGTH", std::int64_t{1024});
    client.emplace(app->test_client());
    auto r = client->post("/", {{"name", std::string(4096, 'x')}, {"csrf_token", "t"}});
    BOOST_TEST(r.status == 413);
}

BOOST_AUTO_TEST_CASE(static_files_have_types_and_etags) {
    auto css = client->get("/static/bootstrap4/css/bootstrap.min.css");
    BOOST_TEST(css.status == 200);
    BOOST_TEST(css.content_type().find("text/css") == 0);
    auto etag = css.headers.get("ETag");
    BOOST_REQUIRE(!etag.empty());
    web::Headers h;
    h.set("If-None-Match", etag);
    BOOST_TEST(client->get("/static/bootstrap4/css/bootstrap.min.css", {.headers = h}).status ==
               304);
    BOOST_TEST(client->get("/static/moment/moment.min.js").status == 200);
    BOOST_TEST(client->get("/static/bootstrap4/../../../../etc/passwd").status == 404);
}

BOOST_AUTO_TEST_CASE(a_new_user_mails_the_admin) {
    ScopedEnv admin_env{"FLASKY_ADMIN", "admin@example.com"};
    client.reset();
    app = flasky::create_app("testing");
    client.emplace(app->test_client());
    auto outbox = flasky::mail.for_app(*app).record_messages();
    post_name("Bob");
    post_name("Bob");                   // known: no second mail
    flasky::mail.outbox(*app).drain();  // the server's drainer thread does this
    auto messages = outbox.messages();
    BOOST_REQUIRE(messages.size() == 1);
    BOOST_TEST(messages[0].subject == "[Flasky] New User");
    BOOST_TEST(messages[0].sender == "879651072@qq.com");
    BOOST_TEST(messages[0].recipients == std::vector<std::string>{"admin@example.com"});
    BOOST_TEST(messages[0].body == "User Bob has joined.\n");
    BOOST_TEST(messages[0].html == "User <b>Bob</b> has joined.\n");
}

BOOST_AUTO_TEST_CASE(no_admin_no_mail) {
    auto outbox = flasky::mail.for_app(*app).record_messages();
    post_name("Bob");
    flasky::mail.outbox(*app).drain();  // the server's drainer thread does this
    BOOST_TEST(outbox.size() == 0);
}

BOOST_AUTO_TEST_CASE(a_dead_mail_server_never_fails_or_slows_the_request) {
    ScopedEnv admin_env{"FLASKY_ADMIN", "admin@example.com"};
    client.reset();
    app = flasky::create_app("testing");
    // Port 1 on loopback: connection refused. Re-binding mail reads the changed config.
    app->config.set("MAIL_SUPPRESS_SEND", false);
    app->config.set("MAIL_SERVER", std::string("127.0.0.1"));
    app->config.set("MAIL_PORT", std::int64_t{1});
    flasky::mail.init_app(*app);
    client.emplace(app->test_client());
    auto r = post_name("Bob");
    BOOST_TEST(r.status == 302);
    BOOST_TEST(users_named("Bob") == 1);
    // The request has its answer while the mail waits in the outbox, committed with the user:
    // it did not wait for the dead server, and the mail outlives this process.
    common::db::Session session(flasky::db.engine(*app));
    auto rows = session.query<flasky::OutboxMail>().all();
    BOOST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0]->status == "pending");
    BOOST_TEST(rows[0]->attempts == 0);
}

BOOST_AUTO_TEST_CASE(the_same_new_name_posted_at_once_never_fails) {
    // Eight clients race to add one new name: every request redirects, one row is stored.
    const std::string token_page = client->get("/").body;
    std::vector<web::TestClient> clients;
    std::vector<std::string> tokens;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(app->test_client());
        tokens.push_back(web::TestClient::csrf_token(clients.back().get("/").body));
    }
    std::vector<int> statuses(clients.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < clients.size(); ++i)
        threads.emplace_back([&, i] {
            statuses[i] =
                clients[i].post("/", {{"name", "Racer"}, {"csrf_token", tokens[i]}}).status;
        });
    for (auto& t : threads) t.join();
    for (int status : statuses) BOOST_TEST(status == 302);
    BOOST_TEST(users_named("Racer") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

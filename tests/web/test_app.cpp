// The request pipeline through the test client: views, typed variables, url_for, blueprints,
// 404/405/413, hooks, error handlers, JSON.
#include "common/web/app.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

namespace {

/// A blueprint like the seed's `main`, with views that exercise the context.
Blueprint make_main() {
    Blueprint main("main");
    main.route("/", "index", [](Context& ctx) -> Response {
        return "index of " + ctx.request.blueprint + " at " + ctx.url_for(".index");
    });
    main.route("/user/<username>", "user", [](Context& ctx) -> Response {
        return "user " + html_escape(ctx.request.view_arg("username"));
    });
    main.route("/post/<int:id>", "post",
               [](Context& ctx) -> Response {
                   return "post " + std::to_string(ctx.request.view_arg_int("id") * 2);
               },
               {"GET", "DELETE"});
    main.route("/boom", "boom", [](Context&) -> Response { throw std::runtime_error("kaboom"); });
    main.route("/forbidden", "forbidden", [](Context&) -> Response { abort(403, "no entry"); });
    main.route("/echo", "echo",
               [](Context& ctx) -> Response {
                   return ctx.request.form().get("text", "<none>") + "|" +
                          ctx.request.args().get("q", "<none>");
               },
               {"POST"});
    main.route("/api", "api",
               [](Context& ctx) -> Response {
                   Data in = ctx.request.get_json();
                   return jsonify({{"got", in["n"].as_int() + 1}});
               },
               {"POST"});
    main.csrf_exempt("echo").csrf_exempt("api");
    return main;
}

struct AppFixture {
    App app{"test"};
    std::vector<std::string> log;
    AppFixture() {
        app.config.set("SECRET_KEY", std::string("test secret"));
        app.set_error_logger([this](const std::string& m) { log.push_back(m); });
        app.register_blueprint(make_main());
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Pipeline, AppFixture)

BOOST_AUTO_TEST_CASE(view_runs_with_its_blueprint_and_relative_url_for) {
    auto client = app.test_client();
    auto r = client.get("/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "index of main at /");
    BOOST_TEST(r.content_type() == "text/html; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(typed_path_variables_reach_the_view) {
    auto client = app.test_client();
    BOOST_TEST(client.get("/user/%3Cb%3E").body == "user &lt;b&gt;");
    BOOST_TEST(client.get("/post/21").body == "post 42");
    BOOST_TEST(client.get("/post/x").status == 404);
}

BOOST_AUTO_TEST_CASE(url_for_builds_from_the_app) {
    app.freeze();
    BOOST_TEST(app.url_for("main.user", {{"username", "bob"}}) == "/user/bob");
    BOOST_TEST(app.url_for("main.post", {{"id", 3}, {"next", "/a b"}}) == "/post/3?next=%2Fa%20b");
    BOOST_TEST(app.url_for("static", {{"filename", "css/site.css"}}) == "/static/css/site.css");
    BOOST_CHECK_THROW(app.url_for("index"), common::web::BuildError);
}

BOOST_AUTO_TEST_CASE(unknown_url_is_404_page) {
    auto r = app.test_client().get("/nope");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.contains("<title>404 Not Found</title>"));
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
    auto r = app.test_client().open("PUT", "/post/1");
    BOOST_TEST(r.status == 405);
    BOOST_TEST(r.headers.get("Allow") == "DELETE, GET, HEAD, OPTIONS");
}

BOOST_AUTO_TEST_CASE(options_is_answered_automatically) {
    auto r = app.test_client().open("OPTIONS", "/post/1");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.headers.get("Allow") == "DELETE, GET, HEAD, OPTIONS");
}

BOOST_AUTO_TEST_CASE(head_has_headers_but_no_body) {
    auto r = app.test_client().head("/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body.empty());
}

BOOST_AUTO_TEST_CASE(body_over_max_content_length_is_413) {
    app.config.set("MAX_CONTENT_LENGTH", std::int64_t{100});
    auto client = app.test_client();
    auto r = client.post("/echo", {{"text", std::string(200, 'x')}});
    BOOST_TEST(r.status == 413);
    BOOST_TEST(client.post("/echo", {{"text", "short"}}).body == "short|<none>");
}

BOOST_AUTO_TEST_CASE(too_many_form_fields_is_413) {
    app.config.set("MAX_FORM_PARTS", std::int64_t{3});
    auto client = app.test_client();
    MultiDict form;
    for (int i = 0; i < 5; ++i) form.add("f" + std::to_string(i), "v");
    BOOST_TEST(client.post("/echo", form).status == 413);
}

BOOST_AUTO_TEST_CASE(form_and_query_args_are_parsed) {
    auto r = app.test_client().post("/echo?q=a+b%21", {{"text", "x=1&y"}});
    BOOST_TEST(r.body == "x=1&y|a b!");
}

// Werkzeug keeps a '%' that starts no escape as it is and takes a field name of any length;
// Flask stores "100%". (Poco's HTMLForm answered 400 "Bad URI syntax" and 413.)
BOOST_AUTO_TEST_CASE(a_stray_percent_and_a_long_field_name_are_kept_as_werkzeug_keeps_them) {
    auto client = app.test_client();
    auto r = client.open("POST", "/echo", "text=100%&x=%zz%2", "application/x-www-form-urlencoded");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "100%|<none>");
    r = client.open("POST", "/echo", std::string(2000, 'k') + "=v&text=long+name",
                    "application/x-www-form-urlencoded");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "long name|<none>");
}

// Werkzeug skips a multipart part without a name (no Content-Disposition, or only name*=)
// and reads the rest. (HTMLForm refused the whole form: 400 "Not found: name".)
BOOST_AUTO_TEST_CASE(a_multipart_part_without_a_name_is_skipped) {
    const std::string body =
        "--XyZ\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name*=UTF-8''x\r\n\r\nstar name\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nkept\r\n--XyZ--\r\n";
    auto r = app.test_client().open("POST", "/echo", body, "multipart/form-data; boundary=XyZ");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "kept|<none>");
    r = app.test_client().open("POST", "/echo", body, "multipart/form-data");
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("names no boundary") != std::string::npos, r.body);
}

BOOST_AUTO_TEST_CASE(multipart_form_with_file_is_parsed) {
    std::string body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nfrom multipart\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
    auto r = app.test_client().open("POST", "/echo", body, "multipart/form-data; boundary=XyZ");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "from multipart|<none>");
}

BOOST_AUTO_TEST_CASE(malformed_multipart_is_400) {
    auto r = app.test_client().open("POST", "/echo", "garbage", "multipart/form-data");
    BOOST_TEST(r.status == 400);
}

// A multipart body cut short keeps no field: Werkzeug drops such a form (Flask-WTF then says
// "This field is required."). (Before: the part read up to the end was stored: "Al" for
// "Alice", or "Multi\r" cut before the close delimiter.)
BOOST_AUTO_TEST_CASE(a_multipart_body_cut_short_stores_nothing) {
    const std::string whole =
        "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nAlice\r\n--XyZ--\r\n";
    for (const auto cut :
         {whole.find("ice"), whole.find("\r\n--XyZ--"), whole.find("--\r\n", 30)}) {
        auto r = app.test_client().open("POST", "/echo", whole.substr(0, cut),
                                        "multipart/form-data; boundary=XyZ");
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body.find("cut short") != std::string::npos, r.body);
    }
    auto r = app.test_client().open("POST", "/echo", whole, "multipart/form-data; boundary=XyZ");
    BOOST_TEST(r.body == "Alice|<none>");
    // Lines ending in LF alone, which Werkzeug also reads.
    r = app.test_client().open(
        "POST", "/echo", "--XyZ\nContent-Disposition: form-data; name=\"text\"\n\nAlice\n--XyZ--\n",
        "multipart/form-data; boundary=XyZ");
    BOOST_TEST(r.body == "Alice|<none>");
}

BOOST_AUTO_TEST_CASE(json_in_and_out) {
    auto client = app.test_client();
    auto r = client.post_json("/api", {{"n", 41}});
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type() == "application/json");
    BOOST_TEST(r.body == "{\"got\":42}\n");
    BOOST_TEST(client.open("POST", "/api", "{nope", "application/json").status == 400);
    BOOST_TEST(client.open("POST", "/api", "{}", "text/plain").status == 415);
}

BOOST_AUTO_TEST_CASE(abort_renders_the_error_page) {
    auto r = app.test_client().get("/forbidden");
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.contains("no entry"));
}

BOOST_AUTO_TEST_CASE(exception_is_500_and_logged) {
    auto r = app.test_client().get("/boom");
    BOOST_TEST(r.status == 500);
    BOOST_TEST(r.contains("Internal Server Error"));
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0] == "Exception on /boom [GET]: kaboom");
}

BOOST_AUTO_TEST_CASE(testing_config_propagates_exceptions_like_flask) {
    app.config.set("TESTING", true);
    auto client = app.test_client();
    BOOST_CHECK_THROW(client.get("/boom"), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ErrorHandlers)

BOOST_AUTO_TEST_CASE(app_errorhandler_from_a_blueprint_handles_every_404) {
    App app;
    Blueprint errors("errors");
    errors.app_errorhandler(404, [](Context& ctx, const HTTPError& e) {
        return Response("custom " + e.title() + " for " + ctx.request.path, 404);
    });
    app.register_blueprint(errors);
    app.register_blueprint(make_main());
    auto r = app.test_client().get("/missing");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.body == "custom 404 Not Found for /missing");
}

BOOST_AUTO_TEST_CASE(blueprint_errorhandler_wins_for_its_own_views_only) {
    App app;
    app.set_error_logger([](const std::string&) {});
    Blueprint main = make_main();
    main.errorhandler(500, [](Context&, const HTTPError&) { return Response("main's 500", 500); });
    Blueprint other("other");
    other.route("/other/boom", "boom", [](Context&) -> Response { throw std::logic_error("x"); });
    app.errorhandler(500, [](Context&, const HTTPError&) { return Response("app's 500", 500); });
    app.register_blueprint(main);
    app.register_blueprint(other);
    auto client = app.test_client();
    BOOST_TEST(client.get("/boom").body == "main's 500");
    BOOST_TEST(client.get("/other/boom").body == "app's 500");
}

BOOST_AUTO_TEST_CASE(errorhandler_by_exception_class) {
    // Flask: @app.errorhandler(LookupError) catches a KeyError too; an exception of another
    // class still gets the 500 page, and a handler that throws gives the 500 page.
    App app;
    app.set_error_logger([](const std::string&) {});
    app.errorhandler<std::logic_error>([](Context& ctx, const std::logic_error& e) {
        Response r(std::string("busy: ") + e.what() + " at " + ctx.request.path, 503);
        r.headers.set("Retry-After", "5");
        return r;
    });
    app.route("/derived", "derived",
              [](Context&) -> Response { throw std::out_of_range("locked"); });
    app.route("/other", "other", [](Context&) -> Response { throw std::runtime_error("x"); });
    app.before_request([](Context& ctx) -> std::optional<Response> {
        if (ctx.request.path == "/hook") throw std::invalid_argument("in a hook");
        return std::nullopt;
    });
    app.route("/hook", "hook", [](Context&) -> Response { return "not reached"; });
    auto client = app.test_client();
    auto r = client.get("/derived");
    BOOST_TEST(r.status == 503);
    BOOST_TEST(r.body == "busy: locked at /derived");
    BOOST_TEST(r.headers.get("Retry-After") == "5");
    BOOST_TEST(client.get("/other").status == 500);
    BOOST_TEST(client.get("/hook").body == "busy: in a hook at /hook");
}

BOOST_AUTO_TEST_CASE(a_blueprints_exception_handler_comes_first_for_its_views) {
    App app;
    app.set_error_logger([](const std::string&) {});
    Blueprint main = make_main();  // its /boom throws std::runtime_error
    main.errorhandler<std::runtime_error>(
        [](Context&, const std::runtime_error&) { return Response("main's", 503); });
    Blueprint other("other");
    other.route("/other/boom", "boom", [](Context&) -> Response { throw std::runtime_error("x"); });
    Blueprint errors("errors");
    errors.app_errorhandler<std::exception>([](Context&, const std::exception& e) {
        return Response(std::string("app-wide: ") + e.what(), 503);
    });
    app.register_blueprint(main);
    app.register_blueprint(other);
    app.register_blueprint(errors);
    auto client = app.test_client();
    BOOST_TEST(client.get("/boom").body == "main's");
    BOOST_TEST(client.get("/other/boom").body == "app-wide: x");
    // A handler that throws: the 500 page, as Flask.
    App failing;
    failing.set_error_logger([](const std::string&) {});
    failing.errorhandler<std::exception>(
        [](Context&, const std::exception&) -> Response { throw std::runtime_error("again"); });
    failing.route("/", "index", [](Context&) -> Response { throw std::runtime_error("x"); });
    BOOST_TEST(failing.test_client().get("/").status == 500);
}

BOOST_AUTO_TEST_CASE(setup_after_first_request_is_an_error) {
    App app;
    app.register_blueprint(make_main());
    app.test_client().get("/");
    BOOST_CHECK_THROW(app.route("/late", "late", [](Context&) { return Response("x"); }),
                      common::web::UsageError);
    BOOST_CHECK_THROW(app.register_blueprint(Blueprint("late")), common::web::UsageError);
    // Every setup method passes the same guard, the app's own and the Scaffold's.
    BOOST_CHECK_THROW(app.before_request([](Context&) { return std::optional<Response>(); }),
                      common::web::UsageError);
    BOOST_CHECK_THROW(app.csrf_exempt("main.index"), common::web::UsageError);
    BOOST_CHECK_THROW(app.add_template("late.html", "x"), common::web::UsageError);
    BOOST_CHECK_THROW(app.set_static_folder("elsewhere"), common::web::UsageError);
}

BOOST_AUTO_TEST_CASE(the_framework_errors_are_one_family) {
    // A caller catches everything common::web throws with one handler, HTTPError included.
    App app;
    auto caught = [](auto&& f) {
        try {
            f();
        } catch (const common::web::Error& e) {
            return std::string(e.what());
        }
        return std::string("nothing thrown");
    };
    BOOST_TEST(caught([&] { app.url_for("nope"); }).find("Could not build url") == 0u);
    BOOST_TEST(caught([] { Blueprint("a.b"); }).find("blueprint name") == 0u);
    BOOST_TEST(caught([] { common::web::abort(404); }).find("404 Not Found") == 0u);
    BOOST_TEST(caught([] { common::web::Data::from_json("{"); }).find("invalid JSON") == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_blueprint_name_is_rejected) {
    App app;
    app.register_blueprint(make_main());
    BOOST_CHECK_THROW(app.register_blueprint(make_main()), common::web::UsageError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Hooks)

BOOST_AUTO_TEST_CASE(hooks_run_in_flask_order) {
    App app;
    std::vector<std::string> order;
    Blueprint bp("bp", {}, "/bp");
    bp.route("/", "view", [&](Context&) {
        order.push_back("view");
        return Response("ok");
    });
    bp.before_request([&](Context&) -> std::optional<Response> {
        order.push_back("bp.before");
        return std::nullopt;
    });
    bp.after_request([&](Context&, Response& r) {
        order.push_back("bp.after");
        r.headers.set("X-Bp", "1");
    });
    bp.teardown_request([&](Context&, std::exception_ptr) { order.push_back("bp.teardown"); });
    app.before_request([&](Context&) -> std::optional<Response> {
        order.push_back("app.before");
        return std::nullopt;
    });
    app.after_request([&](Context&, Response&) { order.push_back("app.after"); });
    app.teardown_request([&](Context&, std::exception_ptr) { order.push_back("app.teardown"); });
    app.register_blueprint(bp);

    auto r = app.test_client().get("/bp/");
    BOOST_TEST(r.headers.get("X-Bp") == "1");
    const std::vector<std::string> expected{"app.before", "bp.before",   "view",        "bp.after",
                                            "app.after",  "bp.teardown", "app.teardown"};
    BOOST_TEST(order == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(before_request_can_answer_early_and_g_carries_state) {
    App app;
    app.before_request([](Context& ctx) -> std::optional<Response> {
        if (ctx.request.args().contains("stop")) return Response("stopped", 401);
        ctx.g["user"] = std::string("bob");
        return std::nullopt;
    });
    app.route("/", "index",
              [](Context& ctx) { return Response(std::any_cast<std::string>(ctx.g["user"])); });
    auto client = app.test_client();
    BOOST_TEST(client.get("/").body == "bob");
    auto r = client.get("/?stop=1");
    BOOST_TEST(r.status == 401);
    BOOST_TEST(r.body == "stopped");
}

BOOST_AUTO_TEST_CASE(teardown_sees_the_unhandled_exception) {
    App app;
    app.set_error_logger([](const std::string&) {});
    std::string seen;
    app.route("/", "index", [](Context&) -> Response { throw std::runtime_error("db down"); });
    app.teardown_request([&](Context&, std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            seen = ex.what();
        }
    });
    BOOST_TEST(app.test_client().get("/").status == 500);
    BOOST_TEST(seen == "db down");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Factory)

/// The seed's create_app(): build, configure, register, return by value.
App create_app() {
    App app("factory");
    app.config.set("SECRET_KEY", std::string("k"));
    app.register_blueprint(make_main());
    return app;
}

BOOST_AUTO_TEST_CASE(an_app_returned_from_a_factory_still_serves) {
    App app = create_app();
    auto client = app.test_client();
    BOOST_TEST(client.get("/").body == "index of main at /");
    BOOST_TEST(client.get("/static/nothing.css").status == 404);
    BOOST_TEST(app.blueprints() == std::vector<std::string>{"main"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Extensions_)

BOOST_AUTO_TEST_CASE(registry_holds_pointers_and_names_the_fix_when_missing) {
    App app;
    struct Mail {
        int sent = 0;
    } mail;
    app.extensions.add("mail", mail);
    app.extensions.get<Mail>("mail").sent = 3;
    BOOST_TEST(mail.sent == 3);
    BOOST_TEST(app.extensions.contains("mail"));
    try {
        app.extensions.get<Mail>("db");
        BOOST_FAIL("expected out_of_range");
    } catch (const common::web::UsageError& e) {
        BOOST_TEST(std::string(e.what()).find("db.init_app(app)") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()

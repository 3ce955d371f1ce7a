// Templates: layouts with blocks, partials, auto-escaping, compile-once errors.
#include "common/web/app.hpp"
#include "common/web/templates.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

BOOST_AUTO_TEST_SUITE(Templates)

BOOST_AUTO_TEST_CASE(child_overrides_blocks_of_its_layout) {
    TemplateEngine t;
    t.add_folder(WEB_TEST_DATA "/templates");
    t.compile();
    const auto html = t.render("hello.html", {{"name", "Bob"}});
    BOOST_TEST(html.find("<title>Hello</title>") != std::string::npos);
    BOOST_TEST(html.find("<main><h1>Hello, Bob!</h1></main>") != std::string::npos);
    BOOST_TEST(t.render("hello.html", {}).find("Hello, Stranger!") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(variables_are_html_escaped_in_html_only) {
    TemplateEngine t;
    t.add_folder(WEB_TEST_DATA "/templates");
    t.compile();
    const auto html = t.render("hello.html", {{"name", R"(<script>alert("x")</script>&')"}});
    BOOST_TEST(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&apos;") !=
               std::string::npos);
    BOOST_TEST(html.find("<script>") == std::string::npos);
    // Mail text templates are not HTML: no escaping, as Flask does for .txt.
    BOOST_TEST(t.render("mail.txt", {{"name", "<Bob & Co>"}}) == "User <Bob & Co> has joined.\n");
}

BOOST_AUTO_TEST_CASE(partials_and_blocks_chain) {
    TemplateEngine t;
    t.add_string("a.html", "[{{$x}}a{{/x}}|{{$y}}a{{/y}}|{{$z}}a{{/z}}]");
    t.add_string("b.html", "{{<a.html}}{{$x}}b{{/x}}{{$y}}b{{/y}}{{/a.html}}");
    t.add_string("c.html", "{{<b.html}}{{$x}}c{{>p.html}}{{/x}}{{/b.html}}");
    t.add_string("p.html", "<{{v}}>");
    t.compile();
    BOOST_TEST(t.render("c.html", {{"v", "1"}}) == "[c<1>|b|a]");
}

BOOST_AUTO_TEST_CASE(sections_lists_and_unescaped) {
    TemplateEngine t;
    t.add_string("l.html",
                 "{{#items}}<li>{{name}}</li>{{/items}}{{^items}}none{{/items}}|{{{raw}}}");
    t.compile();
    Data items = Data::list({Data{{"name", "a"}}, Data{{"name", "<b>"}}});
    BOOST_TEST(t.render("l.html", {{"items", items}, {"raw", "<i>x</i>"}}) ==
               "<li>a</li><li>&lt;b&gt;</li>|<i>x</i>");
    BOOST_TEST(t.render("l.html", {{"items", Data::list()}}) == "none|");
}

BOOST_AUTO_TEST_CASE(first_source_wins_like_flask_app_then_blueprints) {
    TemplateEngine t;
    t.add_string("x.html", "first");
    t.add_string("x.html", "second");
    t.compile();
    BOOST_TEST(t.render("x.html", {}) == "first");
}

BOOST_AUTO_TEST_CASE(errors_name_the_template_and_the_problem) {
    auto message = [](const std::string& text) -> std::string {
        TemplateEngine t;
        t.add_string("bad.html", text);
        try {
            t.compile();
        } catch (const TemplateError& e) {
            return e.what();
        }
        return "compiled";
    };
    BOOST_TEST(
        message("{{<missing.html}}{{/missing.html}}").find("template 'missing.html' not found") !=
        std::string::npos);
    BOOST_TEST(message("{{#a}}x").find("'a' is opened but never closed") != std::string::npos);
    BOOST_TEST(message("{{/a}}").find("closes nothing") != std::string::npos);
    BOOST_TEST(message("{{>bad.html}}").find("extends or includes itself") != std::string::npos);
    BOOST_TEST(message("{{name").find("unclosed tag") != std::string::npos);

    TemplateEngine empty;
    empty.compile();
    BOOST_CHECK_THROW(empty.render("nope.html", {}), TemplateError);
}

BOOST_AUTO_TEST_CASE(app_finds_blueprint_templates_after_its_own) {
    App app("t", WEB_TEST_DATA);
    Blueprint main("main", "templates/main");
    main.route("/", "index", [](Context& ctx) {
        return Response(ctx.render_template("main/index.html", {{"who", "<you>"}}));
    });
    app.register_blueprint(main);
    auto r = app.test_client().get("/");
    BOOST_TEST(r.contains("<main>blueprint template <em>&lt;you&gt;</em>"));
    BOOST_TEST(app.render_template("mail.txt", {{"name", "Ann"}}) == "User Ann has joined.\n");
}

BOOST_AUTO_TEST_CASE(broken_template_stops_the_app_at_start) {
    App app;
    app.add_template("broken.html", "{{#x}}");
    BOOST_CHECK_THROW(app.freeze(), TemplateError);
}

BOOST_AUTO_TEST_SUITE_END()

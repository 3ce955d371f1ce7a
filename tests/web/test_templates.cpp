// Templates: layouts with blocks, partials, auto-escaping, compile-once errors.
#include "common/web/app.hpp"
#include "common/web/templates.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>
#include <kainjow/mustache.hpp>

#include <string>
#include <vector>

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

// The renderer walks its own tree over Data (templates.cpp); kainjow, which rendered before,
// is the reference. Each case is rendered by both; the data is converted for kainjow the way
// the engine used to convert it (null → false, numbers → their text).
namespace {

kainjow::mustache::data kainjow_data(const Data& d) {
    namespace m = kainjow::mustache;
    if (d.is_null()) return m::data(false);
    if (d.is_bool()) return m::data(d.as_bool());
    if (d.is_string()) return m::data(d.as_string());
    if (d.is_list()) {
        m::data list(m::data::type::list);
        for (const auto& item : d.as_list()) list.push_back(kainjow_data(item));
        return list;
    }
    if (d.is_object()) {
        m::data obj;
        for (const auto& [k, v] : d.as_object()) obj.set(k, kainjow_data(v));
        return obj;
    }
    return m::data(d.to_text());
}

}  // namespace

BOOST_AUTO_TEST_CASE(renders_byte_for_byte_what_kainjow_renders) {
    const Data vars{
        {"name", R"(<Bob & "Co" 'x'>)"},
        {"empty", ""},
        {"zero", 0},
        {"pi", 3.5},
        {"yes", true},
        {"no", false},
        {"nothing", nullptr},
        {"items", Data::list({"a", "b<", Data{{"n", "x"}}})},
        {"none", Data::list()},
        {"user", Data{{"name", "Ann"}, {"role", Data{{"name", "admin"}}}}},
        {"people", Data::list({Data{{"name", "A"}, {"tags", Data::list({"t1", "t2"})}},
                               Data{{"name", "B"}, {"tags", Data::list()}}})},
    };
    const std::vector<std::string> templates = {
        "Hello {{name}} / {{{name}}} / {{& name}}!",
        "{{empty}}|{{zero}}|{{pi}}|{{yes}}|{{no}}|{{nothing}}|{{items}}|{{user}}|{{missing}}|",
        "{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{^no}}n{{/no}}{{#empty}}E{{/empty}}{{#zero}}Z{{/zero}}"
        "{{#nothing}}X{{/nothing}}{{^nothing}}x{{/nothing}}{{#none}}L{{/none}}{{^none}}l{{/none}}",
        "<ul>\n  {{#items}}\n  <li>{{.}}{{n}}</li>\n  {{/items}}\n</ul>\n",
        "a\n  {{#no}}\n  hidden\n  {{/no}}\n  {{^no}}\n  shown\n  {{/no}}\nb\n",
        "  {{! a comment alone on its line }}\n  {{#yes}}  {{/yes}}  \n\t{{#yes}}{{/yes}}\nend",
        "{{user.name}} {{user.role.name}} {{user.nope}} {{#user}}{{name}}-{{role.name}}{{/user}}",
        "{{#people}}\n{{name}}:{{#tags}} {{.}}{{/tags}}{{^tags}} (none){{/tags}}\n{{/people}}\n",
        "{{#people}}{{#tags}}{{name}}{{/tags}}{{/people}}|{{#user}}{{#role}}{{name}}{{/role}}{{/"
        "user}}",
        "line1\r\nline2\r  {{#yes}}\r\n{{name}}\n{{/yes}}\n",
        "{{#items}}{{#.}}[{{.}}]{{/.}}{{/items}}",
        "{{ name }} {{#  yes  }}sp{{/  yes  }}\n",
        "trailing {{#yes}}\n  {{/yes}}  ",
        "{{pi.x}}{{#pi}}{{.}}{{/pi}}{{#empty}}[{{.}}]{{/empty}}",
        "{ single } {{missing}}} }",
        "",
    };
    for (const auto& text : templates) {
        for (const bool html : {true, false}) {
            kainjow::mustache::mustache reference(text);
            BOOST_REQUIRE_MESSAGE(reference.is_valid(), reference.error_message());
            if (!html) reference.set_custom_escape([](const std::string& s) { return s; });
            std::string expected;
            reference.render(kainjow_data(vars), [&](const std::string& s) { expected += s; });
            TemplateEngine t;
            BOOST_TEST(t.render_string(text, vars, html) == expected,
                       "template: " << text << " (html " << html << ")");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// Bootstrap and Moment: the seed's extensions, bound with init_app(), serving Debian's files.
#include "common/web/app.hpp"
#include "common/web/extensions.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace common::web;

namespace {

struct ExtensionsFixture {
    Bootstrap bootstrap;  // created without an app, as in the seed
    Moment moment;
    App app{"ext"};
    ExtensionsFixture() {
        app.config.set("SECRET_KEY", std::string("k"));
        bootstrap.init_app(app);
        moment.init_app(app);
        app.add_template(
            "index.html",
            "{{<bootstrap/base.html}}"
            "{{$title}}Flasky{{/title}}"
            "{{$navbar}}<nav class=\"navbar\">Flasky</nav>{{/navbar}}"
            "{{$page_content}}<h1>Hello, {{name}}!</h1><p>{{{current_time}}}</p>{{/page_content}}"
            "{{$scripts}}{{>bootstrap/scripts.html}}{{>moment/scripts.html}}{{/scripts}}"
            "{{/bootstrap/base.html}}");
        app.route("/", "index", [](Context& ctx) {
            ctx.flash("Welcome <back>");
            const auto t =
                std::chrono::system_clock::from_time_t(1714572180);  // 2024-05-01T14:03:00Z
            return Response(ctx.render_template(
                "index.html", {{"name", "Bob"}, {"current_time", Moment::format(t)}}));
        });
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Extensions, ExtensionsFixture)

BOOST_AUTO_TEST_CASE(init_app_registers_the_extensions) {
    BOOST_TEST(&app.extensions.get<Bootstrap>("bootstrap") == &bootstrap);
    BOOST_TEST(&app.extensions.get<Moment>("moment") == &moment);
}

BOOST_AUTO_TEST_CASE(bootstrap_layout_with_navbar_flashes_content_and_scripts) {
    auto r = app.test_client().get("/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.contains("<title>Flasky</title>"));
    BOOST_TEST(
        r.contains(R"(<link rel="stylesheet" href="/static/bootstrap4/css/bootstrap.min.css">)"));
    BOOST_TEST(r.contains("<nav class=\"navbar\">Flasky</nav>"));
    BOOST_TEST(r.contains("<h1>Hello, Bob!</h1>"));
    BOOST_TEST(r.contains("alert alert-info"));
    BOOST_TEST(r.contains("Welcome &lt;back&gt;"));
    BOOST_TEST(r.contains(R"(<script src="/static/jquery/jquery.min.js"></script>)"));
    BOOST_TEST(r.contains(R"(<script src="/static/moment/moment.min.js"></script>)"));
    BOOST_TEST(r.contains(
        R"(<span class="flask-moment" data-timestamp="2024-05-01T14:03:00Z" data-function="format" data-format="LLL" data-refresh="0" hidden>2024-05-01T14:03:00Z</span>)"));
}

BOOST_AUTO_TEST_CASE(moment_spans) {
    const auto t = std::chrono::system_clock::from_time_t(0);
    BOOST_TEST(Moment::iso8601(t) == "1970-01-01T00:00:00Z");
    BOOST_TEST(Moment::from_now(t, 60000).find(R"(data-function="fromNow" data-refresh="60000")") !=
               std::string::npos);
    BOOST_TEST(Moment::format(t, "\"x\"").find(R"(data-format="&quot;x&quot;")") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(debian_javascript_is_served_locally) {
    namespace fs = std::filesystem;
    auto client = app.test_client();
    const std::pair<const char*, const char*> files[] = {
        {"/static/bootstrap4/css/bootstrap.min.css",
         "/usr/share/javascript/bootstrap4/css/bootstrap.min.css"},
        {"/static/bootstrap4/js/bootstrap.bundle.min.js",
         "/usr/share/javascript/bootstrap4/js/bootstrap.bundle.min.js"},
        {"/static/jquery/jquery.min.js", "/usr/share/javascript/jquery/jquery.min.js"},
        {"/static/moment/moment.min.js", "/usr/share/javascript/moment/moment.min.js"},
    };
    for (const auto& [url, path] : files) {
        BOOST_TEST_CONTEXT(url) {
            auto r = client.get(url);
            BOOST_TEST(r.status == 200);
            BOOST_TEST(r.body.size() == fs::file_size(path));
        }
    }
    BOOST_TEST(client.get("/static/bootstrap4/css/bootstrap.min.css").content_type() ==
               "text/css; charset=utf-8");
    BOOST_TEST(client.get("/static/bootstrap4/../../../../etc/passwd").status == 404);
}

BOOST_AUTO_TEST_CASE(url_map_lists_extension_routes) {
    app.freeze();
    std::vector<std::string> endpoints;
    for (const auto& r : app.url_map()) endpoints.push_back(r.endpoint + " " + r.rule);
    const std::vector<std::string> expected{
        "bootstrap.static /static/bootstrap4/<path:filename>",
        "index /",
        "jquery.static /static/jquery/<path:filename>",
        "moment.renderer /static/flask-moment/render.js",
        "moment.static /static/moment/<path:filename>",
        "static /static/<path:filename>",
    };
    BOOST_TEST(endpoints == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

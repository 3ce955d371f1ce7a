// Static files: content types, ETag/Last-Modified and 304, byte ranges, traversal refused.
#include "common/web/app.hpp"
#include "common/web/static_files.hpp"
#include "common/web/test_client.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

namespace {
struct StaticFixture {
    App app{"static-test", WEB_TEST_DATA};
    StaticFixture() { app.add_static_files("/assets", WEB_TEST_DATA "/templates", "assets"); }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(StaticFiles, StaticFixture)

BOOST_AUTO_TEST_CASE(serves_with_content_type_and_etag) {
    auto client = app.test_client();
    auto css = client.get("/static/css/site.css");
    BOOST_TEST(css.status == 200);
    BOOST_TEST(css.content_type() == "text/css; charset=utf-8");
    BOOST_TEST(css.body == "body { color: red; }\n");
    BOOST_TEST(!css.headers.get("ETag").empty());
    BOOST_TEST(client.get("/static/app.js").content_type() == "text/javascript; charset=utf-8");
    BOOST_TEST(client.get("/assets/mail.txt").content_type() == "text/plain; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(if_none_match_gives_304_without_body) {
    auto client = app.test_client();
    const std::string etag = client.get("/static/css/site.css").headers.get("ETag");
    TestClient::Options options;
    options.headers.set("If-None-Match", etag);
    auto r = client.get("/static/css/site.css", options);
    BOOST_TEST(r.status == 304);
    BOOST_TEST(r.body.empty());
    BOOST_TEST(r.headers.get("ETag") == etag);
    BOOST_TEST(r.headers.get("Cache-Control") == "no-cache");  // as the 200 (RFC 9110 §15.4.5)
    options.headers.set("If-None-Match", "\"other\"");
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
    // A list, and weak tags, match; a tag that only contains ours, or a '*' inside a tag, do
    // not (Werkzeug: 200). (Before: any '*' and any substring gave 304.)
    options.headers.set("If-None-Match", "\"a\", W/" + etag);
    BOOST_TEST(client.get("/static/css/site.css", options).status == 304);
    options.headers.set("If-None-Match", "\"foo*\"");
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
    options.headers.set("If-None-Match", "\"x" + etag.substr(1));
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
}

// If-Match: a version the client may act on; another one is 412, as Werkzeug answers.
BOOST_AUTO_TEST_CASE(if_match_with_another_version_is_412) {
    auto client = app.test_client();
    const std::string etag = client.get("/static/css/site.css").headers.get("ETag");
    TestClient::Options options;
    for (const auto& [value, status] :
         {std::pair{std::string("\"nope\""), 412}, {etag, 200}, {"*", 200}, {"W/" + etag, 412}}) {
        options.headers.set("If-Match", value);
        BOOST_TEST(client.get("/static/css/site.css", options).status == status, value);
    }
}

BOOST_AUTO_TEST_CASE(if_modified_since_gives_304_when_the_file_is_no_newer) {
    auto client = app.test_client();
    const std::string modified = client.get("/static/css/site.css").headers.get("Last-Modified");
    BOOST_TEST(modified.ends_with(" GMT"), modified);
    TestClient::Options options;
    options.headers.set("If-Modified-Since", modified);
    auto r = client.get("/static/css/site.css", options);
    BOOST_TEST(r.status == 304);
    BOOST_TEST(r.headers.get("Last-Modified") == modified);
    options.headers.set("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT");
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
    options.headers.set("If-Modified-Since", "not a date");
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
    // If-None-Match decides when both are sent (RFC 9110 §13.1.3).
    options.headers.set("If-Modified-Since", modified);
    options.headers.set("If-None-Match", "\"other\"");
    BOOST_TEST(client.get("/static/css/site.css", options).status == 200);
}

BOOST_AUTO_TEST_CASE(one_byte_range_gives_206_and_an_unsendable_one_416) {
    auto client = app.test_client();
    const std::string whole = "body { color: red; }\n";  // 21 bytes
    const auto get = [&](std::string range, std::string if_range = {}) {
        TestClient::Options options;
        options.headers.set("Range", std::move(range));
        if (!if_range.empty()) options.headers.set("If-Range", std::move(if_range));
        return client.get("/static/css/site.css", options);
    };
    auto r = get("bytes=0-3");
    BOOST_TEST(r.status == 206);
    BOOST_TEST(r.body == "body");
    BOOST_TEST(r.headers.get("Content-Range") == "bytes 0-3/21");
    BOOST_TEST(r.headers.get("Accept-Ranges") == "bytes");
    BOOST_TEST(get("bytes=5-").body == whole.substr(5));
    BOOST_TEST(get("bytes=-3").body == whole.substr(18));
    BOOST_TEST(get("bytes=-100").body == whole);
    BOOST_TEST(get("bytes=10-999").headers.get("Content-Range") == "bytes 10-20/21");
    BOOST_TEST(get("Bytes= 0-3").body == "body");  // the unit in any case, whitespace around
    for (const char* bad :
         {"bytes=21-", "bytes=5-2", "bytes=0-1,3-4", "items=0-3", "bytes=x-3", "bytes=-0"}) {
        auto refused = get(bad);
        BOOST_TEST(refused.status == 416, bad);
        BOOST_TEST(refused.headers.get("Content-Range") == "bytes */21", bad);
    }
    // An empty file is sent whole, whatever range is asked (Werkzeug does the same).
    TestClient::Options options;
    options.headers.set("Range", "bytes=0-3");
    const auto empty = client.get("/static/empty.txt", options);
    BOOST_TEST(empty.status == 200);
    BOOST_TEST(empty.body.empty());
    // If-Range: the range only of this version of the file, else the whole file.
    const std::string etag = client.get("/static/css/site.css").headers.get("ETag");
    BOOST_TEST(get("bytes=0-3", etag).status == 206);
    BOOST_TEST(get("bytes=0-3", "\"old\"").status == 200);
    BOOST_TEST(get("bytes=0-3", "\"old\"").body == whole);
}

BOOST_AUTO_TEST_CASE(path_traversal_is_404) {
    // data/templates/mail.txt sits next to data/static: one "../" away if traversal worked.
    auto client = app.test_client();
    BOOST_TEST(client.get("/static/../templates/mail.txt").status == 404);
    BOOST_TEST(client.get("/static/css/../../templates/mail.txt").status == 404);
    BOOST_TEST(client.get("/static/%2e%2e/templates/mail.txt").status == 404);
    BOOST_TEST(client.get("/static/css/%2E%2E/%2e%2e/templates/mail.txt").status == 404);
    BOOST_TEST(client.get("/static/..%2ftemplates%2fmail.txt").status == 404);
    BOOST_TEST(client.get("/static/%2f" WEB_TEST_DATA "/templates/mail.txt").status ==
               404);                                      // absolute
    BOOST_TEST(client.get("/static/css").status == 404);  // a directory
    BOOST_TEST(client.get("/static/nope.css").status == 404);
}

BOOST_AUTO_TEST_CASE(dot_segments_and_a_trailing_slash_are_normalised_as_werkzeug_does) {
    // safe_join normalises the name first (posixpath.normpath): Flask serves these.
    auto client = app.test_client();
    const std::string whole = client.get("/static/css/site.css").body;
    for (const char* target : {"/static/css/./site.css", "/static/css/../css/site.css",
                               "/static/css/site.css/", "/static/./css/site.css"}) {
        const auto r = client.get(target);
        BOOST_TEST(r.status == 200, target);
        BOOST_TEST(r.body == whole, target);
        BOOST_TEST(r.headers.get("Content-Type").starts_with("text/css"), target);
    }
    BOOST_TEST(client.get("/static/css/..").status == 404);  // the directory itself
    BOOST_TEST(client.get("/static/./").status == 404);
}

BOOST_AUTO_TEST_CASE(content_type_table) {
    BOOST_TEST(content_type_for("a.PNG") == "image/png");
    BOOST_TEST(content_type_for("a.woff2") == "font/woff2");
    BOOST_TEST(content_type_for("README") == "application/octet-stream");
}

BOOST_AUTO_TEST_SUITE_END()

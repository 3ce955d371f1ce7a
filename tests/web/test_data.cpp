// Data (the JSON-shaped value of templates, sessions and JSON bodies), URL helpers, Request parsing.
#include "common/web/data.hpp"
#include "common/web/http.hpp"
#include "common/web/request.hpp"
#include "common/web/response.hpp"

#include <boost/test/unit_test.hpp>

using namespace common::web;

BOOST_AUTO_TEST_SUITE(DataValues)

BOOST_AUTO_TEST_CASE(json_round_trip) {
    const Data d{{"name", "Zoë \"Z\"\n"},
                 {"n", -3},
                 {"ok", true},
                 {"none", nullptr},
                 {"list", Data::list({1, "a"})}};
    const std::string json = d.to_json();
    BOOST_TEST(json == R"({"list":[1,"a"],"n":-3,"name":"Zoë \"Z\"\n","none":null,"ok":true})");
    BOOST_TEST((Data::from_json(json) == d));
}

BOOST_AUTO_TEST_CASE(numbers_keep_their_kind_through_json) {
    // Found by tests/fuzz (session_cookie): 2.0 came back as the int 2, and an integer past
    // int64 wrapped to a negative one. Python's json keeps 2.0 a float and has big ints.
    Data object = Data::from_json(Data(Data::Object{{"two", 2.0}}).to_json());
    BOOST_TEST(object["two"].is_double());
    BOOST_TEST(object["two"].as_double() == 2.0);
    Data big = Data::from_json(R"({"n": 18446744073709551615})");
    BOOST_TEST(big["n"].is_double());
    BOOST_TEST(big["n"].as_double() > 1.8e19);
}

BOOST_AUTO_TEST_CASE(bad_json_and_wrong_types_say_what_is_wrong) {
    try {
        Data::from_json("{\"a\":");
        BOOST_FAIL("expected invalid_argument");
    } catch (const common::web::DataError& e) {
        BOOST_TEST(std::string(e.what()).starts_with("invalid JSON"));
    }
    try {
        Data("x").as_int();
        BOOST_FAIL("expected invalid_argument");
    } catch (const common::web::DataError& e) {
        BOOST_TEST(std::string(e.what()) == "expected a integer value, got string");
    }
}

BOOST_AUTO_TEST_CASE(truthiness_is_pythons) {
    BOOST_TEST(!Data().truthy());
    BOOST_TEST(!Data("").truthy());
    BOOST_TEST(!Data(0).truthy());
    BOOST_TEST(!Data::list().truthy());
    BOOST_TEST(Data("x").truthy());
    BOOST_TEST(Data(Data::list({0})).truthy());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Http)

BOOST_AUTO_TEST_CASE(request_target_is_split_and_decoded) {
    Request r("GET", "/user/Zo%C3%AB%20S?next=%2Fa&x=1+2");
    BOOST_TEST(r.path == "/user/Zoë S");
    BOOST_TEST(r.query_string == "next=%2Fa&x=1+2");
    BOOST_TEST(r.args().get("next") == "/a");
    BOOST_TEST(r.args().get("x") == "1 2");
    BOOST_TEST(r.full_path() == "/user/Zoë S?next=%2Fa&x=1+2");
}

BOOST_AUTO_TEST_CASE(cookies_are_parsed_first_one_wins) {
    Request r;
    r.headers.add("Cookie", "a=1; b=\"two\"; a=3");
    BOOST_TEST(r.cookies().at("a") == "1");
    BOOST_TEST(r.cookies().at("b") == "two");
}

BOOST_AUTO_TEST_CASE(multidict_keeps_repeats) {
    MultiDict m = parse_query("tag=a&tag=b&empty=&flag");
    BOOST_TEST(m.get_all("tag").size() == 2u);
    BOOST_TEST(m.get("empty", "x") == "");
    BOOST_TEST(m.contains("flag"));
    BOOST_TEST(encode_query(m) == "tag=a&tag=b&empty=&flag=");
}

BOOST_AUTO_TEST_CASE(malformed_escapes_are_kept_not_thrown) {
    BOOST_TEST(url_unquote("%zz%4") == "%zz%4");
    BOOST_TEST(url_unquote("%41%42") == "AB");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_the_replacement_character_wherever_it_starts) {
    // make_valid_utf8 skips ASCII eight bytes at a time: a bad byte or a valid sequence at
    // every offset of a word, and right after one, is still found and treated alike.
    for (std::size_t k = 0; k < 20; ++k) {
        const std::string ascii(k, 'a');
        std::string bad = ascii + "\xFF" + "bbbbbbbbb";
        common::web::make_valid_utf8(bad);
        BOOST_TEST(bad == ascii + "\xEF\xBF\xBD" + "bbbbbbbbb");
        std::string good = ascii + "Zo\xC3\xAB" + "bbbbbbbbb";  // "Zoë…"
        const std::string before = good;
        common::web::make_valid_utf8(good);
        BOOST_TEST(good == before);
    }
}

BOOST_AUTO_TEST_CASE(cookie_values_must_be_cookie_safe) {
    Response r;
    BOOST_CHECK_THROW(r.set_cookie("a", "x; Path=/admin"), common::web::UsageError);
    r.set_cookie("a", "b", {.max_age = 60, .secure = true});
    const std::string c = r.headers.get("Set-Cookie");
    BOOST_TEST(c.starts_with("a=b; Expires="));
    BOOST_TEST(c.find("; Max-Age=60; Secure; HttpOnly; Path=/; SameSite=Lax") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(redirect_has_location_and_escaped_body) {
    auto r = redirect("/a?b=<c>");
    BOOST_TEST(r.status == 302);
    BOOST_TEST(r.headers.get("Location") == "/a?b=<c>");
    BOOST_TEST(r.body.find("&lt;c&gt;") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

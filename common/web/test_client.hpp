#pragma once
/// \file
/// TestClient — Flask's app.test_client(): requests go straight into App::handle(), the
/// same function the server calls, without sockets. Keeps cookies across requests (so the
/// session works), can follow redirects, and reads CSRF tokens out of rendered forms.
///
///     auto client = app.test_client();
///     auto page = client.get("/");
///     auto token = TestClient::csrf_token(page.body);
///     auto r = client.post("/", {{"name", "Bob"}, {"csrf_token", token}}, {.follow_redirects = true});
///     BOOST_TEST(r.status == 200);

#include "common/web/app.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace common::web {

/// A response plus what the client did to get it.
struct TestResponse : Response {
    TestResponse() = default;
    explicit TestResponse(Response r) : Response(std::move(r)) {}
    /// The path (with query) of the request that produced this response (after redirects).
    std::string request_path;
    /// The Location of every redirect followed, in order.
    std::vector<std::string> redirects;
    /// The body contains `text`.
    bool contains(std::string_view text) const { return body.find(text) != std::string::npos; }
    /// The Location header ("" when none).
    std::string location() const { return headers.get("Location"); }
};

/// Options of one test request: `{.follow_redirects = true}`.
struct TestRequestOptions {
    Headers headers = {};           ///< extra request headers
    bool follow_redirects = false;  ///< follow 301/302/303/307/308 (up to 20)
};

class TestClient {
public:
    explicit TestClient(App& app);

    using Options = TestRequestOptions;

    TestResponse get(std::string_view url, const Options& options = {});
    TestResponse head(std::string_view url, const Options& options = {});
    /// POST a form, application/x-www-form-urlencoded.
    TestResponse post(std::string_view url, const MultiDict& form = {},
                      const Options& options = {});
    /// POST a JSON body.
    TestResponse post_json(std::string_view url, const Data& json, const Options& options = {});
    /// Any method with a raw body.
    TestResponse open(std::string method, std::string_view url, std::string body = {},
                      std::string content_type = {}, const Options& options = {});

    /// The cookie jar: name → value, updated from every Set-Cookie.
    const std::map<std::string, std::string, std::less<>>& cookies() const { return cookies_; }
    std::optional<std::string> cookie(std::string_view name) const;
    void set_cookie(std::string name, std::string value) {
        cookies_[std::move(name)] = std::move(value);
    }
    void delete_cookie(std::string_view name);
    void clear_cookies() { cookies_.clear(); }

    /// The session the app would see for the current cookie jar (empty when none or invalid).
    Data session() const;

    /// The value of the first `name="csrf_token"` input in an HTML page; common::web::Error
    /// when the page has none (did the form forget {{{csrf_field}}}?).
    static std::string csrf_token(std::string_view html);

private:
    TestResponse send(std::string method, std::string target, const std::string& body,
                      const std::string& content_type, const Options& options);
    void store_cookies(const Response& r);
    App* app_;
    std::map<std::string, std::string, std::less<>> cookies_;
};

}  // namespace common::web

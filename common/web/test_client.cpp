#include "common/web/test_client.hpp"

#include <Poco/String.h>

#include <regex>
#include <stdexcept>

namespace common::web {

TestClient App::test_client() {
    freeze();
    return TestClient(*this);
}

TestClient::TestClient(App& app) : app_(&app) {}

namespace {

/// "http://localhost/x?y" → "/x?y"; "/x" stays.
std::string local_target(std::string_view location) {
    if (auto scheme = location.find("://"); scheme != std::string_view::npos) {
        auto path = location.find('/', scheme + 3);
        return path == std::string_view::npos ? std::string("/")
                                              : std::string(location.substr(path));
    }
    return std::string(location);
}

}  // namespace

std::optional<std::string> TestClient::cookie(std::string_view name) const {
    auto it = cookies_.find(name);
    if (it == cookies_.end()) return std::nullopt;
    return it->second;
}

void TestClient::delete_cookie(std::string_view name) {
    if (auto it = cookies_.find(name); it != cookies_.end()) cookies_.erase(it);
}

void TestClient::store_cookies(const Response& r) {
    for (const auto& line : r.headers.get_all("Set-Cookie")) {
        std::string_view rest = line;
        auto semi = rest.find(';');
        std::string_view pair = rest.substr(0, semi);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        std::string name = Poco::trim(std::string(pair.substr(0, eq)));
        std::string value = Poco::trim(std::string(pair.substr(eq + 1)));
        bool expired = false;
        while (semi != std::string_view::npos) {
            rest.remove_prefix(semi + 1);
            semi = rest.find(';');
            std::string attr = Poco::trim(std::string(rest.substr(0, semi)));
            if (attr.size() > 8 && iequals(attr.substr(0, 8), "Max-Age="))
                expired = std::stoll(attr.substr(8)) <= 0;
        }
        if (expired)
            cookies_.erase(name);
        else
            cookies_[std::move(name)] = std::move(value);
    }
}

TestResponse TestClient::send(std::string method, std::string target, const std::string& body,
                              const std::string& content_type, const Options& options) {
    TestResponse last;
    std::vector<std::string> redirects;
    std::string current_body = body, current_type = content_type;
    for (int hop = 0;; ++hop) {
        Request req(method, target);
        req.remote_addr = "127.0.0.1";
        req.headers.add("Host", "localhost");
        req.headers.add("User-Agent", "common-web-test-client");
        for (const auto& [k, v] : options.headers.items()) req.headers.set(k, v);
        if (!current_type.empty()) req.headers.set("Content-Type", current_type);
        if (!current_body.empty())
            req.headers.set("Content-Length", std::to_string(current_body.size()));
        std::string cookie_header;
        for (const auto& [k, v] : cookies_)
            cookie_header += (cookie_header.empty() ? "" : "; ") + k + "=" + v;
        if (!cookie_header.empty()) req.headers.set("Cookie", cookie_header);
        req.body = current_body;

        last = TestResponse(app_->handle(req));
        if (method == "HEAD") last.body.clear();  // the server sends no body for HEAD either
        last.request_path = target;
        store_cookies(last);

        const int st = last.status;
        const bool redirect = st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
        if (!options.follow_redirects || !redirect || !last.headers.contains("Location")) break;
        if (hop == 20) throw Error("more than 20 redirects, starting at " + redirects.front());
        redirects.push_back(last.location());
        target = local_target(last.location());
        if (st != 307 && st != 308) {  // the browser turns the redirected POST into a GET
            if (method != "HEAD") method = "GET";
            current_body.clear();
            current_type.clear();
        }
    }
    last.redirects = std::move(redirects);
    return last;
}

TestResponse TestClient::get(std::string_view url, const Options& options) {
    return send("GET", std::string(url), {}, {}, options);
}

TestResponse TestClient::head(std::string_view url, const Options& options) {
    return send("HEAD", std::string(url), {}, {}, options);
}

TestResponse TestClient::post(std::string_view url, const MultiDict& form, const Options& options) {
    return send("POST", std::string(url), encode_query(form), "application/x-www-form-urlencoded",
                options);
}

TestResponse TestClient::post_json(std::string_view url, const Data& json, const Options& options) {
    return send("POST", std::string(url), json.to_json(), "application/json", options);
}

TestResponse TestClient::open(std::string method, std::string_view url, std::string body,
                              std::string content_type, const Options& options) {
    return send(std::move(method), std::string(url), body, content_type, options);
}

Data TestClient::session() const {
    auto it = cookies_.find(app_->session_cookie_name());
    if (it == cookies_.end()) return Data::object();
    return app_->decode_session_cookie(it->second).value_or(Data::object());
}

std::string TestClient::csrf_token(std::string_view html) {
    // Attributes may come in either order: <input ... name="csrf_token" ... value="...">.
    static const std::regex input(R"(<input\b[^>]*\bname\s*=\s*["']csrf_token["'][^>]*>)",
                                  std::regex::icase);
    static const std::regex value(R"(\bvalue\s*=\s*["']([^"']*)["'])", std::regex::icase);
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(html.begin(), html.end(), m, input)) {
        const std::string tag = m.str();
        std::smatch vm;
        if (std::regex_search(tag, vm, value)) return vm[1].str();
    }
    throw Error(
        "no <input name=\"csrf_token\" value=\"...\"> in the page: does the form's template render "
        "{{{csrf_field}}}?");
}

}  // namespace common::web

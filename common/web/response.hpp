#pragma once
/// \file
/// Response — what a view returns: status, headers, body, cookies. A std::string converts to
/// a 200 text/html response, as a str returned from a Flask view does.

#include "common/web/data.hpp"
#include "common/web/http.hpp"

#include <optional>
#include <string>

namespace common::web {

/// Attributes of a Set-Cookie header. Defaults are the safe ones Flask uses for its session
/// cookie: HttpOnly, SameSite=Lax, Path=/.
struct CookieOptions {
    std::optional<std::int64_t> max_age = {};  ///< seconds; none → a browser-session cookie
    std::string path = "/";
    std::string domain = {};
    bool secure = false;
    bool http_only = true;
    std::string same_site = "Lax";  ///< "Lax", "Strict", "None" or "" (no attribute)
};

class Response {
public:
    Response() : Response(std::string{}) {}
    Response(std::string text, int code = 200,
             std::string content_type = "text/html; charset=utf-8");
    Response(const char* text, int code = 200) : Response(std::string(text), code) {}

    int status = 200;
    Headers headers;
    std::string body;

    /// "404 NOT FOUND"-style line as Flask's response.status prints it ("404 Not Found").
    std::string status_line() const;
    std::string content_type() const { return headers.get("Content-Type"); }
    void set_content_type(std::string value) { headers.set("Content-Type", std::move(value)); }

    /// Adds a Set-Cookie header. The value must be cookie-safe (no spaces, quotes, commas,
    /// semicolons, backslashes or control characters): UsageError otherwise.
    void set_cookie(std::string_view name, std::string_view value,
                    const CookieOptions& options = {});
    /// Expires the cookie in the browser (empty value, Max-Age=0, Expires in 1970).
    void delete_cookie(std::string_view name, const CookieOptions& options = {});

    /// Flask's redirect(): 302 (or `code`) with a Location header and a small HTML body.
    static Response redirect(std::string_view location, int code = 302);
    /// Flask's jsonify(): the value as JSON, Content-Type application/json.
    static Response json(const Data& value, int code = 200);
};

/// Free-function spelling, as in Flask: `return redirect(ctx.url_for(".index"));`
inline Response redirect(std::string_view location, int code = 302) {
    return Response::redirect(location, code);
}
inline Response jsonify(const Data& value, int code = 200) { return Response::json(value, code); }

}  // namespace common::web

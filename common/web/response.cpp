#include "common/web/response.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <array>
#include <stdexcept>

namespace common::web {

namespace {

/// Which bytes a cookie name or value may carry as they are, as a table: the check runs over
/// every signed session cookie a server sends.
constexpr auto cookie_safe_bytes = [] {
    std::array<bool, 256> safe{};
    for (int c = 0x21; c < 0x7f; ++c) safe[static_cast<std::size_t>(c)] = true;
    for (const char c : {'"', ',', ';', '\\'}) safe[static_cast<unsigned char>(c)] = false;
    return safe;
}();

bool cookie_safe(std::string_view s) {
    for (const char c : s)
        if (!cookie_safe_bytes[static_cast<unsigned char>(c)]) return false;
    return true;
}

// Hand-written rather than Poco::Net::HTTPCookie: its version-0 format writes only Expires
// (from this server's clock), and version 1 quotes values and adds Version="1"; Flask writes
// Max-Age and Expires, which is what browsers and our test client expect.
std::string format_cookie(std::string_view name, std::string_view value, const CookieOptions& o,
                          bool expire_now) {
    if (name.empty() || !cookie_safe(name))
        throw UsageError("invalid cookie name '" + std::string(name) + "'");
    if (!cookie_safe(value))
        throw UsageError(
            "cookie '" + std::string(name) +
            "' has characters a cookie value cannot carry (space, quote, comma, semicolon, "
            "backslash or control character): encode the value first");
    // Appended in place (a session cookie is set on every first page view): no temporaries.
    std::string out;
    out.reserve(name.size() + value.size() + 96 + o.domain.size() + o.path.size());
    out.append(name).append("=").append(value);
    if (!o.domain.empty()) out.append("; Domain=").append(o.domain);
    if (expire_now) {
        out += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";
    } else if (o.max_age) {
        Poco::Timestamp expires;
        expires += *o.max_age * Poco::Timestamp::resolution();
        out.append("; Expires=")
            .append(Poco::DateTimeFormatter::format(expires, Poco::DateTimeFormat::HTTP_FORMAT));
        out.append("; Max-Age=").append(std::to_string(*o.max_age));
    }
    if (o.secure) out += "; Secure";
    if (o.http_only) out += "; HttpOnly";
    if (!o.path.empty()) out.append("; Path=").append(o.path);
    if (!o.same_site.empty()) out.append("; SameSite=").append(o.same_site);
    return out;
}

}  // namespace

Response::Response(std::string text, int code, std::string content_type)
    : status(code), body(std::move(text)) {
    // Room for what a page usually ends with (Content-Type, Vary, Set-Cookie, the three
    // security headers, Cache-Control): one allocation instead of the vector growing 4 times.
    headers.reserve(8);
    headers.add("Content-Type", std::move(content_type));
}

std::string Response::status_line() const {
    return std::to_string(status) + " " + std::string(reason_phrase(status));
}

void Response::set_cookie(std::string_view name, std::string_view value,
                          const CookieOptions& options) {
    headers.add("Set-Cookie", format_cookie(name, value, options, false));
}

void Response::delete_cookie(std::string_view name, const CookieOptions& options) {
    headers.add("Set-Cookie", format_cookie(name, "", options, true));
}

Response Response::redirect(std::string_view location, int code) {
    // Werkzeug's redirect body, for clients that do not follow Location.
    const std::string href = html_escape(location);
    Response r(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
        "<p>You should be redirected automatically to the target URL: <a href=\"" +
            href + "\">" + href + "</a>. If not, click the link.\n",
        code);
    r.headers.add("Location", std::string(location));
    return r;
}

Response Response::json(const Data& value, int code) {
    return Response(value.to_json() + "\n", code, "application/json");
}

}  // namespace common::web

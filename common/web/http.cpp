#include "common/web/http.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace common::web {

namespace {
char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string ascii_upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// ---- MultiDict ------------------------------------------------------------------------

void MultiDict::set(std::string_view key, std::string value) {
    std::erase_if(items_, [&](const Item& i) { return i.first == key; });
    items_.emplace_back(std::string(key), std::move(value));
}

const std::string* MultiDict::find(std::string_view key) const {
    for (const auto& [k, v] : items_)
        if (k == key) return &v;
    return nullptr;
}

std::string MultiDict::get(std::string_view key, std::string_view fallback) const {
    auto* v = find(key);
    return v ? *v : std::string(fallback);
}

std::vector<std::string> MultiDict::get_all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_)
        if (k == key) out.push_back(v);
    return out;
}

// ---- Headers --------------------------------------------------------------------------

void Headers::set(std::string_view name, std::string value) {
    erase(name);
    items_.emplace_back(std::string(name), std::move(value));
}

const std::string* Headers::find(std::string_view name) const {
    for (const auto& [k, v] : items_)
        if (iequals(k, name)) return &v;
    return nullptr;
}

std::string Headers::get(std::string_view name, std::string_view fallback) const {
    auto* v = find(name);
    return v ? *v : std::string(fallback);
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

void Headers::erase(std::string_view name) {
    std::erase_if(items_, [&](const Item& i) { return iequals(i.first, name); });
}

// ---- status codes and errors ----------------------------------------------------------

std::string_view reason_phrase(int status) noexcept {
    // Werkzeug's names (its HTTP_STATUS_CODES), so status lines and error pages read like Flask's.
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 102: return "Processing";
        case 103: return "Early Hints";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 207: return "Multi Status";
        case 208: return "Already Reported";
        case 226: return "IM Used";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 305: return "Use Proxy";
        case 306: return "Switch Proxy";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Request Entity Too Large";
        case 414: return "Request URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Requested Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 418: return "I'm a teapot";
        case 421: return "Misdirected Request";
        case 422: return "Unprocessable Entity";
        case 423: return "Locked";
        case 424: return "Failed Dependency";
        case 425: return "Too Early";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 449: return "Retry With";
        case 451: return "Unavailable For Legal Reasons";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        case 506: return "Variant Also Negotiates";
        case 507: return "Insufficient Storage";
        case 508: return "Loop Detected";
        case 510: return "Not Extended";
        case 511: return "Network Authentication Failed";
        default: return "Unknown";
    }
}

namespace {
std::string default_description(int code) {
    // Werkzeug's wording, so error pages read like Flask's.
    switch (code) {
        case 400:
            return "The browser (or proxy) sent a request that this server could not understand.";
        case 403: return "You don't have the permission to access the requested resource.";
        case 404:
            return "The requested URL was not found on the server. If you entered the URL manually "
                   "please check your spelling and try again.";
        case 405: return "The method is not allowed for the requested URL.";
        case 413: return "The data value transmitted exceeds the capacity limit.";
        case 416: return "The server cannot provide the requested range.";
        case 414:
            return "The length of the requested URL exceeds the capacity limit for this server. "
                   "The request cannot be processed.";
        case 431: return "One or more header fields exceeds the maximum size.";
        case 505:
            return "The server does not support the HTTP protocol version used in the request.";
        case 500:
            return "The server encountered an internal error and was unable to complete your "
                   "request.";
        default: return {};
    }
}
}  // namespace

HTTPError::HTTPError(int code, std::string description)
    : HTTPError(code, description.empty() ? default_description(code) : std::move(description), 0) {
}

// what() is "404 Not Found: The requested URL was not found..." (the title alone without one).
HTTPError::HTTPError(int code, std::string description, int)
    : Error(std::to_string(code) + " " + std::string(reason_phrase(code)) +
            (description.empty() ? "" : ": " + description)),
      code_(code), description_(std::move(description)) {}

std::string HTTPError::title() const {
    return std::to_string(code_) + " " + std::string(reason_phrase(code_));
}

std::string error_page(int status, std::string_view description) {
    std::string reason(reason_phrase(status));
    const std::string fallback = description.empty() ? default_description(status) : std::string();
    if (description.empty()) description = fallback;
    std::string page = "<!doctype html>\n<html lang=en>\n<title>" + std::to_string(status) + " " +
                       reason + "</title>\n<h1>" + reason + "</h1>\n";
    if (!description.empty()) page += "<p>" + html_escape(description) + "</p>\n";
    return page;
}

void abort(int code, std::string description) { throw HTTPError(code, std::move(description)); }

// ---- URL encoding ---------------------------------------------------------------------
// Hand-written rather than Poco::URI::encode/decode: we need '+' handling for form data and
// must not throw on malformed escapes from clients (Poco's decode throws SyntaxException).

std::string url_quote(std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xf];
        }
    }
    return out;
}

namespace {

/// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF). On 0, `bad` is how many bytes make
/// up the invalid "maximal subpart" that one U+FFFD replaces (Unicode §3.9, as Python does).
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& bad) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;  // overlong
        if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;  // overlong
        if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        bad = 1;
        return 0;
    }
    std::size_t k = 0;
    for (; k < need && i + 1 + k < s.size(); ++k) {
        const auto d = static_cast<unsigned char>(s[i + 1 + k]);
        if (d < (k == 0 ? lo : 0x80) || d > (k == 0 ? hi : 0xBF)) break;
    }
    if (k == need) return need + 1;
    bad = k + 1;
    return 0;
}

}  // namespace

void make_valid_utf8(std::string& text) {
    std::size_t i = 0, bad = 0;
    while (i < text.size()) {
        // ASCII runs first, eight bytes per test (no byte has its high bit set), then a byte
        // at a time: a session's JSON is nearly all ASCII.
        for (std::uint64_t word; i + 8 <= text.size(); i += 8) {
            std::memcpy(&word, text.data() + i, 8);
            if (word & 0x8080808080808080u) break;
        }
        while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) ++i;
        if (i == text.size()) break;
        const std::size_t n = utf8_sequence(text, i, bad);
        if (n == 0) break;
        i += n;
    }
    if (i == text.size()) return;  // valid: the common case costs one scan, no copy
    std::string out(text, 0, i);
    while (i < text.size()) {
        if (const std::size_t n = utf8_sequence(text, i, bad)) {
            out.append(text, i, n);
            i += n;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            i += bad;
        }
    }
    text = std::move(out);
}

std::string url_unquote(std::string_view s, bool plus_as_space) {
    auto hexval = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plus_as_space && c == '+') ? ' ' : c;
    }
    make_valid_utf8(out);
    return out;
}

MultiDict parse_query(std::string_view query) {
    MultiDict out;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        if (eq == std::string_view::npos)
            out.add(url_unquote(pair, true), "");
        else
            out.add(url_unquote(pair.substr(0, eq), true), url_unquote(pair.substr(eq + 1), true));
    }
    return out;
}

std::string encode_query(const MultiDict& items) {
    std::string out;
    for (const auto& [k, v] : items.items()) {
        if (!out.empty()) out += '&';
        out += url_quote(k);
        out += '=';
        out += url_quote(v);
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace common::web

#pragma once
/// \file
/// Small HTTP vocabulary shared by Request, Response, the router and the test client:
/// MultiDict (Werkzeug's), case-insensitive Headers, HTTPError (Flask's abort()).

#include "common/web/errors.hpp"

#include <ctime>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common::web {

/// Ordered key → value pairs where a key may repeat (query args, form fields), like
/// Werkzeug's MultiDict. `get()` returns the first value.
class MultiDict {
public:
    using Item = std::pair<std::string, std::string>;
    MultiDict() = default;
    MultiDict(std::initializer_list<Item> items) : items_(items) {}

    void add(std::string key, std::string value) {
        items_.emplace_back(std::move(key), std::move(value));
    }
    /// Replaces every value of key with one value.
    void set(std::string_view key, std::string value);
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    /// First value or nullptr.
    const std::string* find(std::string_view key) const;
    /// First value or the fallback (Flask's `request.args.get(key, default)`).
    std::string get(std::string_view key, std::string_view fallback = {}) const;
    std::vector<std::string> get_all(std::string_view key) const;
    const std::vector<Item>& items() const { return items_; }
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }

private:
    std::vector<Item> items_;
};

/// HTTP headers: ordered, names compared case-insensitively, repeats allowed (Set-Cookie).
class Headers {
public:
    using Item = std::pair<std::string, std::string>;
    Headers() = default;
    Headers(std::initializer_list<Item> items) : items_(items) {}
    explicit Headers(std::vector<Item> items) : items_(std::move(items)) {}

    /// Replaces all headers of that name.
    void set(std::string_view name, std::string value);
    void add(std::string name, std::string value) {
        items_.emplace_back(std::move(name), std::move(value));
    }
    const std::string* find(std::string_view name) const;
    std::string get(std::string_view name, std::string_view fallback = {}) const;
    std::vector<std::string> get_all(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name) != nullptr; }
    void erase(std::string_view name);
    void reserve(std::size_t n) { items_.reserve(n); }
    const std::vector<Item>& items() const { return items_; }
    std::size_t size() const { return items_.size(); }

private:
    std::vector<Item> items_;
};

/// `format(now)` for the current second, computed at most once a second per thread and
/// call site (each lambda is its own instantiation): the Date header, the access log's time.
template <class Format>
const std::string& once_a_second(Format format) {
    thread_local std::time_t formatted_at = 0;
    thread_local std::string text;
    const std::time_t now = std::time(nullptr);
    if (now != formatted_at) {
        formatted_at = now;
        text = format(now);
    }
    return text;
}

/// ASCII case-insensitive equality (header names, methods).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// `s` with ASCII letters in upper case (methods, Werkzeug's status phrases).
std::string ascii_upper(std::string s);

/// `s` without the spaces and tabs around it (RFC 9110's optional whitespace, OWS).
std::string_view trim_ows(std::string_view s) noexcept;

/// The standard reason phrase ("Not Found") for a status code; "Unknown" otherwise.
std::string_view reason_phrase(int status) noexcept;

/// An HTTP error that ends the request with an error page, like Werkzeug's HTTPException
/// raised by Flask's abort(). Error handlers registered for `code` render it.
class HTTPError : public Error {
public:
    explicit HTTPError(int code, std::string description = {});
    int code() const noexcept { return code_; }
    /// Human explanation shown on the error page ("The CSRF token is missing.").
    const std::string& description() const noexcept { return description_; }
    /// "404 Not Found"
    std::string title() const;

    /// Extra headers the error response must carry (405 → Allow, 308 → Location).
    Headers headers;

private:
    HTTPError(int code, std::string description, int);  ///< description already defaulted
    int code_;
    std::string description_;
};

/// The one place an error page is written: Werkzeug's plain page for a status, so that an app
/// without its own handler (and the server's own 400/431/503 answers) look like Flask's.
std::string error_page(int status, std::string_view description = {});

/// Flask's abort(): throws HTTPError(code, description).
[[noreturn]] void abort(int code, std::string description = {});

/// Percent-encodes for a URL path segment or query value (unreserved characters stay).
std::string url_quote(std::string_view s, bool keep_slash = false);
/// Decodes %XX (and '+' as space when plus_as_space). Malformed escapes are kept literally;
/// bytes that are not UTF-8 become U+FFFD (make_valid_utf8).
std::string url_unquote(std::string_view s, bool plus_as_space = false);
/// Replaces each invalid UTF-8 sequence of `text` by U+FFFD, as Python's
/// bytes.decode('utf-8', 'replace') and so current Werkzeug do for URLs and form data:
/// text from a request is always valid UTF-8, so it can be stored, put in JSON and the
/// session cookie. (Debian 12's Werkzeug 2.2 keeps such bytes as "%FF" text instead.)
void make_valid_utf8(std::string& text);
/// Parses "a=1&b=2" (application/x-www-form-urlencoded) into a MultiDict.
MultiDict parse_query(std::string_view query);
/// Builds "a=1&b=2" from items, quoted.
std::string encode_query(const MultiDict& items);
/// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace common::web

#include "common/web/static_files.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace common::web {

namespace fs = std::filesystem;

std::string content_type_for(std::string_view filename) {
    // A short table rather than /etc/mime.types: the answer must not depend on the machine
    // (Poco has no extension → type map).
    struct Entry {
        std::string_view ext, type;
    };
    static constexpr Entry table[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".xml", "application/xml"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/vnd.microsoft.icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".otf", "font/otf"},
        {".eot", "application/vnd.ms-fontobject"},
        {".pdf", "application/pdf"},
        {".wasm", "application/wasm"},
    };
    const auto dot = filename.rfind('.');
    if (dot != std::string_view::npos) {
        std::string ext(filename.substr(dot));
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
            return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        });
        for (const auto& e : table)
            if (e.ext == ext) return std::string(e.type);
    }
    return "application/octet-stream";
}

namespace {

/// Werkzeug's safe_join: the name normalised as posixpath.normpath does ("a/./b", "a/../b",
/// "a//b/" are "a/b"), refused (nullopt) if it is absolute or climbs out of the directory.
/// The router already percent-decoded the path, so "%2e%2e" arrives here as ".." and counts
/// like a literal one.
std::optional<std::string> safe_relative(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        return std::nullopt;
    std::vector<std::string_view> parts;
    while (!name.empty()) {
        const auto slash = name.find('/');
        const auto part = name.substr(0, slash);
        if (part == "..") {
            if (parts.empty()) return std::nullopt;  // above the directory
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        if (slash == std::string_view::npos) break;
        name.remove_prefix(slash + 1);
    }
    if (parts.empty()) return std::nullopt;  // the directory itself
    std::string joined;
    for (const auto part : parts) joined.append(joined.empty() ? "" : "/").append(part);
    return joined;
}

/// Whether a conditional header (`"a", W/"b"` or `*`) names `etag` (RFC 9110 §8.8.3.2):
/// If-None-Match compares weakly (a W/ prefix is ignored), If-Match strongly (a weak tag
/// never matches). Each tag is compared whole: `"foo*"` names no file, nor does a tag that
/// merely contains ours.
bool etag_matches(std::string_view header, std::string_view etag, bool strong = false) {
    const auto trim = [](std::string_view t) {
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        return t;
    };
    header = trim(header);
    if (header == "*") return true;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view tag = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        if (tag.starts_with("W/")) {
            if (strong) continue;
            tag.remove_prefix(2);
        }
        if (tag == etag) return true;
    }
    return false;
}

/// An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", or the two obsolete forms) as seconds since
/// the epoch; nothing when it is not a date.
std::optional<std::time_t> parse_http_date(const std::string& text) {
    Poco::DateTime date;
    int tzd = 0;
    if (!Poco::DateTimeParser::tryParse(text, date, tzd)) return std::nullopt;
    return date.timestamp().epochTime() - tzd;
}

/// The one byte range of a `Range` header ("bytes=0-499", "bytes=500-", "bytes=-500") within
/// a file of `size` bytes, as [first, last]; nothing when the header asks for something this
/// server does not send: another unit, several ranges (as Werkzeug, which answers 416), a
/// malformed or an unsatisfiable range. RFC 9110 §14.1 where Werkzeug 2.2 differs: a suffix
/// longer than the file is the whole file (Werkzeug: 416), "bytes=-0" is unsatisfiable
/// (Werkzeug: the whole file).
std::optional<std::pair<std::uintmax_t, std::uintmax_t>> byte_range(std::string_view header,
                                                                    std::uintmax_t size) {
    // The unit is case-insensitive, and the range may have whitespace around it.
    if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes=") || size == 0)
        return std::nullopt;
    header = trim_ows(header.substr(6));
    const auto dash = header.find('-');
    if (dash == std::string_view::npos || header.find(',') != std::string_view::npos)
        return std::nullopt;
    const auto number = [](std::string_view digits) -> std::optional<std::uintmax_t> {
        std::uintmax_t n = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (digits.empty() || error != std::errc() || end != digits.data() + digits.size())
            return std::nullopt;
        return n;
    };
    const auto first = header.substr(0, dash), last = header.substr(dash + 1);
    if (first.empty()) {  // the last N bytes
        const auto n = number(last);
        if (!n || *n == 0) return std::nullopt;
        return std::pair{size - std::min(*n, size), size - 1};
    }
    const auto from = number(first);
    if (!from || *from >= size) return std::nullopt;
    if (last.empty()) return std::pair{*from, size - 1};
    const auto to = number(last);
    if (!to || *to < *from) return std::nullopt;
    return std::pair{*from, std::min(*to, size - 1)};
}

/// 416, with the size the client can ask within (RFC 9110 §15.5.17).
HTTPError unsatisfiable_range(std::uintmax_t size) {
    HTTPError error(416);
    error.headers.add("Content-Range", "bytes */" + std::to_string(size));
    return error;
}

}  // namespace

Response send_from_directory(const std::string& directory, std::string_view filename,
                             const Request& request) {
    const auto relative = safe_relative(filename);
    if (directory.empty() || !relative) throw HTTPError(404);
    const fs::path path = fs::path(directory) / fs::path(*relative);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw HTTPError(404);
    const auto size = fs::file_size(path, ec);
    const auto mtime = fs::last_write_time(path, ec);
    if (ec) throw HTTPError(404);

    char etag[64];
    std::snprintf(etag, sizeof etag, "\"%llx-%llx\"",
                  static_cast<unsigned long long>(mtime.time_since_epoch().count()),
                  static_cast<unsigned long long>(size));
    // Whole seconds, as Last-Modified can only say.
    const std::time_t modified =
        std::chrono::system_clock::to_time_t(std::chrono::file_clock::to_sys(mtime));
    const std::string last_modified = Poco::DateTimeFormatter::format(
        Poco::Timestamp::fromEpochTime(modified), Poco::DateTimeFormat::HTTP_FORMAT);

    // If-Match names versions the client may act on; another one is 412, as Werkzeug answers
    // (checked first: RFC 9110 §13.2.2).
    if (const std::string* im = request.headers.find("If-Match");
        im && !etag_matches(*im, etag, true))
        throw HTTPError(412);

    // A range of an unchanged file (If-Range, when sent, names this version): 206, as
    // Werkzeug's send_file answers; a range it cannot send, 416.
    std::optional<std::pair<std::uintmax_t, std::uintmax_t>> range;
    const std::string* range_header = request.headers.find("Range");
    const std::string* if_range = request.headers.find("If-Range");
    // An empty file has no bytes to range over: Werkzeug sends it whole (200).
    if (range_header && size > 0 &&
        (!if_range || *if_range == etag || *if_range == last_modified)) {
        range = byte_range(*range_header, size);
        if (!range) throw unsatisfiable_range(size);
    }
    // Not modified: the ETag matches If-None-Match or, without one, the file is no newer than
    // If-Modified-Since (RFC 9110 §13.1.3).
    bool not_modified = false;
    if (const std::string* inm = request.headers.find("If-None-Match"))
        not_modified = etag_matches(*inm, etag);
    else if (const std::string* ims = request.headers.find("If-Modified-Since"))
        if (const auto since = parse_http_date(*ims)) not_modified = modified <= *since;
    if (not_modified && !range) {
        Response r("", 304);
        r.headers.erase("Content-Type");
        r.headers.set("ETag", etag);
        r.headers.set("Last-Modified", last_modified);
        r.headers.set("Cache-Control", "no-cache");  // a 304 repeats it (RFC 9110 §15.4.5)
        return r;
    }

    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) throw HTTPError(404);
    Response r(content.str(), 200, content_type_for(*relative));
    r.headers.set("Last-Modified", last_modified);
    r.headers.set("ETag", etag);
    // Revalidate every time (cheap 304s), as Flask does by default.
    r.headers.set("Cache-Control", "no-cache");
    if (range) {
        // The file may have changed since it was measured: what was read decides.
        const std::uintmax_t total = r.body.size();
        auto [first, last] = *range;
        if (first >= total) throw unsatisfiable_range(total);
        last = std::min<std::uintmax_t>(last, total - 1);
        r.status = 206;
        r.body = r.body.substr(first, last - first + 1);
        r.headers.set("Accept-Ranges", "bytes");
        r.headers.set("Content-Range", "bytes " + std::to_string(first) + "-" +
                                           std::to_string(last) + "/" + std::to_string(total));
    }
    return r;
}

}  // namespace common::web

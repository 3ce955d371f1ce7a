#include "common/web/static_files.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

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

/// Werkzeug's safe_join: only plain relative names; the router already percent-decoded the
/// path, so "%2e%2e" arrives here as ".." and is refused like a literal one.
bool safe_relative(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        return false;
    while (!name.empty()) {
        const auto slash = name.find('/');
        const auto part = name.substr(0, slash);
        if (part.empty() || part == "." || part == "..") return false;
        if (slash == std::string_view::npos) break;
        name.remove_prefix(slash + 1);
    }
    return true;
}

bool etag_matches(const std::string& header, const std::string& etag) {
    // If-None-Match: "a", W/"b", or *
    if (header.find('*') != std::string::npos) return true;
    return header.find(etag) != std::string::npos;
}

}  // namespace

Response send_from_directory(const std::string& directory, std::string_view filename,
                             const Request& request) {
    if (directory.empty() || !safe_relative(filename)) throw HTTPError(404);
    const fs::path path = fs::path(directory) / fs::path(std::string(filename));
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw HTTPError(404);
    const auto size = fs::file_size(path, ec);
    const auto mtime = fs::last_write_time(path, ec);
    if (ec) throw HTTPError(404);

    char etag[64];
    std::snprintf(etag, sizeof etag, "\"%llx-%llx\"",
                  static_cast<unsigned long long>(mtime.time_since_epoch().count()),
                  static_cast<unsigned long long>(size));

    if (const std::string* inm = request.headers.find("If-None-Match");
        inm && etag_matches(*inm, etag)) {
        Response not_modified("", 304);
        not_modified.headers.erase("Content-Type");
        not_modified.headers.set("ETag", etag);
        return not_modified;
    }

    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) throw HTTPError(404);
    Response r(content.str(), 200, content_type_for(filename));
    r.headers.set("ETag", etag);
    // Revalidate every time (cheap 304s), as Flask does by default.
    r.headers.set("Cache-Control", "no-cache");
    return r;
}

}  // namespace common::web

#pragma once
/// \file
/// Request — Flask's `request`: method, path, query args, form, files, cookies, headers and
/// JSON of one HTTP request. The server builds it from the bytes it framed (http1.hpp), the
/// test client directly; both hand it to App::handle().

#include "common/web/data.hpp"
#include "common/web/http.hpp"
#include "common/web/limits.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace common::web {

/// An uploaded file (Werkzeug's FileStorage), held in memory.
struct FileStorage {
    std::string name;      ///< form field name
    std::string filename;  ///< as the browser sent it: never use it as a path unchecked
    std::string content_type;
    std::string content;
};

class Request {
public:
    Request() = default;
    /// A request for `target` ("/path?query", or the absolute form "http://host/path?query"
    /// that RFC 9112 §3.2.2 says a server must accept): splits and percent-decodes the path.
    Request(std::string method, std::string_view target);

    std::string method = "GET";
    std::string path = "/";    ///< percent-decoded, without the query string
    std::string query_string;  ///< raw, still encoded
    Headers headers;
    std::string body;
    std::string remote_addr;
    std::string scheme = "http";
    /// Set by the server when the body exceeded MAX_CONTENT_LENGTH and was not read in full;
    /// App::handle() answers 413.
    bool body_too_large = false;

    /// Filled by the router: the matched endpoint ("main.index"), its blueprint ("main")
    /// and the path variables (`/user/<username>` → {"username", "bob"}).
    std::string endpoint;
    std::string blueprint;
    std::map<std::string, std::string, std::less<>> view_args;

    /// The app's limits (MAX_FORM_PARTS, MAX_FORM_MEMORY_SIZE) for the form parser: App::handle
    /// points this at the app's one copy.
    const Limits* limits = &default_limits;

    /// Query string arguments (request.args).
    const MultiDict& args() const;
    /// Form fields of an application/x-www-form-urlencoded or multipart/form-data body,
    /// parsed once, as Werkzeug parses them (a stray '%' kept, a part without a name
    /// skipped). Malformed → HTTPError 400; more fields than max_form_parts or a field above
    /// max_form_memory_size → HTTPError 413.
    const MultiDict& form() const;
    /// Uploaded files of a multipart body.
    const std::vector<FileStorage>& files() const;
    /// Cookies sent by the client (request.cookies).
    const std::map<std::string, std::string, std::less<>>& cookies() const;
    /// The JSON body (request.get_json()): HTTPError 415 if the content type is not JSON,
    /// 400 if it does not parse.
    Data get_json() const;
    bool is_json() const;

    /// The media type without parameters, lower case ("multipart/form-data").
    std::string mimetype() const;
    /// The Host header, or "localhost".
    std::string host() const;
    /// path + "?" + query_string (when there is one).
    std::string full_path() const;
    /// A view_arg converted by `<int:...>`; UsageError naming it when absent.
    std::int64_t view_arg_int(std::string_view name) const;
    const std::string& view_arg(std::string_view name) const;

private:
    void parse_form() const;
    void parse_urlencoded_form() const;
    void parse_multipart_form() const;
    mutable std::optional<MultiDict> args_;
    mutable std::optional<MultiDict> form_;
    mutable std::vector<FileStorage> files_;
    mutable std::optional<std::map<std::string, std::string, std::less<>>> cookies_;
};

}  // namespace common::web

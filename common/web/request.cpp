#include "common/web/request.hpp"

#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/PartHandler.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace common::web {

namespace {

std::string lowercase(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return s;
}

/// Keeps uploaded files: every part with a filename goes through this PartHandler.
class KeepFiles : public Poco::Net::PartHandler {
public:
    KeepFiles(std::vector<FileStorage>& files, std::size_t limit) : files_(files), limit_(limit) {}
    void handlePart(const Poco::Net::MessageHeader& header, std::istream& stream) override {
        FileStorage f;
        std::string disposition;
        Poco::Net::NameValueCollection params;
        if (header.has("Content-Disposition")) {
            Poco::Net::MessageHeader::splitParameters(header.get("Content-Disposition"),
                                                      disposition, params);
            f.name = params.get("name", "");
            f.filename = params.get("filename", "");
        }
        f.content_type = header.get("Content-Type", "application/octet-stream");
        Poco::StreamCopier::copyToString(stream, f.content);
        if (f.content.size() > limit_)
            throw HTTPError(413, "An uploaded file is larger than MAX_CONTENT_LENGTH.");
        files_.push_back(std::move(f));
    }

private:
    std::vector<FileStorage>& files_;
    std::size_t limit_;
};

}  // namespace

Request::Request(std::string method_, std::string_view target) : method(std::move(method_)) {
    // Werkzeug upper-cases the method (`get /` is a GET to Flask), so views and routes see one
    // spelling.
    method = ascii_upper(std::move(method));
    // The absolute form, which clients send to proxies: the path starts after the authority
    // (Werkzeug's server takes it the same way; without this it was a 404 for "/http:...").
    if (!target.starts_with('/'))
        for (const std::string_view prefix : {"http://", "https://"})
            if (target.size() >= prefix.size() &&
                iequals(target.substr(0, prefix.size()), prefix)) {
                const auto path_start = target.find_first_of("/?", prefix.size());
                target = path_start == std::string_view::npos ? std::string_view("/")
                                                              : target.substr(path_start);
                break;
            }
    auto q = target.find('?');
    path = url_unquote(target.substr(0, q));
    if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
    if (q != std::string_view::npos) query_string = std::string(target.substr(q + 1));
}

const MultiDict& Request::args() const {
    if (!args_) args_ = parse_query(query_string);
    return *args_;
}

std::string Request::mimetype() const {
    const std::string* ct = headers.find("Content-Type");
    if (!ct) return {};
    return lowercase(Poco::trim(ct->substr(0, ct->find(';'))));
}

void Request::parse_form() const {
    form_.emplace();
    const std::string type = mimetype();
    if (type == "application/x-www-form-urlencoded")
        parse_urlencoded_form();
    else if (type == "multipart/form-data")
        parse_multipart_form();
    for (auto& file : files_) make_valid_utf8(file.filename);
}

namespace {
[[noreturn]] void too_many_fields(std::size_t limit) {
    throw HTTPError(413, "The form has more than " + std::to_string(limit) +
                             " fields (MAX_FORM_PARTS).");
}
[[noreturn]] void field_too_long(std::size_t limit) {
    throw HTTPError(413, "A form field is longer than " + std::to_string(limit) +
                             " bytes (MAX_FORM_MEMORY_SIZE).");
}
}  // namespace

// parse_query (as for request.args) rather than Poco's HTMLForm, which answers a stray '%'
// ("100%") with "Bad URI syntax" and a field name over 1,024 bytes with "too long": Werkzeug
// keeps the '%' as it is and takes any name, so Flask stores both.
void Request::parse_urlencoded_form() const {
    MultiDict fields = parse_query(body);
    if (fields.size() > limits->max_form_parts) too_many_fields(limits->max_form_parts);
    for (const auto& [name, value] : fields.items())
        if (value.size() > limits->max_form_memory_size)
            field_too_long(limits->max_form_memory_size);
    *form_ = std::move(fields);
}

// Poco's MultipartReader walks the parts; the loop is ours rather than HTMLForm's because
// HTMLForm refuses the whole form when one part has no name ("Not found: name"), where
// Werkzeug skips that part and reads the rest.
void Request::parse_multipart_form() const {
    std::string media_type;
    Poco::Net::NameValueCollection type_params;
    Poco::Net::MessageHeader::splitParameters(headers.get("Content-Type"), media_type, type_params);
    const std::string boundary = type_params.get("boundary", "");
    if (boundary.empty())
        throw HTTPError(400, "The form data could not be parsed: the multipart/form-data "
                             "Content-Type names no boundary.");
    // A body cut short (a client that died mid-upload, a proxy's limit) has no close
    // delimiter; Poco's reader would take the end of input as the end of the last part and
    // store "Al" for "Alice". Werkzeug drops such a form; we say so.
    const std::string close = "--" + boundary + "--";
    if (body.rfind(close, 0) != 0 && body.find("\n" + close) == std::string::npos)
        throw HTTPError(400, "The form data could not be parsed: the multipart body ends "
                             "before its closing boundary (" +
                                 close + "); it was cut short.");
    std::istringstream in(body);
    KeepFiles keep(files_, body.size());
    try {
        Poco::Net::MultipartReader reader(in, boundary);
        std::size_t parts = 0;
        while (reader.hasNextPart()) {
            if (parts++ == limits->max_form_parts) too_many_fields(limits->max_form_parts);
            Poco::Net::MessageHeader part;
            reader.nextPart(part);
            std::string disposition;
            Poco::Net::NameValueCollection params;
            if (part.has("Content-Disposition"))
                Poco::Net::MessageHeader::splitParameters(part.get("Content-Disposition"),
                                                          disposition, params);
            std::istream& stream = reader.stream();
            if (params.has("filename")) {
                keep.handlePart(part, stream);
            } else if (params.has("name")) {
                std::string value;
                char chunk[4096];
                while (stream.read(chunk, sizeof chunk) || stream.gcount() > 0) {
                    value.append(chunk, static_cast<std::size_t>(stream.gcount()));
                    if (value.size() > limits->max_form_memory_size)
                        field_too_long(limits->max_form_memory_size);
                }
                std::string name = params.get("name");
                make_valid_utf8(name);
                make_valid_utf8(value);
                form_->add(std::move(name), std::move(value));
            }
            stream.ignore(std::numeric_limits<std::streamsize>::max());  // the rest, if any
        }
    } catch (const Poco::Exception& e) {
        throw HTTPError(400, "The form data could not be parsed: " + e.displayText());
    }
}

const MultiDict& Request::form() const {
    if (!form_) {
        try {
            parse_form();
        } catch (...) {
            form_.emplace();  // parse once: a second call sees an empty form, not a half one
            files_.clear();
            throw;
        }
    }
    return *form_;
}

const std::vector<FileStorage>& Request::files() const {
    form();
    return files_;
}

const std::map<std::string, std::string, std::less<>>& Request::cookies() const {
    if (cookies_) return *cookies_;
    cookies_.emplace();
    // "a=1; b=2" — simple enough that Poco's NameValueCollection round trip buys nothing.
    for (const auto& header : headers.get_all("Cookie")) {
        std::string_view rest = header;
        while (!rest.empty()) {
            auto semi = rest.find(';');
            auto pair = rest.substr(0, semi);
            rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
            auto eq = pair.find('=');
            if (eq == std::string_view::npos) continue;
            std::string name = Poco::trim(std::string(pair.substr(0, eq)));
            std::string value = Poco::trim(std::string(pair.substr(eq + 1)));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            if (!name.empty())
                cookies_->emplace(std::move(name), std::move(value));  // first one wins
        }
    }
    return *cookies_;
}

bool Request::is_json() const {
    const std::string type = mimetype();
    return type == "application/json" ||
           (type.starts_with("application/") && type.ends_with("+json"));
}

Data Request::get_json() const {
    if (!is_json())
        throw HTTPError(
            415, "Did not attempt to load JSON data because the request Content-Type was not "
                 "'application/json'.");
    try {
        return Data::from_json(body);
    } catch (const DataError& e) {
        throw HTTPError(400, std::string("Failed to decode JSON object: ") + e.what());
    }
}

std::string Request::host() const { return headers.get("Host", "localhost"); }

std::string Request::full_path() const {
    return query_string.empty() ? path : path + "?" + query_string;
}

const std::string& Request::view_arg(std::string_view name) const {
    auto it = view_args.find(name);
    if (it == view_args.end())
        throw UsageError("no path variable '" + std::string(name) + "' in the rule of endpoint '" +
                         endpoint + "'");
    return it->second;
}

std::int64_t Request::view_arg_int(std::string_view name) const {
    const std::string& s = view_arg(name);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size())
        throw UsageError("path variable '" + std::string(name) + "' is not an integer: '" + s +
                         "' (declare it as <int:" + std::string(name) + ">)");
    return value;
}

}  // namespace common::web

#include "common/web/http1.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Timestamp.h>

#include <charconv>
#include <cstdint>
#include <ctime>
#include <limits>
#include <utility>
#include <vector>

namespace common::web {

namespace {

constexpr std::string_view crlf = "\r\n";

enum class Chunks { incomplete, complete, bad, too_large, wasteful };

/// Finds the end of a chunked body (RFC 9112 §7.1) starting at data[0]; on `complete`,
/// `used` is its length and `body` the decoded bytes. Poco decodes chunked bodies only from a
/// blocking HTTPSession, so the non-blocking server needs its own few lines. The first pass
/// only measures, and resumes where the last look at this body stopped (`progress`), so a
/// body arriving in many reads is scanned and copied once, not once per read.
Chunks find_chunked_body(std::string_view data, std::size_t max_body, std::string& body,
                         std::size_t& used, ChunkProgress& progress) {
    std::size_t pos = progress.pos;
    std::size_t total = progress.total;
    // The framing (size lines, extensions, CRLFs) may be a few times the data, as with tiny
    // chunks, but not without bound: a 1,000-byte extension per data byte would make us hold
    // a thousand times MAX_CONTENT_LENGTH before the body ends.
    const auto wasteful = [&] { return pos - total > 64 * 1024 + 4 * total; };
    while (true) {
        const auto eol = data.find(crlf, pos);
        if (eol == std::string_view::npos)
            return data.size() - pos > 1024 ? Chunks::bad : Chunks::incomplete;
        auto size_text = data.substr(pos, eol - pos);
        // A bare CR or LF (or NUL) in the size line or an extension: two parsers could end
        // the line in different places (RFC 9112 §7.1.1 and §2.2).
        if (size_text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            return Chunks::bad;
        size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
        while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t'))
            size_text.remove_suffix(1);
        std::size_t size = 0;
        const auto [end, ec] =
            std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (size_text.empty() || ec != std::errc{} || end != size_text.data() + size_text.size())
            return Chunks::bad;
        if (size == 0) {
            pos = eol + crlf.size();
            break;
        }
        if (size > max_body || total + size > max_body) return Chunks::too_large;
        if (data.size() - (eol + crlf.size()) < size + crlf.size()) return Chunks::incomplete;
        if (data.substr(eol + crlf.size() + size, crlf.size()) != crlf) return Chunks::bad;
        total += size;
        pos = eol + crlf.size() + size + crlf.size();
        if (wasteful()) return Chunks::wasteful;
        progress.pos = pos;  // this chunk is whole: the next look starts after it
        progress.total = total;
    }
    // Trailer fields, then an empty line: at most 8 KiB of them.
    const std::size_t trailers = pos;
    while (true) {
        const auto eol = data.find(crlf, pos);
        if (eol == std::string_view::npos)
            return data.size() - trailers > 8192 ? Chunks::bad : Chunks::incomplete;
        const bool last = eol == pos;
        pos = eol + crlf.size();
        if (last) break;
        if (pos - trailers > 8192) return Chunks::bad;
    }
    used = pos;
    // Second pass: copy the chunk data, now known to be well formed.
    body.clear();
    body.reserve(total);
    for (std::size_t p = 0;;) {
        const auto eol = data.find(crlf, p);
        std::size_t size = 0;
        std::from_chars(data.data() + p, data.data() + eol, size, 16);
        p = eol + crlf.size();
        if (size == 0) break;
        body.append(data.substr(p, size));
        p += size + crlf.size();
    }
    return Chunks::complete;
}

/// The Date header's value.
const std::string& http_date() {
    return once_a_second([](std::time_t now) {
        return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(now),
                                               Poco::DateTimeFormat::HTTP_FORMAT);
    });
}

void append_status_line(std::string& out, std::string_view version, int status) {
    out += version == "HTTP/1.0" ? "HTTP/1.0 " : "HTTP/1.1 ";
    char digits[12];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, status).ptr);
    out += ' ';
    // Werkzeug's responses carry the phrase in capitals ("404 NOT FOUND"); its error pages,
    // and the server's own errors (error_response), keep reason_phrase()'s title case.
    out += ascii_upper(std::string(reason_phrase(status)));
    out += crlf;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += crlf;
}

bool is_tchar(char c) {
    // RFC 9110 §5.6.2: token = 1*tchar.
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
}

/// check_head()'s answer for "HTTP/2.0" and later: a version this server does not speak, not a
/// malformed request, so the client gets 505 (as nginx and Python's http.server answer).
constexpr std::string_view later_version = "later HTTP version";

/// "HTTP/1.0" to "HTTP/1.9". A minor version above 1 is served as HTTP/1.1, the highest this
/// server speaks (RFC 9112 §2.3; nginx and Python's http.server do the same).
bool is_http1(std::string_view version) {
    return version.size() == 8 && version.substr(0, 7) == "HTTP/1." && version[7] >= '0' &&
           version[7] <= '9';
}

/// "HTTP/2.0", "HTTP/3.0"...: a well-formed version whose major number is above 1.
bool is_later_version(std::string_view version) {
    return version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '2' &&
           version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9';
}

/// The framing headers, as checked by check_head().
struct FramingHeaders {
    int content_length = 0, transfer_encoding = 0, host = 0;
    std::string_view content_length_value;
};

/// RFC 9112's strict reading of a request head (everything before the empty line), where
/// Poco's parser is lenient: one request line "METHOD SP target SP HTTP/1.x", then lines
/// "name: value" with CRLF endings, a token for a name (no space before the colon), no
/// control characters in values, no folded lines. Where a lenient server and a proxy in
/// front of it could disagree on where a request ends, the request is refused: that
/// disagreement is what request smuggling exploits. Returns why, or "" when the head is fine.
std::string check_head(std::string_view head, FramingHeaders& framing) {
    auto line_end = head.find("\r\n");
    const std::string_view request_line = head.substr(0, line_end);
    // No control character at all (RFC 9112 §3: a token, a target without whitespace, the
    // version): Poco's reader splits at any ASCII space (\f, \v too), so a target holding one
    // would be read two ways. Found by fuzz_http_framing's comparison with Poco's reader.
    for (const char ch : request_line)
        if (const auto c = static_cast<unsigned char>(ch); c < 0x20 || c == 0x7f)
            return "control character in the request line";
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1 || sp2 == sp1)
        return "the request line is not 'METHOD target HTTP/1.x'";
    for (char c : request_line.substr(0, sp1))
        if (!is_tchar(c)) return "bad method";
    const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (target.find(' ') != std::string_view::npos) return "a space in the request target";
    const auto version = request_line.substr(sp2 + 1);
    if (!is_http1(version))
        return std::string(is_later_version(version) ? later_version : "unsupported HTTP version");
    const bool http10 = version == "HTTP/1.0";

    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
        line_end = head.find("\r\n", pos);
        if (line_end == std::string_view::npos) line_end = head.size();
        const std::string_view line = head.substr(pos, line_end - pos);
        pos = line_end + 2;
        if (line.empty()) break;  // the end of the head
        if (line.front() == ' ' || line.front() == '\t')
            return "a folded header line (obs-fold) or whitespace before a header name";
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return "a header line without a colon";
        const auto name = line.substr(0, colon);
        if (name.empty()) return "an empty header name";
        for (char c : name)
            if (!is_tchar(c)) return "a header name with a space or a separator in it";
        const auto value = trim_ows(line.substr(colon + 1));
        for (const char ch : value)
            if (const auto c = static_cast<unsigned char>(ch); (c < 0x20 && c != '\t') || c == 0x7f)
                return "a control character (NUL, CR, LF...) in a header value";
        if (iequals(name, "Content-Length")) {
            if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
                return "Content-Length is not a number of digits";
            if (framing.content_length++ > 0 && framing.content_length_value != value)
                return "two different Content-Length headers";
            framing.content_length_value = value;
        } else if (iequals(name, "Transfer-Encoding")) {
            if (framing.transfer_encoding++ > 0) return "two Transfer-Encoding headers";
            // Judged on the bytes received: Poco's reader would decode an RFC 2047 word
            // ("=?us-ascii?Q?chunked?=") into "chunked", framing the body as no proxy does.
            if (!iequals(value, "chunked"))
                return "unsupported Transfer-Encoding '" + std::string(value) +
                       "' (only chunked is understood)";
        } else if (iequals(name, "Host")) {
            if (framing.host++ > 0) return "two Host headers";
        }
    }
    if (!http10 && framing.host == 0) return "an HTTP/1.1 request without Host";
    if (http10 && framing.transfer_encoding > 0) return "Transfer-Encoding in an HTTP/1.0 request";
    return {};
}

/// A request head as Poco::Net::HTTPRequest::read gives it: the request line and the fields
/// in Poco's order (a repeated name is kept next to its first occurrence, as Poco's ListMap
/// inserts it).
struct Head {
    std::string method, target, version;
    std::vector<std::pair<std::string, std::string>> fields;

    const std::string* get(std::string_view name) const {
        for (const auto& [k, v] : fields)
            if (iequals(k, name)) return &v;
        return nullptr;
    }
    bool has(std::string_view name) const { return get(name) != nullptr; }
    /// RFC 9112 §9.3: Connection is a list of tokens ("TE, close" is what Perl's LWP sends).
    /// A "close" token ends the connection after the response; otherwise HTTP/1.1 keeps it,
    /// and HTTP/1.0 keeps it only with a "keep-alive" token. (Poco's getKeepAlive() compares
    /// the whole value with "close", and keeps an HTTP/1.0 connection for any other value.)
    bool keep_alive() const {
        bool keep = version == "HTTP/1.1";
        for (const auto& [name, value] : fields) {  // every Connection field, not the first
            if (!iequals(name, "Connection")) continue;
            std::string_view rest = value;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const auto token = trim_ows(rest.substr(0, comma));
                if (iequals(token, "close")) return false;
                if (iequals(token, "keep-alive")) keep = true;
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
        }
        return keep;
    }
};

/// Poco's reader's limits (private constants of Poco's HTTPRequest and MessageHeader, which
/// throw past them): split_head() keeps to the same ones so that both read heads alike.
constexpr std::size_t poco_max_method = 32, poco_max_target = 16384, poco_max_fields = 100,
                      poco_max_name = 256, poco_max_value = 8192;

/// What split_head() did with a head.
enum class Split {
    done,          ///< `out` holds the head
    declined,      ///< Poco's reader must read it (`out` is left empty)
    too_large,     ///< a field is longer, or there are more fields, than Poco's reader takes
    uri_too_long,  ///< the target is longer than Poco's reader takes
};

/// The start of a header name for a message, cut short when it is long.
std::string shown_name(std::string_view name) {
    return name.size() > 40 ? std::string(name.substr(0, 40)) + "..." : std::string(name);
}

/// Splits a head that check_head() accepted, without Poco's stream machinery (a stream, its
/// buffer and a map per request were a tenth of a page view). It gives exactly what Poco's
/// reader gives. Past Poco's size limits (method 32, target 16384 bytes, 100 fields, names
/// 256, values 8192), where Poco's reader throws "Malformed message", it says which limit and
/// why (`why`), so that the client gets 414 or 431 and a sentence naming the field, as
/// Werkzeug's server answers, rather than 400 for a request that is valid HTTP. It declines
/// "=?" anywhere, because Poco decodes RFC 2047 encoded words in values, and a method over 32.
Split split_head(std::string_view head, Head& out, std::string& why) {
    auto line_end = head.find(crlf);
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 > poco_max_method) return Split::declined;
    if (sp2 - sp1 - 1 > poco_max_target) {
        why = "The request target (URL) is " + std::to_string(sp2 - sp1 - 1) +
              " bytes long; this server takes at most " + std::to_string(poco_max_target) + ".";
        return Split::uri_too_long;
    }
    out.method = line.substr(0, sp1);
    out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    out.version = line.substr(sp2 + 1);
    for (std::size_t pos = line_end + 2; pos < head.size();) {
        line_end = head.find(crlf, pos);
        if (line_end == std::string_view::npos) line_end = head.size();
        const std::string_view field = head.substr(pos, line_end - pos);
        pos = line_end + 2;
        if (field.empty()) break;
        if (out.fields.size() == poco_max_fields) {
            why = "The request has more than " + std::to_string(poco_max_fields) +
                  " header fields; this server takes at most " + std::to_string(poco_max_fields) +
                  ".";
            return Split::too_large;
        }
        const auto colon = field.find(':');
        if (colon == std::string_view::npos) {  // check_head() refuses this; Poco decides anyway
            out = Head{};
            return Split::declined;
        }
        const std::string_view name = field.substr(0, colon);
        if (name.size() > poco_max_name) {
            why = "The header name '" + shown_name(name) + "' is " + std::to_string(name.size()) +
                  " bytes long; this server takes names of at most " +
                  std::to_string(poco_max_name) + ".";
            return Split::too_large;
        }
        std::string_view value = field.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        if (value.size() > poco_max_value) {
            why = "The value of the header '" + shown_name(name) + "' is " +
                  std::to_string(value.size()) + " bytes long; this server takes at most " +
                  std::to_string(poco_max_value) + ".";
            return Split::too_large;
        }
        auto at = out.fields.end();
        for (auto it = out.fields.begin(); it != out.fields.end(); ++it)
            if (iequals(it->first, name)) at = std::next(it);
        out.fields.emplace(at, std::string(name), std::string(trim_ows(value)));
    }
    // Checked last, so that a head past the limits gets its answer above whatever it holds.
    if (head.find("=?") != std::string_view::npos) {
        out = Head{};
        return Split::declined;
    }
    return Split::done;
}

/// A LF not preceded by CR (a CR at the very end may still get its LF).
bool has_bare_lf(std::string_view bytes) {
    for (auto lf = bytes.find('\n'); lf != std::string_view::npos; lf = bytes.find('\n', lf + 1))
        if (lf == 0 || bytes[lf - 1] != '\r') return true;
    return false;
}

/// The same with Poco's reader, for the heads split_head() declines.
void read_head_with_poco(std::string_view head, Head& out) {
    Poco::Net::HTTPRequest request;
    Poco::MemoryInputStream in(head.data(), static_cast<std::streamsize>(head.size()));
    request.read(in);  // Poco::Exception for what it refuses
    out.method = request.getMethod();
    out.target = request.getURI();
    out.version = request.getVersion();
    for (const auto& [name, value] : request) out.fields.emplace_back(name, value);
}

}  // namespace

// ANCHOR: parse_request
Framing parse_request(std::string_view buffer, const Limits& limits, FramedRequest& out,
                      ChunkProgress* progress) {
    out = FramedRequest{};
    // A client may send empty lines between requests (RFC 9112 §2.2): skip them. They count
    // toward the head's limit, or a megabyte of them would be kept and scanned again on
    // every read.
    std::size_t start = 0;
    while (buffer.substr(start, 2) == crlf) start += 2;
    const auto head_end = buffer.find("\r\n\r\n", start);
    if (head_end == std::string_view::npos) {
        if (buffer.size() > limits.max_head) return Framing::head_too_large;
        // A head with lines ending in LF alone would never end for us: say so now rather than
        // let the client wait for the request timeout.
        if (has_bare_lf(buffer.substr(start))) {
            out.error = "a line ends in LF alone; HTTP/1.1 ends each line of the head with CR LF";
            return Framing::bad_request;
        }
        return Framing::incomplete;
    }
    const std::size_t head_size = head_end + 4 - start;
    if (head_end + 4 > limits.max_head) return Framing::head_too_large;

    FramingHeaders framing;
    if (auto why = check_head(buffer.substr(start, head_size), framing); !why.empty()) {
        if (why == later_version) {
            const auto line = buffer.substr(start, buffer.find(crlf, start) - start);
            out.error = "The request is " + std::string(line.substr(line.rfind(' ') + 1)) +
                        "; this server speaks HTTP/1.1 and HTTP/1.0.";
            return Framing::version_not_supported;
        }
        out.error = std::move(why);
        return Framing::bad_request;
    }
    Head head;
    try {
        switch (split_head(buffer.substr(start, head_size), head, out.error)) {
            case Split::done: break;
            case Split::declined: read_head_with_poco(buffer.substr(start, head_size), head); break;
            case Split::too_large: return Framing::head_too_large;
            case Split::uri_too_long: return Framing::uri_too_long;
        }
    } catch (const Poco::Exception& e) {
        out.error = e.displayText();
        return Framing::bad_request;
    }
    if (head.method.empty() || head.target.empty() || head.version.rfind("HTTP/1.", 0) != 0) {
        out.error = "not an HTTP/1.x request line";
        return Framing::bad_request;
    }

    if (head.version != "HTTP/1.1" && head.version != "HTTP/1.0")
        head.version = "HTTP/1.1";  // 1.2 to 1.9: see is_http1()
    out.target = head.target;
    out.version = head.version;
    out.keep_alive = head.keep_alive();
    std::size_t body_start = start + head_size;
    std::string body;
    bool too_large = false;
    std::size_t body_end = body_start;
    const auto expects_continue = [&] {
        // Never to an HTTP/1.0 client, which does not know the interim answer (RFC 9110
        // §10.1.1). Werkzeug and gunicorn send it anyway: here we follow the RFC.
        const std::string* expect = head.get("Expect");
        return expect && iequals(*expect, "100-continue") && head.version != "HTTP/1.0";
    };

    if (const std::string* transfer_encoding = head.get("Transfer-Encoding")) {
        // Only "chunked" is understood; a Content-Length beside it is how requests get
        // smuggled past proxies, so both together are refused (RFC 9112 §6.1).
        if (!iequals(*transfer_encoding, "chunked") || head.has("Content-Length")) {
            out.error = "unsupported Transfer-Encoding '" + *transfer_encoding + "'";
            return Framing::bad_request;
        }
        std::size_t used = 0;
        ChunkProgress scratch;
        ChunkProgress& scan = progress ? *progress : scratch;
        if (scan.body_start != body_start) scan = ChunkProgress{.body_start = body_start};
        const Chunks chunks = find_chunked_body(buffer.substr(body_start),
                                                limits.max_content_length, body, used, scan);
        if (chunks != Chunks::incomplete) scan = ChunkProgress{};  // this body is done with
        switch (chunks) {
            case Chunks::incomplete:
                out.expects_continue = expects_continue();
                return Framing::incomplete;
            case Chunks::bad: out.error = "malformed chunked body"; return Framing::bad_request;
            case Chunks::wasteful:
                out.error = "the chunked body's framing (chunk sizes and extensions) is more than "
                            "four times its data; send larger chunks";
                return Framing::bad_request;
            case Chunks::too_large: too_large = true; break;
            case Chunks::complete: body_end = body_start + used; break;
        }
    } else if (const std::string* content_length = head.get("Content-Length")) {
        std::uint64_t length = 0;
        const auto* end = content_length->data() + content_length->size();
        const auto [ptr, ec] = std::from_chars(content_length->data(), end, length);
        if (content_length->empty() || ec != std::errc{} || ptr != end ||
            length > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            out.error = "bad Content-Length '" + *content_length + "'";
            return Framing::bad_request;
        }
        const auto size = static_cast<std::size_t>(length);
        if (size > limits.max_content_length) {
            too_large = true;  // refused without reading it
        } else if (buffer.size() - body_start < size) {
            out.expects_continue = expects_continue();
            return Framing::incomplete;
        } else {
            body.assign(buffer.substr(body_start, size));
            body_end = body_start + size;
        }
    }

    out.request = Request(std::move(head.method), head.target);
    out.request.headers = Headers(std::move(head.fields));
    out.request.body = std::move(body);
    out.request.body_too_large = too_large;
    if (too_large) out.keep_alive = false;  // the rest of the body is still on the wire
    out.consumed = body_end;
    return Framing::complete;
}
// ANCHOR_END: parse_request

// Written by hand rather than with Poco::Net::HTTPResponse::write: the head is a few appends
// to one string, where Poco's copies every header into a map and writes through an ostream.
std::string serialize_response(const Response& response, std::string_view version, bool keep_alive,
                               bool send_body) {
    const int status = response.status;
    // Sized once: the headers as they are plus room for the ones added below. Growing
    // would copy the whole page once more (a session cookie alone is ~200 bytes).
    std::size_t size = 192 + (send_body ? response.body.size() : 0);
    for (const auto& [name, value] : response.headers.items())
        size += name.size() + value.size() + 4;
    std::string out;
    out.reserve(size);
    append_status_line(out, version, status);
    bool has_date = false;
    bool has_server = false;
    for (const auto& [name, value] : response.headers.items()) {
        // The server owns the framing of the message.
        if (iequals(name, "Content-Length") || iequals(name, "Connection") ||
            iequals(name, "Transfer-Encoding"))
            continue;
        has_date = has_date || iequals(name, "Date");
        has_server = has_server || iequals(name, "Server");
        append_header(out, name, value);
    }
    if (!has_date) append_header(out, "Date", http_date());
    if (!has_server) append_header(out, "Server", "common-web");
    if (status != 204 && status != 304) {
        char digits[24];
        const char* end = std::to_chars(digits, digits + sizeof digits, response.body.size()).ptr;
        append_header(out, "Content-Length", {digits, end});
    }
    if (!keep_alive)
        append_header(out, "Connection", "close");
    else if (version == "HTTP/1.0")
        append_header(out, "Connection", "Keep-Alive");
    out += crlf;
    if (send_body && status != 204 && status != 304) out += response.body;
    return out;
}

std::string error_response(int status, std::string_view detail) {
    Response page(error_page(status, detail), status);
    // What App adds to its own responses (its security headers), for a page the server writes.
    page.headers.add("X-Content-Type-Options", "nosniff");
    page.headers.add("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    std::string bytes = serialize_response(page, "HTTP/1.1", false, true);
    // The server's own errors keep RFC 9110's phrase, as gunicorn writes its own; only the
    // app's responses carry Werkzeug's capitals.
    bytes.replace(0, bytes.find("\r\n"),
                  "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)));
    return bytes;
}

}  // namespace common::web

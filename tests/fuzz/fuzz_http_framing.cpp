// libFuzzer target: HTTP/1.1 request framing (common/web/http1.cpp parse_request and the
// strict head check inside it), fed the receive buffer a client could send. Crashes,
// sanitizer reports and these invariants fail the run:
//   - a complete request used at least one byte and no more than the buffer holds;
//   - framing depends only on the request's own bytes: the buffer cut right after it
//     frames the same way (not checked when the body was refused unread as too large);
//   - a bad or oversized head says why (bad_request carries an error text);
//   - a head is read exactly as Poco's HTTPRequest::read reads it (method, target, version,
//     every field in order): parse_request splits most heads by hand for speed, and Poco's
//     reader is the reference it must agree with;
//   - keep-alive follows RFC 9112 §9.3 on Poco's Connection field, tokenized by Poco (Poco's
//     own getKeepAlive() compares the whole value with "close").
// Pipelined requests are framed one after another, as the connection does.

#include "common/web/http1.hpp"
#include "fuzz_check.hpp"

#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

using common::web::FramedRequest;
using common::web::Framing;

namespace {

common::web::Limits small_limits() {
    // Small limits, so that "too large" paths are reachable with fuzzer-sized inputs.
    common::web::Limits limits;
    limits.max_content_length = 4096;
    limits.max_head = 8192;
    return limits;
}

/// RFC 9112 §9.3: a "close" token closes; otherwise HTTP/1.1 keeps the connection and
/// HTTP/1.0 keeps it only with a "keep-alive" token.
bool rfc_keep_alive(const Poco::Net::HTTPRequest& poco) {
    bool keep = poco.getVersion() == "HTTP/1.1";
    for (const auto& [name, value] : poco) {  // every Connection field
        if (Poco::icompare(name, "Connection") != 0) continue;
        const Poco::StringTokenizer tokens(
            value, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
        for (const auto& token : tokens) {
            if (Poco::icompare(token, "close") == 0) return false;
            if (Poco::icompare(token, "keep-alive") == 0) keep = true;
        }
    }
    return keep;
}

/// The head parse_request framed (after the empty lines it skips), read by Poco: the same
/// request line, keep-alive and fields, in the same order.
void require_poco_agrees(std::string_view buffer, const FramedRequest& framed) {
    std::size_t start = 0;
    while (buffer.substr(start, 2) == "\r\n") start += 2;
    const std::string_view head = buffer.substr(start, buffer.find("\r\n\r\n", start) + 4 - start);
    Poco::Net::HTTPRequest poco;
    try {
        Poco::MemoryInputStream in(head.data(), static_cast<std::streamsize>(head.size()));
        poco.read(in);
        // HTTP/1.2 to 1.9 are served as 1.1 (http1.cpp, is_http1), keep-alive included.
        if (poco.getVersion() != "HTTP/1.0") poco.setVersion("HTTP/1.1");
    } catch (const Poco::Exception&) {
        fuzz::require(false, "a head Poco's reader refuses was framed as complete");
    }
    const common::web::Request& ours = framed.request;
    // Request upper-cases the method, as Werkzeug does ("get" is a GET).
    fuzz::require(common::web::ascii_upper(poco.getMethod()) == ours.method &&
                      poco.getURI() == framed.target && poco.getVersion() == framed.version,
                  "the request line differs from Poco's reading");
    fuzz::require(framed.request.body_too_large || rfc_keep_alive(poco) == framed.keep_alive,
                  "keep-alive differs from RFC 9112's reading of Poco's Connection field");
    const auto& fields = ours.headers.items();
    std::size_t i = 0;
    for (const auto& [name, value] : poco) {
        fuzz::require(i < fields.size() && fields[i].first == name && fields[i].second == value,
                      "a header field differs from Poco's reading (name, value or order)");
        ++i;
    }
    fuzz::require(i == fields.size(), "more header fields than Poco reads");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const common::web::Limits limits = small_limits();
    std::string_view buffer(reinterpret_cast<const char*>(data), size);
    for (int requests = 0; requests < 8 && !buffer.empty(); ++requests) {
        FramedRequest framed;
        const Framing result = common::web::parse_request(buffer, limits, framed);
        if (result == Framing::bad_request)
            fuzz::require(!framed.error.empty(), "bad_request without an error text");
        if (result != Framing::complete) break;
        fuzz::require(framed.consumed > 0 && framed.consumed <= buffer.size(),
                      "complete request with consumed outside (0, buffer size]");
        require_poco_agrees(buffer, framed);
        if (!framed.request.body_too_large) {
            FramedRequest again;
            fuzz::require(common::web::parse_request(buffer.substr(0, framed.consumed), limits,
                                                     again) == Framing::complete &&
                              again.consumed == framed.consumed &&
                              again.request.body == framed.request.body,
                          "the request cut at its own end frames differently");
        }
        // Touch what App::handle reads first, as the server would.
        (void)framed.request.args();
        (void)framed.request.cookies();
        if (!framed.keep_alive) break;
        buffer.remove_prefix(framed.consumed);
    }
    return 0;
}

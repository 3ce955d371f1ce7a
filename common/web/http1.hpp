#pragma once
/// \file
/// HTTP/1.1 framing for the event-driven Server: where a request in a receive buffer ends,
/// what its body is, and the bytes of a response. No sockets here, so every case (pipelined
/// requests, chunked bodies, malformed heads) is tested on plain strings.
///
/// The request line and headers are parsed by Poco::Net::HTTPRequest::read (with its limits
/// on field count and sizes); this file adds what a non-blocking server needs and Poco only
/// offers on blocking streams: "is the whole request here yet?".

#include "common/web/limits.hpp"
#include "common/web/request.hpp"
#include "common/web/response.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace common::web {

/// What parse_request() found at the front of the buffer.
enum class Framing {
    incomplete,      ///< wait for more bytes
    complete,        ///< `out` holds one request; `out.consumed` bytes belong to it
    bad_request,     ///< answer 400 and close
    head_too_large,  ///< answer 431 and close (`error` names the field when one was too long)
    uri_too_long,    ///< answer 414 and close
    version_not_supported,  ///< HTTP/2.0 or later in the request line: answer 505 and close
};

struct FramedRequest {
    Request request;
    std::string target;             ///< as sent ("/?a=1"), for the access log
    std::string version;            ///< "HTTP/1.1"
    std::size_t consumed = 0;       ///< bytes of the buffer this request used
    bool keep_alive = true;         ///< the client allows another request on this connection
    bool expects_continue = false;  ///< "Expect: 100-continue" and the body is not here yet
    std::string error;              ///< why, for bad_request
};

/// How far an earlier look at the same incomplete chunked body got, so that the next look
/// starts there: a connection keeps one and passes it with its buffer each time.
struct ChunkProgress {
    std::size_t body_start = 0;  ///< where that body starts in the buffer (0: none yet)
    std::size_t pos = 0;         ///< offset in the body of the first chunk not yet checked
    std::size_t total = 0;       ///< data bytes in the chunks before it
};

/// Looks for one whole request at the front of `buffer`. A body above max_content_length is
/// not waited for: the request is complete with `request.body_too_large` set and
/// keep_alive false (App::handle answers 413; the unread body means the connection closes).
/// With `progress`, a chunked body that arrives in many reads is scanned once in all.
Framing parse_request(std::string_view buffer, const Limits& limits, FramedRequest& out,
                      ChunkProgress* progress = nullptr);

/// The status line, headers (plus Date, Server, Content-Length and Connection) and body of
/// `response`, ready to send. `send_body` is false for HEAD (the length is still the
/// body's), 204 and 304.
std::string serialize_response(const Response& response, std::string_view version, bool keep_alive,
                               bool send_body);

/// A complete error answer the server sends itself (400, 408, 431, 503): error_page() and
/// "Connection: close".
std::string error_response(int status, std::string_view detail = {});

}  // namespace common::web

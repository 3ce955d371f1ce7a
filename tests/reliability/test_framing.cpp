// Issue 16 item 3: HTTP framing as strict as RFC 9112 asks. Every vector below is a request a
// lenient server reads one way and a proxy in front of it another way (request smuggling):
// each must get one 400 and a closed connection — never a second response, which would mean
// the server read part of the message as a request of its own.
#include "server_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <cctype>
#include <string>
#include <vector>

using namespace reliability;

namespace {

struct Vector {
    const char* name;
    std::string bytes;
};

// A smuggled request the vectors try to hide in a body; if the server ever answers it, a
// second "HTTP/1.1" status line appears.
const std::string smuggled = "GET /?smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

std::vector<Vector> bad_requests() {
    const std::string body = "0\r\n\r\n" + smuggled;
    const std::string cl = std::to_string(body.size());
    return {
        // RFC 9112 §6.3: differing Content-Length values.
        {"two different Content-Length",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: " + cl +
             "\r\n\r\n" + body},
        {"Content-Length with a sign",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +35\r\n\r\n" + body},
        {"Content-Length not a number",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n" + body},
        {"Content-Length as a list",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, " + cl + "\r\n\r\n" + body},
        // §5.1: no whitespace between a field name and the colon.
        {"Transfer-Encoding with a space before the colon",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: " + cl +
             "\r\n\r\n" + body},
        {"a header name with a space", "GET / HTTP/1.1\r\nHost: x\r\nX Forwarded: 1\r\n\r\n"},
        {"a header line without a colon", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"},
        {"NUL in a header value",
         std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 37)},
        {"obs-fold (a folded header line)", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"},
        {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: x\r\n\r\n"},
        {"bare LF ending a header line", "GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"},
        // §3.2: exactly one Host in HTTP/1.1.
        {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n"},
        {"HTTP/1.1 with two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
        // §7.1.1: a bare LF inside a chunk extension.
        {"bare LF in a chunk extension",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3;ext=a\nb\r\nabc\r\n0\r\n\r\n"},
        // The smuggling list (CL.TE, TE.CL, TE.TE obfuscations).
        {"CL.TE: Content-Length and Transfer-Encoding",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl +
             "\r\nTransfer-Encoding: chunked\r\n\r\n" + body},
        {"TE.CL: Transfer-Encoding and Content-Length",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
         "4\r\n\r\n" +
             body},
        {"TE.TE: two Transfer-Encoding headers",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "identity\r\n\r\n" +
             body},
        {"TE.TE: xchunked",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n" + body},
        {"TE.TE: chunked in a list",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + body},
        {"TE.TE: tab-folded value",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n" + body},
        {"TE.TE: a header name with a trailing tab",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n" + body},
        {"TE.TE: bare LF before the name",
         "POST /echo HTTP/1.1\r\nHost: x\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n" + body},
        {"Transfer-Encoding in HTTP/1.0",
         "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + body},
        {"two spaces in the request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"},
    };
}

/// How many responses arrived: status lines "HTTP/1.x NNN " (the 400 page's text may say
/// "HTTP/1.1" too, never followed by a status code).
std::size_t status_lines(const std::string& got) {
    std::size_t n = 0;
    for (auto pos = got.find("HTTP/1."); pos != std::string::npos;
         pos = got.find("HTTP/1.", pos + 1))
        if (pos + 13 <= got.size() && got[pos + 8] == ' ' && std::isdigit(got[pos + 9]) &&
            std::isdigit(got[pos + 10]) && std::isdigit(got[pos + 11]) && got[pos + 12] == ' ')
            ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Framing)

BOOST_AUTO_TEST_CASE(each_ambiguous_request_gets_400_and_a_closed_connection) {
    ServedApp served;
    served.start();
    for (const auto& v : bad_requests()) {
        bool closed = false;
        const std::string got = exchange(served.port(), v.bytes, closed);
        BOOST_TEST_CONTEXT(v.name) {
            BOOST_TEST(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0u);
            BOOST_TEST(status_lines(got) == 1u);  // nothing smuggled through
            BOOST_TEST(got.find("Connection: close") != std::string::npos);
            BOOST_TEST(closed);
        }
    }
}

BOOST_AUTO_TEST_CASE(well_formed_requests_still_pass) {
    // The strict reading refuses the ambiguous, not the ordinary: these are all fine.
    ServedApp served;
    served.start();
    bool closed = false;
    std::string got =
        exchange(served.port(),
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
                 "Connection: close\r\n\r\nabc",
                 closed);
    BOOST_TEST(got.find("body=[abc]") != std::string::npos);  // the same length twice is one
    got = exchange(served.port(),
                   "POST /echo HTTP/1.1\r\nHost: x\r\ntransfer-encoding:\tChunked \r\n"
                   "Connection: close\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n",
                   closed);
    BOOST_TEST(got.find("body=[abc]") != std::string::npos);          // tabs are OWS; case is free
    got = exchange(served.port(), "GET / HTTP/1.0\r\n\r\n", closed);  // 1.0 needs no Host
    BOOST_TEST(got.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u);
    got = exchange(served.port(),
                   "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n"
                   "Connection: close\r\n\r\n",
                   closed);
    BOOST_TEST(status_lines(got) == 2u);  // pipelining still works
    // A later minor version is served as HTTP/1.1 (RFC 9112 §2.3), keep-alive and all, as
    // nginx in front serves it too: both read the same requests out of the same bytes.
    got = exchange(served.port(),
                   "GET / HTTP/1.2\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n"
                   "Connection: close\r\n\r\n",
                   closed);
    BOOST_TEST(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0u);
    BOOST_TEST(status_lines(got) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

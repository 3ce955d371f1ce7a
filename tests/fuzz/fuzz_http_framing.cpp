// libFuzzer target: HTTP/1.1 request framing (common/web/http1.cpp parse_request and the
// strict head check inside it), fed the receive buffer a client could send. Crashes,
// sanitizer reports and these invariants fail the run:
//   - a complete request used at least one byte and no more than the buffer holds;
//   - framing depends only on the request's own bytes: the buffer cut right after it
//     frames the same way (not checked when the body was refused unread as too large);
//   - a bad or oversized head says why (bad_request carries an error text).
// Pipelined requests are framed one after another, as the connection does.

#include "common/web/http1.hpp"
#include "fuzz_check.hpp"

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

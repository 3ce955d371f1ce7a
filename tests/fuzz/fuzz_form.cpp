// libFuzzer target: the form and query parsers of common::web — parse_query (request.args,
// url_unquote) and Request::form() for urlencoded and multipart bodies (parse_query, and
// Poco's MultipartReader behind our limits). The first byte picks the parser, the rest is the input. HTTPError
// (400/413) is the documented answer to a bad form; anything else escaping fails the run.
// Invariant: a query string re-encoded with encode_query parses back to the same items.

#include "common/web/http.hpp"
#include "common/web/request.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace web = common::web;

namespace {

web::Limits small_limits() {
    web::Limits limits;
    limits.max_form_parts = 64;  // reachable 413s
    limits.max_form_memory_size = 1024;
    return limits;
}

void check_query(std::string_view query) {
    const web::MultiDict first = web::parse_query(query);
    const web::MultiDict second = web::parse_query(web::encode_query(first));
    fuzz::require(first.items() == second.items(), "parse_query(encode_query(x)) != x");
}

void check_form(std::string content_type, std::string body) {
    static const web::Limits limits = small_limits();
    web::Request request("POST", "/form");
    request.limits = &limits;
    request.headers.add("Content-Type", std::move(content_type));
    request.body = std::move(body);
    try {
        const web::MultiDict& form = request.form();
        fuzz::require(form.size() + request.files().size() <= limits.max_form_parts,
                      "more form parts than MAX_FORM_PARTS were accepted");
    } catch (const web::HTTPError& e) {
        fuzz::require(e.code() == 400 || e.code() == 413, "a form error other than 400/413");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: check_query(input); break;
        case 1: check_form("application/x-www-form-urlencoded", input); break;
        default: check_form("multipart/form-data; boundary=fuzzbound", input); break;
    }
    return 0;
}

// libFuzzer target: the MIME builder (common::mail::Message::as_string). A Message is built
// field by field from the input (FuzzedDataProvider) and rendered. Refusing it with
// std::invalid_argument (BadHeaderError, or Address::parse's "not an e-mail address") is
// the documented answer to bad fields; any other exception fails the run, and so does
// output that breaks one of these invariants:
//   - CR and LF only ever appear together, as CRLF (no bare CR or LF on the wire);
//   - no line is longer than 998 characters (RFC 5322 §2.1.1);
//   - the top-level header names are the ones the builder writes plus the extra headers
//     asked for, and part headers are Content-*: a field's value never became a header;
//   - the MIME tree reads back (parse_mime) with the shape Flask-Mail gives the message.

#include "common/mail/message.hpp"
#include "common/mail/mime.hpp"
#include "fuzz_check.hpp"

#include <Poco/String.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>

namespace mail = common::mail;

namespace {

// The bytes around `at`, escaped, so a broken invariant shows where in the message it broke.
void show(const std::string& wire, std::size_t at) {
    const std::size_t from = at > 120 ? at - 120 : 0;
    std::string text;
    for (const char c : wire.substr(from, 200)) {
        if (c == '\r')
            text += "\\r";
        else if (c == '\n')
            text += "\\n\n";
        else
            text += c;
    }
    std::fprintf(stderr, "---- the message near byte %zu:\n%s\n----\n", at, text.c_str());
}

void check_lines(const std::string& wire) {
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (wire[i] == '\r') {
            if (i + 1 >= wire.size() || wire[i + 1] != '\n') show(wire, i);
            fuzz::require(i + 1 < wire.size() && wire[i + 1] == '\n', "a bare CR in the message");
        } else if (wire[i] == '\n') {
            if (i == 0 || wire[i - 1] != '\r' || i - 1 - line_start > 998) show(wire, i);
            fuzz::require(i > 0 && wire[i - 1] == '\r', "a bare LF in the message");
            fuzz::require(i - 1 - line_start <= 998, "a line over 998 characters");
            line_start = i + 1;
        }
    }
    fuzz::require(wire.size() - line_start <= 998, "a last line over 998 characters");
}

std::string lower(std::string s) { return Poco::toLower(s); }

void check_top_headers(const std::string& wire, const mail::Message& msg) {
    std::set<std::string> allowed = {"content-type", "mime-version", "content-transfer-encoding",
                                     "subject",      "from",         "to",
                                     "date",         "message-id",   "cc",
                                     "reply-to"};
    for (const auto& header : msg.extra_headers) allowed.insert(lower(header.first));
    const std::size_t head_end = wire.find("\r\n\r\n");
    fuzz::require(head_end != std::string::npos, "no empty line after the headers");
    std::size_t pos = 0;
    while (pos < head_end + 2) {
        const std::size_t eol = wire.find("\r\n", pos);
        const std::string line = wire.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty() || line.front() == ' ' || line.front() == '\t') continue;  // a fold
        const std::size_t colon = line.find(':');
        fuzz::require(colon != std::string::npos, "a header line without a colon");
        fuzz::require(allowed.count(lower(line.substr(0, colon))) == 1,
                      "a header the message did not ask for (injected?)");
    }
}

void check_part_headers(const mail::MimePart& part, bool top) {
    if (!top)
        for (const auto& header : part.headers)
            fuzz::require(lower(header.first).rfind("content-", 0) == 0,
                          "a part header that is not Content-* (injected?)");
    for (const auto& child : part.parts) check_part_headers(child, false);
}

void check_shape(const mail::MimePart& root, const mail::Message& msg) {
    if (msg.attachments.empty() && msg.html.empty()) {
        fuzz::require(root.content_type == "text/plain" && root.parts.empty(),
                      "a body-only message is not one text/plain part");
        return;
    }
    fuzz::require(root.content_type == "multipart/mixed", "the top part is not multipart/mixed");
    fuzz::require(root.parts.size() == 1 + msg.attachments.size(),
                  "multipart/mixed has the wrong number of parts");
    if (!msg.html.empty())
        fuzz::require(root.parts[0].content_type == "multipart/alternative" &&
                          root.parts[0].parts.size() == 2,
                      "html without a two-part multipart/alternative");
}

std::string field(FuzzedDataProvider& in, std::size_t max = 300) {
    return in.ConsumeRandomLengthString(max);
}

mail::Message build(FuzzedDataProvider& in) {
    mail::Message msg;
    msg.subject = field(in, 1100);
    msg.sender = field(in);
    for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) msg.recipients.push_back(field(in));
    for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) msg.cc.push_back(field(in));
    if (in.ConsumeBool()) msg.bcc.push_back(field(in));
    if (in.ConsumeBool()) msg.reply_to = field(in);
    switch (in.ConsumeIntegralInRange(0, 3)) {
        case 0: break;  // the default, utf-8
        case 1: msg.charset = "us-ascii"; break;
        case 2: msg.charset = "iso-8859-1"; break;
        default:
            // At most 40 (real names are shorter): every encoded word repeats the charset,
            // and the reader (Poco's MessageHeader) refuses a field over 8192 characters.
            msg.charset = field(in, 40);
            break;
    }
    for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
        // At most 256: the reader (Poco's MessageHeader) refuses longer names, and no real
        // header has one.
        std::string name = field(in, 256);
        msg.extra_headers.emplace_back(std::move(name), field(in, 200));
    }
    for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
        mail::Attachment a;
        a.filename = field(in, 1100);
        if (in.ConsumeBool()) a.content_type = field(in, 1100);
        a.data = field(in, 300);
        if (in.ConsumeBool()) a.disposition = "inline";
        msg.attachments.push_back(std::move(a));
    }
    msg.date = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    msg.html = in.ConsumeBool() ? field(in, 400) : "";
    msg.body = in.ConsumeRemainingBytesAsString();
    return msg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const mail::Message msg = build(in);
    std::string wire;
    try {
        wire = msg.as_string();
    } catch (const std::invalid_argument&) {
        return 0;  // BadHeaderError or a bad address: the documented refusals
    }
    check_lines(wire);
    check_top_headers(wire, msg);
    mail::MimePart root;
    try {
        root = mail::parse_mime(wire);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "parse_mime: %s\n", e.what());
        show(wire, 0);
        fuzz::require(false, "the builder's own output does not parse back");
    }
    check_part_headers(root, true);
    check_shape(root, msg);
    return 0;
}

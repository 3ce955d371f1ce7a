// Chapter 02 tests: the message on the wire, the settings, and Mail against the local
// CaptureServer (no outside peer; tests/mail has those).
#define BOOST_TEST_MODULE ch02_mail
#include <boost/test/unit_test.hpp>

#include "mail_chapter.hpp"

#include "common/mail/async_sender.hpp"
#include "common/mail/capture_server.hpp"
#include "common/mail/mail.hpp"
#include "common/mail/mime.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/TemporaryFile.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace common::mail;
using namespace std::chrono_literals;

namespace {

// Settings for a server on 127.0.0.1:port.
MailSettings local(std::uint16_t port) {
    MailSettings s;
    s.server = "127.0.0.1";
    s.port = port;
    s.timeout = 5s;
    return s;
}

// A port on which nothing listens (bound, then released).
std::uint16_t closed_port() {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = probe.address().port();
    probe.close();
    return port;
}

SettingsLookup lookup(std::map<std::string, std::string> values) {
    return [values = std::move(values)](std::string_view key) -> std::optional<std::string> {
        auto it = values.find(std::string(key));
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

MailError::Kind kind_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const MailError& e) {
        BOOST_TEST_MESSAGE("MailError: " << e.what());
        return e.kind();
    }
    BOOST_FAIL("expected a MailError");
    return MailError::Kind::rejected;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no exception";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(MessageFormat)

BOOST_AUTO_TEST_CASE(seed_message_is_mixed_with_alternative_plain_then_html) {
    const MimePart root = parse_mime(ch02::seed_message().as_string());
    BOOST_TEST(root.content_type == "multipart/mixed");
    BOOST_TEST(root.header("MIME-Version") == "1.0");
    BOOST_TEST(root.header("Subject") == "My Subject");
    BOOST_TEST(root.header("From") == "879651072@qq.com");
    BOOST_TEST(root.header("To") == "879651072@qq.com");
    BOOST_TEST(root.has_header("Date"));
    BOOST_TEST(root.header("Message-ID").front() == '<');
    BOOST_REQUIRE_EQUAL(root.parts.size(), 1u);
    const MimePart& alternative = root.parts[0];
    BOOST_TEST(alternative.content_type == "multipart/alternative");
    BOOST_REQUIRE_EQUAL(alternative.parts.size(), 2u);
    BOOST_TEST(alternative.parts[0].content_type == "text/plain");
    BOOST_TEST(alternative.parts[0].charset == "utf-8");
    BOOST_TEST(alternative.parts[0].body == "text body");
    BOOST_TEST(alternative.parts[1].content_type == "text/html");
    BOOST_TEST(alternative.parts[1].body == "<b>HTML</b> body");
}

// Every line of the header block, and the longest.
std::size_t longest_header_line(const std::string& wire) {
    const std::string head = wire.substr(0, wire.find("\r\n\r\n"));
    std::size_t longest = 0, start = 0;
    while (start <= head.size()) {
        auto end = head.find("\r\n", start);
        if (end == std::string::npos) end = head.size();
        longest = std::max(longest, end - start);
        start = end + 2;
    }
    return longest;
}

BOOST_AUTO_TEST_CASE(long_headers_are_folded_and_read_back_unchanged) {
    std::string words;
    while (words.size() < 1000) words += "Flasky ";
    words.resize(1000);
    const std::string one_word(1000, 'x');  // no whitespace to fold at: encoded-words
    std::string chinese = "你好，";
    for (int i = 0; i < 40; ++i) chinese += "很长的标题";
    for (const std::string& subject : {words, one_word, chinese}) {
        Message msg(subject, "张三 <zhang@example.com>", {});
        for (int i = 0; i < 60; ++i)
            msg.recipients.push_back("User " + std::to_string(i) + " <u" + std::to_string(i) +
                                     "@example.com>");
        msg.cc = {"李四 " + chinese.substr(0, 90) + " <li@example.com>"};
        msg.body = "x";
        const std::string wire = msg.as_string();
        BOOST_TEST(longest_header_line(wire) <= 78u);
        const MimePart root = parse_mime(wire);
        BOOST_TEST(root.header("Subject") == subject);
        BOOST_TEST(root.header("To").find("User 59 <u59@example.com>") != std::string::npos);
        BOOST_TEST(root.header("Cc") == msg.cc[0]);
    }
}

BOOST_AUTO_TEST_CASE(a_legally_folded_subject_is_unfolded_and_a_bare_line_break_refused) {
    Message msg("Hi\r\n there", "a@example.com", {"b@example.com"});
    msg.body = "x";
    BOOST_TEST(parse_mime(msg.as_string()).header("Subject") == "Hi there");
    for (const std::string bad :
         {"Hi\r\nBcc: victim@example.com", "Hi\n there", "Hi\r there", "Hi\r\n", "\r\n there"}) {
        msg.subject = bad;
        BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_subject_is_folded_without_hanging) {
    // Found by tests/fuzz (mime_builder): a run of UTF-8 continuation bytes has no character
    // boundary to fold at, and the folder used to loop forever on it.
    Message msg(std::string(300, '\x80'), "a@example.com", {"b@example.com"});
    msg.body = "x";
    const std::string wire = msg.as_string();
    std::istringstream lines(wire);
    for (std::string line; std::getline(lines, line);) BOOST_TEST(line.size() <= 998u);
}

// The longest line of the whole message (headers and bodies), CRLF not counted.
std::size_t longest_line(const std::string& wire) {
    std::size_t longest = 0, start = 0;
    while (start <= wire.size()) {
        auto end = wire.find("\r\n", start);
        if (end == std::string::npos) end = wire.size();
        longest = std::max(longest, end - start);
        start = end + 2;
    }
    return longest;
}

BOOST_AUTO_TEST_CASE(cr_in_a_content_type_is_refused_and_a_lone_cr_in_a_body_becomes_crlf) {
    // Found by tests/fuzz (mime_builder, cr_in_content_type). The content type is written as
    // the part's Content-Type line, so a CR in it would end that line early.
    Message files("Files", "a@example.com", {"b@example.com"});
    files.body = "x";
    files.attach("a.txt", "text/plain\rX-Injected: 1", "y");
    BOOST_CHECK_THROW(files.as_string(), BadHeaderError);
    BOOST_TEST(message_of([&] { files.as_string(); }).find("content_type") != std::string::npos);

    // SMTP allows CR only in CRLF; a bare one is what SMTP smuggling hides behind. Python's
    // smtplib turns it into CRLF, and so do we: in a single part and in both alternatives.
    Message text("Hi", "a@example.com", {"b@example.com"});
    text.body = "one\rtwo\r\nthree\nfour\r";
    Message both = text;
    both.html = "<p>one\rtwo</p>";
    for (const Message* msg : {&text, &both}) {
        const std::string wire = msg->as_string();
        for (std::size_t i = 0; i < wire.size(); ++i) {
            if (wire[i] == '\r') BOOST_TEST_REQUIRE((i + 1 < wire.size() && wire[i + 1] == '\n'));
            if (wire[i] == '\n') BOOST_TEST_REQUIRE((i > 0 && wire[i - 1] == '\r'));
        }
    }
    BOOST_TEST(parse_mime(text.as_string()).body == "one\r\ntwo\r\nthree\r\nfour\r\n");
}

BOOST_AUTO_TEST_CASE(an_extra_header_name_outside_printable_ascii_is_refused) {
    // Found by tests/fuzz (mime_builder, bad_header_name): a space, NUL or non-ASCII byte in a
    // field name made a message that no reader parses (RFC 5322 §3.6.8: printable ASCII, no
    // ':'). The error names the header and says what is wrong with it.
    const std::vector<std::string> bad_names{
        "X Tag", std::string("X\0Tag", 5), "X-T\xc3\xa4g", "X:Tag", "", "X\tTag"};
    for (const auto& bad : bad_names) {
        Message msg("Hi", "a@example.com", {"b@example.com"});
        msg.body = "x";
        msg.extra_headers = {{bad, "value"}};
        BOOST_TEST_CONTEXT("header name '" << bad << "'") {
            BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
            BOOST_TEST(message_of([&] { msg.as_string(); }).find("printable ASCII") !=
                       std::string::npos);
        }
    }
    // A NUL would cut the message short: bytes outside printable ASCII are shown as \xNN.
    Message nul("Hi", "a@example.com", {"b@example.com"});
    nul.extra_headers = {{bad_names[1], "value"}};
    BOOST_TEST(message_of([&] { nul.as_string(); }).find("'X\\x00Tag'") != std::string::npos);
    Message fine("Hi", "a@example.com", {"b@example.com"});
    fine.body = "x";
    fine.extra_headers = {{"X-Mailer_Tag.1!", "value"}};  // odd but legal
    BOOST_TEST(parse_mime(fine.as_string()).header("X-Mailer_Tag.1!") == "value");
}

BOOST_AUTO_TEST_CASE(a_charset_that_is_not_a_charset_name_is_refused) {
    // Found by tests/fuzz (mime_builder, percent_in_charset): the charset is written into the
    // file name's RFC 2231 parameter (cs''%XX...), and a '%' in it made the part unreadable.
    Message msg("Files", "a@example.com", {"b@example.com"});
    msg.body = "x";
    msg.attach("\xE6\x8A\xA5.txt", "text/plain", "y");
    for (const std::string bad : {"utf%41", "utf-8'x", "a?b", "a b", ""}) {
        msg.charset = bad;
        BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    }
    msg.charset = "utf%41";
    BOOST_TEST(message_of([&] { msg.as_string(); }).find("not a charset name") !=
               std::string::npos);
    msg.charset = "ISO-8859-1";  // a real name, any case
    msg.attachments.clear();
    msg.attach("\xC3\xA9t\xC3\xA9.txt", "text/plain", "y");  // été
    // File names are UTF-8 whatever the charset, as Flask-Mail writes them.
    BOOST_TEST(msg.as_string().find("filename*=utf-8''%C3%A9t%C3%A9.txt") != std::string::npos);
}

// Flask-Mail with charset='iso-8859-1' converts the text: "café" is sent as caf\xe9 (quoted-
// printable caf=E9), a header as an iso-8859-1 encoded word; a character Latin-1 lacks is
// Python's UnicodeEncodeError. (Before: the UTF-8 bytes went out labelled iso-8859-1, and
// readers showed "cafÃ©".)
BOOST_AUTO_TEST_CASE(another_charset_converts_the_text) {
    Message msg("Caf\xC3\xA9", "Zo\xC3\xAB <z@example.com>", {"b@example.com"});
    msg.body = "caf\xC3\xA9\n";
    msg.charset = "iso-8859-1";
    const std::string wire = msg.as_string();
    BOOST_TEST(wire.find("Subject: =?iso-8859-1?b?Q2Fm6Q==?=") != std::string::npos, wire);
    BOOST_TEST(wire.find("From: =?iso-8859-1?b?Wm/r?= <z@example.com>") != std::string::npos, wire);
    BOOST_TEST(wire.find("caf=E9") != std::string::npos, wire);
    // A header word Latin-1 cannot hold goes out in UTF-8, as Flask-Mail's sanitize_subject
    // and sanitize_address fall back; the text of the body cannot (below).
    Message cjk("\xE6\x8A\xA5\xE5\x91\x8A", "\xE7\x8E\x8B <w@example.com>", {"b@example.com"});
    cjk.charset = "iso-8859-1";
    cjk.body = "x";
    const std::string fallback = cjk.as_string();
    BOOST_TEST(fallback.find("Subject: =?utf-8?b?5oql5ZGK?=") != std::string::npos, fallback);
    BOOST_TEST(fallback.find("From: =?utf-8?b?546L?= <w@example.com>") != std::string::npos,
               fallback);
    msg.body = "10 \xE2\x82\xAC";  // the euro sign: not in Latin-1
    BOOST_CHECK_THROW(msg.as_string(), std::invalid_argument);
    msg.charset = "iso-8859-15";  // Latin-9 has it
    BOOST_TEST(msg.as_string().find("10 =A4") != std::string::npos);
    msg.charset = "koi8-r";
    BOOST_TEST(message_of([&] { msg.as_string(); })
                   .find("not one the message can be "
                         "converted to") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_long_content_type_is_refused_and_a_long_file_name_takes_continuations) {
    // Found by tests/fuzz (mime_builder, long_content_type): both are written into a part's
    // header, and SMTP refuses a line over 998 characters (aiosmtpd drops the message).
    Message msg("Files", "a@example.com", {"b@example.com"});
    msg.body = "x";
    msg.attach("a.bin", "application/" + std::string(988, 'x'), "y");  // 1000 characters
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    for (const char* no_slash : {"textplain", "", "text/", "/plain"}) {  // went out as "textplain/"
        msg.attachments.back().content_type = no_slash;
        BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    }
    msg.attachments.back().content_type = "application/" + std::string(988, 'x');
    BOOST_TEST(message_of([&] { msg.as_string(); }).find("998") != std::string::npos);

    // An ASCII name is quoted on one line while it fits; a 1000-character one is split into
    // RFC 2231 continuations, as non-ASCII names are, and reads back whole.
    const std::string name = std::string(996, 'n') + ".txt";
    msg.attachments.clear();
    msg.attach(name, "text/plain", "y");
    const std::string wire = msg.as_string();
    BOOST_TEST(longest_line(wire) <= 998u);
    const MimePart root = parse_mime(wire);
    BOOST_REQUIRE_EQUAL(root.parts.size(), 2u);
    BOOST_TEST(root.parts[1].filename == name);
}

BOOST_AUTO_TEST_CASE(cc_is_spelled_cc_and_single_part_headers_keep_their_order) {
    Message msg("Hi", "a@example.com", {"b@example.com"});
    msg.cc = {"c@example.com"};
    msg.reply_to = "r@example.com";
    msg.body = "x";
    const std::string wire = msg.as_string();
    BOOST_TEST(wire.find("\r\nCc: c@example.com\r\n") != std::string::npos);
    std::vector<std::string> names;
    for (const auto& [name, value] : parse_mime(wire).headers) names.push_back(name);
    // Python's MIMEText order (Content-Transfer-Encoding third), then Flask-Mail's.
    const std::vector<std::string> expected{
        "Content-Type", "MIME-Version", "Content-Transfer-Encoding",
        "Subject",      "From",         "To",
        "Date",         "Message-ID",   "Cc",
        "Reply-To"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(non_ascii_attachment_names_use_rfc2231) {
    Message msg("Files", "a@example.com", {"b@example.com"});
    msg.body = "see attached";
    msg.attach("报告.csv", "text/csv", "a,b");
    msg.attach("一个很长很长很长很长很长很长很长很长很长很长的文件名.txt", "text/plain", "x");
    msg.attach("plain name.txt", "text/plain", "y");
    const std::string wire = msg.as_string();
    BOOST_TEST(wire.find("filename*=utf-8''%E6%8A%A5%E5%91%8A.csv") != std::string::npos);
    BOOST_TEST(wire.find("filename*0*=utf-8''") != std::string::npos);  // continuations
    BOOST_TEST(wire.find("filename=\"plain name.txt\"") != std::string::npos);
    BOOST_TEST(wire.find("=?utf-8?") == std::string::npos);  // no encoded-word in quotes
    BOOST_TEST(longest_header_line(wire) <= 78u);
    const MimePart root = parse_mime(wire);
    BOOST_REQUIRE_EQUAL(root.parts.size(), 4u);
    BOOST_TEST(root.parts[1].filename == "报告.csv");
    BOOST_TEST(root.parts[2].filename ==
               "一个很长很长很长很长很长很长很长很长很长很长的文件名.txt");
    BOOST_TEST(root.parts[3].filename == "plain name.txt");
}

BOOST_AUTO_TEST_CASE(headers_come_in_flask_mail_order) {
    const MimePart root = parse_mime(ch02::seed_message().as_string());
    std::vector<std::string> names;
    for (const auto& [name, value] : root.headers) names.push_back(name);
    const std::vector<std::string> expected{"Content-Type", "MIME-Version", "Subject",   "From",
                                            "To",           "Date",         "Message-ID"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
    // The day in two digits, as email.utils.formatdate writes it: "05 Jan". (5 Jan 2026, 12:00
    // UTC: the 5th or the 6th in every time zone.)
    const std::string date = format_date(std::chrono::system_clock::from_time_t(1767614400));
    BOOST_TEST(date.substr(3, 3) == ", 0", date);
}

BOOST_AUTO_TEST_CASE(body_only_is_a_single_text_part) {
    Message msg("Hi", "a@example.com", {"b@example.com"});
    msg.body = "line one\nline two";
    const std::string wire = msg.as_string();
    const MimePart root = parse_mime(wire);
    BOOST_TEST(root.content_type == "text/plain");
    BOOST_TEST(root.parts.empty());
    BOOST_TEST(root.header("MIME-Version") == "1.0");
    BOOST_TEST(root.body == "line one\r\nline two");  // CRLF on the wire
    BOOST_TEST(wire.find("line one\nline") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(attachments_are_base64_parts_after_the_text) {
    Message msg("Files", "a@example.com", {"b@example.com"});
    msg.body = "see attached";
    msg.attach("data.bin", "application/octet-stream", std::string("\x00\x01\xff binary", 10));
    msg.attach("notes.txt", "text/plain", "hello");
    const MimePart root = parse_mime(msg.as_string());
    BOOST_TEST(root.content_type == "multipart/mixed");
    BOOST_REQUIRE_EQUAL(root.parts.size(), 3u);
    BOOST_TEST(root.parts[0].content_type == "text/plain");
    BOOST_TEST(root.parts[1].filename == "data.bin");
    BOOST_TEST(root.parts[1].transfer_encoding == "base64");
    BOOST_TEST(root.parts[1].body == std::string("\x00\x01\xff binary", 10));
    BOOST_TEST(root.parts[2].body == "hello");
}

// Flask-Mail writes `inline; filename="logo.png"` and the part's own headers; before, an
// inline file went out nameless ("noname" in readers) and a Content-ID could not be given.
BOOST_AUTO_TEST_CASE(an_inline_file_keeps_its_name_and_its_own_headers) {
    Message msg("Logo", "a@example.com", {"b@example.com"});
    msg.body = "x";
    msg.html = "<img src=\"cid:logo\">";
    msg.attach("logo.png", "image/png", "PNG", "inline", {{"Content-ID", "<logo>"}});
    msg.attach("log\xC3\xB6.png", "image/png", "PNG", "inline");
    const std::string wire = msg.as_string();
    BOOST_TEST(wire.find("Content-Disposition: inline; filename=\"logo.png\"\r\n") !=
                   std::string::npos,
               wire);
    BOOST_TEST(wire.find("Content-Disposition: inline; filename*=utf-8''log%C3%B6.png\r\n") !=
                   std::string::npos,
               wire);
    const MimePart root = parse_mime(wire);
    BOOST_REQUIRE_EQUAL(root.parts.size(), 3u);
    BOOST_TEST(root.parts[1].filename == "logo.png");
    BOOST_TEST(root.parts[1].header("Content-ID") == "<logo>");
    BOOST_TEST(root.parts[2].filename == "log\xC3\xB6.png");
    msg.attachments[1].disposition = "inline\r\nBcc: x@example.com";
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    msg.attachments[1].disposition = "inline";
    msg.attachments[0].headers = {{"Content-ID", "<a>\r\nBcc: x@example.com"}};
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
}

BOOST_AUTO_TEST_CASE(chinese_subject_and_name_round_trip_through_rfc2047) {
    Message msg("你好，世界：一封很长很长的测试邮件标题，用来检验折行时不会切断汉字",
                "张三 <zhang@example.com>", {"李四 <li@example.com>"});
    msg.body = "正文 body";
    const std::string wire = msg.as_string();
    // The header block is pure ASCII; the words decode back to the original text.
    const std::string head = wire.substr(0, wire.find("\r\n\r\n"));
    for (char c : head) BOOST_REQUIRE(static_cast<unsigned char>(c) < 128);
    BOOST_TEST(head.find("=?utf-8?b?") != std::string::npos);
    const MimePart root = parse_mime(wire);
    BOOST_TEST(root.header("Subject") == msg.subject);
    BOOST_TEST(root.header("From") == "张三 <zhang@example.com>");
    BOOST_TEST(root.header("To") == "李四 <li@example.com>");
    BOOST_TEST(root.transfer_encoding == "quoted-printable");
    BOOST_TEST(root.body == "正文 body");
}

BOOST_AUTO_TEST_CASE(display_names_with_specials_are_quoted) {
    Message msg("x", "Doe, John <john@example.com>", {"b@example.com"});
    msg.body = "x";
    BOOST_TEST(parse_mime(msg.as_string()).header("From") == "\"Doe, John\" <john@example.com>");
    // Two addresses in one string: taken as one, Bob's would be dropped without a word.
    Message two("x", "a@example.com", {"Bob <b@example.com>, Carol <c@example.com>"});
    two.body = "x";
    BOOST_CHECK_THROW(two.send_to(), std::invalid_argument);
    BOOST_TEST(message_of([&] { two.send_to(); }).find("more than one address") !=
               std::string::npos);
    Message quoted("x", "a@example.com", {"\"Bob <b@x>\" <b@example.com>"});
    BOOST_TEST(quoted.send_to() == std::vector<std::string>{"b@example.com"},
               boost::test_tools::per_element());
}

// Flask-Mail (sanitize_address) writes a non-ASCII domain in its IDNA form, in the envelope
// and the headers, and refuses a non-ASCII local part (UnicodeEncodeError): without SMTPUTF8
// neither may go out as raw UTF-8. (Before: both went out as raw 8-bit bytes.)
BOOST_AUTO_TEST_CASE(a_non_ascii_domain_goes_out_in_its_idna_form) {
    Message msg("x", "a@example.com", {"Zoë <zoe@exämple.com>"});
    msg.body = "x";
    BOOST_TEST(msg.send_to() == std::vector<std::string>{"zoe@xn--exmple-cua.com"},
               boost::test_tools::per_element());
    const std::string to = parse_mime(msg.as_string()).header("To");
    BOOST_TEST(to.find("<zoe@xn--exmple-cua.com>") != std::string::npos, to);
    Message local("x", "a@example.com", {"zoë@example.com"});
    local.body = "x";
    BOOST_CHECK_THROW(local.send_to(), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bcc_reaches_the_envelope_but_no_header) {
    Message msg("x", "a@example.com", {"to@example.com"});
    msg.cc = {"cc@example.com"};
    msg.bcc = {"hidden@example.com"};
    msg.reply_to = "reply@example.com";
    msg.body = "x";
    const std::string wire = msg.as_string();
    BOOST_TEST(wire.find("hidden@example.com") == std::string::npos);
    const MimePart root = parse_mime(wire);
    BOOST_TEST(!root.has_header("Bcc"));
    BOOST_TEST(root.header("Cc") == "cc@example.com");
    BOOST_TEST(root.header("Reply-To") == "reply@example.com");
    const std::vector<std::string> expected{"to@example.com", "cc@example.com",
                                            "hidden@example.com"};
    BOOST_TEST(msg.send_to() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(line_breaks_in_headers_raise_bad_header_error) {
    Message msg("Hello\r\nBcc: victim@example.com", "a@example.com", {"b@example.com"});
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    msg.subject = "fine";
    msg.recipients = {"b@example.com\nX-Evil: 1"};
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
    msg.recipients = {"b@example.com"};
    msg.extra_headers = {{"X-Tag", "a\rb"}};
    BOOST_CHECK_THROW(msg.as_string(), BadHeaderError);
}

BOOST_AUTO_TEST_CASE(bad_header_error_comes_before_any_connection) {
    // Nothing listens on this port: reaching the network would give connection_refused.
    Mail mail(local(closed_port()));
    Message msg("Subject\n", "a@example.com", {"b@example.com"});
    BOOST_CHECK_THROW(mail.send(msg), BadHeaderError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Settings)

BOOST_AUTO_TEST_CASE(flask_mail_keys_are_parsed) {
    const auto s =
        MailSettings::from_lookup(lookup({{"MAIL_SERVER", "smtp.qq.com"},
                                          {"MAIL_PORT", "587"},
                                          {"MAIL_USE_TLS", "True"},
                                          {"MAIL_USERNAME", "u@qq.com"},
                                          {"MAIL_PASSWORD", "code"},
                                          {"MAIL_MAX_EMAILS", "20"},
                                          {"MAIL_TIMEOUT", "2.5"},
                                          {"MAIL_SUPPRESS_SEND", "yes"},
                                          {"MAIL_DEFAULT_SENDER", "Flasky <u@qq.com>"}}));
    BOOST_TEST(s.server == "smtp.qq.com");
    BOOST_TEST(s.port == 587);
    BOOST_TEST(s.use_tls);
    BOOST_TEST(!s.use_ssl);
    BOOST_TEST(s.password == "code");
    BOOST_TEST(s.max_emails.value() == 20u);
    BOOST_TEST(s.timeout.count() == 2500);
    BOOST_TEST(s.suppress_send);
    BOOST_TEST(s.default_sender == "Flasky <u@qq.com>");
}

BOOST_AUTO_TEST_CASE(defaults_are_flask_mails) {
    const auto s = MailSettings::from_lookup(lookup({}));
    BOOST_TEST(s.server == "localhost");
    BOOST_TEST(s.port == 25);
    BOOST_TEST(!s.use_tls);
    BOOST_TEST(s.timeout.count() == 10'000);
    BOOST_TEST(!s.max_emails.has_value());
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_key) {
    BOOST_TEST(message_of([] {
                   MailSettings::from_lookup(lookup({{"MAIL_USE_TLS", "maybe"}}));
               }).find("MAIL_USE_TLS") == 0u);
    BOOST_TEST(message_of([] {
                   MailSettings::from_lookup(lookup({{"MAIL_PORT", "70000"}}));
               }).find("MAIL_PORT") == 0u);
    BOOST_TEST(message_of([] {
                   MailSettings::from_lookup(lookup({{"MAIL_TIMEOUT", "soon"}}));
               }).find("MAIL_TIMEOUT") == 0u);
    BOOST_CHECK_THROW(
        MailSettings::from_lookup(lookup({{"MAIL_USE_TLS", "1"}, {"MAIL_USE_SSL", "1"}})),
        SettingsError);
}

BOOST_AUTO_TEST_CASE(username_without_password_says_what_to_set) {
    const std::string m = message_of([] {
        MailSettings::from_lookup(lookup({{"MAIL_USERNAME", "u@qq.com"}}));
    });
    BOOST_TEST(m.find("MAIL_PASSWORD") != std::string::npos);
    BOOST_TEST(m.find("authorization code") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(seed_defaults_apply_only_with_a_username) {
    const auto offline = MailSettings::from_lookup(ch02::seed_config(lookup({})));
    BOOST_TEST(offline.server == "localhost");
    const auto seed = MailSettings::from_lookup(
        ch02::seed_config(lookup({{"MAIL_USERNAME", "u@qq.com"}, {"MAIL_PASSWORD", "code"}})));
    BOOST_TEST(seed.server == "smtp.qq.com");
    BOOST_TEST(seed.port == 587);
    BOOST_TEST(seed.use_tls);
    const auto own = MailSettings::from_lookup(ch02::seed_config(lookup(
        {{"MAIL_USERNAME", "u"}, {"MAIL_PASSWORD", "p"}, {"MAIL_SERVER", "mail.example.com"}})));
    BOOST_TEST(own.server == "mail.example.com");
    BOOST_TEST(own.port == 25);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Sending)

BOOST_AUTO_TEST_CASE(suppressed_mail_is_recorded_and_never_sent) {
    MailSettings s = local(closed_port());
    s.suppress_send = true;
    Mail mail(s);
    auto outbox = mail.record_messages();
    const Delivery d = mail.send(ch02::seed_message());
    BOOST_TEST(d.suppressed);
    BOOST_REQUIRE_EQUAL(outbox.size(), 1u);
    BOOST_TEST(outbox.messages()[0].subject == "My Subject");
    BOOST_TEST(outbox.messages()[0].body == "text body");
}

BOOST_AUTO_TEST_CASE(seed_message_arrives_intact_at_the_capture_server) {
    CaptureServer server;
    Mail mail(local(server.port()));
    auto outbox = mail.record_messages();
    Message msg = ch02::seed_message();
    msg.bcc = {"hidden@example.com"};
    msg.body = ".leading dot\n..two dots\n.";  // dot-stuffing must round-trip
    const Delivery d = mail.send(msg);
    BOOST_TEST(!d.tls);
    BOOST_TEST(d.auth.empty());
    BOOST_REQUIRE(server.wait_for(1, 5s));
    const auto got = server.messages().at(0);
    BOOST_TEST(got.mail_from == "879651072@qq.com");
    const std::vector<std::string> rcpt{"879651072@qq.com", "hidden@example.com"};
    BOOST_TEST(got.rcpt_to == rcpt, boost::test_tools::per_element());
    BOOST_TEST(got.data == d.data);
    BOOST_TEST(got.data.find("hidden@example.com") == std::string::npos);
    BOOST_TEST(parse_mime(got.data).parts.at(0).parts.at(0).body ==
               ".leading dot\r\n..two dots\r\n.");
    BOOST_TEST(outbox.size() == 1u);
}

BOOST_AUTO_TEST_CASE(default_sender_fills_in_and_missing_sender_is_an_error) {
    CaptureServer server;
    MailSettings s = local(server.port());
    Message msg("x", "", {"b@example.com"});
    msg.body = "x";
    BOOST_TEST((kind_of([&] { Mail(s).send(msg); }) == MailError::Kind::no_sender));
    s.default_sender = "Flasky Admin <admin@example.com>";
    Mail(s).send(msg);
    BOOST_REQUIRE(server.wait_for(1, 5s));
    BOOST_TEST(server.messages()[0].mail_from == "admin@example.com");
    BOOST_TEST(parse_mime(server.messages()[0].data).header("From") ==
               "Flasky Admin <admin@example.com>");
    Message nobody("x", "a@example.com", {});
    BOOST_TEST((kind_of([&] { Mail(s).send(nobody); }) == MailError::Kind::no_recipients));
}

BOOST_AUTO_TEST_CASE(connection_refused_says_so) {
    Mail mail(local(closed_port()));
    BOOST_TEST(
        (kind_of([&] { mail.send(ch02::seed_message()); }) == MailError::Kind::connection_refused));
    BOOST_TEST(message_of([&] { mail.send(ch02::seed_message()); }).find("MAIL_PORT") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(silent_server_times_out_after_mail_timeout) {
    CaptureServer server(CaptureOptions{.silent = true});
    MailSettings s = local(server.port());
    s.timeout = 1s;
    Mail mail(s);
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST((kind_of([&] { mail.send(ch02::seed_message()); }) == MailError::Kind::timeout));
    const auto waited = std::chrono::steady_clock::now() - start;
    // MAIL_TIMEOUT is the step's deadline: about 1 s, not a multiple of it.
    BOOST_TEST(waited >= 900ms);
    BOOST_TEST(waited < 1500ms);
}

BOOST_AUTO_TEST_CASE(authentication_picks_plain_and_wrong_password_is_explained) {
    CaptureServer server(CaptureOptions{.username = "user@example.com", .password = "secret"});
    MailSettings s = local(server.port());
    s.username = "user@example.com";
    s.password = "secret";
    Mail mail(s);  // a Connection must not outlive its Mail
    Connection conn = mail.connect();
    BOOST_TEST(conn.authenticated());
    BOOST_TEST(conn.auth_mechanism() == "PLAIN");  // what CaptureServer offers first
    conn.close();

    s.password = "wrong";
    Mail wrong(s);
    BOOST_TEST(
        (kind_of([&] { wrong.send(ch02::seed_message()); }) == MailError::Kind::auth_failed));
    const std::string m = message_of([&] { wrong.send(ch02::seed_message()); });
    BOOST_TEST(m.find("535") != std::string::npos);
    BOOST_TEST(m.find("authorization code") != std::string::npos);
    BOOST_TEST(m.find("app password") != std::string::npos);

    MailSettings anonymous = local(server.port());
    BOOST_TEST((kind_of([&] { Mail(anonymous).send(ch02::seed_message()); }) ==
                MailError::Kind::auth_required));
}

BOOST_AUTO_TEST_CASE(tls_requested_but_not_offered_fails_instead_of_downgrading) {
    CaptureServer server;  // no certificate: no STARTTLS
    MailSettings s = local(server.port());
    s.use_tls = true;
    BOOST_TEST((kind_of([&] { Mail(s).send(ch02::seed_message()); }) == MailError::Kind::tls));
    BOOST_TEST(server.messages().empty());
}

BOOST_AUTO_TEST_CASE(refused_recipient_is_reported_and_the_session_survives) {
    CaptureServer server(CaptureOptions{.refused_recipients = {"nobody@example.com"}});
    Mail mail(local(server.port()));
    Connection conn = mail.connect();
    Message bad("x", "a@example.com", {"nobody@example.com"});
    bad.body = "x";
    BOOST_TEST((kind_of([&] { conn.send(bad); }) == MailError::Kind::recipient_refused));
    Message good("x", "a@example.com", {"somebody@example.com"});
    good.body = "x";
    conn.send(good);
    BOOST_REQUIRE(server.wait_for(1, 5s));
    BOOST_TEST(server.sessions() == 1);
}

BOOST_AUTO_TEST_CASE(bulk_connection_sends_many_messages_over_one_session) {
    CaptureServer server;
    Mail mail(local(server.port()));
    {
        Connection conn = mail.connect();
        for (int i = 0; i < 5; ++i) {
            Message msg("Bulk " + std::to_string(i), "a@example.com",
                        {"user" + std::to_string(i) + "@example.com"});
            msg.body = "message " + std::to_string(i);
            conn.send(msg);
        }
    }
    BOOST_REQUIRE(server.wait_for(5, 5s));
    BOOST_TEST(server.sessions() == 1);
    for (const auto& m : server.messages()) BOOST_TEST(m.session == 1);
}

BOOST_AUTO_TEST_CASE(max_emails_reconnects_like_flask_mail) {
    CaptureServer server;
    MailSettings s = local(server.port());
    s.max_emails = 2;
    Mail mail(s);
    Connection conn = mail.connect();
    for (int i = 0; i < 5; ++i) {
        Message msg("n", "a@example.com", {"b@example.com"});
        msg.body = std::to_string(i);
        conn.send(msg);
    }
    BOOST_REQUIRE(server.wait_for(5, 5s));
    BOOST_TEST(server.sessions() == 3);  // 2 + 2 + 1
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Async)

BOOST_AUTO_TEST_CASE(temporary_451_is_retried_until_delivered) {
    CaptureServer server(CaptureOptions{.temporary_failures = 2});
    Mail mail(local(server.port()));
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 20ms});
    BOOST_TEST(sender.submit(ch02::seed_message()));
    sender.flush();
    const AsyncStats stats = sender.stats();
    BOOST_TEST(stats.sent == 1u);
    BOOST_TEST(stats.retries == 2u);
    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.queued == 0u);
    BOOST_TEST(server.messages().size() == 1u);
}

BOOST_AUTO_TEST_CASE(permanent_failure_is_not_retried) {
    CaptureServer server(CaptureOptions{.refused_recipients = {"nobody@example.com"}});
    Mail mail(local(server.port()));
    int reported = 0;
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 20ms},
                       [&](const Message&, const MailError& e) {
                           if (e.kind() == MailError::Kind::recipient_refused) ++reported;
                       });
    Message msg("x", "a@example.com", {"nobody@example.com"});
    msg.body = "x";
    sender.submit(msg);
    sender.flush();
    BOOST_TEST(sender.stats().failed == 1u);
    BOOST_TEST(sender.stats().retries == 0u);
    BOOST_TEST(reported == 1);
}

BOOST_AUTO_TEST_CASE(dead_server_gives_up_after_max_attempts) {
    Mail mail(local(closed_port()));
    AsyncSender sender(mail, AsyncOptions{.max_attempts = 3, .first_backoff = 10ms});
    sender.submit(ch02::seed_message());
    sender.flush();
    BOOST_TEST(sender.stats().failed == 1u);
    BOOST_TEST(sender.stats().retries == 2u);
    BOOST_TEST(sender.stats().last_error.find("refused") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shutdown_gives_up_on_a_dead_server_after_the_grace) {
    // Back-off of a minute: without the grace, shutdown() would wait for it. With it, the
    // message is given up on as the sender stops, and says why.
    Mail mail(local(closed_port()));
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 60s, .shutdown_grace = 50ms});
    sender.submit(ch02::seed_message());
    sender.shutdown();
    BOOST_TEST(sender.stats().failed == 1u);
    BOOST_TEST(sender.stats().sent == 0u);
    BOOST_TEST(sender.stats().last_error.find("shut down") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(queue_is_bounded_and_shutdown_delivers_the_rest) {
    CaptureServer server;
    Mail mail(local(server.port()));
    std::size_t accepted = 0;
    {
        AsyncSender sender(mail, AsyncOptions{.capacity = 2});
        for (int i = 0; i < 50; ++i) accepted += sender.submit(ch02::seed_message()) ? 1u : 0u;
        BOOST_TEST(accepted + sender.stats().rejected == 50u);
        BOOST_TEST(sender.stats().rejected > 0u);  // 50 submits outrun one worker by far
    }                                              // the destructor flushes
    BOOST_TEST(server.messages().size() == accepted);
}

BOOST_AUTO_TEST_CASE(submit_checks_the_message_in_the_caller) {
    Mail mail(local(closed_port()));
    AsyncSender sender(mail);
    Message msg("x", "", {"b@example.com"});
    BOOST_CHECK_THROW(sender.submit(msg), MailError);
    msg.sender = "a@example.com";
    msg.subject = "bad\nsubject";
    BOOST_CHECK_THROW(sender.submit(msg), BadHeaderError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Chapter)

BOOST_AUTO_TEST_CASE(run_delivers_the_seed_offline_and_stores_an_eml) {
    Poco::TemporaryFile dir;
    std::filesystem::create_directories(dir.path());
    std::ostringstream out;
    BOOST_REQUIRE_EQUAL(ch02::run(out, lookup({}), dir.path()), 0);
    BOOST_TEST_MESSAGE(out.str());
    BOOST_TEST(out.str().find("TLS no, authenticated no") != std::string::npos);
    BOOST_TEST(out.str().find("text/html; charset=utf-8; 7bit: \"<b>HTML</b> body\"") !=
               std::string::npos);
    const auto eml = std::filesystem::path(dir.path()) / "mail" / "0001.eml";
    BOOST_REQUIRE(std::filesystem::exists(eml));
    std::ifstream in(eml, std::ios::binary);
    const std::string stored((std::istreambuf_iterator<char>(in)), {});
    BOOST_TEST(parse_mime(stored).header("Subject") == "My Subject");
}

BOOST_AUTO_TEST_CASE(run_sends_a_body_only_message) {
    // The first shape of the docs' table: DATA's final CRLF must not count as a difference.
    Poco::TemporaryFile dir;
    std::filesystem::create_directories(dir.path());
    Message msg("My Subject", "879651072@qq.com", {"879651072@qq.com"});
    msg.body = "text body";
    std::ostringstream out;
    BOOST_TEST(ch02::run(out, lookup({}), dir.path(), msg) == 0);
    BOOST_TEST_MESSAGE(out.str());
    BOOST_TEST(out.str().find("text/plain; charset=utf-8; 7bit: \"text body\"") !=
               std::string::npos);
    BOOST_TEST(out.str().find("stored by the capture server") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(run_reports_refused_recipients_and_delivers_to_the_rest) {
    CaptureServer server(CaptureOptions{.refused_recipients = {"nobody@example.com"}});
    Message msg = ch02::seed_message();
    msg.recipients.push_back("nobody@example.com");
    std::ostringstream out;
    BOOST_TEST(ch02::run(out,
                         lookup({{"MAIL_SERVER", "127.0.0.1"},
                                 {"MAIL_PORT", std::to_string(server.port())}}),
                         ".", msg) == 0);
    BOOST_TEST_MESSAGE(out.str());
    BOOST_TEST(out.str().find("refused by the server: nobody@example.com (550") !=
               std::string::npos);
    BOOST_REQUIRE(server.wait_for(1, 5s));
    BOOST_TEST(server.messages()[0].rcpt_to.size() == 1u);
}

BOOST_AUTO_TEST_CASE(run_reports_an_unreachable_server_clearly) {
    std::ostringstream out;
    const auto port = std::to_string(closed_port());
    BOOST_TEST(ch02::run(out, lookup({{"MAIL_SERVER", "127.0.0.1"}, {"MAIL_PORT", port}}), ".") ==
               1);
    BOOST_TEST(out.str().find("error: connection to 127.0.0.1:" + port + " refused") !=
               std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

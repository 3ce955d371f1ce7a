#include "common/mail/message.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Environment.h>
#include <Poco/LocalDateTime.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MediaType.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Process.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <random>
#include <sstream>

namespace common::mail {

namespace {

using Poco::Net::MailMessage;

bool is_ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 128; });
}

bool has_newline(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

// "Name <addr>" with the name encoded (non-ASCII) or quoted (RFC 5322 specials), like
// Python's email.utils.formataddr which Flask-Mail's sanitize_address uses.
std::string format_address(const std::string& text, const std::string& charset) {
    const Address a = Address::parse(text);
    if (a.name.empty()) return a.email;
    std::string name;
    if (!is_ascii(a.name)) {
        name = encode_header_word(a.name, charset);
    } else if (a.name.find_first_of("()<>@,;:\\\".[]") != std::string::npos) {
        name = "\"";
        for (char c : a.name) {
            if (c == '"' || c == '\\') name += '\\';
            name += c;
        }
        name += '"';
    } else {
        name = a.name;
    }
    return name + " <" + a.email + ">";
}

std::string join_addresses(const std::vector<std::string>& list, const std::string& charset) {
    std::string out;
    for (const auto& item : list) {
        if (!out.empty()) out += ", ";
        out += format_address(item, charset);
    }
    return out;
}

// SMTP needs CRLF line ends in the DATA; a C++ string literal body has bare "\n".
std::string crlf(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

// 7bit when every byte is ASCII and no line exceeds RFC 5322's 998; otherwise
// quoted-printable, which every server accepts (8bit needs the 8BITMIME extension).
MailMessage::ContentTransferEncoding text_encoding(const std::string& text) {
    if (!is_ascii(text)) return MailMessage::ENCODING_QUOTED_PRINTABLE;
    std::size_t line = 0;
    for (char c : text) {
        line = (c == '\n') ? 0 : line + 1;
        if (line > 998) return MailMessage::ENCODING_QUOTED_PRINTABLE;
    }
    return MailMessage::ENCODING_7BIT;
}

std::string text_type(const std::string& subtype, const std::string& charset) {
    Poco::Net::MediaType type("text", subtype);
    type.setParameter("charset", charset);
    return type.toString();
}

}  // namespace

Address Address::parse(const std::string& text) {
    Address a;
    const auto open = text.rfind('<');
    if (open != std::string::npos) {
        const auto close = text.find('>', open);
        if (close == std::string::npos)
            throw std::invalid_argument("address '" + text + "' has '<' but no closing '>'");
        a.email = trim(text.substr(open + 1, close - open - 1));
        a.name = trim(text.substr(0, open));
        if (a.name.size() >= 2 && a.name.front() == '"' && a.name.back() == '"') {
            std::string unquoted;
            for (std::size_t i = 1; i + 1 < a.name.size(); ++i) {
                if (a.name[i] == '\\' && i + 2 < a.name.size()) ++i;
                unquoted += a.name[i];
            }
            a.name = unquoted;
        }
    } else {
        a.email = trim(text);
    }
    if (a.email.empty() || a.email.find('@') == std::string::npos ||
        a.email.find_first_of(" \t<>,") != std::string::npos)
        throw std::invalid_argument("'" + text +
                                    "' is not an e-mail address; write "
                                    "\"user@example.com\" or \"Name <user@example.com>\"");
    return a;
}

Message::Message() : message_id(make_msgid()) {}

Message::Message(std::string subject_, std::string sender_, std::vector<std::string> recipients_)
    : subject(std::move(subject_)), sender(std::move(sender_)), recipients(std::move(recipients_)),
      message_id(make_msgid()) {}

void Message::attach(std::string filename, std::string content_type, std::string data) {
    attachments.push_back(
        {std::move(filename), std::move(content_type), std::move(data), "attachment"});
}

std::vector<std::string> Message::send_to() const {
    std::vector<std::string> all;
    for (const auto* list : {&recipients, &cc, &bcc}) {
        for (const auto& r : *list) {
            std::string email = Address::parse(r).email;
            if (std::find(all.begin(), all.end(), email) == all.end()) all.push_back(email);
        }
    }
    return all;
}

void Message::check_headers() const {
    auto check = [](const std::string& field, const std::string& value) {
        if (has_newline(value))
            throw BadHeaderError(field + " contains a line break (CR or LF); a header value must "
                                         "be one line, otherwise it could inject headers");
    };
    check("subject", subject);
    check("sender", sender);
    check("reply_to", reply_to);
    check("message_id", message_id);
    check("charset", charset);
    for (const auto* list : {&recipients, &cc, &bcc})
        for (const auto& r : *list) check("recipient '" + r + "'", r);
    for (const auto& [name, value] : extra_headers) {
        check("header name '" + name + "'", name);
        check("header " + name, value);
        if (name.empty() || name.find(':') != std::string::npos)
            throw BadHeaderError("header name '" + name + "' is empty or contains ':'");
    }
    for (const auto& a : attachments) check("attachment filename", a.filename);
}

// ANCHOR: as_string
std::string Message::as_string() const {
    check_headers();
    // Flask-Mail's shapes: body only → one text/plain part; attachments without html →
    // multipart/mixed(text/plain, files...); html → multipart/mixed(multipart/alternative(
    // text/plain, text/html), files...).
    MailMessage mime;
    mime.erase(MailMessage::HEADER_DATE);          // Poco's constructor sets Date and Content-Type;
    mime.erase(MailMessage::HEADER_CONTENT_TYPE);  // we add them again in Flask-Mail's order.
    const bool single_part = attachments.empty() && html.empty();
    mime.setContentType(single_part ? text_type("plain", charset) : "multipart/mixed");
    mime.set("MIME-Version", "1.0");  // Poco spells it "Mime-Version"
    if (!subject.empty())
        mime.set(MailMessage::HEADER_SUBJECT, encode_header_word(subject, charset));
    if (!sender.empty()) mime.set(MailMessage::HEADER_FROM, format_address(sender, charset));
    if (!recipients.empty()) mime.set(MailMessage::HEADER_TO, join_addresses(recipients, charset));
    mime.set(MailMessage::HEADER_DATE,
             format_date(date.value_or(std::chrono::system_clock::now())));
    mime.set("Message-ID", message_id);
    if (!cc.empty()) mime.set(MailMessage::HEADER_CC, join_addresses(cc, charset));
    if (!reply_to.empty()) mime.set("Reply-To", format_address(reply_to, charset));
    for (const auto& [name, value] : extra_headers) mime.set(name, value);

    if (single_part) {
        mime.setContent(crlf(body), text_encoding(body));
    } else if (html.empty()) {
        mime.addPart("", new Poco::Net::StringPartSource(crlf(body), text_type("plain", charset)),
                     MailMessage::CONTENT_INLINE, text_encoding(body));
    } else {
        // Poco's MultipartSource nests a multipart inside the outer one; it owns its parts.
        auto* alternative = new Poco::Net::MultipartSource("multipart/alternative");
        alternative->addPart(
            "", new Poco::Net::StringPartSource(crlf(body), text_type("plain", charset)),
            MailMessage::CONTENT_INLINE, text_encoding(body));
        alternative->addPart(
            "", new Poco::Net::StringPartSource(crlf(html), text_type("html", charset)),
            MailMessage::CONTENT_INLINE, text_encoding(html));
        mime.addPart("", alternative, MailMessage::CONTENT_INLINE, MailMessage::ENCODING_7BIT);
    }
    for (const auto& a : attachments) {
        const std::string filename =
            is_ascii(a.filename) ? a.filename : encode_header_word(a.filename, charset);
        auto* source = new Poco::Net::StringPartSource(a.data, a.content_type, filename);
        mime.addPart("", source,
                     a.disposition == "inline" ? MailMessage::CONTENT_INLINE
                                               : MailMessage::CONTENT_ATTACHMENT,
                     MailMessage::ENCODING_BASE64);
    }
    std::ostringstream out;
    mime.write(out);
    return out.str();
}
// ANCHOR_END: as_string

std::string make_msgid() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    const auto centis = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() /
                        10;
    std::ostringstream id;
    id << '<' << centis << '.' << Poco::Process::id() << '.' << random() << '@'
       << Poco::Environment::nodeName() << '>';
    return id.str();
}

// Hand-written rather than Poco's MailMessage::encodeWord: that one cuts long text every
// ~72 bytes even inside a UTF-8 character, which RFC 2047 §5 forbids and some readers show
// as mojibake. Here each encoded-word holds whole characters (at most 45 bytes → 60 base64).
std::string encode_header_word(const std::string& text, const std::string& charset) {
    if (is_ascii(text)) return text;
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = std::min(text.size(), start + 45);
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
        std::ostringstream b64;
        Poco::Base64Encoder encoder(b64);
        encoder.rdbuf()->setLineLength(0);
        encoder.write(text.data() + start, static_cast<std::streamsize>(end - start));
        encoder.close();
        if (!out.empty()) out += "\r\n ";
        out += "=?" + charset + "?b?" + b64.str() + "?=";
        start = end;
    }
    return out;
}

std::string format_date(std::chrono::system_clock::time_point when) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
    const Poco::LocalDateTime local{Poco::Timestamp(micros)};
    const int tzd = local.tzd();
    const int minutes = (tzd < 0 ? -tzd : tzd) / 60;
    std::string zone = tzd < 0 ? "-" : "+";
    zone += std::to_string(minutes / 60 / 10) + std::to_string(minutes / 60 % 10) +
            std::to_string(minutes % 60 / 10) + std::to_string(minutes % 10);
    return Poco::DateTimeFormatter::format(local, "%w, %e %b %Y %H:%M:%S ") + zone;
}

}  // namespace common::mail

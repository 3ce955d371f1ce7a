#include "common/mail/message.hpp"

#include <idn2.h>

#include <Poco/Base64Encoder.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Environment.h>
#include <Poco/LocalDateTime.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MediaType.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Process.h>
#include <Poco/String.h>
#include <Poco/TextEncoding.h>
#include <Poco/TextIterator.h>
#include <Poco/Timestamp.h>
#include <Poco/UTF8Encoding.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace common::mail {

namespace {

using Poco::Net::MailMessage;

bool is_ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 128; });
}

bool has_newline(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

// A header name for an error message: a NUL would end what() early and a CR or non-ASCII
// byte would not show, so every byte outside printable ASCII (and space) is written as \xNN.
std::string printable(const std::string& s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 32 && c < 127) {
            out += ch;
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998.
constexpr std::size_t fold_width = 78;
constexpr std::size_t line_limit = 998;

/// `text` (UTF-8) in the single-byte charset `to`; throws naming `field` for a character the
/// charset has no byte for. Hand-written because Poco's TextConverter writes '?' for such a
/// character without counting it, and a changed word must not go out silently.
std::string convert_text(const std::string& text, const Poco::TextEncoding& to,
                         const std::string& charset, const std::string& field) {
    if (is_ascii(text)) return text;
    Poco::UTF8Encoding utf8;
    std::string out;
    out.reserve(text.size());
    for (Poco::TextIterator it(text, utf8), end(text); it != end; ++it) {
        unsigned char bytes[4];
        const int n = *it < 0 ? 0 : to.convert(*it, bytes, sizeof bytes);
        if (n <= 0) {
            const std::string why =
                "the " + field + " has a character that " + charset +
                (*it < 0 ? " cannot hold: it is not UTF-8" : " has no byte for") +
                "; set charset to utf-8 (or leave it at its default)";
            if (field == "body" || field == "html") throw std::invalid_argument(why);
            throw BadHeaderError(why);
        }
        out.append(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(n));
    }
    return out;
}

/// What an encoded word holds for `text` (UTF-8) in a message of `charset`: the text in that
/// charset when it can hold it, else the UTF-8 text labelled utf-8, as Flask-Mail falls back
/// (its sanitize_subject and sanitize_address catch UnicodeEncodeError and use utf-8).
std::pair<std::string, std::string> header_bytes(const std::string& text,
                                                 const std::string& charset) {
    const std::string name = Poco::toLower(charset);
    const Poco::TextEncoding::Ptr to = Poco::TextEncoding::find(charset);
    if (name == "utf-8" || name == "utf8" || !to) return {text, charset};
    try {
        return {convert_text(text, *to, charset, "header"), charset};
    } catch (const BadHeaderError&) {
        // Text that is not UTF-8 at all stays an error, as for the body: labelled utf-8, its
        // bytes would show as replacement characters.
        Poco::UTF8Encoding utf8;
        for (Poco::TextIterator it(text, utf8), end(text); it != end; ++it)
            if (*it < 0) throw;
        return {text, "utf-8"};
    }
}

// One header value, folded as it is built: tokens are appended with the whitespace before
// them, and a token that would pass column 78 starts a continuation line instead (CRLF goes
// before that whitespace: that is what "folding" means). Hand-written because Poco's
// MessageHeader writes a value as given, and MailMessage::encodeWord folds encoded text
// without knowing the header name's width or where a UTF-8 character ends.
class Folder {
public:
    explicit Folder(const std::string& name) : column_(name.size() + 2) {}  // "Name: "

    bool empty() const { return value_.empty(); }

    /// `space` is the whitespace before `token`; "" glues it to the previous one (no fold).
    void add(const std::string& token, const std::string& space = " ") {
        if (!value_.empty() && !space.empty() &&
            column_ + space.size() + token.size() > fold_width) {
            value_ += "\r\n" + space + token;
            column_ = space.size() + token.size();
        } else {
            const std::string before = value_.empty() ? "" : space;
            value_ += before + token;
            column_ += before.size() + token.size();
        }
        if (column_ > line_limit)
            throw BadHeaderError("a header has a word of " + std::to_string(token.size()) +
                                 " characters, which no folding can fit in SMTP's 998-character "
                                 "lines; shorten it");
    }

    /// RFC 2047 "B" encoded-words for `text`, each fitting where it lands (at most 75
    /// characters, lines at most 78) and holding whole UTF-8 characters (§5 forbids splitting
    /// a character between two words; Poco's encodeWord cuts every ~72 bytes regardless).
    void add_encoded(const std::string& utf8, const std::string& message_charset) {
        const auto [text, charset] = header_bytes(utf8, message_charset);
        const std::size_t overhead = 7 + charset.size();  // "=?" charset "?b?" ... "?="
        std::size_t start = 0;
        while (start < text.size()) {
            const std::size_t space = value_.empty() ? 0 : 1;
            const std::size_t here =
                column_ + space < fold_width ? fold_width - column_ - space : 0;
            std::size_t end = take(text, start, std::min<std::size_t>(75, here), overhead);
            if (end == start) {
                // Nothing fits on this line: the word opens a new one (after "Name:" too,
                // where leading whitespace is allowed folding white space).
                value_ += "\r\n ";
                column_ = 1;
                end = take(text, start, 75, overhead);
                if (end == start)
                    throw BadHeaderError("the charset name '" + charset +
                                         "' is too long for an RFC 2047 encoded word (75 "
                                         "characters at most); use a standard name like utf-8");
                const std::string word = encoded_word(text.substr(start, end - start), charset);
                value_ += word;
                column_ += word.size();
            } else {
                add(encoded_word(text.substr(start, end - start), charset));
            }
            start = end;
        }
    }

    /// Words split at whitespace and folded there; each run of whitespace is kept as given.
    void add_words(const std::string& text, const std::string& first_space) {
        std::size_t i = 0;
        bool first = true;
        while (i < text.size()) {
            const std::size_t word = text.find_first_not_of(" \t", i);
            if (word == std::string::npos) break;  // trailing whitespace: dropped
            std::size_t stop = text.find_first_of(" \t", word);
            if (stop == std::string::npos) stop = text.size();
            std::string space = text.substr(i, word - i);
            if (first) space = first_space;
            add(text.substr(word, stop - word), space);
            first = false;
            i = stop;
        }
    }

    const std::string& str() const { return value_; }

private:
    // The end of the bytes from `start` whose encoded-word fits in `room` characters, backed
    // off to a character boundary; `start` itself when not even one character fits.
    static std::size_t take(const std::string& text, std::size_t start, std::size_t room,
                            std::size_t overhead) {
        if (room < overhead + 4) return start;
        const std::size_t limit = std::min(text.size(), start + (room - overhead) / 4 * 3);
        std::size_t end = limit;
        while (end > start && end < text.size() &&
               (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
            --end;
        // No character boundary in reach means the bytes are not UTF-8, so there is no
        // character to keep whole; backing off to `start` would never make progress.
        return end == start ? limit : end;
    }

    static std::string encoded_word(const std::string& bytes, const std::string& charset) {
        std::ostringstream b64;
        Poco::Base64Encoder encoder(b64);
        encoder.rdbuf()->setLineLength(0);
        encoder << bytes;
        encoder.close();
        return "=?" + charset + "?b?" + b64.str() + "?=";
    }

    std::string value_{};
    std::size_t column_;
};

// The longest run of non-blank characters: a word folding cannot break.
std::size_t longest_word(const std::string& text) {
    std::size_t longest = 0, run = 0;
    for (char c : text) {
        run = (c == ' ' || c == '\t') ? 0 : run + 1;
        longest = std::max(longest, run);
    }
    return longest;
}

// Unstructured text (Subject): folded at whitespace; non-ASCII text, or a word too long for
// a 78-column line, becomes encoded-words instead, as Python's email package does.
std::string fold_text(const std::string& name, const std::string& text,
                      const std::string& charset) {
    Folder folder(name);
    if (is_ascii(text) && longest_word(text) + name.size() + 2 <= fold_width) {
        folder.add_words(text, "");
    } else {
        folder.add_encoded(text, charset);
    }
    return folder.str();
}

// Any other header (extra_headers, an attachment's own): words folded, non-ASCII encoded.
std::string fold_header(const std::string& name, const std::string& value,
                        const std::string& charset) {
    Folder folder(name);
    if (is_ascii(value)) {
        folder.add_words(value, "");
    } else {
        folder.add_encoded(value, charset);
    }
    return folder.str();
}

// "Name <addr>" with the name encoded (non-ASCII) or quoted (RFC 5322 specials), like
// Python's email.utils.formataddr which Flask-Mail's sanitize_address uses.
// `after` (a list's ",") is glued to the last token, so that it counts in the line's width.
void add_address(Folder& folder, const std::string& text, const std::string& charset,
                 const std::string& after) {
    const Address a = Address::parse(text);
    const std::string space = folder.empty() ? "" : " ";
    if (a.name.empty()) {
        folder.add(a.email + after, space);
        return;
    }
    if (!is_ascii(a.name)) {
        folder.add_encoded(a.name, charset);
    } else if (a.name.find_first_of("()<>@,;:\\\".[]") != std::string::npos) {
        std::string quoted = "\"";
        for (char c : a.name) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        folder.add(quoted + '"', space);
    } else {
        folder.add_words(a.name, space);
    }
    folder.add("<" + a.email + ">" + after);
}

// An address list (To, Cc), folded between addresses and inside long encoded names.
std::string fold_addresses(const std::string& name, const std::vector<std::string>& list,
                           const std::string& charset) {
    Folder folder(name);
    for (std::size_t i = 0; i < list.size(); ++i)
        add_address(folder, list[i], charset, i + 1 < list.size() ? "," : "");
    return folder.str();
}

// A legally folded value ("Hi\r\n there": CRLF then whitespace) is unfolded, as a reader
// would; any other CR or LF could start a new header and is refused (Flask-Mail's rule for
// the subject).
std::string unfold(const std::string& field, const std::string& value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const bool folded = value[i] == '\r' && i > 0 && i + 2 < value.size() &&
                            value[i + 1] == '\n' && (value[i + 2] == ' ' || value[i + 2] == '\t');
        if (folded) {
            ++i;  // drop CRLF, keep the whitespace
            continue;
        }
        if (value[i] == '\r' || value[i] == '\n')
            throw BadHeaderError(field +
                                 " contains a line break (CR or LF) that is not CRLF + space; a "
                                 "header value must be one line, otherwise it could inject "
                                 "headers");
        out += value[i];
    }
    return out;
}

// The file name parameter as Python's email package writes it: `filename="..."` for ASCII,
// RFC 2231 `filename*=utf-8''%E6%8A%A5...` otherwise, in numbered continuations
// (`filename*0*=`, `filename*1*=`) when it would not fit a 78-column line.
std::string filename_parameter(const std::string& filename) {
    // A quoted name is one line: past ~900 characters it takes the continuations below.
    if (is_ascii(filename) && filename.size() < 900) {
        std::string param = "filename=\"";
        for (char c : filename) {
            if (c == '"' || c == '\\') param += '\\';
            param += c;
        }
        return param + '"';
    }
    std::string encoded;  // urllib.parse.quote(safe=''), as Python's encode_rfc2231 does
    for (const char ch : filename) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~') {
            encoded += static_cast<char>(c);
        } else {
            static constexpr char hex[] = "0123456789ABCDEF";
            encoded += '%';
            encoded += hex[c >> 4];
            encoded += hex[c & 15];
        }
    }
    const std::string prefix = "utf-8''";  // Flask-Mail writes file names in UTF-8 always
    if (prefix.size() + encoded.size() <= 50) return "filename*=" + prefix + encoded;
    std::string param;
    std::size_t k = 0;
    for (std::size_t i = 0; i < encoded.size(); ++k) {
        std::size_t n = std::min<std::size_t>(48, encoded.size() - i);
        if (i + n < encoded.size()) {  // never split a %XX escape
            if (encoded[i + n - 1] == '%') {
                n -= 1;
            } else if (encoded[i + n - 2] == '%') {
                n -= 2;
            }
        }
        if (k > 0) param += ";\r\n ";
        param +=
            "filename*" + std::to_string(k) + "*=" + (k == 0 ? prefix : "") + encoded.substr(i, n);
        i += n;
    }
    return param;
}

// SMTP needs CRLF line ends in the DATA; a C++ string literal body has bare "\n". A lone
// "\r" becomes CRLF too, as Python's smtplib does: a bare CR is not allowed in DATA, and
// servers that read it as a line end are what SMTP smuggling exploits.
std::string crlf(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' || text[i] == '\n') {
            out += "\r\n";
            if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out += text[i];
        }
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

namespace {
/// An address with non-ASCII text as SMTP without SMTPUTF8 can carry it, as Flask-Mail's
/// sanitize_address writes it: the domain in IDNA's ASCII form (exämple.com becomes
/// xn--exmple-cua.com); a non-ASCII local part has no such form (Python raises
/// UnicodeEncodeError), so it is refused before anything is sent.
std::string ascii_address(const std::string& email, const std::string& text) {
    const auto at = email.rfind('@');
    const std::string local = email.substr(0, at), domain = email.substr(at + 1);
    if (!is_ascii(local))
        throw std::invalid_argument(
            "'" + text +
            "': the part before '@' is not ASCII, which needs SMTPUTF8 (RFC 6531); "
            "common::mail, like Flask-Mail, does not send it");
    char* ascii = nullptr;
    const int rc = idn2_to_ascii_8z(domain.c_str(), &ascii, IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK)
        throw std::invalid_argument("'" + text + "': the domain '" + domain +
                                    "' has no ASCII (IDNA) form: " + idn2_strerror(rc));
    std::string out = local + '@' + ascii;
    idn2_free(ascii);
    return out;
}
}  // namespace

Address Address::parse(const std::string& text) {
    Address a;
    const auto open = text.rfind('<');
    if (open != std::string::npos) {
        const auto close = text.find('>', open);
        if (close == std::string::npos)
            throw std::invalid_argument("address '" + text + "' has '<' but no closing '>'");
        a.email = Poco::trim(text.substr(open + 1, close - open - 1));
        a.name = Poco::trim(text.substr(0, open));
        // One quoted string, "...": no unescaped quote inside ("Bob" <b@x>, "Carol" is not).
        bool quoted = a.name.size() >= 2 && a.name.front() == '"' && a.name.back() == '"';
        for (std::size_t i = 1; quoted && i + 1 < a.name.size(); ++i) {
            if (a.name[i] == '\\')
                ++i;
            else if (a.name[i] == '"')
                quoted = false;
        }
        // "Bob <b@x>, Carol <c@x>" or "b@x, Carol <c@x>" is two addresses in one string: taken
        // as one, Bob would silently get nothing.
        if (!quoted && a.name.find_first_of("<>@") != std::string::npos)
            throw std::invalid_argument("'" + text +
                                        "' holds more than one address (or a name with '<' or "
                                        "'>'); give each address as its own list item, and "
                                        "quote such a name: \"Name\" <user@example.com>");
        if (quoted) {
            std::string unquoted;
            for (std::size_t i = 1; i + 1 < a.name.size(); ++i) {
                if (a.name[i] == '\\' && i + 2 < a.name.size()) ++i;
                unquoted += a.name[i];
            }
            a.name = unquoted;
        }
    } else {
        a.email = Poco::trim(text);
    }
    if (a.email.empty() || a.email.find('@') == std::string::npos ||
        a.email.find_first_of(" \t<>,") != std::string::npos)
        throw std::invalid_argument("'" + text +
                                    "' is not an e-mail address; write "
                                    "\"user@example.com\" or \"Name <user@example.com>\"");
    if (!is_ascii(a.email)) a.email = ascii_address(a.email, text);
    return a;
}

Message::Message() : message_id(make_msgid()) {}

Message::Message(std::string subject_, std::string sender_, std::vector<std::string> recipients_)
    : subject(std::move(subject_)), sender(std::move(sender_)), recipients(std::move(recipients_)),
      message_id(make_msgid()) {}

void Message::attach(std::string filename, std::string content_type, std::string data,
                     std::string disposition,
                     std::vector<std::pair<std::string, std::string>> headers) {
    attachments.push_back({std::move(filename), std::move(content_type), std::move(data),
                           std::move(disposition), std::move(headers)});
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
    (void)unfold("subject", subject);  // a legal fold (CRLF + space) is fine here
    check("sender", sender);
    check("reply_to", reply_to);
    check("message_id", message_id);
    check("charset", charset);
    // A charset name is a token (RFC 2978) and is written inside encoded words (=?cs?b?...?=)
    // and RFC 2231 parameters (cs''%XX...), where '?', '%' and '\'' would end or break it.
    // Found by fuzz_mime_builder: a '%' in it made the file name parameter unreadable.
    const bool token = !charset.empty() && std::all_of(charset.begin(), charset.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("!#$&+-^_`{}~").find(c) != std::string_view::npos;
    });
    if (!token)
        throw BadHeaderError("the charset name '" + printable(charset) +
                             "' is not a charset name (letters, digits and !#$&+-^_`{}~ only); "
                             "use a standard name like utf-8");
    for (const auto* list : {&recipients, &cc, &bcc})
        for (const auto& r : *list) check("recipient '" + r + "'", r);
    auto check_header = [&](const std::string& name, const std::string& value) {
        check("header name '" + printable(name) + "'", name);
        check("header " + name, value);
        // RFC 5322 §3.6.8: a field name is printable ASCII (33-126) without ':'.
        const bool ftext = std::all_of(name.begin(), name.end(),
                                       [](char c) { return c > 32 && c < 127 && c != ':'; });
        if (name.empty() || !ftext)
            throw BadHeaderError("header name '" + printable(name) +
                                 "' is empty or has a space, ':' or a character outside "
                                 "printable ASCII");
    };
    for (const auto& [name, value] : extra_headers) check_header(name, value);
    for (const auto& a : attachments) {
        for (const auto& [name, value] : a.headers) check_header(name, value);
        // RFC 2183: a token, "attachment" or "inline" (or an extension a reader may not know);
        // empty means "attachment", as Flask-Mail's default.
        const bool word = std::all_of(a.disposition.begin(), a.disposition.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        });
        if (!word)
            throw BadHeaderError("an attachment's disposition '" + printable(a.disposition) +
                                 "' is not a word; use \"attachment\" or \"inline\"");
        check("attachment filename", a.filename);
        check("attachment content_type", a.content_type);  // written as the part's Content-Type
        const std::string_view type =
            std::string_view(a.content_type)
                .substr(
                    0, a.content_type.find(';'));  // "text/plain; charset=x": the type/subtype part
        const auto slash = type.find('/');
        if (slash == 0 || slash == std::string::npos || slash + 1 == type.size() ||
            type.find('/', slash + 1) != std::string_view::npos)
            throw BadHeaderError("an attachment's content type '" + printable(a.content_type) +
                                 "' is not type/subtype; write e.g. \"text/plain\" or "
                                 "\"application/octet-stream\"");
        if (a.content_type.size() > 900)
            throw BadHeaderError("an attachment's content type of " +
                                 std::to_string(a.content_type.size()) +
                                 " characters cannot fit SMTP's 998-character line");
    }
}

std::string Message::as_string() const {
    check_headers();
    const std::string name = Poco::toLower(charset);
    if (name == "utf-8" || name == "utf8") return wire();
    // Single-byte charsets only: UTF-16 and UTF-32 would put NUL bytes in header lines.
    const Poco::TextEncoding::Ptr to = Poco::TextEncoding::find(charset);
    const std::string canonical = to ? Poco::toUpper(std::string(to->canonicalName())) : "";
    if (!to || canonical.rfind("UTF-", 0) == 0)
        throw BadHeaderError("the charset '" + charset +
                             "' is not one the message can be converted to (utf-8, us-ascii, "
                             "iso-8859-1, iso-8859-2, iso-8859-15, windows-1250, windows-1251, "
                             "windows-1252)");
    auto convert = [&](const std::string& text, const std::string& field) {
        return convert_text(text, *to, charset, field);
    };
    // Only the text parts: header words are converted as they are encoded (header_bytes), and
    // file names are always UTF-8, as Flask-Mail writes them.
    Message m = *this;
    m.body = convert(body, "body");
    m.html = convert(html, "html");
    return m.wire();
}

// ANCHOR: as_string
std::string Message::wire() const {
    // Flask-Mail's shapes: body only → one text/plain part; attachments without html →
    // multipart/mixed(text/plain, files...); html → multipart/mixed(multipart/alternative(
    // text/plain, text/html), files...). Header values are folded here (Poco writes them
    // as given), each line at most 78 characters where possible.
    MailMessage mime;
    mime.erase(MailMessage::HEADER_DATE);          // Poco's constructor sets Date and Content-Type;
    mime.erase(MailMessage::HEADER_CONTENT_TYPE);  // we add them again in Flask-Mail's order.
    const bool single_part = attachments.empty() && html.empty();
    mime.setContentType(single_part ? text_type("plain", charset) : "multipart/mixed");
    mime.set("MIME-Version", "1.0");  // Poco spells it "Mime-Version"
    // Poco appends the transfer encoding of a single part last; set here, it keeps
    // Python's place (Poco overwrites the value in place).
    if (single_part) mime.set(MailMessage::HEADER_CONTENT_TRANSFER_ENCODING, "7bit");
    if (!subject.empty())
        mime.set("Subject", fold_text("Subject", unfold("subject", subject), charset));
    if (!sender.empty()) mime.set("From", fold_addresses("From", {sender}, charset));
    if (!recipients.empty()) mime.set("To", fold_addresses("To", recipients, charset));
    mime.set("Date", format_date(date.value_or(std::chrono::system_clock::now())));
    mime.set("Message-ID", message_id);
    if (!cc.empty()) mime.set("Cc", fold_addresses("Cc", cc, charset));  // Poco's name is "CC"
    if (!reply_to.empty()) mime.set("Reply-To", fold_addresses("Reply-To", {reply_to}, charset));
    for (const auto& [name, value] : extra_headers)
        mime.set(name, fold_header(name, value, charset));
    // ANCHOR_END: as_string

    // ANCHOR: as_string_parts
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
    // Poco writes `filename="..."` only for CONTENT_ATTACHMENT, and no other disposition: each
    // attachment goes in as one with a unique placeholder name, replaced below by its own
    // disposition and the RFC 2231 parameter Python's email package would write.
    struct Written {
        std::string placeholder, disposition, parameter;
    };
    std::vector<Written> written;
    for (const auto& a : attachments) {
        Written w{"attachment-" + std::to_string(written.size()) + "-" +
                      std::to_string(std::random_device{}()),
                  a.disposition.empty() ? "attachment" : a.disposition,
                  a.filename.empty() ? "" : filename_parameter(a.filename)};
        auto* source = new Poco::Net::StringPartSource(a.data, a.content_type, w.placeholder);
        for (const auto& [name, value] : a.headers)
            source->headers().set(name, fold_header(name, value, charset));
        mime.addPart("", source, MailMessage::CONTENT_ATTACHMENT, MailMessage::ENCODING_BASE64);
        written.push_back(std::move(w));
    }
    std::ostringstream out;
    mime.write(out);
    std::string wire = out.str();
    for (const auto& w : written) {
        // Poco wrote `attachment; filename=` and the placeholder, quoted or not.
        auto at = wire.find(w.placeholder);
        if (at == std::string::npos) continue;
        auto end = at + w.placeholder.size();
        if (wire[at - 1] == '"') {
            --at;
            ++end;
        }
        at -= std::string_view("attachment; filename=").size();
        // "Content-Disposition: attachment;" is 32 columns: longer names go on the next line.
        const std::size_t column = 22 + w.disposition.size();
        const bool fits =
            w.parameter.find('\r') == std::string::npos && column + 1 + w.parameter.size() <= 78;
        wire.replace(at, end - at,
                     w.parameter.empty() ? w.disposition
                                         : w.disposition + (fits ? "; " : ";\r\n ") + w.parameter);
    }
    return wire;
}
// ANCHOR_END: as_string_parts

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

std::string format_date(std::chrono::system_clock::time_point when) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
    const Poco::LocalDateTime local{Poco::Timestamp(micros)};
    const int tzd = local.tzd();
    const int minutes = (tzd < 0 ? -tzd : tzd) / 60;
    std::string zone = tzd < 0 ? "-" : "+";
    zone += std::to_string(minutes / 60 / 10) + std::to_string(minutes / 60 % 10) +
            std::to_string(minutes % 60 / 10) + std::to_string(minutes % 10);
    // "%d": the day in two digits, as email.utils.formatdate writes it ("Tue, 01 Dec 2026").
    return Poco::DateTimeFormatter::format(local, "%w, %d %b %Y %H:%M:%S ") + zone;
}

}  // namespace common::mail

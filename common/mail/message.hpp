#pragma once
// Message — Flask-Mail's Message: what to send, and the bytes it becomes on the wire.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace common::mail {

/// A header value contained CR or LF (header injection). Raised before anything is sent,
/// like Flask-Mail's BadHeaderError.
class BadHeaderError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A file attached to a message: Flask-Mail's `msg.attach(filename, content_type, data,
/// disposition, headers)`. An "inline" file keeps its name; `headers` are the part's own, e.g.
/// {"Content-ID", "<logo>"} for an image the HTML shows as <img src="cid:logo">.
struct Attachment {
    std::string filename{};
    std::string content_type = "application/octet-stream";
    std::string data{};
    std::string disposition = "attachment";
    std::vector<std::pair<std::string, std::string>> headers{};
};

/// "Name <addr>" or "addr", split. `name` may be UTF-8; it is RFC 2047-encoded on the wire.
struct Address {
    std::string name{};
    std::string email{};

    /// Parses "Name <addr>", "\"Name\" <addr>", "<addr>" or "addr".
    /// Throws std::invalid_argument when the text holds no usable address.
    static Address parse(const std::string& text);
};

/// The message, field by field as in Flask-Mail:
///
///     Message msg{"My Subject", "879651072@qq.com", {"879651072@qq.com"}};
///     msg.body = "text body";
///     msg.html = "<b>HTML</b> body";
///
/// `bcc` only reaches the SMTP envelope, never a header.
struct Message {
    std::string subject{};
    std::string sender{};  ///< "addr" or "Name <addr>"; empty → MAIL_DEFAULT_SENDER
    std::vector<std::string> recipients{};  ///< To
    std::vector<std::string> cc{};
    std::vector<std::string> bcc{};  ///< envelope only
    std::string reply_to{};
    std::string body{};  ///< text/plain
    std::string html{};  ///< text/html; with body → multipart/alternative
    std::vector<Attachment> attachments{};
    std::string charset = "utf-8";
    std::vector<std::pair<std::string, std::string>> extra_headers{};
    std::optional<std::chrono::system_clock::time_point> date{};  ///< unset → the time of sending
    std::string message_id{};  ///< "<...@host>", made in the constructor

    Message();
    Message(std::string subject_, std::string sender_, std::vector<std::string> recipients_);

    /// Flask-Mail's `msg.attach(...)`.
    void attach(std::string filename, std::string content_type, std::string data,
                std::string disposition = "attachment",
                std::vector<std::pair<std::string, std::string>> headers = {});

    /// Everyone the server must deliver to: recipients, cc and bcc, each once, in that order.
    std::vector<std::string> send_to() const;

    /// Throws BadHeaderError if a header value (sender, reply-to, an address, an extra
    /// header, an attachment's file name or content type) contains CR or LF, or the
    /// subject one not followed by whitespace (a legal
    /// fold, "Hi\r\n there", is unfolded when sent, as Flask-Mail allows).
    void check_headers() const;

    /// The RFC 5322 bytes (CRLF line ends) sent after DATA. Checks the headers first.
    /// Header lines are folded (at most 78 characters where possible, never over 998).
    /// Each call draws new MIME boundaries; the Message-ID stays, so every attempt to send
    /// the same Message carries the same Message-ID.
    /// The text is UTF-8; another `charset` (iso-8859-1, iso-8859-15, windows-1252, ...) has
    /// the body converted first, as Python's email package does, and a character that charset
    /// cannot hold is an error (Python: UnicodeEncodeError). Header words it cannot hold go
    /// out in UTF-8, as Flask-Mail falls back; file names are always UTF-8.
    std::string as_string() const;

private:
    std::string wire() const;  // as_string() once the text is in `charset`
};

/// A fresh Message-ID like Python's email.utils.make_msgid(): <time.pid.random@host>.
std::string make_msgid();

/// RFC 5322 date ("Thu, 26 Nov 2026 02:45:57 +0100") in local time, like formatdate(localtime=True).
std::string format_date(std::chrono::system_clock::time_point when);

}  // namespace common::mail

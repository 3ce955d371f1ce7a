#pragma once
// Mail — Flask-Mail's Mail on Poco's SMTP client: send(), connect() for bulk, and
// record_messages() for tests.

#include "common/mail/message.hpp"
#include "common/mail/settings.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace common::mail {

/// Sending failed. `what()` says what happened and what to check; `kind()` lets code decide
/// (AsyncSender retries the `temporary()` ones).
class MailError : public std::runtime_error {
public:
    enum class Kind {
        connection_refused,  ///< nothing listens on MAIL_SERVER:MAIL_PORT
        connection_failed,   ///< host not found, connection reset or closed
        timeout,             ///< no answer within MAIL_TIMEOUT
        tls,                 ///< STARTTLS not offered or refused, handshake/certificate failure
        auth_failed,         ///< 535: wrong MAIL_USERNAME/MAIL_PASSWORD
        auth_required,       ///< server wants AUTH but MAIL_USERNAME/MAIL_PASSWORD are missing
        no_sender,           ///< neither msg.sender nor MAIL_DEFAULT_SENDER
        no_recipients,       ///< recipients, cc and bcc all empty
        recipient_refused,   ///< RCPT TO answered 5xx
        rejected,            ///< any other 5xx (permanent)
        temporary,           ///< any other 4xx (try again later)
    };

    MailError(Kind kind, const std::string& message, int smtp_code = 0)
        : std::runtime_error(message), kind_(kind), smtp_code_(smtp_code) {}

    Kind kind() const noexcept { return kind_; }
    /// The server's reply code (535, 451, ...) or 0 when the failure was not an SMTP reply.
    int smtp_code() const noexcept { return smtp_code_; }
    /// Worth retrying later: 4xx replies, refused/failed connections and time-outs.
    bool temporary() const noexcept;

private:
    Kind kind_{};
    int smtp_code_{};
};

/// A recipient the server refused while accepting others (smtplib's `senderrs`).
struct RefusedRecipient {
    std::string email{};
    int code = 0;         ///< 550, 451, ...
    std::string reply{};  ///< the server's words
    /// A 4xx: "not now", worth sending to this address again later.
    bool temporary() const { return code >= 400 && code < 500; }
};

/// What a send did, for the reader (the chapter prints it).
struct Delivery {
    std::string server{};     ///< "host:port"
    bool suppressed = false;  ///< MAIL_SUPPRESS_SEND: nothing was sent
    bool tls = false;         ///< the session was encrypted (STARTTLS or implicit TLS)
    std::string auth{};       ///< the AUTH mechanism used ("PLAIN"), empty when none
    std::string reply{};      ///< the server's answer to the message data ("250 OK ...")
    std::string envelope_from{};
    std::vector<std::string> envelope_to{};
    std::string data{};  ///< the message bytes as sent after DATA (before dot-stuffing)
    /// Recipients the server refused; the message went to the others. Empty when all were
    /// accepted (when none is, send() throws instead).
    std::vector<RefusedRecipient> refused{};
};

class Mail;
namespace detail {
class Watchdog;
}

/// Cuts a connection's network steps short from another thread, for a shutdown: after
/// cancel(), the step in progress and every later one fail at once with a temporary
/// MailError that says why. Copies share one token (and its one small watchdog thread).
class CancelToken {
public:
    CancelToken();
    void cancel(const std::string& why);

private:
    friend class Mail;
    std::shared_ptr<detail::Watchdog> watchdog_;
};

/// One SMTP session sending many messages (Flask-Mail's `with mail.connect() as conn`).
/// Opened by Mail::connect(); QUIT is sent by close() or the destructor. It refers to its
/// Mail (settings, recorders), so it must not outlive it.
class Connection {
public:
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    /// Sends one message over this session. After MAIL_MAX_EMAILS messages the session is
    /// closed and a new one opened, like Flask-Mail.
    Delivery send(const Message& msg);
    /// The same message, to `envelope` only (RCPT TO; the headers stay the message's): the
    /// retry of the recipients a server deferred while it accepted the others. Empty: all.
    Delivery send(const Message& msg, const std::vector<std::string>& envelope);
    /// Sends QUIT and closes. Safe to call twice.
    void close();

    bool tls() const noexcept;
    bool authenticated() const noexcept;
    const std::string& auth_mechanism() const noexcept;
    /// The server's EHLO reply (its capabilities), after STARTTLS when used.
    const std::string& capabilities() const noexcept;

private:
    friend class Mail;
    struct Session;
    Connection(Mail& mail, std::shared_ptr<detail::Watchdog> watchdog);
    void open_session();
    Mail* mail_;
    std::unique_ptr<Session> session_{};  // null when sending is suppressed
    std::size_t sent_in_session_ = 0;
};

/// Captures every message Mail sends (or would send, when suppressed) while it lives:
/// Flask-Mail's `with mail.record_messages() as outbox`. Must not outlive its Mail.
class Outbox {
public:
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;
    ~Outbox();

    std::vector<Message> messages() const;
    std::size_t size() const;

private:
    friend class Mail;
    explicit Outbox(Mail& mail);
    void add(const Message& msg);
    Mail& mail_;
    mutable std::mutex mutex_;
    std::vector<Message> messages_{};
};

/// Flask-Mail's Mail. Thread-safe: each send() opens its own connection.
class Mail {
public:
    explicit Mail(MailSettings settings = {});
    Mail(const Mail&) = delete;
    Mail& operator=(const Mail&) = delete;

    /// Flask-Mail's init_app: replaces the settings (validated).
    void init_app(MailSettings settings);
    const MailSettings& settings() const noexcept { return settings_; }

    /// Opens a connection, sends, quits. Throws BadHeaderError or MailError.
    Delivery send(const Message& msg);
    /// Opens one SMTP session for many messages (connects, STARTTLS, AUTH now).
    Connection connect();
    /// connect() whose network steps `token` can cut short (OutboxDrainer::stop()).
    Connection connect(const CancelToken& token);
    /// Starts recording; see Outbox.
    Outbox record_messages() { return Outbox(*this); }

private:
    friend class Connection;
    friend class Outbox;
    friend class AsyncSender;
    /// Fills in the default sender, Date and Message-ID and checks sender, recipients and
    /// headers. AsyncSender keeps the result, so every attempt has the same Message-ID.
    Message prepare(const Message& msg) const;
    /// send() whose network steps `watchdog` can cut short (AsyncSender's shutdown), to
    /// `envelope` when it is not empty (else to everyone in the message).
    Delivery send(const Message& msg, std::shared_ptr<detail::Watchdog> watchdog,
                  const std::vector<std::string>& envelope);
    void dispatched(const Message& msg);

    MailSettings settings_;
    std::mutex outboxes_mutex_{};
    std::vector<Outbox*> outboxes_;
};

}  // namespace common::mail

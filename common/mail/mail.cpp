#include "common/mail/mail.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DialogSocket.h>
#include <Poco/Net/MailStream.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace common::mail {

namespace {

std::string base64(const std::string& text) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder << text;
    encoder.close();
    return out.str();
}

std::string seconds(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

// The words after "250-AUTH" (or "250 AUTH=") in an EHLO reply, upper-cased.
std::vector<std::string> auth_mechanisms(const std::string& ehlo) {
    std::vector<std::string> mechanisms;
    std::istringstream lines(ehlo);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() < 9) continue;
        const std::string keyword = Poco::toUpper(line.substr(4, 5));
        if (keyword != "AUTH " && keyword != "AUTH=") continue;
        std::istringstream words(line.substr(9));
        std::string word;
        while (words >> word) mechanisms.push_back(Poco::toUpper(word));
    }
    return mechanisms;
}

bool has_extension(const std::string& ehlo, const std::string& name) {
    std::istringstream lines(ehlo);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() < 4) continue;
        std::string keyword = Poco::toUpper(Poco::trim(line.substr(4)));
        keyword = keyword.substr(0, keyword.find(' '));
        if (keyword == name) return true;
    }
    return false;
}

std::string local_hostname() {
    std::string name = Poco::Environment::nodeName();
    return name.empty() ? "localhost" : name;
}

// Poco's SMTPClientSession keeps its socket and the CRAM helpers protected; this subclass
// exposes the few pieces the session below drives by hand.
class SmtpClient : public Poco::Net::SMTPClientSession {
public:
    using SMTPClientSession::loginUsingCRAMMD5;
    using SMTPClientSession::SMTPClientSession;
    using SMTPClientSession::socket;
};

}  // namespace

bool MailError::temporary() const noexcept {
    switch (kind_) {
        case Kind::connection_refused:
        case Kind::connection_failed:
        case Kind::timeout:
        case Kind::temporary: return true;
        default: return smtp_code_ >= 400 && smtp_code_ < 500;
    }
}

// ---------------------------------------------------------------------------------------
// One SMTP session: connect, greeting, EHLO, STARTTLS, AUTH, then MAIL/RCPT/DATA per message.

struct Connection::Session {
    const MailSettings& settings;
    std::string where;  // "host:port" for messages
    std::unique_ptr<SmtpClient> client;
    std::string step;              // what we were doing, for error messages
    bool step_is_command = false;  // step names an SMTP command ("EHLO") rather than an activity
    std::string ehlo;
    std::string auth;
    bool tls = false;

    explicit Session(const MailSettings& s)
        : settings(s), where(s.server + ":" + std::to_string(s.port)) {}

    ~Session() { quit(); }

    void quit() noexcept {
        if (!client) return;
        try {
            std::string reply;
            client->socket().setReceiveTimeout(
                Poco::Timespan(0, 500'000));  // don't wait long for 221
            client->sendCommand("QUIT", reply);
        } catch (...) {
            // The message is already delivered; a server that hangs up first is fine.
        }
        try {
            client->socket().close();
        } catch (...) {}
        client.reset();
    }

    // Turns whatever Poco threw into a MailError that says what to check.
    [[noreturn]] void network_failure() const {
        const std::string during =
            " while " + (step_is_command ? "waiting for the answer to " + step : step);
        try {
            throw;
        } catch (const MailError&) {
            throw;
        } catch (const Poco::TimeoutException&) {
            throw MailError(
                MailError::Kind::timeout,
                "no answer from " + where + " within " + seconds(settings.timeout) +
                    " s (MAIL_TIMEOUT)" + during +
                    ". Check MAIL_SERVER and MAIL_PORT "
                    "(port 465 needs MAIL_USE_SSL, 587 needs MAIL_USE_TLS) and that the "
                    "server is up, or raise MAIL_TIMEOUT.");
        } catch (const Poco::Net::ConnectionRefusedException&) {
            throw MailError(MailError::Kind::connection_refused,
                            "connection to " + where +
                                " refused: no SMTP server listens there. Check "
                                "MAIL_SERVER and MAIL_PORT.");
        } catch (const Poco::Net::SSLException& e) {
            throw MailError(MailError::Kind::tls,
                            "TLS with " + where + " failed" + during + ": " + e.displayText() +
                                ". The certificate must be valid for '" + settings.server +
                                "' and signed by a trusted CA; for a private or self-signed CA set "
                                "MAIL_CA_FILE to its PEM file.");
        } catch (const Poco::Net::DNSException& e) {
            throw MailError(MailError::Kind::connection_failed,
                            "cannot resolve MAIL_SERVER '" + settings.server +
                                "': " + e.displayText() + ". Check the host name.");
        } catch (const Poco::Net::SMTPException& e) {
            reply_failure(e.code(), e.message(), e.displayText());
        } catch (const Poco::Exception& e) {
            throw MailError(MailError::Kind::connection_failed,
                            "connection to " + where + " failed" + during + ": " + e.displayText());
        } catch (const std::exception& e) {
            throw MailError(MailError::Kind::connection_failed,
                            "connection to " + where + " failed" + during + ": " + e.what());
        }
    }

    // A reply that is not the one expected.
    [[noreturn]] void reply_failure(int code, const std::string& reply,
                                    const std::string& detail = {}) const {
        const std::string said = where + " answered " + step + " with \"" +
                                 Poco::trim(detail.empty() ? reply : detail) + "\"";
        if (code == 535 || (step.rfind("AUTH", 0) == 0 && code >= 500))
            throw MailError(
                MailError::Kind::auth_failed,
                said + ": authentication failed. Check MAIL_USERNAME and MAIL_PASSWORD. QQ "
                       "Mail (and 163/126) want the authorization code (授权码) generated in "
                       "the mailbox settings, not the account password; Gmail wants an app "
                       "password (Google account → Security → App passwords).",
                code);
        if (code == 530 || code == 550 || code == 554) {
            const std::string lower = Poco::toLower(reply);
            if (lower.find("starttls") != std::string::npos)
                throw MailError(MailError::Kind::tls,
                                said +
                                    ": the server requires TLS. Set "
                                    "MAIL_USE_TLS=true (port 587) or MAIL_USE_SSL=true (port 465).",
                                code);
            if (lower.find("auth") != std::string::npos)
                throw MailError(MailError::Kind::auth_required,
                                said + ": the server requires "
                                       "authentication. Set MAIL_USERNAME and MAIL_PASSWORD.",
                                code);
        }
        if (step.rfind("RCPT", 0) == 0 && code >= 500)
            throw MailError(MailError::Kind::recipient_refused,
                            said + ": the recipient was refused. Check the address.", code);
        if (code >= 400 && code < 500)
            throw MailError(MailError::Kind::temporary,
                            said + ": a temporary failure; try again later.", code);
        throw MailError(MailError::Kind::rejected, said + ".", code);
    }

    std::string command(const std::string& cmd, int expected_class, const std::string& what) {
        step = what;
        step_is_command = true;
        std::string reply;
        int code = 0;
        try {
            code = client->sendCommand(cmd, reply);
        } catch (...) {
            network_failure();
        }
        if (code / 100 != expected_class) reply_failure(code, reply);
        return reply;
    }

    static Poco::Net::Context::Ptr tls_context(const MailSettings& s) {
        static std::once_flag once;
        std::call_once(once, [] { Poco::Net::initializeSSL(); });
        // VERIFY_STRICT also checks the host name for loopback servers (RELAXED skips it there);
        // the system CAs are loaded and MAIL_CA_FILE, when set, is trusted in addition.
        Poco::Net::Context::Ptr context = new Poco::Net::Context(
            Poco::Net::Context::TLS_CLIENT_USE, "", "", s.ca_file,
            Poco::Net::Context::VERIFY_STRICT, 9, true, "ALL:!ADH:!LOW:!EXP:!MD5:!aNULL:@STRENGTH");
        context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        // Never fall back to asking a console or accepting: a bad certificate fails the send.
        context->setInvalidCertificateHandler(new Poco::Net::RejectCertificateHandler(false));
        return context;
    }

    // ANCHOR: open
    void open() {
        const Poco::Timespan timeout(
            std::chrono::duration_cast<std::chrono::microseconds>(settings.timeout).count());
        Poco::Net::StreamSocket socket;
        try {
            step_is_command = false;
            step = "connecting";
            socket.connect(Poco::Net::SocketAddress(settings.server, settings.port), timeout);
            // Poco's SMTP session bounds receiving only; bound sending as well.
            socket.setReceiveTimeout(timeout);
            socket.setSendTimeout(timeout);
            if (settings.use_ssl) {  // port 465: TLS from the first byte
                step = "doing the TLS handshake (MAIL_USE_SSL)";
                socket = Poco::Net::SecureStreamSocket::attach(socket, settings.server,
                                                               tls_context(settings));
                tls = true;
            }
            client = std::make_unique<SmtpClient>(socket);
            client->setTimeout(timeout);
            step = "waiting for the greeting";
            client->open();
        } catch (...) {
            network_failure();
        }
        ehlo = command("EHLO " + local_hostname(), 2, "EHLO");
        if (settings.use_tls) {  // port 587: STARTTLS, and never go on without it
            if (!has_extension(ehlo, "STARTTLS"))
                throw MailError(
                    MailError::Kind::tls,
                    where + " does not offer STARTTLS, but MAIL_USE_TLS is true. Refusing to "
                            "send in clear text: check MAIL_PORT (587 for STARTTLS, 465 needs "
                            "MAIL_USE_SSL instead).");
            command("STARTTLS", 2, "STARTTLS");
            try {
                step_is_command = false;
                step = "doing the TLS handshake after STARTTLS";
                client->socket() = Poco::Net::SecureStreamSocket::attach(
                    client->socket(), settings.server, tls_context(settings));
                tls = true;
            } catch (...) {
                network_failure();
            }
            ehlo = command("EHLO " + local_hostname(), 2, "EHLO after STARTTLS");
        }
        if (!settings.username.empty()) authenticate();
    }
    // ANCHOR_END: open

    // Chooses the mechanism from the server's list, as Python's smtplib does: PLAIN first
    // inside TLS (one round trip), CRAM-MD5 first in clear text (no password on the wire).
    void authenticate() {
        const auto offered = auth_mechanisms(ehlo);
        const std::vector<std::string> preference =
            tls ? std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}
                : std::vector<std::string>{"CRAM-MD5", "PLAIN", "LOGIN"};
        auto chosen = std::find_first_of(preference.begin(), preference.end(), offered.begin(),
                                         offered.end());
        if (chosen == preference.end())
            throw MailError(
                MailError::Kind::auth_failed,
                where + " offers no AUTH mechanism we support (it offers: " +
                    (offered.empty()
                         ? std::string("none")
                         : Poco::cat(std::string(" "), offered.begin(), offered.end())) +
                    ")" +
                    (tls ? ""
                         : "; many servers offer AUTH only after STARTTLS: set MAIL_USE_TLS=true") +
                    ". Or leave MAIL_USERNAME unset if the server needs no login.");
        const std::string& user = settings.username;
        const std::string& pass = settings.password;
        if (*chosen == "PLAIN") {
            command("AUTH PLAIN " + base64(std::string(1, '\0') + user + '\0' + pass), 2,
                    "AUTH PLAIN");
        } else if (*chosen == "LOGIN") {
            // By hand: Poco's loginUsingLogin() expects the exact challenge "Username:" and
            // desynchronises with servers that word it otherwise (aiosmtpd: "User Name").
            command("AUTH LOGIN", 3, "AUTH LOGIN");
            command(base64(user), 3, "AUTH LOGIN (user name)");
            command(base64(pass), 2, "AUTH LOGIN (password)");
        } else {
            step = "AUTH CRAM-MD5";
            step_is_command = true;
            try {
                client->loginUsingCRAMMD5(user, pass);
            } catch (...) {
                network_failure();
            }
        }
        auth = *chosen;
    }

    std::string transmit(const std::string& from, const std::vector<std::string>& to,
                         const std::string& data) {
        try {
            command("MAIL FROM:<" + from + ">", 2, "MAIL FROM:<" + from + ">");
            for (const auto& r : to) command("RCPT TO:<" + r + ">", 2, "RCPT TO:<" + r + ">");
            command("DATA", 3, "DATA");
        } catch (const MailError& e) {
            // Nothing was sent; RSET leaves the session usable for the next message.
            if (e.smtp_code() != 0 && client) {
                std::string ignored;
                try {
                    client->sendCommand("RSET", ignored);
                } catch (...) {}
            }
            throw;
        }
        std::string reply;
        int code = 0;
        try {
            step_is_command = false;
            step = "sending the message data";
            Poco::Net::SocketOutputStream socket_stream(client->socket());
            Poco::Net::MailOutputStream mail_stream(socket_stream);  // dot-stuffing, final "."
            mail_stream << data;
            mail_stream.close();
            socket_stream.flush();
            step = "the end of the message data";
            step_is_command = true;
            code = client->socket().receiveStatusMessage(reply);
        } catch (...) {
            network_failure();
        }
        if (code / 100 != 2) reply_failure(code, reply);
        return reply;
    }
};

Connection::Connection(Mail& mail) : mail_(&mail) {
    if (mail.settings().suppress_send) return;
    session_ = std::make_unique<Session>(mail.settings());
    try {
        session_->open();
    } catch (...) {
        session_->client.reset();  // no QUIT on a half-open session
        throw;
    }
}

Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() { close(); }

void Connection::close() {
    if (session_) session_->quit();
}

bool Connection::tls() const noexcept { return session_ && session_->tls; }
bool Connection::authenticated() const noexcept { return session_ && !session_->auth.empty(); }
const std::string& Connection::auth_mechanism() const noexcept {
    static const std::string none;
    return session_ ? session_->auth : none;
}
const std::string& Connection::capabilities() const noexcept {
    static const std::string none;
    return session_ ? session_->ehlo : none;
}

// ANCHOR: connection_send
Delivery Connection::send(const Message& msg) {
    const Message m = mail_->prepare(msg);  // default sender, checks, before any I/O
    const std::string data = m.as_string();
    Delivery delivery;
    delivery.server = mail_->settings().server + ":" + std::to_string(mail_->settings().port);
    delivery.envelope_from = Address::parse(m.sender).email;
    delivery.envelope_to = m.send_to();
    if (!session_) {  // MAIL_SUPPRESS_SEND
        delivery.suppressed = true;
    } else {
        if (!session_->client) {  // closed after MAIL_MAX_EMAILS, or by an earlier failure
            session_->tls = false;
            session_->auth.clear();
            session_->open();
        }
        try {
            delivery.reply = session_->transmit(delivery.envelope_from, delivery.envelope_to, data);
        } catch (const MailError& e) {
            if (e.smtp_code() == 0) session_->client.reset();  // the connection is gone
            throw;
        }
        delivery.tls = session_->tls;
        delivery.auth = session_->auth;
    }
    delivery.data = data;
    mail_->dispatched(m);
    const auto max = mail_->settings().max_emails;
    if (session_ && max && ++sent_in_session_ >= *max) {
        sent_in_session_ = 0;
        session_->quit();  // reopened by the next send, as Flask-Mail does
    }
    return delivery;
}
// ANCHOR_END: connection_send

// ---------------------------------------------------------------------------------------

Outbox::Outbox(Mail& mail) : mail_(mail) {
    std::lock_guard lock(mail_.outboxes_mutex_);
    mail_.outboxes_.push_back(this);
}

Outbox::~Outbox() {
    std::lock_guard lock(mail_.outboxes_mutex_);
    std::erase(mail_.outboxes_, this);
}

void Outbox::add(const Message& msg) {
    std::lock_guard lock(mutex_);
    messages_.push_back(msg);
}

std::vector<Message> Outbox::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::size_t Outbox::size() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
}

Mail::Mail(MailSettings settings) : settings_(std::move(settings)) { settings_.validate(); }

void Mail::init_app(MailSettings settings) {
    settings.validate();
    settings_ = std::move(settings);
}

Message Mail::prepare(const Message& msg) const {
    Message m = msg;
    if (m.sender.empty()) m.sender = settings_.default_sender;
    if (m.sender.empty())
        throw MailError(MailError::Kind::no_sender,
                        "the message has no sender and MAIL_DEFAULT_SENDER is not set: give "
                        "Message a sender or set MAIL_DEFAULT_SENDER");
    if (m.recipients.empty() && m.cc.empty() && m.bcc.empty())
        throw MailError(
            MailError::Kind::no_recipients,
            "the message has no recipients: add at least one address to recipients, cc or bcc");
    m.check_headers();
    try {
        Address::parse(m.sender);
        (void)m.send_to();
    } catch (const std::invalid_argument& e) {
        throw MailError(MailError::Kind::rejected, e.what());
    }
    if (!m.date) m.date = std::chrono::system_clock::now();
    return m;
}

void Mail::dispatched(const Message& msg) {
    std::lock_guard lock(outboxes_mutex_);
    for (Outbox* outbox : outboxes_) outbox->add(msg);
}

Delivery Mail::send(const Message& msg) {
    (void)prepare(msg);  // fail on a bad message before connecting
    Connection connection = connect();
    return connection.send(msg);
}

Connection Mail::connect() { return Connection(*this); }

}  // namespace common::mail

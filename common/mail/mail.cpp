#include "common/mail/mail.hpp"

#include "common/mail/watchdog.hpp"

#include <Poco/Ascii.h>
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
#include <cerrno>
#include <csignal>
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

// What EHLO says we are. RFC 5321 §4.1.4 wants a fully qualified name, else an address
// literal; a bare host name ("vm") is refused by servers that check (Postfix's
// reject_non_fqdn_helo_hostname). smtplib does the same: its FQDN if it has a dot, else
// "[address]" (we take the address the connection really uses, without a DNS lookup).
std::string local_hostname(const Poco::Net::StreamSocket& socket) {
    const std::string name = Poco::Environment::nodeName();
    if (name.find('.') != std::string::npos) return name;
    try {
        const auto host = socket.address().host();
        if (host.family() != Poco::Net::IPAddress::IPv6) return "[" + host.toString() + "]";
        const std::string address = host.toString();  // without a zone ("%lo"): no literal has one
        return "[IPv6:" + address.substr(0, address.find('%')) + "]";
    } catch (const Poco::Exception&) {
        return "[127.0.0.1]";
    }
}

// Poco's SMTPClientSession keeps its socket and the CRAM helpers protected; this subclass
// exposes the few pieces the session below drives by hand.
class SmtpClient : public Poco::Net::SMTPClientSession {
public:
    using SMTPClientSession::loginUsingCRAMMD5;
    using SMTPClientSession::SMTPClientSession;
    using SMTPClientSession::socket;
};

// While a session talks, a peer that has hung up must give an error (EPIPE), not SIGPIPE,
// which would end the program: OpenSSL writes with plain send(). A library must not change
// the process-wide disposition, so this blocks SIGPIPE in the calling thread for the scope
// and swallows one raised meanwhile (the usual pthread_sigmask/sigtimedwait recipe).
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;
    ~SigpipeGuard() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            const timespec zero{0, 0};
            while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {}
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
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
// Every network step runs under the watchdog's deadline (MAIL_TIMEOUT; QUIT: quit_grace).

struct Connection::Session {
    using Clock = std::chrono::steady_clock;
    // QUIT is a courtesy: after a failure (or a delivery) it may not hold anything up.
    static constexpr std::chrono::milliseconds quit_grace{500};

    const MailSettings& settings;
    std::shared_ptr<detail::Watchdog> watchdog;
    std::string where;  // "host:port" for messages
    std::unique_ptr<SmtpClient> client;
    int fd = -1;                       // the socket the watchdog may cut
    std::string activity;              // what we were doing, for errors: "sending RCPT TO:<a@b>"
    std::string command_name;          // the command whose answer we read: "RCPT TO:<a@b>"
    std::chrono::milliseconds wait{};  // the current step's deadline
    std::string ehlo;
    std::string auth;
    bool tls = false;

    Session(const MailSettings& s, std::shared_ptr<detail::Watchdog> w)
        : settings(s), watchdog(w ? std::move(w) : std::make_shared<detail::Watchdog>()),
          where(s.server + ":" + std::to_string(s.port)) {}

    ~Session() { quit(); }

    // Starts a network step: its name for errors, and its deadline (MAIL_TIMEOUT unless said).
    void begin(std::string what, std::string command = {},
               std::chrono::milliseconds deadline = {}) {
        activity = std::move(what);
        command_name = std::move(command);
        wait = deadline.count() > 0 ? deadline : settings.timeout;
        if (fd >= 0) watchdog->arm(fd, Clock::now() + wait);
    }
    void end() { watchdog->disarm(); }

    // Sends QUIT, waits at most quit_grace for 221, closes. Never throws.
    void quit() noexcept {
        if (!client) return;
        SigpipeGuard no_sigpipe;
        try {
            watchdog->arm(fd, Clock::now() + quit_grace);
            const Poco::Timespan grace(std::chrono::microseconds(quit_grace).count());
            client->socket().setReceiveTimeout(grace);
            std::string reply;
            client->socket().sendMessage("QUIT");
            (void)read_reply(reply);
        } catch (...) {
            // A server that hangs up first is fine: nothing depends on its 221.
        }
        drop();
    }

    // Closes without QUIT: the connection is broken or timed out.
    void drop() noexcept {
        watchdog->disarm();  // before close(): the descriptor must not be cut once reused
        if (!client) return;
        SigpipeGuard no_sigpipe;
        try {
            client->socket().setSendTimeout(
                Poco::Timespan(std::chrono::microseconds(quit_grace).count()));
            client->socket().close();
        } catch (...) {}
        client.reset();  // Poco's destructor tries QUIT too; on the closed socket it fails at once
        fd = -1;
    }

    [[noreturn]] void timed_out() const {
        if (wait > settings.timeout)  // the answer to the final "."
            throw MailError(MailError::Kind::timeout,
                            "no answer from " + where + " within " + seconds(wait) + " s while " +
                                activity +
                                ". The server may have stored the message already: sending it "
                                "again can deliver it twice.");
        throw MailError(
            MailError::Kind::timeout,
            "no answer from " + where + " within " + seconds(settings.timeout) +
                " s (MAIL_TIMEOUT) while " + activity +
                ". Check MAIL_SERVER and MAIL_PORT (port 465 needs MAIL_USE_SSL, 587 "
                "needs MAIL_USE_TLS) and that the server is up, or raise MAIL_TIMEOUT.");
    }

    // The server closed or reset the connection: temporary, AsyncSender tries again.
    [[noreturn]] void lost(const std::string& how = "closed") const {
        if (!watchdog->cancelled().empty())
            throw MailError(MailError::Kind::temporary, "stopped while " + activity + " with " +
                                                            where + ": " + watchdog->cancelled());
        if (watchdog->expired()) timed_out();
        throw MailError(MailError::Kind::connection_failed,
                        "the connection was " + how + " by the server (" + where + ") while " +
                            activity + "; a temporary failure, try again later.");
    }

    // Turns whatever Poco threw into a MailError that says what to check.
    [[noreturn]] void network_failure() {
        watchdog->disarm();
        if (!watchdog->cancelled().empty() || watchdog->expired()) lost();
        const std::string during = " while " + activity;
        try {
            throw;
        } catch (const MailError&) {
            throw;
        } catch (const Poco::TimeoutException&) {
            timed_out();
        } catch (const Poco::Net::ConnectionRefusedException&) {
            throw MailError(MailError::Kind::connection_refused,
                            "connection to " + where +
                                " refused: no SMTP server listens there. Check "
                                "MAIL_SERVER and MAIL_PORT.");
        } catch (const Poco::Net::SSLConnectionUnexpectedlyClosedException&) {
            lost();
        } catch (const Poco::Net::SSLException& e) {
            // OpenSSL 3 reports a peer that hung up as "unexpected eof", not as Poco's
            // SSLConnectionUnexpectedlyClosedException: a broken connection, not a TLS fault.
            const std::string text = Poco::toLower(e.displayText());
            for (const char* hung_up : {"unexpected eof", "connection reset", "broken pipe"})
                if (text.find(hung_up) != std::string::npos) lost();
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
            if (e.code() == 0) lost();  // no status line at all: the server hung up
            reply_failure(e.code(), e.message(), e.displayText());
        } catch (const Poco::Net::ConnectionResetException&) {
            lost("reset");
        } catch (const Poco::Net::ConnectionAbortedException&) {
            lost("aborted");
        } catch (const Poco::Exception& e) {
            // Poco reports a write to a peer that hung up (EPIPE) as a plain I/O error.
            if (e.code() == EPIPE || e.code() == ECONNRESET ||
                Poco::toLower(e.displayText()).find("broken pipe") != std::string::npos)
                lost(e.code() == ECONNRESET ? "reset" : "closed");
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
        // Poco reads end of stream as status 0 with no text: the server hung up.
        if (code == 0 && Poco::trim(reply).empty()) lost();
        const std::string said = where + " answered " + command_name + " with \"" +
                                 Poco::trim(detail.empty() ? reply : detail) + "\"";
        if (code == 535 || (command_name.rfind("AUTH", 0) == 0 && code >= 500))
            throw MailError(
                MailError::Kind::auth_failed,
                said + ": authentication failed. Check MAIL_USERNAME and MAIL_PASSWORD. QQ "
                       "Mail (and 163/126) want the authorization code (授权码) generated in "
                       "the mailbox settings, not the account password; Gmail wants an app "
                       "password (Google account → Security → App passwords).",
                code);
        if (code == 530 || code == 550 || code == 554) {
            // The server's words without the addresses it quotes: "<author@example.com>: User
            // unknown" says nothing about authentication.
            std::string lower = Poco::toLower(reply);
            for (auto open = lower.find('<'); open != std::string::npos; open = lower.find('<')) {
                const auto close = lower.find('>', open);
                lower.erase(open, close == std::string::npos ? close : close - open + 1);
            }
            // Its words: "auth" and "authentication..." say it, "author" does not.
            bool auth_word = false;
            for (std::size_t i = 0; i < lower.size();) {
                std::size_t j = i;
                while (j < lower.size() && Poco::Ascii::isAlpha(lower[j])) ++j;
                const std::string_view word(lower.data() + i, j - i);
                if (word == "auth" || word.starts_with("authenticat")) auth_word = true;
                i = j + 1;
            }
            if (lower.find("starttls") != std::string::npos)
                throw MailError(MailError::Kind::tls,
                                said +
                                    ": the server requires TLS. Set "
                                    "MAIL_USE_TLS=true (port 587) or MAIL_USE_SSL=true (port 465).",
                                code);
            if (auth_word)
                throw MailError(MailError::Kind::auth_required,
                                said + ": the server requires "
                                       "authentication. Set MAIL_USERNAME and MAIL_PASSWORD.",
                                code);
        }
        if (command_name.rfind("RCPT", 0) == 0 && code >= 500)
            throw MailError(MailError::Kind::recipient_refused,
                            said + ": the recipient was refused. Check the address.", code);
        if (code >= 400 && code < 500)
            throw MailError(MailError::Kind::temporary,
                            said + ": a temporary failure; try again later.", code);
        throw MailError(MailError::Kind::rejected, said + ".", code);
    }

    // Reads one reply, all its lines ("250-...", "250 ..."); returns its code, or 0 with an
    // empty text when the server hung up. By hand because Poco's receiveStatusMessage, used by
    // SMTPClientSession, loops for ever (and grows its string) when the connection closes in
    // the middle of a multi-line reply.
    static constexpr std::size_t max_reply_size = 64 * 1024;
    int read_reply(std::string& reply) {
        reply.clear();
        for (;;) {
            std::string line;
            if (!client->socket().receiveMessage(line)) {
                reply.clear();  // hung up, even after some lines: no answer
                return 0;
            }
            if (!reply.empty()) reply += '\n';
            reply += line;
            // A real reply is a few lines (EHLO's capabilities: about a dozen); a server that
            // streams "250-..." for ever must not grow this string until the deadline.
            if (reply.size() > max_reply_size)
                throw MailError(MailError::Kind::rejected,
                                where + " sent a reply to " + command_name + " of more than " +
                                    std::to_string(max_reply_size / 1024) +
                                    " KiB; that is not an SMTP server answering");
            const bool numbered = line.size() >= 3 && Poco::Ascii::isDigit(line[0]) &&
                                  Poco::Ascii::isDigit(line[1]) && Poco::Ascii::isDigit(line[2]);
            if (!numbered) return 0;  // not SMTP: reply_failure quotes it
            if (line.size() == 3 || line[3] != '-') return std::stoi(line.substr(0, 3));
        }
    }

    // Sends one command and returns the server's code and text, whatever they are.
    std::pair<int, std::string> exchange(const std::string& cmd, const std::string& name) {
        begin("sending " + name, name);
        std::string reply;
        int code = 0;
        try {
            client->socket().sendMessage(cmd);
            code = read_reply(reply);
        } catch (...) {
            network_failure();
        }
        end();
        if (code == 0 && Poco::trim(reply).empty()) lost();
        return {code, reply};
    }

    std::string command(const std::string& cmd, int expected_class, const std::string& name) {
        auto [code, reply] = exchange(cmd, name);
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
        SigpipeGuard no_sigpipe;
        const Poco::Timespan timeout(
            std::chrono::duration_cast<std::chrono::microseconds>(settings.timeout).count());
        try {
            // Poco's connect() bounds itself by MAIL_TIMEOUT (the name lookup is the system's).
            begin("connecting");
            const Poco::Net::SocketAddress address(settings.server, settings.port);
            Poco::Net::StreamSocket socket(address.family());
            socket.connect(address, timeout);
            fd = socket.impl()->sockfd();
            // Belt and braces under the watchdog: no single read or write waits longer either.
            socket.setReceiveTimeout(timeout);
            socket.setSendTimeout(timeout);
            if (settings.use_ssl) {  // port 465: TLS from the first byte
                begin("doing the TLS handshake (MAIL_USE_SSL)");
                socket = Poco::Net::SecureStreamSocket::attach(socket, settings.server,
                                                               tls_context(settings));
                tls = true;
            }
            client = std::make_unique<SmtpClient>(socket);
            client->setTimeout(timeout);
            begin("waiting for the greeting", "the connection (greeting)");
            std::string greeting;
            const int code = read_reply(greeting);
            end();
            if (code / 100 != 2) reply_failure(code, greeting);
        } catch (...) {
            network_failure();
        }
        try {
            ehlo = command("EHLO " + local_hostname(client->socket()), 2, "EHLO");
        } catch (const MailError& e) {
            // A server without ESMTP answers EHLO 500/502; smtplib then says HELO, and so do
            // we, unless STARTTLS or AUTH is needed: those exist only in ESMTP.
            if (e.smtp_code() != 500 && e.smtp_code() != 502) throw;
            if (settings.use_tls || !settings.username.empty())
                throw MailError(MailError::Kind::rejected,
                                std::string(e.what()) +
                                    " The server does not speak ESMTP, so it "
                                    "offers no STARTTLS or AUTH: MAIL_USE_TLS and MAIL_USERNAME "
                                    "cannot work with it.",
                                e.smtp_code());
            command("HELO " + local_hostname(client->socket()), 2, "HELO");
            ehlo.clear();  // no extensions
        }
        if (settings.use_tls) {  // port 587: STARTTLS, and never go on without it
            if (!has_extension(ehlo, "STARTTLS"))
                throw MailError(
                    MailError::Kind::tls,
                    where + " does not offer STARTTLS, but MAIL_USE_TLS is true. Refusing to "
                            "send in clear text: check MAIL_PORT (587 for STARTTLS, 465 needs "
                            "MAIL_USE_SSL instead).");
            command("STARTTLS", 2, "STARTTLS");
            try {
                begin("doing the TLS handshake after STARTTLS");
                client->socket() = Poco::Net::SecureStreamSocket::attach(
                    client->socket(), settings.server, tls_context(settings));
                end();
                tls = true;
            } catch (...) {
                network_failure();
            }
            ehlo = command("EHLO " + local_hostname(client->socket()), 2, "EHLO after STARTTLS");
        }
        if (!settings.username.empty()) authenticate();
    }
    // ANCHOR_END: open

    // Chooses the mechanism from the server's list, as Python's smtplib does (it always
    // prefers CRAM-MD5, then PLAIN, then LOGIN). Here PLAIN comes first inside TLS (one round
    // trip, the password already encrypted), CRAM-MD5 first in clear text (no password on
    // the wire).
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
            SigpipeGuard no_sigpipe;
            // Poco's exchange: its reply reader is the one read_reply() replaces, so a server
            // hanging up in a multi-line reply here would still spin (CRAM-MD5 is chosen first
            // in clear text, and inside TLS only when a server offers nothing else).
            begin("sending AUTH CRAM-MD5", "AUTH CRAM-MD5");
            try {
                client->loginUsingCRAMMD5(user, pass);
            } catch (...) {
                network_failure();
            }
            end();
        }
        auth = *chosen;
    }

    // No recipient accepted: one refusal keeps its own explanation, several are listed.
    [[noreturn]] void all_refused(const std::vector<RefusedRecipient>& refused) {
        if (refused.size() == 1) {
            command_name = "RCPT TO:<" + refused.front().email + ">";
            reply_failure(refused.front().code, refused.front().reply);
        }
        std::string list;
        int temporary_code = 0;  // the first 4xx: the code goes with the kind
        for (const auto& r : refused) {
            list += (list.empty() ? "" : ", ") + r.email + " (" + r.reply + ")";
            if (temporary_code == 0 && r.code >= 400 && r.code < 500) temporary_code = r.code;
        }
        throw MailError(temporary_code ? MailError::Kind::temporary
                                       : MailError::Kind::recipient_refused,
                        where + " refused every recipient: " + list + ". Check the addresses.",
                        temporary_code ? temporary_code : refused.front().code);
    }

    // ANCHOR: transmit
    // MAIL, RCPT for each address (smtplib's rule: go on when at least one is accepted and
    // report the others), DATA, then the message in writes each bounded by MAIL_TIMEOUT.
    std::string transmit(const std::string& from, const std::vector<std::string>& to,
                         const std::string& data, std::vector<RefusedRecipient>& refused) {
        SigpipeGuard no_sigpipe;
        try {
            command("MAIL FROM:<" + from + ">", 2, "MAIL FROM:<" + from + ">");
            std::size_t accepted = 0;
            for (const auto& r : to) {
                const std::string name = "RCPT TO:<" + r + ">";
                const auto [code, reply] = exchange(name, name);
                if (code / 100 == 2) {
                    ++accepted;
                } else if (code >= 400 && code < 600) {
                    refused.push_back({r, code, Poco::trim(reply)});
                } else {
                    reply_failure(code, reply);
                }
            }
            if (accepted == 0) all_refused(refused);
            command("DATA", 3, "DATA");
        } catch (const MailError& e) {
            // Nothing was sent; RSET leaves the session usable for the next message.
            if (e.smtp_code() != 0 && client) {
                try {
                    exchange("RSET", "RSET");
                } catch (...) {}
            }
            throw;
        }
        std::ostringstream stuffed;
        {
            Poco::Net::MailOutputStream mail_stream(stuffed);  // dot-stuffing, final "."
            mail_stream << data;
            mail_stream.close();
        }
        const std::string wire = stuffed.str();
        constexpr std::size_t chunk = 64 * 1024;
        std::string reply;
        int code = 0;
        try {
            for (std::size_t sent = 0; sent < wire.size();) {
                begin("sending the message data");
                const int n = client->socket().sendBytes(
                    wire.data() + sent, static_cast<int>(std::min(chunk, wire.size() - sent)));
                if (n <= 0) lost();
                sent += static_cast<std::size_t>(n);
            }
            // A server may take a while here (virus scan, a slow disk) with the message
            // already in its queue: wait as long as RFC 5321 asks, not just MAIL_TIMEOUT.
            const auto data_done = std::max(settings.timeout, settings.data_done_timeout);
            client->socket().setReceiveTimeout(
                Poco::Timespan(std::chrono::microseconds(data_done).count()));
            begin("waiting for the answer to the final \".\" of the message data",
                  "the end of the message data", data_done);
            code = read_reply(reply);
            end();
            client->socket().setReceiveTimeout(
                Poco::Timespan(std::chrono::microseconds(settings.timeout).count()));
        } catch (...) {
            network_failure();
        }
        if (code / 100 != 2) reply_failure(code, reply);
        return reply;
    }
    // ANCHOR_END: transmit
};

Connection::Connection(Mail& mail, std::shared_ptr<detail::Watchdog> watchdog) : mail_(&mail) {
    if (mail.settings().suppress_send) return;
    session_ = std::make_unique<Session>(mail.settings(), std::move(watchdog));
    open_session();
}

void Connection::open_session() {
    session_->tls = false;
    session_->auth.clear();
    try {
        session_->open();
    } catch (const MailError& e) {
        // A refusal (535, 530) gets a polite QUIT; a broken connection is just closed. Either
        // way the half-open session (no TLS or no AUTH yet) is gone: a later send() must open
        // a new one, never carry a message over it.
        if (e.smtp_code() != 0) {
            session_->quit();
        } else {
            session_->drop();
        }
        throw;
    } catch (...) {
        session_->drop();
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
Delivery Connection::send(const Message& msg) { return send(msg, {}); }

Delivery Connection::send(const Message& msg, const std::vector<std::string>& envelope) {
    const Message m = mail_->prepare(msg);  // default sender, checks, before any I/O
    const std::string data = m.as_string();
    Delivery delivery;
    delivery.server = mail_->settings().server + ":" + std::to_string(mail_->settings().port);
    delivery.envelope_from = Address::parse(m.sender).email;
    for (const auto& to : envelope)  // written into RCPT TO:<...> as they are
        if (to.empty() || to.find_first_of("\r\n<>") != std::string::npos)
            throw BadHeaderError("the envelope address '" + to +
                                 "' is empty or has a line break or an angle bracket");
    delivery.envelope_to = envelope.empty() ? m.send_to() : envelope;
    if (!session_) {  // MAIL_SUPPRESS_SEND
        delivery.suppressed = true;
    } else {
        if (!session_->client) open_session();  // closed after MAIL_MAX_EMAILS, or a failure
        try {
            delivery.reply = session_->transmit(delivery.envelope_from, delivery.envelope_to, data,
                                                delivery.refused);
        } catch (const MailError& e) {
            if (e.smtp_code() == 0) session_->drop();  // the connection is gone
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
    if (m.message_id.empty()) m.message_id = make_msgid();
    return m;
}

void Mail::dispatched(const Message& msg) {
    std::lock_guard lock(outboxes_mutex_);
    for (Outbox* outbox : outboxes_) outbox->add(msg);
}

Delivery Mail::send(const Message& msg) { return send(msg, nullptr, {}); }

Delivery Mail::send(const Message& msg, std::shared_ptr<detail::Watchdog> watchdog,
                    const std::vector<std::string>& envelope) {
    (void)prepare(msg);  // fail on a bad message before connecting
    Connection connection(*this, std::move(watchdog));
    return connection.send(msg, envelope);
}

Connection Mail::connect() { return Connection(*this, nullptr); }

Connection Mail::connect(const CancelToken& token) { return Connection(*this, token.watchdog_); }

CancelToken::CancelToken() : watchdog_(std::make_shared<detail::Watchdog>()) {}

void CancelToken::cancel(const std::string& why) { watchdog_->cancel(why); }

}  // namespace common::mail

#include "common/mail/capture_server.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DialogSocket.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace common::mail {

namespace {

std::string base64_decode(const std::string& text) {
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    std::string out;
    char c;
    while (decoder.get(c)) out += c;
    return out;
}

// "addr" out of "FROM:<addr> SIZE=123", or out of "FROM:addr" as aiosmtpd takes it from
// clients that leave out the brackets; empty when malformed.
std::string path_argument(const std::string& arg) {
    const auto colon = arg.find(':');
    if (colon == std::string::npos) return {};
    const std::string path = Poco::trim(arg.substr(colon + 1));
    if (!path.starts_with('<')) return path.substr(0, path.find(' '));
    const auto close = path.find('>');
    if (close == std::string::npos) return {};
    return path.substr(1, close - 1);
}

Poco::Timespan timespan(std::chrono::milliseconds ms) {
    return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(ms).count());
}

}  // namespace

namespace detail {

struct CaptureState {
    CaptureOptions options;
    Poco::Net::Context::Ptr tls_context;

    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::vector<CapturedMessage> messages;
    int sessions = 0;
    int data_attempts = 0;
    bool stopping = false;
    std::map<int, Poco::Net::StreamSocket> open_sockets;

    // The server parts; the pool outlives the TCPServer that runs on it.
    std::unique_ptr<Poco::ThreadPool> pool;
    std::unique_ptr<Poco::Net::TCPServer> server;
    std::uint16_t port = 0;

    // Returns the session number, or 0 when stopping (the connection should end at once).
    int open_session(const Poco::Net::StreamSocket& socket) {
        std::lock_guard lock(mutex);
        if (stopping) return 0;
        const int id = ++sessions;
        open_sockets.emplace(id, socket);
        return id;
    }

    void close_session(int id) {
        std::lock_guard lock(mutex);
        open_sockets.erase(id);
    }

    std::map<std::string, int> deferred;  // RCPT TO answered 452, per address

    // Whether RCPT TO `to` is told to try later (deferred_recipients, the first N times).
    bool defer(const std::string& to) {
        std::lock_guard lock(mutex);
        const auto& d = options.deferred_recipients;
        return std::find(d.begin(), d.end(), to) != d.end() && ++deferred[to] <= options.deferrals;
    }

    // Decides the fate of a complete message: false → answer 451 (temporary failure).
    bool accept_data() {
        std::lock_guard lock(mutex);
        return ++data_attempts > options.temporary_failures;
    }

    std::size_t store(CapturedMessage msg) {
        std::lock_guard lock(mutex);
        const std::size_t number = messages.size() + 1;
        if (!options.directory.empty()) {
            char name[32];
            std::snprintf(name, sizeof name, "%04zu.eml", number);
            msg.file = options.directory / name;
            std::ofstream out(msg.file, std::ios::binary);
            out << msg.data;
        }
        messages.push_back(std::move(msg));
        arrived.notify_all();
        return number;
    }
};

}  // namespace detail

namespace {

// DialogSocket keeps receiveLine() protected; DATA lines may exceed its 1024-byte
// receiveMessage() limit, so expose it.
class LineSocket : public Poco::Net::DialogSocket {
public:
    using DialogSocket::DialogSocket;
    using DialogSocket::operator=;
    using DialogSocket::receiveLine;
};

// One client, one thread: the SMTP dialogue of RFC 5321 §4, as much as tests need.
class SmtpConnection : public Poco::Net::TCPServerConnection {
public:
    SmtpConnection(const Poco::Net::StreamSocket& socket,
                   std::shared_ptr<detail::CaptureState> state)
        : TCPServerConnection(socket), state_(std::move(state)) {}

    void run() override {
        const int id = state_->open_session(socket());
        if (id == 0) return;
        try {
            socket().setReceiveTimeout(timespan(state_->options.idle_timeout));
            socket().setSendTimeout(timespan(state_->options.idle_timeout));
            if (state_->options.silent) {
                wait_until_closed();
            } else {
                session_ = id;
                dialogue();
            }
        } catch (const Poco::Exception&) {
            // The client went away or timed out; nothing to report to anyone.
        } catch (const std::exception&) {}
        state_->close_session(id);
        // Closed here, by the thread that read from it. Left to the last reference, the
        // descriptor is closed by whichever thread drops it, often Poco's acceptor: safe, as
        // Poco counts references atomically, but that count is in the uninstrumented Poco
        // library, so ThreadSanitizer sees a close() racing our reads (tests/fuzz/README.md).
        try {
            socket().close();
        } catch (...) {}
    }

private:
    void wait_until_closed() {
        char buffer[512];
        while (socket().receiveBytes(buffer, sizeof buffer) > 0) {}
    }

    void reply(const std::string& text) { io_.sendMessage(text); }

    void reset_transaction() {
        from_.clear();
        from_given_ = false;
        rcpt_.clear();
    }

    void dialogue() {
        const auto& o = state_->options;
        reply("220 " + o.hostname + " ESMTP CaptureServer ready");
        std::string line;
        while (io_.receiveMessage(line)) {
            const auto space = line.find(' ');
            const std::string verb = Poco::toUpper(line.substr(0, space));
            const std::string arg =
                space == std::string::npos ? "" : Poco::trim(line.substr(space + 1));
            if (verb == "EHLO" || verb == "HELO") {
                reset_transaction();
                greeted_ = true;
                if (verb == "HELO") {
                    reply("250 " + o.hostname);
                    continue;
                }
                std::string r =
                    "250-" + o.hostname + " greets " + (arg.empty() ? "you" : arg) + "\r\n";
                r += "250-SIZE " + std::to_string(o.max_size) + "\r\n250-8BITMIME\r\n";
                if (state_->tls_context && !tls_) r += "250-STARTTLS\r\n";
                if (!o.username.empty() && (tls_ || !o.require_tls))
                    r += "250-AUTH PLAIN LOGIN\r\n";
                r += "250 HELP";
                reply(r);
            } else if (verb == "STARTTLS") {
                if (!state_->tls_context) {
                    reply("502 5.5.1 STARTTLS not available");
                    continue;
                }
                if (tls_) {
                    reply("503 5.5.1 TLS already active");
                    continue;
                }
                reply("220 2.0.0 Ready to start TLS");
                io_ = Poco::Net::SecureStreamSocket::attach(io_, state_->tls_context);
                tls_ = true;
                greeted_ = false;  // RFC 3207 §4.2: the client starts over with EHLO
                reset_transaction();
            } else if (verb == "AUTH") {
                auth(arg);
            } else if (verb == "MAIL") {
                // The session's order, as aiosmtpd keeps it: a client that skips a step has a
                // bug a test should see.
                if (!greeted_) {
                    reply("503 5.5.1 Error: send HELO first");
                    continue;
                }
                if (from_given_) {  // a second MAIL would silently drop the recipients given
                    reply("503 5.5.1 Error: nested MAIL command");
                    continue;
                }
                if (o.require_tls && !tls_) {
                    reply("530 5.7.0 Must issue a STARTTLS command first");
                    continue;
                }
                if (!o.username.empty() && user_.empty()) {
                    reply("530 5.7.0 Authentication required");
                    continue;
                }
                if (Poco::toUpper(arg.substr(0, 5)) != "FROM:") {
                    reply("501 5.5.4 Syntax: MAIL FROM:<address>");
                    continue;
                }
                const auto size_at = Poco::toUpper(arg).find("SIZE=");
                if (size_at != std::string::npos) {
                    Poco::UInt64 size = 0;
                    Poco::NumberParser::tryParseUnsigned64(
                        arg.substr(size_at + 5, arg.find(' ', size_at) - size_at - 5), size);
                    if (size > o.max_size) {
                        reply("552 5.3.4 Message size exceeds fixed maximum message size");
                        continue;
                    }
                }
                reset_transaction();
                from_ = path_argument(arg);
                from_given_ = true;
                reply("250 2.1.0 OK");
            } else if (verb == "RCPT") {
                if (!from_given_) {
                    reply("503 5.5.1 Error: need MAIL command");
                    continue;
                }
                const std::string to = path_argument(arg);
                if (Poco::toUpper(arg.substr(0, 3)) != "TO:" || to.empty()) {
                    reply("501 5.5.4 Syntax: RCPT TO:<address>");
                    continue;
                }
                if (std::find(o.refused_recipients.begin(), o.refused_recipients.end(), to) !=
                    o.refused_recipients.end()) {
                    reply("550 5.1.1 <" + to + ">: Recipient address rejected: User unknown");
                    continue;
                }
                if (state_->defer(to)) {
                    reply("452 4.2.2 <" + to + ">: Mailbox full, try again later");
                    continue;
                }
                rcpt_.push_back(to);
                reply("250 2.1.5 OK");
            } else if (verb == "DATA") {
                if (!arg.empty()) {  // "DATA foo" would take the next commands as the message
                    reply("501 5.5.4 Syntax: DATA");
                    continue;
                }
                if (rcpt_.empty()) {
                    reply("503 5.5.1 Error: need RCPT command");
                    continue;
                }
                data();
            } else if (verb == "RSET") {
                reset_transaction();
                reply("250 2.0.0 OK");
            } else if (verb == "NOOP") {
                reply("250 2.0.0 OK");
            } else if (verb == "VRFY") {
                reply("252 2.0.0 Cannot VRFY user, but will accept message");
            } else if (verb == "HELP") {
                reply("214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY "
                      "QUIT");
            } else if (verb == "QUIT") {
                reply("221 2.0.0 Bye");
                break;
            } else {
                reply("500 5.5.2 Command not recognized");
            }
        }
    }

    void auth(const std::string& arg) {
        const auto& o = state_->options;
        if (o.username.empty()) {
            reply("502 5.5.1 AUTH not available");
            return;
        }
        if (o.require_tls && !tls_) {
            reply("530 5.7.0 Must issue a STARTTLS command first");
            return;
        }
        if (!user_.empty()) {
            reply("503 5.5.1 Already authenticated");
            return;
        }
        const auto space = arg.find(' ');
        const std::string mechanism = Poco::toUpper(arg.substr(0, space));
        std::string initial = space == std::string::npos ? "" : Poco::trim(arg.substr(space + 1));
        std::string user, pass;
        if (mechanism == "PLAIN") {
            if (initial.empty()) {
                reply("334 ");
                if (!io_.receiveMessage(initial)) return;
            }
            const std::string decoded = base64_decode(initial);  // authzid \0 user \0 password
            const auto first = decoded.find('\0');
            const auto second = first == std::string::npos ? first : decoded.find('\0', first + 1);
            if (second == std::string::npos) {
                reply("501 5.5.2 Cannot decode AUTH PLAIN response");
                return;
            }
            user = decoded.substr(first + 1, second - first - 1);
            pass = decoded.substr(second + 1);
        } else if (mechanism == "LOGIN") {
            if (initial.empty()) {
                reply("334 VXNlcm5hbWU6");  // "Username:"
                if (!io_.receiveMessage(initial)) return;
            }
            user = base64_decode(initial);
            reply("334 UGFzc3dvcmQ6");  // "Password:"
            std::string answer;
            if (!io_.receiveMessage(answer)) return;
            pass = base64_decode(answer);
        } else {
            reply("504 5.5.4 Unrecognized authentication type");
            return;
        }
        if (user == o.username && pass == o.password) {
            user_ = user;
            reply("235 2.7.0 Authentication successful");
        } else {
            reply("535 5.7.8 Authentication credentials invalid");
        }
    }

    void data() {
        const auto& o = state_->options;
        reply("354 End data with <CR><LF>.<CR><LF>");
        // Byte by byte from the DialogSocket (its buffer may already hold the first lines, so
        // Poco's MailInputStream on the raw socket could not take over here). Hand-written
        // rather than receiveLine(): that ends a line at a lone CR or LF too, which rewrote
        // such bytes to CRLF and let "\n.\n" end the data early, the rest of it then running
        // as commands (a second, forged message); and it has no limit, so one endless line
        // grew without bound. Here only CRLF ends a line, as aiosmtpd reads it, and nothing
        // past max_size is kept.
        std::string content;
        bool too_big = false;
        std::string line;
        bool continued = false;  // `line` is the tail of a line already too long to keep
        // RFC 5321 §4.5.3.1.6: at most 1000 bytes a line, CRLF included. aiosmtpd refuses a
        // longer one, so a client that forgets to fold or encode is caught here too.
        bool too_long = false;
        for (;;) {
            const int c = io_.get();
            if (c < 0)  // DialogSocket::EOF_CHAR, which is private
                throw Poco::IOException("connection closed during DATA");
            line += static_cast<char>(c);
            const bool ended = line.size() >= 2 && line.ends_with("\r\n");
            if (!ended) {
                // No line this long can be kept (not max_size + 2: that overflows at SIZE_MAX).
                if (line.size() > 2 && line.size() - 2 > o.max_size) {
                    too_big = true;
                    content = std::string();
                    line.erase(0, line.size() - 1);  // the last byte may be a CR
                    continued = true;
                }
                continue;
            }
            if (!continued && line == ".\r\n") break;
            too_long = too_long || continued || line.size() > 1000;
            const std::size_t stuffed = !continued && line.front() == '.' ? 1 : 0;
            if (!too_big) content.append(line, stuffed);
            if (content.size() > o.max_size) {
                too_big = true;
                content = std::string();
            }
            line.clear();
            continued = false;
        }
        if (too_big) {
            reply("552 5.3.4 Message too big for system");
        } else if (too_long) {
            reply("500 5.5.2 Line too long (see RFC5321 4.5.3.1.6)");
        } else if (!state_->accept_data()) {
            reply("451 4.3.0 Temporary failure, please try again later");
        } else {
            CapturedMessage msg{from_, rcpt_, std::move(content), {}, tls_, user_, session_};
            const std::size_t number = state_->store(std::move(msg));
            // A slow server (a disk, a virus scan): the message is stored, the answer waits.
            if (o.data_reply_delay.count() > 0) std::this_thread::sleep_for(o.data_reply_delay);
            reply("250 2.0.0 OK: queued as " + std::to_string(number));
        }
        reset_transaction();
    }

    std::shared_ptr<detail::CaptureState> state_;
    LineSocket io_{socket()};
    int session_ = 0;
    bool tls_ = false;
    std::string user_;
    std::string from_;
    bool from_given_ = false;
    bool greeted_ = false;
    std::vector<std::string> rcpt_;
};

class SmtpConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit SmtpConnectionFactory(std::shared_ptr<detail::CaptureState> state)
        : state_(std::move(state)) {}
    Poco::Net::TCPServerConnection*
    createConnection(const Poco::Net::StreamSocket& socket) override {
        return new SmtpConnection(socket, state_);
    }

private:
    std::shared_ptr<detail::CaptureState> state_;
};

}  // namespace

CaptureServer::CaptureServer(CaptureOptions options)
    : state_(std::make_shared<detail::CaptureState>()) {
    state_->options = std::move(options);
    auto& o = state_->options;
    if (!o.directory.empty()) std::filesystem::create_directories(o.directory);
    if (!o.cert_file.empty() || !o.key_file.empty()) {
        if (o.cert_file.empty() || o.key_file.empty())
            throw std::runtime_error("CaptureServer: STARTTLS needs both cert_file and key_file");
        static std::once_flag once;
        std::call_once(once, [] { Poco::Net::initializeSSL(); });
        try {
            state_->tls_context =
                new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, o.key_file.string(),
                                       o.cert_file.string(), "", Poco::Net::Context::VERIFY_NONE, 9,
                                       false, "ALL:!ADH:!LOW:!EXP:!MD5:!aNULL:@STRENGTH");
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("CaptureServer: cannot load certificate '" +
                                     o.cert_file.string() + "' / key '" + o.key_file.string() +
                                     "': " + e.displayText());
        }
    }
    try {
        Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", o.port));
        state_->port = listener.address().port();
        // One thread per client: 64, so that a test's idle or slow clients (a pool of bulk
        // connections, a client that never sends QUIT) do not keep the next one waiting.
        state_->pool = std::make_unique<Poco::ThreadPool>(1, 64);
        auto* params = new Poco::Net::TCPServerParams;
        params->setMaxThreads(64);
        state_->server = std::make_unique<Poco::Net::TCPServer>(new SmtpConnectionFactory(state_),
                                                                *state_->pool, listener, params);
        state_->server->start();
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("CaptureServer: cannot listen on 127.0.0.1:" +
                                 std::to_string(o.port) + ": " + e.displayText());
    }
}

CaptureServer::~CaptureServer() { stop(); }

void CaptureServer::stop() {
    if (!state_->server) return;
    state_->server->stop();
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
        for (auto& [id, socket] : state_->open_sockets) {
            try {
                socket.shutdown();
            } catch (...) {}  // wakes the blocked reader
        }
    }
    state_->pool->joinAll();
    state_->server.reset();
    state_->pool.reset();
}

std::uint16_t CaptureServer::port() const { return state_->port; }

std::string CaptureServer::address() const { return "127.0.0.1:" + std::to_string(state_->port); }

std::vector<CapturedMessage> CaptureServer::messages() const {
    std::lock_guard lock(state_->mutex);
    return state_->messages;
}

int CaptureServer::sessions() const {
    std::lock_guard lock(state_->mutex);
    return state_->sessions;
}

bool CaptureServer::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(state_->mutex);
    return state_->arrived.wait_for(lock, timeout,
                                    [&] { return state_->messages.size() >= count; });
}

}  // namespace common::mail

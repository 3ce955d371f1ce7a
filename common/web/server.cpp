#include "common/web/server.hpp"

#include "common/web/app.hpp"

#include "common/web/http1.hpp"

#include <Poco/NObserver.h>
#include <Poco/Net/ParallelSocketReactor.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketNotification.h>
#include <Poco/Net/SocketReactor.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Thread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <iostream>
#include <mutex>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

namespace common::web {

namespace {

/// One line per request without making request threads wait for the terminal: lines are
/// appended to a buffer under a short lock, and a background thread writes the buffer out
/// (the lock is never held during I/O).
class AccessLog {
public:
    explicit AccessLog(std::ostream* out) : out_(out) {
        if (out_) writer_ = std::thread([this] { run(); });
    }
    ~AccessLog() {
        if (!out_) return;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        writer_.join();
    }
    bool enabled() const { return out_ != nullptr; }
    void write(std::string line) {
        bool big = false;
        {
            std::lock_guard lock(mutex_);
            buffer_ += line;
            big = buffer_.size() > 64 * 1024;
        }
        if (big) wake_.notify_one();
    }

private:
    void run() {
        std::string batch;
        std::unique_lock lock(mutex_);
        while (true) {
            wake_.wait_for(lock, std::chrono::milliseconds(200));
            batch.swap(buffer_);
            const bool stop = stopping_;
            lock.unlock();
            if (!batch.empty()) {
                out_->write(batch.data(), static_cast<std::streamsize>(batch.size()));
                out_->flush();
                batch.clear();
            }
            lock.lock();
            if (stop && buffer_.empty()) return;
        }
    }
    std::ostream* out_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string buffer_;
    bool stopping_ = false;
    std::thread writer_;
};

/// Werkzeug's "[13/Jul/2024 10:00:00]".
const std::string& log_time() {
    return once_a_second([](std::time_t now) {
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%d/%b/%Y %H:%M:%S", &tm);
        return std::string(buf);
    });
}

using Clock = std::chrono::steady_clock;

class Connection;

/// What every connection of one server shares.
struct Shared {
    Shared(App& a, AccessLog& l, FramingLimits fl, Clock::duration ka, Clock::duration rt,
           std::size_t mc)
        : app(a), log(l), limits(fl), keep_alive(ka), request_timeout(rt), max_connections(mc) {}
    App& app;
    AccessLog& log;
    FramingLimits limits;
    Clock::duration keep_alive;
    Clock::duration request_timeout;
    std::size_t max_connections;
    std::atomic<bool> stopping{false};
    std::mutex mutex;                 ///< guards `open` and `sweeping`; never held during a request
    std::condition_variable emptied;  ///< the last connection closed
    std::condition_variable wake_sweeper;
    std::unordered_set<Connection*> open;
    bool sweeping = true;
};

/// One client connection, driven by the events of the loop (SocketReactor) it lives on.
///
/// Requests are answered on the loop's thread, one at a time per connection, in order
/// (pipelined requests queue in the buffer). While a response cannot be written in full,
/// the connection stops reading: a client that does not read its answers cannot make the
/// server buffer more. The sweeper thread closes connections that idle or stall (see
/// sweep()); the connection deletes itself when it closes.
class Connection {
public:
    enum State : int { idle, receiving, handling, writing, lingering, closing };

    Connection(const Poco::Net::StreamSocket& socket, Poco::Net::SocketReactor& loop,
               Shared& shared)
        : socket_(socket), loop_(loop), shared_(shared) {
        socket_.setBlocking(false);
        socket_.setNoDelay(true);
        remote_addr_ = socket_.peerAddress().host().toString();
        touch();
        {
            std::lock_guard lock(shared_.mutex);
            shared_.open.insert(this);
        }
        // Last: from here on the loop's thread may call us, and may even have closed (and
        // deleted) the connection before the next line, so no member is touched after it.
        loop.addEventHandler(socket_, readable());
        loop.wakeUp();  // a loop without connections sleeps; have it poll this one now
    }

    ~Connection() {
        bool last = false;
        {
            std::lock_guard lock(shared_.mutex);
            shared_.open.erase(this);
            last = shared_.open.empty();
        }
        if (last) shared_.emptied.notify_all();
        try {
            if (!abandoned_) {
                if (waiting_writable_)
                    loop_.removeEventHandler(socket_, writable());
                else
                    loop_.removeEventHandler(socket_, readable());
            }
            socket_.close();
        } catch (...) {}
    }

    /// Called by the sweeper, with shared.mutex held: closes the connection when it idles
    /// past the keep-alive timeout, sends or reads a request too slowly (slowloris), or the
    /// server is stopping and it has no request in hand. shutdown() wakes the loop, which
    /// then sees end-of-file and deletes the connection on its own thread.
    void sweep(Clock::time_point now) {
        int state = state_.load();
        const auto age = now - Clock::time_point(Clock::duration(since_.load()));
        bool expired = false;
        switch (state) {
            case idle: expired = shared_.stopping || age > shared_.keep_alive; break;
            case receiving:
            case writing:
                // While stopping, a half-sent request gets a few seconds, not the full timeout.
                expired =
                    age > (shared_.stopping ? std::min<Clock::duration>(shared_.request_timeout,
                                                                        std::chrono::seconds(5))
                                            : shared_.request_timeout);
                break;
            case lingering: expired = age > std::chrono::seconds(2); break;
            default: break;
        }
        if (expired && state_.compare_exchange_strong(state, closing)) {
            try {
                socket_.shutdown();
            } catch (...) {}
        }
    }

    /// For the server's last step, after the loops have stopped: frees the connection
    /// without touching its (already gone) loop.
    void abandon() {
        abandoned_ = true;
        delete this;
    }

private:
    Poco::NObserver<Connection, Poco::Net::ReadableNotification> readable() {
        return {*this, &Connection::on_readable};
    }
    Poco::NObserver<Connection, Poco::Net::WritableNotification> writable() {
        return {*this, &Connection::on_writable};
    }

    void touch() { since_.store(Clock::now().time_since_epoch().count()); }

    /// Moves from `from` to `to`, unless the sweeper closed the connection meanwhile.
    bool move(int from, int to) {
        if (!state_.compare_exchange_strong(from, to)) return false;
        touch();
        return true;
    }

    // ANCHOR: on_readable
    void on_readable(const Poco::AutoPtr<Poco::Net::ReadableNotification>&) {
        try {
            char buffer[16 * 1024];
            const int n = socket_.receiveBytes(buffer, sizeof buffer);
            if (n < 0) return;           // nothing after all (non-blocking socket)
            if (n == 0) return close();  // the client hung up, or the sweeper shut us down
            const int state = state_.load();
            if (state == lingering || state == closing) return;  // draining before close
            in_.append(buffer, static_cast<std::size_t>(n));
            if (state == idle && !move(idle, receiving)) return;
            serve();
        } catch (...) {
            close();  // a reset connection, or anything else: never let it reach the loop
        }
    }
    // ANCHOR_END: on_readable

    void on_writable(const Poco::AutoPtr<Poco::Net::WritableNotification>&) {
        try {
            if (flush()) serve();
        } catch (...) {
            close();
        }
    }

    /// Answers every complete request in the buffer, in order. Returns when the buffer
    /// holds no complete request, when a response is waiting to be written, or after the
    /// connection closed (then `this` is gone).
    void serve() {
        while (out_.empty()) {
            FramedRequest framed;
            switch (parse_request(in_, shared_.limits, framed)) {
                case Framing::incomplete:
                    if (framed.expects_continue && !sent_continue_) {
                        sent_continue_ = true;
                        if (!queue("HTTP/1.1 100 Continue\r\n\r\n", false)) return;
                    }
                    if (in_.empty()) move(receiving, idle);
                    return;
                case Framing::bad_request:
                    return reject(400, "The request is not valid HTTP/1.1: " + framed.error);
                case Framing::head_too_large:
                    return reject(431, "The request line and headers are too large.");
                case Framing::complete: break;
            }
            in_.erase(0, framed.consumed);
            sent_continue_ = false;
            if (!move(receiving, handling)) return;
            if (!respond(framed)) return;
            if (!move(handling, in_.empty() ? idle : receiving)) return;
        }
    }

    /// Runs the app on one request and queues its response. False when the connection closed.
    bool respond(FramedRequest& framed) {
        Request& req = framed.request;
        req.remote_addr = remote_addr_;
        Response resp;
        try {
            resp = shared_.app.handle(req);
        } catch (...) {
            // Only reached when exceptions propagate (DEBUG/TESTING; App::handle logged it):
            // answer 500 rather than drop the connection.
            resp = Response("<!doctype html>\n<title>500 Internal Server "
                            "Error</title>\n<h1>Internal Server Error</h1>\n",
                            500);
        }
        const bool keep_alive = framed.keep_alive && !shared_.stopping;
        const bool head = req.method == "HEAD";
        if (shared_.log.enabled()) {
            const bool no_body = head || resp.status == 304 || resp.status == 204;
            shared_.log.write(
                remote_addr_ + " - - [" + log_time() + "] \"" + req.method + " " + framed.target +
                " " + framed.version + "\" " + std::to_string(resp.status) + " " +
                (no_body ? std::string("-") : std::to_string(resp.body.size())) + "\n");
        }
        return queue(serialize_response(resp, framed.version, keep_alive, !head), !keep_alive);
    }

    void reject(int status, const std::string& why) {
        state_.store(handling);
        queue(error_response(status, why), true);
    }

    /// Sends `bytes` after whatever is still queued. False when the connection closed.
    bool queue(std::string bytes, bool close_after) {
        if (out_.empty()) {
            out_ = std::move(bytes);
            out_sent_ = 0;
        } else {
            out_ += bytes;
        }
        close_after_write_ = close_after_write_ || close_after;
        return flush();
    }

    /// Writes what the socket takes. True when everything went out and the connection
    /// stays open; false when the rest waits for the socket to drain, or the connection
    /// closed.
    bool flush() {
        while (out_sent_ < out_.size()) {
            const int chunk =
                static_cast<int>(std::min<std::size_t>(out_.size() - out_sent_, INT_MAX));
            const int n = send_some(out_.data() + out_sent_, chunk);
            if (n < 0) {  // the socket's buffer is full: wait until the client reads
                if (!waiting_writable_) {
                    waiting_writable_ = true;
                    loop_.removeEventHandler(socket_, readable());
                    loop_.addEventHandler(socket_, writable());
                }
                int state = state_.load();
                if (state != writing && !state_.compare_exchange_strong(state, writing))
                    return false;
                touch();
                return false;
            }
            out_sent_ += static_cast<std::size_t>(n);
            touch();
        }
        out_.clear();
        out_sent_ = 0;
        if (waiting_writable_) {
            waiting_writable_ = false;
            loop_.removeEventHandler(socket_, writable());
            loop_.addEventHandler(socket_, readable());
            if (!move(writing, in_.empty() ? idle : receiving)) return false;
        }
        if (close_after_write_) {
            linger();
            return false;
        }
        return true;
    }

    /// Closes after the last response: stop sending, then read and drop what the client
    /// still sends for a moment, so that closing with unread bytes does not reset the
    /// connection before the client has read our answer (the sweeper ends the wait).
    void linger() {
        state_.store(lingering);
        touch();
        try {
            socket_.shutdownSend();
        } catch (...) {
            close();
        }
    }

    void close() { delete this; }

    /// ::send on the socket: the bytes sent, or -1 when its buffer is full. By hand because
    /// Poco 1.11's StreamSocket::sendBytes throws "I/O error" for a full non-blocking socket
    /// (its receiveBytes returns -1 as expected).
    int send_some(const char* data, int size) {
        const auto n =
            ::send(socket_.impl()->sockfd(), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
        throw Poco::IOException("send failed", errno);
    }

    Poco::Net::StreamSocket socket_;
    Poco::Net::SocketReactor& loop_;
    Shared& shared_;
    std::string remote_addr_;
    std::string in_;
    std::string out_;
    std::size_t out_sent_ = 0;
    bool close_after_write_ = false;
    bool sent_continue_ = false;
    bool waiting_writable_ = false;
    bool abandoned_ = false;
    std::atomic<int> state_{idle};
    std::atomic<Clock::rep> since_{0};  ///< when the state last changed or bytes last moved
};

using Loop = Poco::Net::ParallelSocketReactor<Poco::Net::SocketReactor>;

/// Accepts connections on its own reactor thread and deals them out to the loops in turn.
/// (Poco's ParallelSocketAcceptor does the same, but can only construct a handler from the
/// socket and the reactor; ours also needs the server's Shared state.)
class Acceptor {
public:
    Acceptor(Poco::Net::ServerSocket socket, int loops, Shared& shared)
        : socket_(std::move(socket)), shared_(shared) {
        socket_.setBlocking(false);
        for (int i = 0; i < loops; ++i) loops_.push_back(std::make_unique<Loop>());
        reactor_.addEventHandler(socket_, accept_observer());
        thread_.start(reactor_);
    }
    ~Acceptor() { stop_accepting(); }

    /// No new connections; the connections already open are not touched.
    void stop_accepting() {
        if (!thread_.isRunning()) return;
        reactor_.removeEventHandler(socket_, accept_observer());
        reactor_.stop();
        reactor_.wakeUp();
        thread_.join();
        socket_.close();
    }

    /// Stops the loops and waits for their threads (after stop_accepting()). All are told
    /// first, so their poll timeouts run out together rather than one after another.
    void stop_loops() {
        for (auto& loop : loops_) {
            loop->stop();
            loop->wakeUp();
        }
        loops_.clear();
    }

private:
    Poco::NObserver<Acceptor, Poco::Net::ReadableNotification> accept_observer() {
        return {*this, &Acceptor::on_accept};
    }

    void on_accept(const Poco::AutoPtr<Poco::Net::ReadableNotification>&) {
        Poco::Net::StreamSocket client;
        try {
            client = socket_.acceptConnection();
        } catch (const Poco::Exception&) {
            // Out of file descriptors, or the client gave up already: wait a moment rather
            // than spin on a listening socket that stays readable.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            return;
        }
        std::size_t open = 0;
        {
            std::lock_guard lock(shared_.mutex);
            open = shared_.open.size();
        }
        if (open >= shared_.max_connections) {
            const std::string busy =
                error_response(503, "Too many open connections; try again shortly.");
            try {
                client.sendBytes(busy.data(), static_cast<int>(busy.size()), MSG_NOSIGNAL);
                client.close();
            } catch (...) {}
            return;
        }
        try {
            new Connection(client, *loops_[next_++ % loops_.size()],
                           shared_);  // deletes itself on close
        } catch (const Poco::Exception&) {
            // The client hung up before we got its address: nothing to serve.
        }
    }

    Poco::Net::ServerSocket socket_;
    Shared& shared_;
    Poco::Net::SocketReactor reactor_;
    Poco::Thread thread_{"accept"};
    std::vector<std::unique_ptr<Loop>> loops_;
    std::size_t next_ = 0;
};

/// The write end of the pipe of the server waiting for a signal (-1: none).
std::atomic<int> g_signal_fd{-1};

extern "C" void on_stop_signal(int) {
    const int fd = g_signal_fd.load();
    if (fd >= 0) {
        const char c = 's';
        [[maybe_unused]] auto n = ::write(fd, &c, 1);  // async-signal-safe
    }
}

}  // namespace

int default_server_threads() {
    return std::max(4, 4 * static_cast<int>(std::thread::hardware_concurrency()));
}

struct Server::Impl {
    App& app;
    ServerOptions options;
    std::unique_ptr<AccessLog> log;
    std::unique_ptr<Shared> shared;
    std::unique_ptr<Acceptor> acceptor;
    std::thread sweeper;
    std::uint16_t port = 0;
    int pipe_fds[2] = {-1, -1};  ///< self-pipe: signals and request_stop() write, the waiter reads
    std::atomic<bool> waiting{false};

    Impl(App& a, ServerOptions o) : app(a), options(std::move(o)) {
        if (::pipe(pipe_fds) != 0) throw std::runtime_error("cannot create the server's stop pipe");
        ::fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC);
        ::fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC);
    }
    ~Impl() {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
    }

    /// Every 100 ms, or at once when stop() asks: close what idles or stalls.
    void sweep_until_stopped() {
        std::unique_lock lock(shared->mutex);
        while (true) {
            const auto now = Clock::now();
            for (Connection* c : shared->open) c->sweep(now);
            if (!shared->sweeping) return;
            shared->wake_sweeper.wait_for(lock, std::chrono::milliseconds(100));
        }
    }
};

Server::Server(App& app, ServerOptions options)
    : impl_(std::make_unique<Impl>(app, std::move(options))) {
    app.freeze();
    if (impl_->options.threads < 1)
        throw std::invalid_argument("ServerOptions.threads must be at least 1");
}

Server::~Server() {
    try {
        stop();
    } catch (...) {}
}

void Server::start() {
    if (running()) return;
    auto& im = *impl_;
    Poco::Net::ServerSocket socket;
    try {
        // SO_REUSEADDR (restart quickly) but not SO_REUSEPORT: a second server on a busy port
        // must fail, not silently share the port.
        socket.bind(Poco::Net::SocketAddress(im.options.host, im.options.port), true, false);
        socket.listen(im.options.backlog);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen on " + im.options.host + ":" +
                                 std::to_string(im.options.port) + ": " + e.displayText() +
                                 " (is another server using the port? try --port)");
    }
    im.port = socket.address().port();

    FramingLimits limits;
    limits.max_body =
        static_cast<std::size_t>(im.app.config.get_int_or("MAX_CONTENT_LENGTH", 16 * 1024 * 1024));
    im.log = std::make_unique<AccessLog>(im.options.access_log);
    // Past the process's file descriptor limit accept() fails anyway; staying below it leaves
    // descriptors for the database, templates and mail, and lets the 503 answer go out.
    std::size_t max_connections = im.options.max_connections;
    if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
        max_connections =
            std::min<std::size_t>(max_connections, files.rlim_cur > 128 ? files.rlim_cur - 64 : 64);
    im.shared = std::make_unique<Shared>(im.app, *im.log, limits, im.options.keep_alive_timeout,
                                         im.options.request_timeout, max_connections);
    im.acceptor = std::make_unique<Acceptor>(socket, im.options.threads, *im.shared);
    im.sweeper = std::thread([&im] { im.sweep_until_stopped(); });
}

std::uint16_t Server::port() const { return impl_->port; }

std::string Server::url() const {
    return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}

bool Server::running() const { return impl_->acceptor != nullptr; }

void Server::request_stop() {
    const char c = 'r';
    [[maybe_unused]] auto n = ::write(impl_->pipe_fds[1], &c, 1);
}

void Server::wait_for_stop_request() {
    g_signal_fd.store(impl_->pipe_fds[1]);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);
    impl_->waiting.store(true);
    char c = 0;
    while (::read(impl_->pipe_fds[0], &c, 1) < 0 && errno == EINTR) {}
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_signal_fd.store(-1);
    impl_->waiting.store(false);
}

bool Server::waiting_for_stop_request() const { return impl_->waiting.load(); }

void Server::stop() {
    auto& im = *impl_;
    if (!im.acceptor) return;
    // No new connections; idle ones are closed by the sweeper at once, the ones with a
    // request in hand answer it (with "Connection: close") and close.
    im.shared->stopping = true;
    im.acceptor->stop_accepting();
    im.shared->wake_sweeper.notify_all();
    {
        std::unique_lock lock(im.shared->mutex);
        im.shared->emptied.wait_for(lock, im.options.request_timeout + std::chrono::seconds(1),
                                    [&] { return im.shared->open.empty(); });
    }
    {
        // A client that still has not read its answer is not waited for any longer.
        std::lock_guard lock(im.shared->mutex);
        for (Connection* c : im.shared->open) c->sweep(Clock::now() + std::chrono::hours(1));
        im.shared->sweeping = false;
    }
    im.shared->wake_sweeper.notify_all();
    if (im.sweeper.joinable()) im.sweeper.join();
    im.acceptor->stop_loops();
    std::vector<Connection*> left;
    {
        std::lock_guard lock(im.shared->mutex);
        left.assign(im.shared->open.begin(), im.shared->open.end());
    }
    for (Connection* c : left) c->abandon();
    im.acceptor.reset();
    im.shared.reset();
    im.log.reset();  // writes out the last lines
    im.app.run_shutdown_hooks();
}

void Server::run(std::ostream& out) {
    start();
    out << " * Serving app '" << impl_->app.name() << "' on " << url() << " (press CTRL+C to quit)"
        << std::endl;
    wait_for_stop_request();
    out << " * Stopping: finishing requests in flight..." << std::endl;
    stop();
    out << " * Stopped." << std::endl;
}

void App::run(const std::string& host, std::uint16_t port) {
    ServerOptions options;
    options.host = host;
    options.port = port;
    options.access_log = &std::cerr;
    Server server(*this, options);
    server.run(std::cout);
}

}  // namespace common::web

#include "common/web/server.hpp"

#include "common/web/app.hpp"

#include "common/web/connection.hpp"
#include "common/web/event_loop.hpp"

#include <Poco/Net/DNS.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

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

/// Accepts connections on a loop of its own and deals them out to the other loops in turn.
class Acceptor final : private EventHandler {
public:
    Acceptor(Poco::Net::ServerSocket socket, int loops, ConnectionShared& shared)
        : socket_(std::move(socket)), shared_(shared) {
        socket_.setBlocking(false);
        for (int i = 0; i < loops; ++i)
            loops_.push_back(std::make_unique<EventLoop>("loop " + std::to_string(i)));
        accept_loop_.watch(socket_.impl()->sockfd(), *this, Watch::none, Watch::readable);
    }
    ~Acceptor() {
        stop_accepting();
        stop_loops();
    }

    /// No new connections; the connections already open are not touched.
    void stop_accepting() {
        if (!accepting_) return;
        accepting_ = false;
        accept_loop_.stop();
        // The listen queue holds connections the kernel completed and we have not accepted:
        // closing the socket resets them, and a proxy that already wrote a POST into one
        // answers it with a 502 (it does not retry a POST it has sent). So they are accepted
        // and answered first; only a connection completing in the microseconds between the
        // last accept and the close is still reset.
        for (;;) {
            Poco::Net::StreamSocket client;
            try {
                client = socket_.acceptConnection();
            } catch (...) {
                break;  // the queue is empty (or the socket failed): nothing more to take
            }
            hand_out(client);
        }
        socket_.close();
    }

    /// Stops the loops and waits for their threads (after stop_accepting()). All are told
    /// first, so that they finish their events in hand together rather than one after another.
    void stop_loops() {
        for (auto& loop : loops_) loop->request_stop();
        loops_.clear();
    }

private:
    void on_readable() noexcept override {
        Poco::Net::StreamSocket client;
        try {
            client = socket_.acceptConnection();
        } catch (...) {
            // Out of file descriptors, or the client gave up already: wait a moment rather
            // than spin on a listening socket that stays readable.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            return;
        }
        hand_out(client);
    }

    /// Gives an accepted connection to the next loop, or answers 503 when there are too many.
    void hand_out(Poco::Net::StreamSocket& client) noexcept {
        try {
            std::size_t open = 0;
            {
                std::lock_guard lock(shared_.mutex);
                open = shared_.open.size();
            }
            if (open >= shared_.max_connections) {
                const std::string busy =
                    error_response(503, "Too many open connections; try again shortly.");
                client.sendBytes(busy.data(), static_cast<int>(busy.size()), MSG_NOSIGNAL);
                client.close();
                return;
            }
            new Connection(client, *loops_[next_++ % loops_.size()],
                           shared_);  // deletes itself on close
        } catch (...) {
            // The client hung up before we got its address, or the loop could not take the
            // socket: nothing to serve (`client` closes it).
        }
    }
    void on_writable() noexcept override {}  // a listening socket is watched for reading only

    Poco::Net::ServerSocket socket_;
    ConnectionShared& shared_;
    std::vector<std::unique_ptr<EventLoop>> loops_;
    std::size_t next_ = 0;
    bool accepting_ = true;
    EventLoop accept_loop_{"accept"};  ///< last: its thread may call on_readable() at once
};

/// The write end of the pipe of the server waiting for a signal (-1: none).
std::atomic<int> g_signal_fd{-1};

extern "C" void on_stop_signal(int signal) {
    const int fd = g_signal_fd.load();
    if (fd >= 0) {
        const char c = signal == SIGTERM ? 't' : 's';
        [[maybe_unused]] auto n = ::write(fd, &c, 1);  // async-signal-safe
    }
}

}  // namespace

int default_server_threads() {
    return std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
}

struct Server::Impl {
    App& app;
    ServerOptions options;
    std::unique_ptr<AccessLog> log;
    std::unique_ptr<ConnectionShared> shared;
    std::unique_ptr<WorkerPool> workers;
    std::unique_ptr<Acceptor> acceptor;
    std::thread sweeper;
    std::uint16_t port = 0;
    int pipe_fds[2] = {-1, -1};  ///< self-pipe: signals and request_stop() write, the waiter reads
    std::atomic<bool> waiting{false};

    Impl(App& a, ServerOptions o) : app(a), options(std::move(o)) {
        if (::pipe(pipe_fds) != 0) throw ServerError("cannot create the server's stop pipe");
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
    if (impl_->options.threads < 1) throw UsageError("ServerOptions.threads must be at least 1");
    if (impl_->options.max_workers < 0)
        throw UsageError("ServerOptions.max_workers must be 0 (views on the loops) or more");
}

Server::~Server() {
    try {
        stop();
    } catch (...) {}
}

namespace {
/// What to change when bind() or listen() fails: a busy port, a host that is not an address
/// of this machine, or a port below 1024 without root. Poco's NetException carries the errno.
std::string listen_hint(const Poco::Exception& e) {
    switch (e.code()) {
        case EADDRINUSE: return " (is another server using the port? try --port)";
        case EACCES: return " (ports below 1024 need root; try --port 5000)";
        case EADDRNOTAVAIL:
            return " (that is not an address of this machine; try --host 127.0.0.1)";
        default: break;
    }
    if (dynamic_cast<const Poco::Net::DNSException*>(&e) ||
        dynamic_cast<const Poco::InvalidArgumentException*>(&e))
        return " (check --host: an address of this machine such as 127.0.0.1, or its name)";
    return {};
}
}  // namespace

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
        throw ServerError("cannot listen on " + im.options.host + ":" +
                          std::to_string(im.options.port) + ": " + e.displayText() +
                          listen_hint(e));
    }
    im.port = socket.address().port();

    im.log = std::make_unique<AccessLog>(im.options.access_log);
    // Past the process's file descriptor limit accept() fails anyway; staying below it leaves
    // descriptors for the database, templates and mail, and lets the 503 answer go out.
    std::size_t max_connections = im.options.max_connections;
    if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
        max_connections =
            std::min<std::size_t>(max_connections, files.rlim_cur > 128 ? files.rlim_cur - 64 : 64);
    im.shared = std::make_unique<ConnectionShared>(im.app, *im.log, im.app.limits(),
                                                   im.options.keep_alive_timeout,
                                                   im.options.request_timeout, max_connections);
    if (im.options.max_workers > 0) {
        im.workers = std::make_unique<WorkerPool>(static_cast<std::size_t>(im.options.max_workers));
        im.shared->workers = im.workers.get();
        im.shared->reads_on_loops = im.options.reads_on_loops;
    }
    im.acceptor = std::make_unique<Acceptor>(socket, im.options.threads, *im.shared);
    im.sweeper = std::thread([&im] { im.sweep_until_stopped(); });
}

std::uint16_t Server::port() const { return impl_->port; }

std::string Server::url() const {
    const std::string& host = impl_->options.host;
    // An IPv6 address goes in brackets (RFC 3986 §3.2.2): http://[::1]:5000
    const bool ipv6 = host.find(':') != std::string::npos && !host.starts_with('[');
    return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port);
}

bool Server::running() const { return impl_->acceptor != nullptr; }

void Server::request_stop() {
    const char c = 'r';
    [[maybe_unused]] auto n = ::write(impl_->pipe_fds[1], &c, 1);
}

Server::StopMode Server::wait_for_stop_request() {
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
    return c == 't' ? StopMode::gentle : StopMode::quick;
}

bool Server::waiting_for_stop_request() const { return impl_->waiting.load(); }

void Server::stop(StopMode mode) {
    auto& im = *impl_;
    if (!im.acceptor) return;
    // No new connections; the ones with a request in hand answer it (with "Connection:
    // close") and close, idle ones at once or when their keep-alive time is up
    // (Connection::sweep).
    im.shared->keep_idle_while_stopping = mode == StopMode::gentle;
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
    // Views still running finish and hand their connections back before the loops stop.
    im.workers.reset();
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
    const auto mode = wait_for_stop_request();
    out << " * Stopping: finishing requests in flight"
        << (mode == StopMode::gentle ? ", idle connections until their keep-alive time is up" : "")
        << "..." << std::endl;
    stop(mode);
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

#include "common/web/server.hpp"

#include "common/web/app.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <iostream>
#include <mutex>
#include <thread>
#include <unistd.h>

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

std::string log_time() {
    // Werkzeug's "[13/Jul/2024 10:00:00]"
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%d/%b/%Y %H:%M:%S", &tm);
    return buf;
}

/// Adapts Poco's request/response to App::handle(): the only server-specific code.
class Handler : public Poco::Net::HTTPRequestHandler {
public:
    Handler(App& app, AccessLog& log, std::size_t max_body) : app_(app), log_(log), max_body_(max_body) {}

    // ANCHOR: handler
    void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
        Request req(in.getMethod(), in.getURI());
        for (const auto& [name, value] : in) req.headers.add(name, value);
        req.remote_addr = in.clientAddress().host().toString();
        read_body(in, req);
        if (req.body_too_large) out.setKeepAlive(false);  // the rest of the body is still on the wire

        Response resp;
        try {
            resp = app_.handle(req);
        } catch (...) {
            // Only reached when exceptions propagate (DEBUG/TESTING; App::handle logged it):
            // answer 500 rather than drop the connection.
            resp = Response("<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n",
                            500);
        }

        out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(resp.status),
                               std::string(reason_phrase(resp.status)));
        for (const auto& [name, value] : resp.headers.items()) out.add(name, value);
        const bool head = req.method == "HEAD";
        const bool no_body = head || resp.status == 304 || resp.status == 204;
        out.setContentLength64(static_cast<Poco::Int64>(no_body && !head ? 0 : resp.body.size()));
        if (no_body)
            out.send().flush();
        else
            out.sendBuffer(resp.body.data(), resp.body.size());

        if (log_.enabled()) {
            log_.write(req.remote_addr + " - - [" + log_time() + "] \"" + req.method + " " + in.getURI() + " " +
                       in.getVersion() + "\" " + std::to_string(resp.status) + " " +
                       (no_body ? std::string("-") : std::to_string(resp.body.size())) + "\n");
        }
    }
    // ANCHOR_END: handler

private:
    void read_body(Poco::Net::HTTPServerRequest& in, Request& req) const {
        if (in.hasContentLength() && in.getContentLength64() > static_cast<Poco::Int64>(max_body_)) {
            req.body_too_large = true;  // refuse without reading it
            return;
        }
        if (!in.hasContentLength() && !in.getChunkedTransferEncoding()) return;
        std::istream& body = in.stream();
        char buf[16 * 1024];
        while (body.read(buf, sizeof buf) || body.gcount() > 0) {
            req.body.append(buf, static_cast<std::size_t>(body.gcount()));
            if (req.body.size() > max_body_) {
                req.body_too_large = true;
                req.body.clear();
                return;
            }
        }
    }

    App& app_;
    AccessLog& log_;
    std::size_t max_body_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Factory(App& app, AccessLog& log, std::size_t max_body) : app_(app), log_(log), max_body_(max_body) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Handler(app_, log_, max_body_);
    }

private:
    App& app_;
    AccessLog& log_;
    std::size_t max_body_;
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

struct Server::Impl {
    App& app;
    ServerOptions options;
    std::unique_ptr<AccessLog> log;
    std::unique_ptr<Poco::ThreadPool> pool;
    std::unique_ptr<Poco::Net::HTTPServer> server;
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
};

Server::Server(App& app, ServerOptions options) : impl_(std::make_unique<Impl>(app, std::move(options))) {
    app.freeze();
    if (impl_->options.threads < 1) throw std::invalid_argument("ServerOptions.threads must be at least 1");
}

Server::~Server() {
    try {
        stop();
    } catch (...) {
    }
}

void Server::start() {
    if (running()) return;
    auto& im = *impl_;
    Poco::Net::ServerSocket socket;
    try {
        // SO_REUSEADDR (restart quickly) but not SO_REUSEPORT: a second server on a busy port
        // must fail, not silently share the port.
        socket.bind(Poco::Net::SocketAddress(im.options.host, im.options.port), true, false);
        socket.listen(256);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen on " + im.options.host + ":" + std::to_string(im.options.port) +
                                 ": " + e.displayText() + " (is another server using the port? try --port)");
    }
    im.port = socket.address().port();

    auto params = new Poco::Net::HTTPServerParams;  // Poco's AutoPtr takes ownership
    params->setMaxThreads(im.options.threads);
    params->setMaxQueued(im.options.max_queued);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(im.options.keep_alive_timeout.count(), 0));
    params->setSoftwareVersion("common-web");

    const auto max_body =
        static_cast<std::size_t>(im.app.config.get_int_or("MAX_CONTENT_LENGTH", 16 * 1024 * 1024));
    im.log = std::make_unique<AccessLog>(im.options.access_log);
    im.pool = std::make_unique<Poco::ThreadPool>(2, im.options.threads + 1, 60);
    im.server = std::make_unique<Poco::Net::HTTPServer>(new Factory(im.app, *im.log, max_body), *im.pool, socket,
                                                        params);
    im.server->start();
}

std::uint16_t Server::port() const { return impl_->port; }

std::string Server::url() const { return "http://" + impl_->options.host + ":" + std::to_string(impl_->port); }

bool Server::running() const { return impl_->server != nullptr; }

void Server::request_stop() {
    const char c = 'r';
    [[maybe_unused]] auto n = ::write(impl_->pipe_fds[1], &c, 1);
}

void Server::wait_for_stop_request() {
    g_signal_fd.store(impl_->pipe_fds[1]);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    struct sigaction old_int {}, old_term {};
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);
    impl_->waiting.store(true);
    char c = 0;
    while (::read(impl_->pipe_fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_signal_fd.store(-1);
    impl_->waiting.store(false);
}

bool Server::waiting_for_stop_request() const { return impl_->waiting.load(); }

void Server::stop() {
    auto& im = *impl_;
    if (!im.server) return;
    // stopAll(false): stop accepting, then for every connection wait until its current
    // request is answered and shut it down (which also ends idle keep-alive waits).
    im.server->stopAll(false);
    im.pool->joinAll();
    im.server.reset();
    im.pool.reset();
    im.log.reset();  // writes out the last lines
    im.app.run_shutdown_hooks();
}

void Server::run(std::ostream& out) {
    start();
    out << " * Serving app '" << impl_->app.name() << "' on " << url() << " (press CTRL+C to quit)" << std::endl;
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

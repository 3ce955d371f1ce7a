#pragma once
/// \file
/// Server — serves an App with Poco::Net::HTTPServer: a thread pool, HTTP/1.1 keep-alive, a
/// buffered access log, and a graceful stop (stop accepting, let in-flight requests finish,
/// close idle connections, run the app's shutdown hooks) on SIGINT/SIGTERM or stop().
///
///     common::web::Server server(app, {.host = "127.0.0.1", .port = 5000});
///     server.run();   // until Ctrl+C

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

namespace common::web {

class App;

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5000;  ///< 0: any free port (see Server::port())
    /// Connection threads. With keep-alive each open connection holds a thread while it
    /// sends requests, so this bounds concurrent clients; more wait in the accept queue.
    int threads = 64;
    int max_queued = 512;
    std::chrono::seconds keep_alive_timeout{5};
    /// Where to write one line per request (Werkzeug's format); nullptr for none.
    std::ostream* access_log = nullptr;
};

class Server {
public:
    /// Binds nothing yet; call start() or run(). Freezes the app (config, templates), so
    /// configuration errors surface here, before any request.
    Server(App& app, ServerOptions options = {});
    ~Server();  ///< stops gracefully if still running
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds host:port and starts accepting. std::runtime_error naming the address when
    /// it cannot bind (port in use, bad host).
    void start();
    /// The bound port (after start()).
    std::uint16_t port() const;
    /// "http://127.0.0.1:5000"
    std::string url() const;
    bool running() const;

    /// Blocks until SIGINT/SIGTERM arrives or request_stop() is called.
    void wait_for_stop_request();
    /// True while wait_for_stop_request() has its signal handlers installed.
    bool waiting_for_stop_request() const;
    /// Makes wait_for_stop_request() return; callable from any thread.
    void request_stop();
    /// Graceful stop: no new connections; requests being handled finish and get their
    /// response; idle keep-alive connections are closed; then App::run_shutdown_hooks().
    void stop();

    /// start(), print where it serves, wait for Ctrl+C / SIGTERM, stop().
    void run(std::ostream& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace common::web

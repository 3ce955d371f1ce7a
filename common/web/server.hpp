#pragma once
/// \file
/// Server — serves an App over HTTP/1.1 with a few event loops (Poco::Net::SocketReactor on
/// epoll): keep-alive and pipelining, request size limits, timeouts for idle and slow
/// clients, a buffered access log, and a graceful stop (stop accepting, let requests in hand
/// finish, close idle connections, run the app's shutdown hooks) on SIGINT/SIGTERM or stop().
///
/// Why loops and not Poco's HTTPServer (a thread per connection): on two cores the threads'
/// context switches cost more than the whole app (bench/README.md has the figures).
///
///     common::web::Server server(app, {.host = "127.0.0.1", .port = 5000});
///     server.run();   // until Ctrl+C

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

namespace common::web {

class App;

/// Four per core, at least 4: more loops than cores, so that a loop the OS preempts (or a
/// view that blocks) holds up fewer connections (measured in bench/README.md).
int default_server_threads();

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5000;  ///< 0: any free port (see Server::port())
    /// Event loops, each a thread serving many connections. Requests run on them, so a
    /// view that blocks (a slow query) delays the other connections of its loop: a few more
    /// loops than cores keeps that cheap.
    int threads = default_server_threads();
    int backlog = 256;  ///< connections waiting to be accepted
    /// More are answered 503 and closed. Capped below the process's open-file limit.
    std::size_t max_connections = 4096;
    std::chrono::seconds keep_alive_timeout{5};  ///< an idle connection is closed after this
    /// A request must arrive (and its answer be read) within this, or the connection is
    /// closed: slow clients cannot hold connections forever.
    std::chrono::seconds request_timeout{30};
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

    /// Binds host:port and starts accepting. ServerError naming the address when
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

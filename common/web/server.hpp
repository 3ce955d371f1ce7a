#pragma once
/// \file
/// Server — serves an App over HTTP/1.1 with a few event loops (EventLoop in event_loop.hpp,
/// on epoll): keep-alive and pipelining, request size limits, timeouts for idle and slow
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

/// Two per core, at least 4: more loops than cores, so that a loop the OS preempts holds up
/// fewer connections, but few enough that each wake-up finds several requests ready (every
/// wake-up is a context switch, which this server's CPU pays per page: bench/README.md).
int default_server_threads();

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5000;  ///< 0: any free port (see Server::port())
    /// Event loops, each a thread reading and writing many connections.
    int threads = default_server_threads();
    /// Threads that run the views of writes (POST, PUT, PATCH, DELETE), started as requests
    /// need them. A write may wait seconds for the database (another process's lock, up to
    /// SQLite's 5 s busy timeout, then 503): on a worker it holds one thread, not a loop and
    /// every connection on it. Past this many, requests queue in order. 0: every view runs
    /// on the loops (a waiting view then stalls its whole loop).
    int max_workers = 64;
    /// GET, HEAD and OPTIONS views run on the loops: they only read, and readers never wait
    /// for a writer (SQLite in WAL mode, PostgreSQL), so the two thread hand-offs a worker
    /// costs are saved where most requests are. false: every view runs on a worker (for
    /// reads that can wait: a slow query, a call to another service).
    bool reads_on_loops = true;
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

    /// How stop() treats idle keep-alive connections; the signals mean what they mean to
    /// gunicorn (INT: quick shutdown, TERM: graceful shutdown).
    enum class StopMode {
        /// Closed at once: Ctrl+C (SIGINT) and request_stop(), so that a browser tab left
        /// open does not hold the stop.
        quick,
        /// Kept for the rest of their keep-alive time, a request that still arrives on one
        /// answered with "Connection: close": SIGTERM, what a process manager sends at a
        /// rolling restart. A proxy in front (nginx) may be writing a request onto an idle
        /// connection as it closes, and it answers a POST lost that way with 502.
        gentle,
    };

    /// Blocks until SIGINT/SIGTERM arrives or request_stop() is called; says which.
    StopMode wait_for_stop_request();
    /// True while wait_for_stop_request() has its signal handlers installed.
    bool waiting_for_stop_request() const;
    /// Makes wait_for_stop_request() return; callable from any thread.
    void request_stop();
    /// Graceful stop: no new connections; requests being handled finish and get their
    /// response; idle keep-alive connections are closed (at once or when their keep-alive
    /// time is up, by `mode`); then App::run_shutdown_hooks().
    void stop(StopMode mode = StopMode::quick);

    /// start(), print where it serves, wait for Ctrl+C / SIGTERM, stop().
    void run(std::ostream& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace common::web

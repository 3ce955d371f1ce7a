#pragma once
/// \file
/// Connection — one client connection of the Server: it reads bytes, frames requests
/// (http1.hpp), runs the app and writes the answers, on the event loop it was given; plus
/// the AccessLog its requests are written to. server.cpp owns the rest (the acceptor, the
/// loops, the sweeper, signals), as Crow splits http_connection.h from http_server.h. Used
/// only by server.cpp.

#include "common/web/event_loop.hpp"
#include "common/web/http1.hpp"
#include "common/web/limits.hpp"

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <time.h>
#include <unordered_set>
#include <vector>

namespace common::web {

class App;

/// One line per request without making request threads wait for the terminal: lines are
/// appended to a buffer under a short lock, and a background thread writes the buffer out
/// (the lock is never held during I/O).
class AccessLog {
public:
    explicit AccessLog(std::ostream* out);
    ~AccessLog();
    bool enabled() const { return out_ != nullptr; }
    void write(std::string_view line);

private:
    void run();
    std::ostream* out_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string buffer_;
    bool stopping_ = false;
    std::thread writer_;
};

using Clock = std::chrono::steady_clock;

class Connection;

/// Views run here, off the event loops: a view that waits (a database another process has
/// locked, a slow query) holds one worker thread, not a loop and every connection on it.
/// Threads are started on demand up to `max_threads`; past that, requests wait their turn in
/// order. Hand-written because Poco::ThreadPool refuses work when every thread is busy
/// (NoThreadAvailableException) instead of queueing it.
class WorkerPool {
public:
    explicit WorkerPool(std::size_t max_threads) : max_(max_threads) {}
    ~WorkerPool();  ///< answers what is queued, then joins the threads
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Runs connection->work() on a worker thread. Threads, once started, stay until the
    /// server stops.
    void submit(Connection* connection);

private:
    void run();
    const std::size_t max_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Connection*> queue_;
    std::vector<std::thread> threads_;
    std::size_t busy_ = 0;  ///< threads inside work()
    bool stopping_ = false;
};

/// What every connection of one server shares.
struct ConnectionShared {
    ConnectionShared(App& a, AccessLog& l, const Limits& fl, Clock::duration ka, Clock::duration rt,
                     std::size_t mc)
        : app(a), log(l), limits(fl), keep_alive(ka), request_timeout(rt), max_connections(mc) {}
    App& app;
    AccessLog& log;
    const Limits& limits;  ///< the app's, read once by App::freeze()
    Clock::duration keep_alive;
    Clock::duration request_timeout;
    std::size_t max_connections;
    WorkerPool* workers = nullptr;  ///< where views run; nullptr: on the loops themselves
    bool reads_on_loops = true;     ///< GET, HEAD and OPTIONS views still run on the loops
    std::atomic<bool> stopping{false};
    std::atomic<bool> keep_idle_while_stopping{false};  ///< Server::StopMode::gentle
    std::mutex mutex;                 ///< guards `open` and `sweeping`; never held during a request
    std::condition_variable emptied;  ///< the last connection closed
    std::condition_variable wake_sweeper;
    std::unordered_set<Connection*> open;
    bool sweeping = true;
};

/// One client connection, driven by the events of the loop (EventLoop) it lives on.
///
/// The loop reads and frames requests. A complete request that writes (or any, as
/// configured) is handed to a worker (WorkerPool): the loop stops watching the connection,
/// so exactly one thread owns it at a time, and the worker answers that request and any
/// pipelined behind it, in order, then gives the connection back to the loop. Reads, and
/// every request without a pool, the loop answers itself.
/// While a response cannot be written in full, the connection stops reading: a client that
/// does not read its answers cannot make the server buffer more. The sweeper thread closes
/// connections that idle or stall (see sweep()); a connection is deleted on its loop's
/// thread when it closes.
class Connection final : private EventHandler {
public:
    enum State : int { idle, receiving, handling, writing, lingering, closing };

    /// Registers with `loop` last: from then on the loop owns it and may even have deleted
    /// it before the constructor's caller goes on.
    Connection(const Poco::Net::StreamSocket& socket, EventLoop& loop, ConnectionShared& shared);
    ~Connection();

    /// Called by the sweeper, with shared.mutex held: closes the connection when it idles
    /// past the keep-alive timeout, sends or reads a request too slowly (slowloris), or the
    /// server is stopping and it has no request in hand. shutdown() wakes the loop, which
    /// then sees end-of-file and deletes the connection on its own thread.
    void sweep(Clock::time_point now);

    /// For the server's last step, after the loops have stopped: frees the connection
    /// without touching its (already gone) loop.
    void abandon();

    /// On a worker thread: answers the request the loop handed over (and any pipelined
    /// behind it), then gives the connection back to its loop.
    void work();

private:
    /// Notes the time for the sweeper, whose timeouts are seconds: the kernel's coarse
    /// monotonic clock (same origin as steady_clock, a few ms behind) is read without the
    /// TSC, and this runs several times per request.
    void touch() {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
        since_.store(std::chrono::duration_cast<Clock::duration>(
                         std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec))
                         .count());
    }

    /// The client sent bytes the loop has not read yet (FIONREAD).
    bool has_unread_bytes();

    /// Moves from `from` to `to`, unless the sweeper closed the connection meanwhile.
    bool move(int from, int to);

    void on_readable() noexcept override;

    void on_writable() noexcept override;

    /// Answers every complete request in the buffer, in order (on the loop, each is handed
    /// to a worker when there is a pool). Returns when the buffer holds no complete request,
    /// when a response is waiting to be written, or after the connection closed or was handed
    /// over (then `this` must not be touched).
    void serve();

    /// Runs the app on one request and queues its response. False when the connection
    /// cannot go on now (its answer waits for the socket, or it is closing).
    bool respond(FramedRequest& framed);

    /// On the loop: stop watching the socket and queue the request for a worker.
    void hand_to_worker(FramedRequest framed);

    /// On the worker, its last step: the loop watches the socket again (for what `want()`
    /// asked), and may call or delete the connection from then on.
    void hand_back();

    /// The event to wait for next. On the loop it is watched at once; on a worker it is
    /// remembered for hand_back().
    void want(Watch watch);

    void reject(int status, const std::string& why);

    /// Sends `bytes` after whatever is still queued. False when the connection closed.
    bool queue(std::string bytes, bool close_after);

    /// Writes what the socket takes. True when everything went out and the connection
    /// stays open; false when the rest waits for the socket to drain, or the connection
    /// is closing.
    bool flush();

    /// Closes after the last response: stop sending, then read and drop what the client
    /// still sends for a moment, so that closing with unread bytes does not reset the
    /// connection before the client has read our answer (the sweeper ends the wait).
    void linger();

    void close() { delete this; }

    /// ::send on the socket: the bytes sent, or -1 when its buffer is full. By hand because
    /// Poco 1.11's StreamSocket::sendBytes throws "I/O error" for a full non-blocking socket
    /// (its receiveBytes returns -1 as expected).
    int send_some(const char* data, int size);

    Poco::Net::StreamSocket socket_;
    int fd_;  ///< socket_'s descriptor, for the loop
    EventLoop& loop_;
    ConnectionShared& shared_;
    std::string remote_addr_;
    std::string in_;
    ChunkProgress chunks_;  ///< how far the chunked body at the front of in_ was checked
    std::string out_;
    std::size_t out_sent_ = 0;
    FramedRequest handed_over_;  ///< the request a worker is to answer
    bool close_after_write_ = false;
    bool sent_continue_ = false;
    bool on_worker_ = false;          ///< a worker owns the connection; the loop ignores it
    Watch watching_ = Watch::none;    ///< what the loop watches now
    Watch wanted_ = Watch::readable;  ///< what hand_back() will have it watch
    bool abandoned_ = false;
    std::atomic<int> state_{idle};
    std::atomic<Clock::rep> since_{0};  ///< when the state last changed or bytes last moved
};

}  // namespace common::web

#pragma once
/// \file
/// EventLoop — one thread waiting on one epoll set and calling the handler of each socket
/// that is ready. The server's acceptor and its connection loops run on it. Used only by
/// server.cpp and connection.cpp.
///
/// Hand-written rather than Poco's SocketReactor for what the reactor does per event:
/// PollSet::poll rebuilds a std::map of the watched sockets under a mutex, dispatch() looks
/// the socket up again under a mutex, NotificationCenter copies its observer list (an
/// allocation, atomic reference counts) and every NObserver locks a mutex and dynamic_casts.
/// Profiled under wrk on flasky's GET /, that bookkeeping was 4 % of the server's CPU (this
/// loop: 0.4 %), and a worker handing a connection back paid addEventHandler, which
/// allocates (GET / through a worker: 26–36k req/s before, 31–43k after, with p99 from up
/// to 86 ms down to 1–3 ms; bench/README.md). Here an event costs one array slot and one
/// virtual call, and changing what is watched one epoll_ctl call, from any thread, with
/// nothing allocated.
///
///     EventLoop loop("loop");              // its thread is waiting already
///     loop.watch(fd, handler, Watch::none, Watch::readable);
///     loop.stop();                         // returns when the thread has finished

#include <atomic>
#include <string>
#include <thread>

namespace common::web {

/// What a loop watches a socket for. `none`: not at all (the socket is not in the epoll set,
/// so not even a hang-up is reported: another thread may own it meanwhile).
enum class Watch { none, readable, writable };

/// What the loop calls when a socket it watches is ready. Exactly one call per event, and
/// the handler may delete itself inside it: the loop does not touch it afterwards.
/// Handlers must not throw (each catches what its socket throws and closes).
class EventHandler {
public:
    /// Bytes to read, the client's end-of-file, or an error or hang-up: recv() tells which.
    /// Also called for an error or hang-up while the handler waits to write (the read path
    /// then sees end-of-file or the error and closes).
    virtual void on_readable() noexcept = 0;
    /// The socket takes bytes again.
    virtual void on_writable() noexcept = 0;

protected:
    EventHandler() = default;
    virtual ~EventHandler() = default;
    EventHandler(const EventHandler&) = delete;
    EventHandler& operator=(const EventHandler&) = delete;

private:
    friend class EventLoop;
    /// Bumped by every watch() and read before every call: whatever a thread wrote before it
    /// gave the handler to the loop is visible to the call, in the C++ memory model too (the
    /// kernel's epoll_ctl/epoll_wait order it in practice, but neither the compiler nor
    /// ThreadSanitizer knows that).
    std::atomic<unsigned> handed_{0};
};

/// Level-triggered, as Poco's reactor was: a socket stays ready until its handler has read
/// (or written) enough, so a handler that reads 16 KiB at a time is simply called again.
class EventLoop {
public:
    /// Starts the thread (named `name` in ps and perf; at most 15 characters).
    explicit EventLoop(const std::string& name);
    ~EventLoop();  ///< stop()
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Watch `fd` for `to` instead of `from` (what the caller last asked for it), calling
    /// `handler`. Callable from any thread; once it returns, the loop may call the handler.
    /// A loop waiting on an empty set wakes for a socket added from another thread, so no
    /// separate wake-up is needed. std::system_error when the kernel refuses (out of memory,
    /// or past fs.epoll.max_user_watches).
    void watch(int fd, EventHandler& handler, Watch from, Watch to);

    /// Asks the thread to finish the events in hand and return; does not wait for it.
    void request_stop();
    /// request_stop(), then waits for the thread. Handlers still watched are not called
    /// again, nor deleted: their owner abandons them.
    void stop();

private:
    void run();

    int epoll_fd_ = -1;
    int wake_fd_ = -1;  ///< an eventfd in the set; request_stop() writes it
    std::atomic<bool> stopping_{false};
    std::thread thread_;  ///< last: it starts once the members above are ready
};

}  // namespace common::web

// The server's EventLoop on socket pairs: handlers are called for what they watch and
// nothing else, watching changes from another thread, a hang-up reaches the read path, and a
// handler may delete itself inside its call (run under ASan, a later touch would be caught).
#include "common/web/event_loop.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>

using namespace common::web;
using namespace std::chrono_literals;

namespace {

/// Both ends of a connected AF_UNIX stream pair; closes what is still open.
struct Pair {
    int ours = -1;
    int theirs = -1;
    Pair() {
        int fds[2];
        BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~Pair() {
        if (ours >= 0) ::close(ours);
        if (theirs >= 0) ::close(theirs);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;
    void send(const char* bytes = "x") const { BOOST_REQUIRE(::write(theirs, bytes, 1) == 1); }
};

/// Counts its calls; reads what is there so that a level-triggered loop does not call it
/// again for the same bytes. `then` runs after each read, on the loop's thread.
struct Probe final : EventHandler {
    int fd;
    std::atomic<int> reads{0};
    std::atomic<int> writes{0};
    std::atomic<int> eofs{0};
    std::function<void(Probe&)> then;
    explicit Probe(int f) : fd(f) {}
    void on_readable() noexcept override {
        char buffer[64];
        if (::read(fd, buffer, sizeof buffer) == 0) ++eofs;
        ++reads;
        if (then) then(*this);
    }
    void on_writable() noexcept override { ++writes; }
};

bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(EventLoop_)

BOOST_AUTO_TEST_CASE(calls_the_handler_for_what_it_watches_changed_from_another_thread) {
    EventLoop loop("test loop");
    Pair pair;
    Probe probe(pair.ours);
    // This thread is not the loop's: watching starts at once, no wake-up needed.
    loop.watch(pair.ours, probe, Watch::none, Watch::readable);
    pair.send();
    BOOST_TEST(eventually([&] { return probe.reads.load() == 1; }));
    BOOST_TEST(probe.writes.load() == 0);  // writable all along, but not watched for that

    loop.watch(pair.ours, probe, Watch::readable, Watch::writable);
    BOOST_TEST(eventually([&] { return probe.writes.load() > 0; }));

    loop.watch(pair.ours, probe, Watch::writable, Watch::none);
    std::this_thread::sleep_for(20ms);  // a call in flight when none was asked may finish
    const int writes = probe.writes.load();
    pair.send();
    std::this_thread::sleep_for(50ms);
    BOOST_TEST(probe.writes.load() == writes);
    BOOST_TEST(probe.reads.load() == 1);  // the byte waits unread: nobody owns it for the loop

    loop.watch(pair.ours, probe, Watch::none, Watch::readable);  // back again: it is read
    BOOST_TEST(eventually([&] { return probe.reads.load() == 2; }));
    loop.stop();
}

BOOST_AUTO_TEST_CASE(a_hang_up_reaches_the_read_path_while_waiting_to_write) {
    EventLoop loop("test loop");
    Pair pair;
    Probe probe(pair.ours);
    std::atomic<bool> stopped_watching{false};
    probe.then = [&](Probe& p) {  // what a connection does on end-of-file: stop, close
        if (p.eofs.load() > 0 && !stopped_watching.exchange(true))
            loop.watch(p.fd, p, Watch::writable, Watch::none);
    };
    // A full socket buffer: the handler waits to write.
    const std::string chunk(64 * 1024, 'x');
    while (::write(pair.ours, chunk.data(), chunk.size()) > 0) {}
    loop.watch(pair.ours, probe, Watch::none, Watch::writable);
    ::close(pair.theirs);  // the client goes away without reading
    pair.theirs = -1;
    BOOST_TEST(eventually([&] { return stopped_watching.load(); }));
    BOOST_TEST(probe.eofs.load() == 1);
    loop.stop();
}

BOOST_AUTO_TEST_CASE(a_handler_may_delete_itself_and_the_others_in_its_batch_still_run) {
    // Handlers that close their socket and delete themselves when called, as a connection
    // does when its client hangs up. All are ready before the loop looks, so they come in
    // one batch; under ASan a loop touching a deleted one would fail the test.
    struct Closing final : EventHandler {
        EventLoop& loop;
        int fd;
        std::atomic<int>& deleted;
        Closing(EventLoop& l, int f, std::atomic<int>& d) : loop(l), fd(f), deleted(d) {}
        void on_readable() noexcept override {
            loop.watch(fd, *this, Watch::readable, Watch::none);
            ::close(fd);
            ++deleted;
            delete this;
        }
        void on_writable() noexcept override {}
    };
    std::atomic<int> deleted{0};
    constexpr int count = 8;
    Pair pairs[count];
    {
        EventLoop loop("test loop");
        for (Pair& pair : pairs) pair.send();
        for (Pair& pair : pairs) {
            loop.watch(pair.ours, *new Closing(loop, pair.ours, deleted), Watch::none,
                       Watch::readable);
            pair.ours = -1;  // the handler closes it
        }
        BOOST_TEST(eventually([&] { return deleted.load() == count; }));
    }
    BOOST_TEST(deleted.load() == count);
}

BOOST_AUTO_TEST_CASE(stop_returns_with_sockets_still_watched_and_calls_nothing_after) {
    Pair pair;
    Probe probe(pair.ours);
    {
        EventLoop loop("test loop");
        loop.watch(pair.ours, probe, Watch::none, Watch::readable);
        loop.stop();
        pair.send();
        std::this_thread::sleep_for(20ms);
        BOOST_TEST(probe.reads.load() == 0);
    }  // the destructor after stop() is fine too
    BOOST_TEST(probe.reads.load() == 0);
}

BOOST_AUTO_TEST_CASE(a_watch_the_kernel_refuses_throws) {
    EventLoop loop("test loop");
    Pair pair;
    Probe probe(pair.ours);
    // Changing a socket the loop does not watch: the caller's bookkeeping is wrong.
    BOOST_CHECK_THROW(loop.watch(pair.ours, probe, Watch::readable, Watch::writable),
                      std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()

#include "common/web/event_loop.hpp"

#include <cerrno>
#include <cstdint>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace common::web {

namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::uint32_t epoll_events(Watch watch) {
    // EPOLLERR and EPOLLHUP are always reported; they go to on_readable().
    return watch == Watch::writable ? EPOLLOUT : EPOLLIN;
}

}  // namespace

EventLoop::EventLoop(const std::string& name) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_errno("epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        ::close(epoll_fd_);
        throw_errno("eventfd");
    }
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.ptr = nullptr;  // the one entry without a handler
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) {
        const int error = errno;
        ::close(wake_fd_);
        ::close(epoll_fd_);
        throw std::system_error(error, std::generic_category(), "epoll_ctl(eventfd)");
    }
    thread_ = std::thread([this] { run(); });
    ::pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

EventLoop::~EventLoop() {
    stop();
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void EventLoop::watch(int fd, EventHandler& handler, Watch from, Watch to) {
    if (from == to) return;
    epoll_event event{};
    event.events = epoll_events(to);
    event.data.ptr = &handler;
    handler.handed_.fetch_add(1, std::memory_order_release);
    // `none` takes the socket out of the set: EPOLL_CTL_MOD cannot mask EPOLLERR/EPOLLHUP,
    // and a loop must not call a handler another thread owns.
    const int op = from == Watch::none ? EPOLL_CTL_ADD
                   : to == Watch::none ? EPOLL_CTL_DEL
                                       : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_fd_, op, fd, &event) != 0) throw_errno("epoll_ctl");
}

void EventLoop::request_stop() {
    stopping_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::stop() {
    request_stop();
    if (thread_.joinable()) thread_.join();
}

// ANCHOR: event_loop_run
void EventLoop::run() {
    epoll_event events[64];
    while (!stopping_.load(std::memory_order_relaxed)) {
        const int n = ::epoll_wait(epoll_fd_, events, 64, -1);  // the sweeper keeps time
        for (int i = 0; i < n; ++i) {
            auto* handler = static_cast<EventHandler*>(events[i].data.ptr);
            if (handler == nullptr) continue;  // request_stop(): the loop condition decides
            handler->handed_.load(std::memory_order_acquire);  // see what its watcher wrote
            // One call per socket: the handler may have deleted itself when it returns. A
            // socket appears at most once in a batch, and only its own handler deletes it.
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                handler->on_readable();
            else if (events[i].events & EPOLLOUT)
                handler->on_writable();
        }
    }
}
// ANCHOR_END: event_loop_run

}  // namespace common::web

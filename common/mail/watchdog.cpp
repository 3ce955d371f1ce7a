#include "common/mail/watchdog.hpp"

#include <sys/socket.h>

namespace common::mail::detail {

Watchdog::Watchdog() : thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void Watchdog::arm(int fd, Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    deadline_ = deadline;
    expired_ = false;
    if (!cancelled_.empty()) cut();
    changed_.notify_all();
}

void Watchdog::disarm() {
    std::lock_guard lock(mutex_);  // waits for a cut() in progress
    fd_ = -1;
    changed_.notify_all();
}

bool Watchdog::expired() const {
    std::lock_guard lock(mutex_);
    return expired_;
}

void Watchdog::cancel(const std::string& why) {
    std::lock_guard lock(mutex_);
    cancelled_ = why.empty() ? "cancelled" : why;
    cut();
}

std::string Watchdog::cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
}

void Watchdog::cut() {
    if (fd_ < 0) return;
    // shutdown(), not close(): the descriptor stays the session's to close, so it cannot be
    // reused by another thread's socket meanwhile; blocked reads and writes return at once.
    ::shutdown(fd_, SHUT_RDWR);
    fd_ = -1;
}

void Watchdog::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        if (fd_ < 0) {
            changed_.wait(lock);
            continue;
        }
        const auto deadline = deadline_;
        const int fd = fd_;
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && fd_ == fd &&
            deadline_ == deadline) {
            expired_ = true;
            cut();
        }
    }
}

}  // namespace common::mail::detail

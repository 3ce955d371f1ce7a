#include "common/mail/async_sender.hpp"

#include <algorithm>

namespace common::mail {

AsyncSender::AsyncSender(Mail& mail, AsyncOptions options, FailureHandler on_failure)
    : mail_(mail), options_(options), on_failure_(std::move(on_failure)) {
    if (options_.capacity == 0) options_.capacity = 1;
    if (options_.max_attempts < 1) options_.max_attempts = 1;
    worker_ = std::thread([this] { run(); });
}

AsyncSender::~AsyncSender() { shutdown(); }

bool AsyncSender::submit(const Message& msg) {
    // A message that can never be sent fails here, in the caller, not later in a log.
    Message checked = mail_.prepare(msg);
    std::lock_guard lock(mutex_);
    if (closing_ || queue_.size() >= options_.capacity) {
        ++stats_.rejected;
        stats_.last_error = closing_ ? "submit() after shutdown()" : "queue full";
        return false;
    }
    queue_.push_back(std::move(checked));
    ++stats_.queued;
    wake_.notify_one();
    return true;
}

void AsyncSender::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void AsyncSender::shutdown() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

AsyncStats AsyncSender::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

// ANCHOR: worker
void AsyncSender::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) break;  // closing, and everything delivered
        Message msg = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;

        auto backoff = options_.first_backoff;
        for (int attempt = 1;; ++attempt) {
            lock.unlock();  // never hold the lock during network I/O
            std::optional<MailError> error;
            try {
                (void)mail_.send(msg);
            } catch (const MailError& e) {
                error = e;
            } catch (const std::exception& e) {
                error = MailError(MailError::Kind::rejected, e.what());
            }
            if (!error) {
                lock.lock();
                ++stats_.sent;
                break;
            }
            if (error->temporary() && attempt < options_.max_attempts) {
                lock.lock();
                ++stats_.retries;
                stats_.last_error = error->what();
                // Waits out the back-off; shutdown() does not cut it short, so queued mail
                // still gets its retries (the destructor may therefore take a while).
                wake_.wait_for(lock, backoff, [] { return false; });
                backoff = std::min(backoff * 2, options_.max_backoff);
                continue;
            }
            if (on_failure_) on_failure_(msg, *error);
            lock.lock();
            ++stats_.failed;
            stats_.last_error = error->what();
            break;
        }
        --stats_.queued;
        busy_ = false;
        if (queue_.empty()) idle_.notify_all();
    }
    idle_.notify_all();
}
// ANCHOR_END: worker

} // namespace common::mail

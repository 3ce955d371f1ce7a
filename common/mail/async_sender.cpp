#include "common/mail/async_sender.hpp"

#include "common/mail/watchdog.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

namespace common::mail {

AsyncSender::AsyncSender(Mail& mail, AsyncOptions options, FailureHandler on_failure)
    : mail_(mail), options_(options), on_failure_(std::move(on_failure)) {
    if (options_.capacity == 0) options_.capacity = 1;
    if (options_.max_attempts < 1) options_.max_attempts = 1;
    if (!options_.log)
        options_.log = [](std::string_view line) { std::clog << "mail: " << line << '\n'; };
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
        if (!closing_) give_up_at_ = std::chrono::steady_clock::now() + options_.shutdown_grace;
        closing_ = true;
    }
    wake_.notify_all();
    {
        // Past the grace, an attempt still talking to the server is cut off.
        std::unique_lock lock(mutex_);
        if (!idle_.wait_until(lock, give_up_at_, [this] { return stopped_; }) && in_flight_)
            in_flight_->cancel("the sender shut down (AsyncOptions::shutdown_grace)");
    }
    if (worker_.joinable()) worker_.join();
}

void AsyncSender::log(const std::string& line) {
    try {
        options_.log(line);
    } catch (...) {}  // a failing log must not stop the mail
}

AsyncStats AsyncSender::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

namespace {
/// `msg` addressed to the envelope's addresses only, each kept in its own list (a Bcc stays
/// a Bcc): what a failure handler may send again without a second copy for anyone.
Message still_owed(const Message& msg, const std::vector<std::string>& envelope) {
    auto keep = [&](const std::vector<std::string>& list) {
        std::vector<std::string> out;
        for (const auto& a : list)
            if (std::find(envelope.begin(), envelope.end(), Address::parse(a).email) !=
                envelope.end())
                out.push_back(a);
        return out;
    };
    Message owed = msg;
    owed.recipients = keep(msg.recipients);
    owed.cc = keep(msg.cc);
    owed.bcc = keep(msg.bcc);
    return owed;
}
}  // namespace

// ANCHOR: worker
void AsyncSender::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) break;  // closing, and everything delivered
        Message msg = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;

        // Past the shutdown grace nothing more is tried: what is left is given up on.
        auto out_of_time = [this] {
            return closing_ && std::chrono::steady_clock::now() >= give_up_at_;
        };
        std::vector<std::string> envelope;  // empty: everyone; else who is still to get it
        auto give_up = [&](const MailError& error) {
            lock.unlock();
            log("gave up on " + msg.message_id + ": " + error.what());
            if (on_failure_) on_failure_(envelope.empty() ? msg : still_owed(msg, envelope), error);
            lock.lock();
            ++stats_.failed;
            stats_.last_error = error.what();
        };
        auto backoff = options_.first_backoff;
        for (int attempt = 1;; ++attempt) {
            if (out_of_time()) {
                give_up(
                    MailError(MailError::Kind::temporary,
                              "not delivered: the sender shut down while the server kept failing"));
                break;
            }
            // The same prepared message every time: the same Message-ID, so a receiver can drop
            // the copy when an attempt that "failed" had in fact been delivered.
            auto watchdog = std::make_shared<detail::Watchdog>();
            in_flight_ = watchdog;
            lock.unlock();  // never hold the lock during network I/O
            std::optional<MailError> error;
            Delivery delivery;
            try {
                delivery = mail_.send(msg, watchdog, envelope);
            } catch (const MailError& e) {
                error = e;
            } catch (const std::exception& e) {
                error = MailError(MailError::Kind::rejected, e.what());
            }
            lock.lock();
            in_flight_.reset();
            if (!error) {
                // Refused for good (5xx): reported. Deferred (4xx): tried again, alone.
                std::string refused, deferred_text;
                std::vector<std::string> deferred;
                for (const auto& r : delivery.refused) {
                    if (r.temporary()) {
                        deferred.push_back(r.email);
                        deferred_text += " " + r.email + " (" + r.reply + ")";
                    } else {
                        ++stats_.refused_recipients;
                        refused += " " + r.email + " (" + r.reply + ")";
                    }
                }
                if (!refused.empty()) {
                    lock.unlock();
                    log("delivered " + msg.message_id + ", but " + delivery.server + " refused" +
                        refused);
                    lock.lock();
                }
                if (deferred.empty()) {
                    ++stats_.sent;
                    break;
                }
                envelope = deferred;
                error = MailError(MailError::Kind::temporary, delivery.server + " deferred" +
                                                                  deferred_text +
                                                                  "; the others have the message");
            }
            if (error->temporary() && attempt < options_.max_attempts) {
                ++stats_.retries;
                stats_.last_error = error->what();
                lock.unlock();
                log("attempt " + std::to_string(attempt) + " for " + msg.message_id +
                    " failed, will retry: " + error->what());
                lock.lock();
                // Waits out the back-off, or less when shutdown() sets an earlier deadline.
                auto until = std::chrono::steady_clock::now() + backoff;
                auto cut_short = [&] { return closing_ && give_up_at_ < until; };
                if (wake_.wait_until(lock, until, cut_short))
                    wake_.wait_until(lock, give_up_at_, [] { return false; });
                backoff = std::min(backoff * 2, options_.max_backoff);
                continue;
            }
            give_up(*error);
            break;
        }
        --stats_.queued;
        busy_ = false;
        if (queue_.empty()) idle_.notify_all();
    }
    stopped_ = true;
    idle_.notify_all();
}
// ANCHOR_END: worker

}  // namespace common::mail

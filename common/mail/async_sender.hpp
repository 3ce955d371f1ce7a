#pragma once
// AsyncSender — Flasky's send_async_email thread, done properly: one worker, a bounded queue,
// retries with back-off on temporary failures, and a flush on shutdown. A slow or dead SMTP
// server then never slows the request that wanted to send.

#include "common/mail/mail.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace common::mail {

struct AsyncOptions {
    std::size_t capacity = 1000;  ///< messages waiting; submit() refuses beyond this
    int max_attempts = 5;         ///< first try included
    std::chrono::milliseconds first_backoff{1000};  ///< doubled after each temporary failure
    std::chrono::milliseconds max_backoff{60'000};
    /// After shutdown(), how long queued mail may still take (retries included). Past it the
    /// rest is given up on, so a dead mail server cannot keep a stopping program alive.
    std::chrono::milliseconds shutdown_grace{10'000};
    /// Where the sender reports retries, refused recipients and messages given up on, one
    /// line each. Unset → std::clog, prefixed "mail: ".
    std::function<void(std::string_view)> log{};
};

/// Counters a test (or a status page) can read at any time.
struct AsyncStats {
    std::size_t queued = 0;  ///< waiting or being sent now
    std::size_t sent = 0;
    std::size_t failed = 0;    ///< gave up: permanent error or attempts exhausted (also for
                               ///< recipients deferred while the others got it)
    std::size_t retries = 0;   ///< attempts after a temporary failure
    std::size_t rejected = 0;  ///< refused by submit() because the queue was full or closed
    /// Recipients the server refused for good (5xx) in messages delivered to the others.
    /// One refused for now (4xx) is tried again on its own, like a failed message.
    std::size_t refused_recipients = 0;
    std::string last_error;
};

class AsyncSender {
public:
    /// Called on the worker thread for each message given up on. A message the server took
    /// for some recipients comes addressed to the others only (its To, Cc and Bcc lists
    /// filtered), so that sending it again reaches nobody twice.
    using FailureHandler = std::function<void(const Message&, const MailError&)>;

    explicit AsyncSender(Mail& mail, AsyncOptions options = {}, FailureHandler on_failure = {});
    AsyncSender(const AsyncSender&) = delete;
    AsyncSender& operator=(const AsyncSender&) = delete;
    /// shutdown(): delivers what is queued, then stops.
    ~AsyncSender();

    /// Queues a copy and returns at once. Checks the message first (sender, recipients,
    /// headers: throws MailError/BadHeaderError). Returns false, counting it as rejected,
    /// when the queue is full or the sender is shut down.
    bool submit(const Message& msg);

    /// Blocks until every message submitted so far was sent or given up on.
    void flush();

    /// Stops accepting, delivers what is queued (with its retries) within
    /// AsyncOptions::shutdown_grace, gives up on the rest, joins the worker. An attempt still
    /// on the network when the grace ends is cut off, so this returns within the grace (plus
    /// at most a connect in progress, itself bounded by MAIL_TIMEOUT).
    void shutdown();

    AsyncStats stats() const;

private:
    void run();
    void log(const std::string& line);

    Mail& mail_;
    AsyncOptions options_;
    FailureHandler on_failure_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;  // worker: work arrived or closing
    std::condition_variable idle_;  // flush(): queue drained
    std::deque<Message> queue_;
    bool busy_ = false;
    bool closing_ = false;
    bool stopped_ = false;                                // run() has returned
    std::shared_ptr<detail::Watchdog> in_flight_{};       // the attempt now on the network
    std::chrono::steady_clock::time_point give_up_at_{};  // set by shutdown()
    AsyncStats stats_;
    std::thread worker_;
};

}  // namespace common::mail

#pragma once
// Watchdog — the deadline of every network step of an SMTP session (internal to common::mail).
//
// Why a thread and not socket time-outs alone: SO_RCVTIMEO/SO_SNDTIMEO (Poco's setReceive/
// SendTimeout) bound one system call, not a step. A TLS handshake is many reads (Poco retries
// it, so MAIL_TIMEOUT=1 took 3 s), a multi-line reply is many reads, and a server trickling one
// byte a second never trips them. The watchdog instead cuts the socket (shutdown(2)) when the
// step's deadline passes, which wakes whatever Poco or OpenSSL is blocked in; the session then
// reports a time-out naming that step. cancel() cuts at once, for AsyncSender's shutdown.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace common::mail::detail {

class Watchdog {
public:
    using Clock = std::chrono::steady_clock;

    Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog();

    /// Until disarm(), the socket `fd` is shut down if `deadline` passes (or at once when
    /// cancelled). Re-arming replaces the previous deadline.
    void arm(int fd, Clock::time_point deadline);
    /// Stops watching; returns only when no cut is in progress, so `fd` may be closed after.
    void disarm();
    /// The last armed step was cut because its deadline passed.
    bool expired() const;
    /// Cuts the armed socket now and every later one at once; `why` for the error message.
    void cancel(const std::string& why);
    /// Empty unless cancel() was called.
    std::string cancelled() const;

private:
    void run();
    void cut();  // with mutex_ held

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    int fd_ = -1;  // -1: not armed
    Clock::time_point deadline_{};
    bool expired_ = false;
    bool stop_ = false;
    std::string cancelled_{};
    std::thread thread_;
};

}  // namespace common::mail::detail

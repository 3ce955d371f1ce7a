#pragma once
// The durable outbox: a mail the app accepted is a row in its own database, written in the
// same transaction as whatever caused it (the new user), and a background drainer delivers
// the rows. If SMTP is down, or the process stops, the rows wait; the next start resumes.
// The book's send_async_email thread loses its message when the process dies; this cannot.
//
// It needs both common::db and common::mail, so it lives here, in the app, and not in either
// (neither library depends on the other).

#include "common/db/db.hpp"
#include "common/mail/mail.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace flasky {

// ANCHOR: outbox_model
/// class OutboxMail(db.Model): __tablename__ = 'outbox'. The fields that rebuild the same
/// message on every attempt — above all the same Message-ID and Date, so a receiver can tell
/// a retry from a new mail.
struct OutboxMail {
    std::int64_t id = 0;
    std::string message_id;
    std::string sender;
    std::string recipients;  ///< To, one address a line
    /// Who still waits for it, one address a line; empty: every recipient. Set when a server
    /// took the mail for some and said "try later" (4xx) for others: only those get it again.
    std::string envelope;
    std::string subject;
    std::string body;
    std::string html;
    std::int64_t date = 0;  ///< the Date header, seconds since 1970
    std::int64_t attempts = 0;
    std::int64_t next_attempt_at = 0;  ///< milliseconds since 1970; due when <= now
    std::string last_error;
    /// "pending" until delivered (then deleted), "sending" while a drainer holds it (until
    /// next_attempt_at), or "failed"
    std::string status = "pending";

    static common::db::Model<OutboxMail>& model();
};
// ANCHOR_END: outbox_model

/// Brings an outbox table made by an earlier version up to date (the `envelope` column came
/// on 2026-12-01): create_all() leaves a table that exists as it is, as SQLAlchemy's does, and
/// without the column every enqueue() and every drain would fail. Says what it did to `log`.
void upgrade_outbox_table(common::db::Database& database, std::ostream& log);

/// Adds `msg` to the session's unit of work as a pending outbox row; nothing is written
/// until the caller commits, so the mail exists exactly when the rest of the work does.
/// Only the fields the app uses are kept (subject, sender, To, text and HTML bodies): a
/// message with cc, bcc, attachments or extra headers is refused with std::invalid_argument.
void enqueue(common::db::Session& session, const common::mail::Message& msg);

/// The message a row stands for (same Message-ID and Date every time).
common::mail::Message to_message(const OutboxMail& row);

struct OutboxOptions {
    std::chrono::milliseconds first_backoff{1000};  ///< doubled after each temporary failure
    std::chrono::milliseconds max_backoff{60'000};
    std::int64_t batch = 100;  ///< rows read per pass
    /// How long a drainer's claim on a row lasts: longer than one send can take (each SMTP
    /// step waits at most MAIL_TIMEOUT, 10 s, and the answer to the final "." up to ten
    /// minutes). A row still 'sending' after it was claimed by a process that died mid-send;
    /// another drainer sends it once the claim runs out.
    std::chrono::milliseconds claim_for{std::chrono::minutes(15)};
    /// A mail the server keeps deferring (4xx: mailbox full, greylisting that never ends) is
    /// given up once its back-offs add up to this, as an MTA gives up (Postfix: 5 days).
    std::chrono::milliseconds give_up_after{std::chrono::hours(5 * 24)};
    /// One line per permanent failure, per mail's first temporary failure, per mail given up,
    /// and when the server becomes unreachable or reachable again. Unset → std::cerr,
    /// prefixed "mail: ".
    std::function<void(std::string_view)> log{};
};

/// What one drain pass did.
struct DrainResult {
    std::size_t sent = 0;
    std::size_t failed = 0;    ///< permanent failures, now status 'failed'
    std::size_t deferred = 0;  ///< temporary failures, tried again after a back-off
};

/// Delivers due outbox rows through a Mail. start() runs a thread that drains whenever
/// wake() is called or a back-off ends; drain() does one pass in the caller's thread
/// (tests, commands).
class OutboxDrainer {
public:
    OutboxDrainer(common::db::Database& database, common::mail::Mail& sender,
                  OutboxOptions options = {});
    OutboxDrainer(const OutboxDrainer&) = delete;
    OutboxDrainer& operator=(const OutboxDrainer&) = delete;
    /// stop()
    ~OutboxDrainer();

    /// Makes every pending row due now (a restart is often the fix for what failed) and
    /// starts the thread.
    void start();
    /// A row was committed: drain soon (unless the server is in its back-off).
    void wake();
    /// Stops the thread, cutting short the attempt in flight (its mail is tried again by the
    /// next start: a server that had stored it but not yet said so gets it twice, with the
    /// same Message-ID). Unsent rows stay in the database for the next start.
    void stop();

    /// One pass over the rows due now, oldest first.
    DrainResult drain();

private:
    void run();
    void log(const std::string& line);
    /// Records sent_unrecorded_ (deletes the rows, or leaves them to their deferred addresses)
    /// and forgets them; throws while the database fails.
    void record_sent();
    /// The wait after a mail's n-th temporary failure (n from 1): doubling, up to max_backoff.
    std::chrono::milliseconds backoff(std::int64_t n) const;

    common::db::Database& database_;
    common::mail::Mail& mail_;
    OutboxOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool woken_ = false;
    bool stopping_ = false;
    // The server as a whole: after a failed connection nothing is tried until this passes.
    std::chrono::milliseconds server_backoff_{0};
    std::chrono::steady_clock::time_point server_ready_at_{};
    bool server_down_logged_ = false;
    bool database_down_logged_ = false;  ///< only the drainer's thread reads and writes it
    /// A row whose mail was delivered, to all or (envelope) to all but the deferred
    /// addresses, but whose new state could not be committed (the database locked or gone):
    /// recorded first thing in the next pass, never sent again to those who have it.
    struct Unrecorded {
        std::int64_t id;
        std::string deferred;  ///< empty: delete the row; else its new envelope
        std::int64_t next_attempt_at;
        std::int64_t attempts;
        std::string last_error;
        std::optional<OutboxMail> refused;  ///< the 'failed' record of addresses refused for good
    };
    std::vector<Unrecorded> sent_unrecorded_;
    /// The connection of the pass in progress, so that stop() can cut a slow step short
    /// (the answer to the final "." may take ten minutes). Guarded by mutex_.
    std::optional<common::mail::CancelToken> cancel_;
    std::thread thread_;
};

}  // namespace flasky

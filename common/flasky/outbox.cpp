#include "common/flasky/outbox.hpp"

#include "common/mail/message.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace flasky {

namespace db = common::db;
namespace mail = common::mail;
using namespace std::chrono;

namespace {

std::int64_t now_ms() {
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string join_lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : "\n") + item;
    return out;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

/// Whom the row's next attempt is for: its envelope, or all its recipients.
std::string recipients_of(const OutboxMail& row) {
    std::string out;
    for (const auto& r : split_lines(row.envelope.empty() ? row.recipients : row.envelope))
        out += (out.empty() ? "" : ", ") + r;
    return out;
}

}  // namespace

// ANCHOR: outbox_mapping
db::Model<OutboxMail>& OutboxMail::model() {
    static auto model =
        db::Model<OutboxMail>("outbox")
            .column("id", &OutboxMail::id, db::Integer, db::primary_key)
            .column("message_id", &OutboxMail::message_id, db::String(255))
            .column("sender", &OutboxMail::sender, db::Text)
            .column("recipients", &OutboxMail::recipients, db::Text)
            .column("envelope", &OutboxMail::envelope, db::Text)
            .column("subject", &OutboxMail::subject, db::Text)
            .column("body", &OutboxMail::body, db::Text)
            .column("html", &OutboxMail::html, db::Text)
            .column("date", &OutboxMail::date, db::BigInteger)
            .column("attempts", &OutboxMail::attempts, db::Integer)
            .column("next_attempt_at", &OutboxMail::next_attempt_at, db::BigInteger, db::index)
            .column("last_error", &OutboxMail::last_error, db::Text)
            .column("status", &OutboxMail::status, db::String(16));
    return model;
}
// ANCHOR_END: outbox_mapping

void upgrade_outbox_table(db::Database& database, std::ostream& log) {
    auto connection = database.acquire();
    try {
        connection->execute("SELECT envelope FROM outbox WHERE 1 = 0");
        return;
    } catch (const db::Error&) {  // no such column (or no table, which create_all() makes)
    }
    if (connection->in_transaction()) connection->execute("ROLLBACK");  // PostgreSQL's
    connection->execute("ALTER TABLE outbox ADD COLUMN envelope TEXT");
    log << "the outbox table was made by an earlier version: added its envelope column\n";
}

void enqueue(db::Session& session, const mail::Message& msg) {
    if (!msg.cc.empty() || !msg.bcc.empty() || !msg.attachments.empty() ||
        !msg.extra_headers.empty() || !msg.reply_to.empty() || msg.charset != "utf-8")
        throw std::invalid_argument(
            "the outbox keeps subject, sender, recipients, body and html only: send a message "
            "with cc, bcc, reply_to, attachments, extra headers or another charset with "
            "Mail::send()");
    msg.check_headers();  // a header injection fails the request now, not the drainer later
    const auto date = msg.date.value_or(system_clock::now());
    session.add(OutboxMail{
        .message_id = msg.message_id.empty() ? mail::make_msgid() : msg.message_id,
        .sender = msg.sender,
        .recipients = join_lines(msg.recipients),
        .envelope = {},
        .subject = msg.subject,
        .body = msg.body,
        .html = msg.html,
        .date = duration_cast<seconds>(date.time_since_epoch()).count(),
        .attempts = 0,
        .next_attempt_at = now_ms(),
        .last_error = {},
        .status = "pending",
    });
}

mail::Message to_message(const OutboxMail& row) {
    mail::Message msg(row.subject, row.sender, split_lines(row.recipients));
    msg.body = row.body;
    msg.html = row.html;
    msg.date = system_clock::time_point(seconds(row.date));
    msg.message_id = row.message_id;
    return msg;
}

OutboxDrainer::OutboxDrainer(db::Database& database, mail::Mail& sender, OutboxOptions options)
    : database_(database), mail_(sender), options_(std::move(options)) {}

OutboxDrainer::~OutboxDrainer() { stop(); }

void OutboxDrainer::log(const std::string& line) {
    if (options_.log)
        options_.log(line);
    else
        std::cerr << "mail: " << line << std::endl;
}

void OutboxDrainer::start() {
    {
        db::Session session(database_);
        const auto now = now_ms();
        std::size_t waiting = 0;
        for (auto row : session.query<OutboxMail>().filter_by("status", "pending").all()) {
            ++waiting;
            if (row->next_attempt_at > now) {
                row->next_attempt_at = now;
                session.add(row);
            }
        }
        session.commit();
        if (waiting > 0) log(std::to_string(waiting) + " mails in the outbox, resuming");
    }
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    woken_ = true;
    thread_ = std::thread([this] { run(); });
}

void OutboxDrainer::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_one();
}

void OutboxDrainer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        // A send in progress fails at once (temporary: its row is tried at the next start)
        // rather than holding the stop for as long as the server takes.
        if (cancel_) cancel_->cancel("the outbox is stopping");
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    // One more try to record what was delivered but not recorded (drain() says why).
    if (!sent_unrecorded_.empty()) {
        try {
            record_sent();
        } catch (const std::exception& e) {
            log(std::to_string(sent_unrecorded_.size()) +
                " delivered mails could not be recorded before stopping, and will be sent again "
                "when their claim runs out: " +
                e.what());
        }
    }
}

void OutboxDrainer::record_sent() {
    if (sent_unrecorded_.empty()) return;
    db::Session session(database_);
    for (const auto& sent : sent_unrecorded_) {
        if (sent.refused) session.add(OutboxMail(*sent.refused));
        auto row = session.get<OutboxMail>(sent.id);
        if (!row) continue;
        if (sent.deferred.empty()) {
            session.delete_(row);
        } else {
            row->envelope = sent.deferred;
            row->status = "pending";
            row->next_attempt_at = sent.next_attempt_at;
            row->attempts = sent.attempts;
            row->last_error = sent.last_error;
        }
    }
    session.commit();
    sent_unrecorded_.clear();
}

milliseconds OutboxDrainer::backoff(std::int64_t n) const {
    const auto doublings = std::clamp<std::int64_t>(n - 1, 0, 20);
    return std::min<milliseconds>(options_.first_backoff * (std::int64_t{1} << doublings),
                                  options_.max_backoff);
}

void OutboxDrainer::run() {
    // A row deferred for later has no one to wake the thread, so it also looks once a second;
    // one indexed SELECT a second costs nothing next to SMTP.
    constexpr auto poll = seconds(1);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, poll, [this] { return stopping_ || woken_; });
        if (stopping_) break;
        if (steady_clock::now() < server_ready_at_) {
            wake_.wait_until(lock, server_ready_at_, [this] { return stopping_; });
            continue;
        }
        woken_ = false;
        lock.unlock();
        DrainResult result;
        try {
            result = drain();
            if (database_down_logged_) log("the database answers again, sending the outbox");
            database_down_logged_ = false;
        } catch (const std::exception& e) {
            // Locked, restarting, unreachable: every pass fails the same way until it is back,
            // so it is said once, not every second (the mails are safe in their rows).
            if (!database_down_logged_)
                log(std::string("cannot read the outbox, mails wait in it: ") + e.what());
            database_down_logged_ = true;
        }
        lock.lock();
        // A full batch may have more behind it.
        if (static_cast<std::int64_t>(result.sent + result.failed + result.deferred) >=
            options_.batch)
            woken_ = true;
    }
}

DrainResult OutboxDrainer::drain() {
    DrainResult result;
    // Delivered last time, but not yet recorded: record it before anything else (this throws
    // while the database is still locked, and run() says so once).
    record_sent();
    db::Session session(database_);
    // Due: pending rows whose time has come, and rows claimed by a drainer that never finished
    // them (its process died mid-send, so the claim ran out). Only what identifies each row's
    // state is kept: the claims below commit, and a committed session reloads its objects.
    struct Due {
        std::int64_t id, next_attempt_at;
        std::string status;
    };
    std::vector<Due> due;
    for (const auto& row :
         session.query<OutboxMail>()
             .filter("status IN (?, ?) AND next_attempt_at <= ?", {"pending", "sending", now_ms()})
             .order_by("id")
             .limit(options_.batch)
             .all())
        due.push_back({row->id, row->next_attempt_at, row->status});
    // Declared before the connection, so destroyed after it: stop() has nothing to cancel then.
    struct ForgetToken {
        OutboxDrainer& drainer;
        ~ForgetToken() {
            std::lock_guard lock(drainer.mutex_);
            drainer.cancel_.reset();
        }
    } forget_token{*this};
    std::optional<mail::Connection> connection;
    for (const auto& candidate : due) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) break;
        }
        if (!connection) {
            // A failure to open the session says nothing about the message: the server (or
            // our settings) is the problem, so every row waits and none is charged an attempt.
            try {
                mail::CancelToken token;
                {
                    std::lock_guard lock(mutex_);
                    if (stopping_) break;
                    cancel_ = token;
                }
                connection.emplace(mail_.connect(token));
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex_);
                if (stopping_) break;  // cut short by stop(): nothing to say about the server
                server_backoff_ =
                    std::clamp(server_backoff_ * 2, options_.first_backoff, options_.max_backoff);
                server_ready_at_ = steady_clock::now() + server_backoff_;
                if (!server_down_logged_) {
                    server_down_logged_ = true;
                    log("cannot reach the mail server (or it refused the session), mails stay in "
                        "the outbox: " +
                        std::string(e.what()));
                }
                break;
            }
            std::lock_guard lock(mutex_);
            if (server_down_logged_) log("the mail server answers again, sending the outbox");
            server_down_logged_ = false;
            server_backoff_ = milliseconds(0);
        }
        // Every process behind nginx runs a drainer on the same table, and all of them may
        // have read this row. The claim is a compare-and-set: the UPDATE matches only while
        // the row is still as we read it, so exactly one drainer moves it to 'sending' and
        // sends it; the others match nothing and go on. The claim lasts claim_for, after which
        // a drainer that finds the row still 'sending' takes it over.
        const auto claimed =
            session.query<OutboxMail>()
                .filter("id = ? AND status = ? AND next_attempt_at = ?",
                        {candidate.id, candidate.status, candidate.next_attempt_at})
                .update({{"status", "sending"},
                         {"next_attempt_at", now_ms() + options_.claim_for.count()}});
        session.commit();
        if (claimed == 0) continue;  // another drainer has it, or has sent it already
        auto row = session.get<OutboxMail>(candidate.id);
        if (!row) continue;
        ++row->attempts;
        const std::int64_t attempts = row->attempts;
        const std::string message_id = row->message_id;
        std::string last_error;  // what this attempt says, for a row that stays
        bool delivered = false;
        std::string deferred;  // delivered, but not to these (4xx): the row stays for them
        std::int64_t deferred_until = 0;
        std::optional<OutboxMail> refused_record;  // the 'failed' row of those refused (5xx)
        try {
            const auto delivery = connection->send(to_message(*row), split_lines(row->envelope));
            // The message reached the others. Addresses refused for good are logged and kept
            // as a 'failed' row of their own; those told "try later" stay in this row, which
            // goes to them alone next time (a resend to all would reach the others twice).
            std::string refused, replies;
            for (const auto& r : delivery.refused) {
                (r.temporary() ? deferred : refused) += r.email + "\n";
                replies += (replies.empty() ? "" : "; ") + r.email + ": " + r.reply;
                log("delivered " + row->message_id + ", but " + delivery.server +
                    (r.temporary() ? " deferred " : " refused ") + r.email + ": " + r.reply);
            }
            delivered = true;
            if (!refused.empty()) {
                refused_record = *row;
                refused_record->id = 0;
                refused_record->envelope = refused;
                refused_record->status = "failed";
                refused_record->last_error = replies;
                session.add(OutboxMail(*refused_record));
                ++result.failed;
            }
            if (deferred.empty()) {
                session.delete_(row);
                ++result.sent;
            } else {
                row->envelope = deferred;
                row->status = "pending";
                row->last_error = last_error = replies;
                deferred_until = now_ms() + backoff(row->attempts).count();
                row->next_attempt_at = deferred_until;
                ++result.deferred;
            }
        } catch (const std::exception& e) {
            const auto* error = dynamic_cast<const mail::MailError*>(&e);
            row->last_error = e.what();
            // The back-offs this mail has waited so far: the time since its first attempt,
            // without a column for it (its Date header may be older than its row).
            milliseconds waited{0};
            for (std::int64_t n = 1; n < row->attempts && waited < options_.give_up_after; ++n)
                waited += backoff(n);
            if (error && error->temporary() && waited < options_.give_up_after) {
                row->status = "pending";
                row->next_attempt_at = now_ms() + backoff(row->attempts).count();
                // Said once per mail, so a mail the server keeps deferring is not silent.
                if (row->attempts == 1)
                    log("could not deliver " + row->message_id + " to " + recipients_of(*row) +
                        " yet, trying again: " + e.what());
                ++result.deferred;
            } else if (error && error->temporary()) {
                row->status = "failed";
                log("gave up on " + row->message_id + " to " + recipients_of(*row) + " after " +
                    std::to_string(row->attempts) + " attempts over " +
                    std::to_string(duration_cast<minutes>(waited).count()) +
                    " minutes; the last answer: " + e.what());
                ++result.failed;
            } else {
                row->status = "failed";
                log("could not deliver " + row->message_id + " to " + recipients_of(*row) + ": " +
                    e.what());
                ++result.failed;
            }
            connection.reset();  // the session may be half-way through a transaction
        }
        // One commit per mail: a crash between the send and this commit sends that one mail
        // again (same Message-ID, once the claim runs out), never loses it.
        try {
            session.commit();
        } catch (const db::StaleDataError&) {
            // The send outlasted the claim and another drainer took the row over and finished
            // it: the mail went twice, with one Message-ID. Nothing is left to record. (A
            // deletion of the vanished row is no error; an update of it is this one.)
            session.rollback();
        } catch (const std::exception& e) {
            if (!delivered) throw;  // the row keeps its claim, and is tried again after it
            // Delivered, but the row's deletion did not commit (the database is locked past
            // its busy timeout, or gone). Left alone, the claim would run out and the mail go
            // again; instead it is remembered and recorded first thing in the next pass.
            sent_unrecorded_.push_back({candidate.id, deferred, deferred_until, attempts,
                                        last_error, std::move(refused_record)});
            log("delivered " + message_id +
                ", but the outbox could not record it yet; it will be recorded when the "
                "database answers, not sent again: " +
                e.what());
            try {
                session.rollback();
            } catch (...) {}
            return result;
        }
    }
    return result;
}

}  // namespace flasky

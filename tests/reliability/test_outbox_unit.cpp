// The outbox on its own: the mail row lives and dies with the transaction that wrote it, a
// permanent refusal is logged and kept, a temporary one is retried with the same Message-ID.
#define BOOST_TEST_MODULE outbox
#include <boost/test/unit_test.hpp>

#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/mail/capture_server.hpp"
#include "common/mail/mail.hpp"

#include <Poco/TemporaryFile.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace db = common::db;
namespace mail = common::mail;
using flasky::OutboxMail;

namespace {

struct OutboxFixture {
    Poco::TemporaryFile file;
    // tests/postgres runs the case of two drainers again with a postgresql:// URI here.
    db::Database database{[this] {
                              const char* uri = std::getenv("WORKBOOK_TEST_DATABASE_URI");
                              return uri ? std::string(uri) : "sqlite:///" + file.path();
                          }(),
                          flasky::metadata()};
    std::vector<std::string> log;
    OutboxFixture() { database.create_all(); }
    ~OutboxFixture() { database.drop_all(); }

    static mail::Message new_user_mail(const std::string& to) {
        mail::Message msg("[Flasky] New User", "flasky@example.com", {to});
        msg.body = "User bob has joined.\n";
        msg.html = "User <b>bob</b> has joined.\n";
        return msg;
    }
    std::vector<db::Ptr<OutboxMail>> rows(db::Session& session) {
        return session.query<OutboxMail>().all();
    }
    flasky::OutboxDrainer drainer(mail::Mail& sender) {
        return flasky::OutboxDrainer(
            database, sender,
            {.first_backoff = std::chrono::milliseconds(0),
             .log = [this](std::string_view line) { log.emplace_back(line); }});
    }
    static mail::MailSettings settings_for(std::uint16_t port) {
        mail::MailSettings settings;
        settings.server = "127.0.0.1";
        settings.port = port;
        settings.timeout = std::chrono::milliseconds(5000);
        return settings;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Outbox, OutboxFixture)

BOOST_AUTO_TEST_CASE(a_rolled_back_user_leaves_no_mail) {
    db::Session session(database);
    session.add(flasky::User{.username = "bob"});
    flasky::enqueue(session, new_user_mail("admin@example.com"));
    session.rollback();
    BOOST_TEST(session.query<flasky::User>().count() == 0);
    BOOST_TEST(rows(session).empty());
}

BOOST_AUTO_TEST_CASE(a_committed_user_has_its_mail) {
    const auto msg = new_user_mail("admin@example.com");
    {
        db::Session session(database);
        session.add(flasky::User{.username = "bob"});
        flasky::enqueue(session, msg);
        session.commit();
    }
    db::Session session(database);
    auto all = rows(session);
    BOOST_REQUIRE(all.size() == 1u);
    BOOST_TEST(all[0]->message_id == msg.message_id);
    BOOST_TEST(all[0]->status == "pending");
    const auto rebuilt = flasky::to_message(*all[0]);
    BOOST_TEST(rebuilt.recipients == msg.recipients);
    BOOST_TEST(rebuilt.html == msg.html);
}

BOOST_AUTO_TEST_CASE(a_message_the_outbox_cannot_keep_is_refused) {
    db::Session session(database);
    auto msg = new_user_mail("admin@example.com");
    msg.bcc = {"boss@example.com"};
    BOOST_CHECK_THROW(flasky::enqueue(session, msg), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_permanent_550_is_logged_and_kept_as_failed) {
    mail::CaptureServer smtp(mail::CaptureOptions{.refused_recipients = {"nobody@example.com"}});
    mail::Mail sender(settings_for(smtp.port()));
    {
        db::Session session(database);
        flasky::enqueue(session, new_user_mail("nobody@example.com"));
        session.commit();
    }
    auto result = drainer(sender).drain();
    BOOST_TEST(result.failed == 1u);
    BOOST_TEST(result.sent == 0u);
    db::Session session(database);
    auto all = rows(session);
    BOOST_REQUIRE(all.size() == 1u);
    BOOST_TEST(all[0]->status == "failed");
    BOOST_TEST(all[0]->last_error.find("550") != std::string::npos, all[0]->last_error);
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("nobody@example.com") != std::string::npos, log[0]);
    BOOST_TEST(log[0].find("550") != std::string::npos, log[0]);
    // A failed row is not tried again.
    BOOST_TEST(drainer(sender).drain().failed == 0u);
}

BOOST_AUTO_TEST_CASE(a_temporary_451_is_retried_with_the_same_message_id) {
    mail::CaptureServer smtp(mail::CaptureOptions{.temporary_failures = 1});
    mail::Mail sender(settings_for(smtp.port()));
    const auto msg = new_user_mail("admin@example.com");
    {
        db::Session session(database);
        flasky::enqueue(session, msg);
        session.commit();
    }
    auto outbox = drainer(sender);
    BOOST_TEST(outbox.drain().deferred == 1u);
    {
        db::Session session(database);
        auto all = rows(session);
        BOOST_REQUIRE(all.size() == 1u);
        BOOST_TEST(all[0]->attempts == 1);
        BOOST_TEST(all[0]->status == "pending");
        BOOST_TEST(all[0]->last_error.find("451") != std::string::npos, all[0]->last_error);
    }
    BOOST_TEST(outbox.drain().sent == 1u);
    BOOST_REQUIRE(smtp.wait_for(1, std::chrono::seconds(5)));
    const auto received = smtp.messages().back().data;
    BOOST_TEST(received.find("Message-ID: " + msg.message_id) != std::string::npos, received);
    db::Session session(database);
    BOOST_TEST(rows(session).empty());
    // The first temporary failure of a mail is said once (a server that keeps deferring it
    // is not silent), the successful retry not at all.
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("yet, trying again") != std::string::npos, log[0]);
    BOOST_TEST(log[0].find("451") != std::string::npos, log[0]);
}

// A server that takes a mail for one address and says "try later" (452) for another: the
// next attempt goes to that address alone, and an address refused for good (550) is kept as a
// failed row of its own. (Before: the row was deleted, and the deferred address never got it.)
BOOST_AUTO_TEST_CASE(a_recipient_deferred_while_others_accept_gets_the_mail_later) {
    mail::CaptureServer smtp(mail::CaptureOptions{.refused_recipients = {"gone@example.com"},
                                                  .deferred_recipients = {"full@example.com"}});
    mail::Mail sender(settings_for(smtp.port()));
    auto msg = new_user_mail("admin@example.com");
    msg.recipients = {"admin@example.com", "full@example.com", "gone@example.com"};
    {
        db::Session session(database);
        flasky::enqueue(session, msg);
        session.commit();
    }
    auto outbox = drainer(sender);
    const auto first = outbox.drain();
    BOOST_TEST(first.deferred == 1u);
    BOOST_TEST(first.failed == 1u);
    BOOST_REQUIRE(smtp.wait_for(1, std::chrono::seconds(5)));
    {
        db::Session session(database);
        auto all = session.query<OutboxMail>().order_by("id").all();
        BOOST_REQUIRE(all.size() == 2u);
        BOOST_TEST(all[0]->status == "pending");
        BOOST_TEST(all[0]->envelope == "full@example.com\n");
        BOOST_TEST(all[1]->status == "failed");
        BOOST_TEST(all[1]->envelope == "gone@example.com\n");
        BOOST_TEST(all[1]->last_error.find("550") != std::string::npos, all[1]->last_error);
    }
    BOOST_TEST(outbox.drain().sent == 1u);
    BOOST_REQUIRE(smtp.wait_for(2, std::chrono::seconds(5)));
    const auto received = smtp.messages();
    BOOST_TEST(received[0].rcpt_to == (std::vector<std::string>{"admin@example.com"}));
    BOOST_TEST(received[1].rcpt_to == (std::vector<std::string>{"full@example.com"}));
    // The same message, To header and all, with the same Message-ID.
    BOOST_TEST(received[1].data.find("Message-ID: " + msg.message_id) != std::string::npos);
    BOOST_TEST(received[1].data.find("gone@example.com") != std::string::npos);
    db::Session session(database);
    BOOST_TEST(rows(session).size() == 1u);  // the failed record only
}

// A database made before the envelope column: create_all() leaves its outbox table as it is,
// so the app adds the column, and the mails already queued there still go out. (Before:
// "no such column: outbox.envelope" at every enqueue and every drain.)
BOOST_AUTO_TEST_CASE(an_outbox_table_from_before_the_envelope_column_is_upgraded) {
    {
        auto c = database.acquire();
        c->execute("DROP TABLE outbox");
        c->execute("CREATE TABLE outbox (id INTEGER NOT NULL PRIMARY KEY, message_id "
                   "VARCHAR(255), sender TEXT, recipients TEXT, subject TEXT, body TEXT, html "
                   "TEXT, date BIGINT, attempts INTEGER, next_attempt_at BIGINT, last_error TEXT, "
                   "status VARCHAR(16))");
        c->execute("INSERT INTO outbox VALUES (1, '<old@x>', 'flasky@example.com', "
                   "'admin@example.com', 'queued before', 'x', '', 1800000000, 0, 0, '', "
                   "'pending')");
    }
    std::ostringstream said;
    flasky::upgrade_outbox_table(database, said);
    BOOST_TEST(said.str().find("added its envelope column") != std::string::npos, said.str());
    flasky::upgrade_outbox_table(database, said);  // once only
    BOOST_TEST(said.str().find("column") == said.str().rfind("column"));
    mail::CaptureServer smtp;
    mail::Mail sender(settings_for(smtp.port()));
    {
        db::Session session(database);
        flasky::enqueue(session, new_user_mail("admin@example.com"));
        session.commit();
    }
    BOOST_TEST(drainer(sender).drain().sent == 2u);
}

// An MTA gives up on a mail it cannot deliver after days (Postfix: 5); so does the outbox,
// and says so, rather than trying once a minute for ever without a word. The time is what the
// mail's back-offs add up to, not its Date (which may be older than its row).
BOOST_AUTO_TEST_CASE(a_mail_deferred_for_too_long_is_given_up_and_said) {
    mail::CaptureServer smtp(mail::CaptureOptions{.temporary_failures = 1000});
    mail::Mail sender(settings_for(smtp.port()));
    {
        db::Session session(database);
        auto msg = new_user_mail("admin@example.com");
        msg.date = std::chrono::system_clock::now() - std::chrono::hours(30 * 24);
        flasky::enqueue(session, msg);
        session.commit();
    }
    using std::chrono::minutes;
    const flasky::OutboxOptions options{
        .first_backoff = minutes(1),
        .max_backoff = minutes(60),
        .give_up_after = minutes(30),
        .log = [this](std::string_view line) { log.emplace_back(line); }};
    // An old Date alone does not give up: the first 4xx is deferred.
    BOOST_TEST(flasky::OutboxDrainer(database, sender, options).drain().deferred == 1u);
    // Five attempts before this one waited 1 + 2 + 4 + 8 + 16 = 31 minutes: given up.
    {
        db::Session session(database);
        auto row = rows(session).at(0);
        row->attempts = 5;
        row->next_attempt_at = 0;
        session.commit();
    }
    log.clear();
    auto result = flasky::OutboxDrainer(database, sender, options).drain();
    BOOST_TEST(result.failed == 1u);
    db::Session session(database);
    auto all = rows(session);
    BOOST_REQUIRE(all.size() == 1u);
    BOOST_TEST(all[0]->status == "failed");
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("gave up on") == 0u, log[0]);
}

// The mail went out, but the row's deletion could not commit: another process held the SQLite
// file locked past the busy timeout (5 s). The drainer remembers the row and records it in the
// next pass; the mail is not sent again when the claim runs out. (Before: a second copy, and a
// log that said the outbox could not be read.)
BOOST_AUTO_TEST_CASE(a_delivered_mail_the_outbox_cannot_record_is_not_sent_again) {
    if (std::getenv("WORKBOOK_TEST_DATABASE_URI")) return;  // an SQLite lock; see below
    mail::CaptureServer smtp(
        mail::CaptureOptions{.data_reply_delay = std::chrono::milliseconds(1000)});
    mail::Mail sender(settings_for(smtp.port()));
    {
        db::Session session(database);
        flasky::enqueue(session, new_user_mail("admin@example.com"));
        session.commit();
    }
    std::thread locker([&] {
        // Once the server has the message (and before it answers), lock the file for longer
        // than the drainer's busy timeout.
        BOOST_REQUIRE(smtp.wait_for(1, std::chrono::seconds(10)));
        db::Database other("sqlite:///" + file.path(), flasky::metadata());
        auto connection = other.acquire();
        connection->execute("BEGIN EXCLUSIVE");
        std::this_thread::sleep_for(std::chrono::milliseconds(6500));
        connection->execute("ROLLBACK");
    });
    flasky::OutboxDrainer outbox(
        database, sender,
        {.first_backoff = std::chrono::milliseconds(0),
         .claim_for = std::chrono::milliseconds(0),  // runs out at once
         .log = [this](std::string_view line) { log.emplace_back(line); }});
    const auto first = outbox.drain();
    locker.join();
    BOOST_TEST(first.sent == 1u);
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("could not record it yet") != std::string::npos, log[0]);
    const auto second = outbox.drain();
    BOOST_TEST(second.sent == 0u);
    BOOST_TEST(smtp.messages().size() == 1u);  // one copy
    db::Session session(database);
    BOOST_TEST(rows(session).empty());
}

BOOST_AUTO_TEST_CASE(a_database_that_fails_is_said_once_and_so_is_its_return) {
    mail::CaptureServer smtp;
    mail::Mail sender(settings_for(smtp.port()));
    {
        auto outbox = drainer(sender);
        outbox.start();
        database.acquire()->execute("DROP TABLE outbox");  // every pass fails from now on
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two or three passes
        database.create_all();
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }  // stop(): the drainer's thread is gone, its log can be read
    BOOST_REQUIRE(log.size() == 2u);
    BOOST_TEST(log[0].find("cannot read the outbox, mails wait in it: ") == 0u, log[0]);
    BOOST_TEST(log[0].find("outbox") != std::string::npos, log[0]);
    BOOST_TEST(log[1] == "the database answers again, sending the outbox");
}

// stop() cuts a send in progress short: the answer to the final "." may take ten minutes, and
// a shutdown must not wait for it. The row stays, to be sent at the next start.
BOOST_AUTO_TEST_CASE(stop_does_not_wait_for_a_slow_server) {
    mail::CaptureServer smtp(
        mail::CaptureOptions{.data_reply_delay = std::chrono::milliseconds(6'000)});
    mail::Mail sender(settings_for(smtp.port()));
    {
        db::Session session(database);
        flasky::enqueue(session, new_user_mail("admin@example.com"));
        session.commit();
    }
    auto outbox = drainer(sender);
    outbox.start();
    BOOST_REQUIRE(smtp.wait_for(1, std::chrono::seconds(10)));  // now waiting for the 250
    const auto start = std::chrono::steady_clock::now();
    outbox.stop();
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST((took < std::chrono::seconds(3)));
    db::Session session(database);
    auto all = rows(session);
    BOOST_REQUIRE(all.size() == 1u);
    BOOST_TEST(all[0]->status == "pending");
    smtp.stop();
}

BOOST_AUTO_TEST_CASE(a_dead_server_keeps_every_row_and_says_so_once) {
    mail::CaptureServer probe;
    const auto port = probe.port();
    probe.stop();  // nothing listens on `port` now
    mail::Mail sender(settings_for(port));
    {
        db::Session session(database);
        for (int i = 0; i < 3; ++i) flasky::enqueue(session, new_user_mail("admin@example.com"));
        session.commit();
    }
    auto outbox = drainer(sender);
    outbox.drain();
    outbox.drain();
    db::Session session(database);
    auto all = rows(session);
    BOOST_TEST(all.size() == 3u);
    for (const auto& row : all) {
        BOOST_TEST(row->status == "pending");
        BOOST_TEST(row->attempts == 0);  // the server failed, not the message
    }
    BOOST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("cannot reach the mail server") != std::string::npos, log[0]);
}

// Two processes behind nginx each run a drainer on the same database (docs/06-deploy.md). Both
// see the same due rows; each row must still go out once, not once per process.
BOOST_AUTO_TEST_CASE(two_drainers_on_one_database_send_each_mail_once) {
    mail::CaptureServer smtp;
    mail::Mail sender(settings_for(smtp.port()));
    constexpr int mails = 60;
    {
        db::Session session(database);
        for (int i = 0; i < mails; ++i)
            flasky::enqueue(session, new_user_mail("admin" + std::to_string(i) + "@example.com"));
        session.commit();
    }
    auto first = drainer(sender);
    auto second = drainer(sender);
    std::exception_ptr failed;
    std::thread other([&] {
        try {
            second.drain();
        } catch (...) {
            failed = std::current_exception();
        }
    });
    first.drain();
    other.join();
    if (failed) std::rethrow_exception(failed);
    first.drain();  // whatever the two passes left (a row the other one held)
    second.drain();
    const auto received = smtp.messages();
    std::set<std::string> ids;
    for (const auto& m : received) {
        const auto at = m.data.find("Message-ID: ");
        BOOST_REQUIRE(at != std::string::npos);
        ids.insert(m.data.substr(at, m.data.find('\n', at) - at));
    }
    BOOST_TEST(ids.size() == static_cast<std::size_t>(mails));
    BOOST_TEST(received.size() == static_cast<std::size_t>(mails));  // no mail twice
    db::Session session(database);
    BOOST_TEST(rows(session).empty());
}

BOOST_AUTO_TEST_SUITE_END()

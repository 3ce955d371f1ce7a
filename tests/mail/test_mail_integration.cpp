// Chapter 02 against real peers that no one here wrote:
//  - Debian's aiosmtpd (Python) as the server, requiring STARTTLS and AUTH like
//    smtp.qq.com:587, with a certificate made here by openssl and trusted via MAIL_CA_FILE;
//  - Flask-Mail itself, to check that what we deliver has its MIME tree;
//  - swaks as a client of our CaptureServer.
// Every peer listens on a free 127.0.0.1 port and is stopped when its test ends.
#define BOOST_TEST_MODULE mail_integration
#include <boost/test/unit_test.hpp>

#include "mail_chapter.hpp"

#include "common/mail/async_sender.hpp"
#include "common/mail/capture_server.hpp"
#include "common/mail/mail.hpp"
#include "common/mail/mime.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;
using namespace common::mail;
using namespace std::chrono_literals;

namespace {

const std::string user = "flasky@example.com";
const std::string password = "authorization-code-123";

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// Debian's python3, where python3-aiosmtpd and python3-flask-mail live (a pyenv or venv
// python3 earlier on PATH would not see them).
std::string python() { return env_or("MAIL_PEER_PYTHON", "/usr/bin/python3"); }
fs::path scripts() { return env_or("MAIL_TESTS_DIR", "."); }

struct Result {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

Result run(const std::string& command, const std::vector<std::string>& args) {
    Poco::Pipe out;
    Poco::ProcessHandle handle = Poco::Process::launch(command, args, nullptr, &out, &out);
    Poco::PipeInputStream stream(out);
    Result r;
    Poco::StreamCopier::copyToString(stream, r.output);
    r.exit_code = handle.wait();
    return r;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// A fresh directory, removed with its contents when the test ends. mkdtemp creates it
/// atomically: Poco::TemporaryFile's names are the pid and a counter, which another process
/// with the same pid (a container sharing /tmp) can already have taken.
class TempDir {
public:
    TempDir() {
        std::string name = (fs::temp_directory_path() / "mail-test-XXXXXX").string();
        if (!::mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed for " + name);
        path_ = name;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

struct Certificate {
    fs::path cert, key;
};

// A self-signed certificate: it is its own CA, so MAIL_CA_FILE=cert trusts it.
Certificate make_certificate(const fs::path& dir, const std::string& name,
                             const std::string& alt_names) {
    Certificate c{dir / (name + "-cert.pem"), dir / (name + "-key.pem")};
    const Result r =
        run("openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=" + name, "-addext", "subjectAltName=" + alt_names, "-keyout",
                        c.key.string(), "-out", c.cert.string()});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "openssl req failed: " << r.output);
    return c;
}

// aiosmtpd_peer.py on a free port; stopped (stdin closed, then killed) by the destructor.
class AiosmtpdPeer {
public:
    AiosmtpdPeer(const fs::path& dir, const Certificate& cert, bool implicit_tls = false)
        : dir_(dir), handle_(launch(cert, implicit_tls)) {
        Poco::PipeInputStream stream(out_);
        std::string line;
        if (!std::getline(stream, line) || line.rfind("PORT ", 0) != 0) {
            std::string rest;
            Poco::StreamCopier::copyToString(stream, rest);
            stop();
            BOOST_FAIL("aiosmtpd_peer.py did not start (is python3-aiosmtpd installed for "
                       << python() << "?): " << line << rest);
        }
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
    }
    AiosmtpdPeer(const AiosmtpdPeer&) = delete;
    AiosmtpdPeer& operator=(const AiosmtpdPeer&) = delete;
    ~AiosmtpdPeer() { stop(); }

    std::uint16_t port() const { return port_; }
    fs::path eml(int n) const {
        return dir_ / (std::string(n < 10 ? "000" : "00") + std::to_string(n) + ".eml");
    }
    std::string json(int n) const {
        auto p = eml(n);
        return read_file(p.replace_extension(".json"));
    }
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir_))
            n += e.path().extension() == ".eml" ? 1u : 0u;
        return n;
    }

private:
    Poco::ProcessHandle launch(const Certificate& cert, bool implicit_tls) {
        std::vector<std::string> args{(scripts() / "aiosmtpd_peer.py").string(),
                                      "--dir",
                                      dir_.string(),
                                      "--cert",
                                      cert.cert.string(),
                                      "--key",
                                      cert.key.string(),
                                      "--user",
                                      user,
                                      "--password",
                                      password};
        if (implicit_tls) args.push_back("--implicit-tls");
        return Poco::Process::launch(python(), args, &in_, &out_, &out_);
    }

    void stop() noexcept {
        if (stopped_) return;
        stopped_ = true;
        try {
            in_.close();  // the peer exits when its stdin closes
            // tryWait() reaps the child (isRunning() would still see it as a zombie).
            int status = handle_.tryWait();
            for (int i = 0; i < 100 && status == -1; ++i) {
                std::this_thread::sleep_for(20ms);
                status = handle_.tryWait();
            }
            if (status == -1) {
                Poco::Process::kill(handle_);
                handle_.wait();
            }
        } catch (...) {}
    }

    fs::path dir_;
    Poco::Pipe in_, out_;
    Poco::ProcessHandle handle_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

SettingsLookup lookup(std::map<std::string, std::string> values) {
    return [values = std::move(values)](std::string_view key) -> std::optional<std::string> {
        auto it = values.find(std::string(key));
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

MailSettings starttls_settings(std::uint16_t port, const Certificate& trusted) {
    MailSettings s;
    s.server = "127.0.0.1";
    s.port = port;
    s.use_tls = true;
    s.username = user;
    s.password = password;
    s.ca_file = trusted.cert.string();
    s.timeout = 10s;
    return s;
}

// Must match build("full") in flask_mail_compare.py.
Message full_message() {
    Message msg("你好，Flasky：测试邮件", "张三 <zhang@example.com>", {"li@example.com"});
    msg.cc = {"cc@example.com"};
    msg.bcc = {"hidden@example.com"};
    msg.reply_to = "reply@example.com";
    msg.body = "正文：你好\nsecond line";
    msg.html = "<p>你好 <b>HTML</b></p>";
    msg.attach("report.csv", "text/csv", "id,name\n1,Hyman\n");
    return msg;
}

void require_same_as_flask_mail(const std::string& which, const fs::path& eml) {
    const Result r = run(
        python(), {(scripts() / "flask_mail_compare.py").string(), "--case", which, eml.string()});
    BOOST_TEST_MESSAGE(r.output);
    BOOST_TEST(r.exit_code == 0, "Flask-Mail comparison failed:\n" << r.output);
}

MailError::Kind kind_of(Mail& mail, const Message& msg, std::string* what = nullptr) {
    try {
        mail.send(msg);
    } catch (const MailError& e) {
        BOOST_TEST_MESSAGE("MailError: " << e.what());
        if (what) *what = e.what();
        return e.kind();
    }
    BOOST_FAIL("expected a MailError");
    return MailError::Kind::rejected;
}

struct AiosmtpdFixture {
    TempDir tmp;
    Certificate cert = make_certificate(tmp.path(), "localhost", "DNS:localhost,IP:127.0.0.1");
    fs::path inbox = [this] {
        fs::create_directories(tmp.path() / "inbox");
        return tmp.path() / "inbox";
    }();
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Aiosmtpd, AiosmtpdFixture)

BOOST_AUTO_TEST_CASE(chapter_delivers_the_seed_with_starttls_and_auth_like_flask_mail) {
    AiosmtpdPeer peer(inbox, cert);
    std::ostringstream out;
    const int rc = ch02::run(out,
                             lookup({{"MAIL_SERVER", "127.0.0.1"},
                                     {"MAIL_PORT", std::to_string(peer.port())},
                                     {"MAIL_USE_TLS", "true"},
                                     {"MAIL_USERNAME", user},
                                     {"MAIL_PASSWORD", password},
                                     {"MAIL_CA_FILE", cert.cert.string()}}),
                             tmp.path());
    BOOST_TEST_MESSAGE(out.str());
    BOOST_REQUIRE_EQUAL(rc, 0);
    BOOST_TEST(out.str().find("TLS yes, authenticated yes (AUTH PLAIN)") != std::string::npos);
    BOOST_REQUIRE_EQUAL(peer.count(), 1u);
    const std::string envelope = peer.json(1);
    BOOST_TEST(envelope.find("\"tls\": true") != std::string::npos);
    BOOST_TEST(envelope.find("\"auth\": \"" + user + "\"") != std::string::npos);
    require_same_as_flask_mail("seed", peer.eml(1));
}

BOOST_AUTO_TEST_CASE(chinese_cc_bcc_attachment_message_matches_flask_mail) {
    AiosmtpdPeer peer(inbox, cert);
    Mail mail(starttls_settings(peer.port(), cert));
    mail.send(full_message());
    BOOST_REQUIRE_EQUAL(peer.count(), 1u);
    const std::string envelope = peer.json(1);
    BOOST_TEST(envelope.find("hidden@example.com") != std::string::npos);  // in the envelope
    BOOST_TEST(read_file(peer.eml(1)).find("hidden@example.com") ==
               std::string::npos);  // not in headers
    require_same_as_flask_mail("full", peer.eml(1));
}

BOOST_AUTO_TEST_CASE(bulk_connection_delivers_every_message) {
    AiosmtpdPeer peer(inbox, cert);
    Mail mail(starttls_settings(peer.port(), cert));
    {
        Connection conn = mail.connect();
        BOOST_TEST(conn.tls());
        for (int i = 0; i < 3; ++i) {
            Message msg("bulk " + std::to_string(i), "a@example.com", {"b@example.com"});
            msg.body = "n" + std::to_string(i);
            conn.send(msg);
        }
    }
    BOOST_TEST(peer.count() == 3u);
}

BOOST_AUTO_TEST_CASE(wrong_password_is_an_authentication_error) {
    AiosmtpdPeer peer(inbox, cert);
    MailSettings s = starttls_settings(peer.port(), cert);
    s.password = "the-account-password";
    Mail mail(s);
    std::string what;
    BOOST_TEST((kind_of(mail, ch02::seed_message(), &what) == MailError::Kind::auth_failed));
    BOOST_TEST(what.find("535") != std::string::npos);
    BOOST_TEST(what.find("authorization code") != std::string::npos);
    BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_fails_instead_of_sending) {
    AiosmtpdPeer peer(inbox, cert);
    MailSettings s = starttls_settings(peer.port(), cert);
    s.ca_file.clear();  // only the system CAs, which never signed our test certificate
    Mail mail(s);
    std::string what;
    BOOST_TEST((kind_of(mail, ch02::seed_message(), &what) == MailError::Kind::tls));
    BOOST_TEST(what.find("MAIL_CA_FILE") != std::string::npos);
    BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(certificate_for_another_host_name_fails) {
    const Certificate other =
        make_certificate(tmp.path(), "mail.example.com", "DNS:mail.example.com");
    AiosmtpdPeer peer(inbox, other);
    Mail mail(starttls_settings(peer.port(), other));  // trusted, but not valid for 127.0.0.1
    BOOST_TEST((kind_of(mail, ch02::seed_message()) == MailError::Kind::tls));
    BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(without_starttls_the_server_offers_no_auth_and_we_say_why) {
    AiosmtpdPeer peer(inbox, cert);
    MailSettings s = starttls_settings(peer.port(), cert);
    s.use_tls = false;
    Mail mail(s);
    std::string what;
    kind_of(mail, ch02::seed_message(), &what);
    BOOST_TEST(what.find("MAIL_USE_TLS") != std::string::npos);
    BOOST_TEST(peer.count() == 0u);
}

BOOST_AUTO_TEST_CASE(implicit_tls_like_port_465) {
    AiosmtpdPeer peer(inbox, cert, /*implicit_tls=*/true);
    MailSettings s = starttls_settings(peer.port(), cert);
    s.use_tls = false;
    s.use_ssl = true;
    Mail mail(s);
    const Delivery d = mail.send(ch02::seed_message());
    BOOST_TEST(d.tls);
    BOOST_TEST(d.auth == "PLAIN");
    BOOST_TEST(peer.count() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Swaks)

BOOST_AUTO_TEST_CASE(plain_delivery_to_the_capture_server) {
    TempDir tmp;
    CaptureServer server(CaptureOptions{.directory = tmp.path()});
    const Result r =
        run("swaks", {"--server", server.address(), "--from", "swaks@example.com", "--to",
                      "user@example.com", "--header", "Subject: hello from swaks", "--body",
                      "line one\n.line with a leading dot\n"});
    BOOST_TEST_MESSAGE(r.output);
    BOOST_REQUIRE_EQUAL(r.exit_code, 0);
    BOOST_REQUIRE(server.wait_for(1, 5s));
    const auto got = server.messages().at(0);
    BOOST_TEST(got.mail_from == "swaks@example.com");
    BOOST_TEST(got.rcpt_to.at(0) == "user@example.com");
    BOOST_TEST(!got.tls);
    const MimePart root = parse_mime(got.data);
    BOOST_TEST(root.header("Subject") == "hello from swaks");
    BOOST_TEST(root.body.find("\r\n.line with a leading dot") != std::string::npos);  // unstuffed
    BOOST_TEST(read_file(got.file) == got.data);
}

// As aiosmtpd reads DATA: only CRLF ends a line. Poco's line reader ended one at a lone LF
// too, so "\n.\n" ended the data early and the rest ran as commands (a second, forged
// message), and bare LFs came back as CRLFs.
BOOST_AUTO_TEST_CASE(the_capture_server_keeps_data_bytes_and_ends_data_at_crlf_dot_crlf_only) {
    CaptureServer server;
    Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    const std::string data = "Subject: a\r\n\r\nline\none\rtwo\r\n\n.\nMAIL FROM:<evil@x>\r\n"
                             "RCPT TO:<victim@x>\r\nDATA\r\nforged\r\n..dot\r\n";
    const std::string dialogue = "EHLO t\r\nMAIL FROM:a@example.com\r\nRCPT TO:<b@example.com>\r\n"
                                 "DATA\r\n" +
                                 data + ".\r\nQUIT\r\n";
    client.sendBytes(dialogue.data(), static_cast<int>(dialogue.size()));
    std::string replies;
    char buffer[4096];
    for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;)
        replies.append(buffer, static_cast<std::size_t>(n));
    BOOST_TEST_MESSAGE(replies);
    BOOST_REQUIRE(server.wait_for(1, 5s));
    std::this_thread::sleep_for(200ms);  // a second message, if the data were cut, by now
    BOOST_REQUIRE_EQUAL(server.messages().size(), 1u);
    const auto got = server.messages().at(0);
    BOOST_TEST(got.mail_from == "a@example.com");  // aiosmtpd takes it without the brackets
    std::string unstuffed = data;
    unstuffed.replace(unstuffed.find("..dot"), 5, ".dot");
    BOOST_TEST(got.data == unstuffed);

    // The session's order, as aiosmtpd keeps it: MAIL before EHLO, a second MAIL (it dropped
    // the recipients given) and "DATA foo" (the next commands became the message) are errors.
    Poco::Net::StreamSocket out_of_order(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    const std::string commands = "MAIL FROM:<a@x>\r\nEHLO t\r\nMAIL FROM:<a@x>\r\n"
                                 "MAIL FROM:<b@x>\r\nRCPT TO:<c@x>\r\nDATA foo\r\nQUIT\r\n";
    out_of_order.sendBytes(commands.data(), static_cast<int>(commands.size()));
    std::string answers;
    for (int n; (n = out_of_order.receiveBytes(buffer, sizeof buffer)) > 0;)
        answers.append(buffer, static_cast<std::size_t>(n));
    std::vector<std::string> codes;
    std::istringstream lines(answers);
    for (std::string line; std::getline(lines, line);)
        if (line.size() > 3 && line[3] == ' ') codes.push_back(line.substr(0, 3));
    const std::vector<std::string> expected{"220", "503", "250", "250", "503", "250", "501", "221"};
    BOOST_TEST(codes == expected, boost::test_tools::per_element());
    BOOST_TEST(server.messages().size() == 1u);

    // A line over 1000 bytes (CRLF included) is refused, as aiosmtpd refuses it; 1000 is fine.
    for (const std::size_t length : {998u, 999u}) {
        Poco::Net::StreamSocket one(Poco::Net::SocketAddress("127.0.0.1", server.port()));
        const std::string session = "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n" +
                                    std::string(length, 'x') + "\r\n.\r\nQUIT\r\n";
        one.sendBytes(session.data(), static_cast<int>(session.size()));
        std::string said;
        for (int n; (n = one.receiveBytes(buffer, sizeof buffer)) > 0;)
            said.append(buffer, static_cast<std::size_t>(n));
        const bool refused = said.find("\r\n500 5.5.2 Line too long") != std::string::npos;
        BOOST_TEST(refused == (length == 999u), said);
    }
    BOOST_TEST(server.messages().size() == 2u);  // the 998-byte line
}

BOOST_AUTO_TEST_CASE(starttls_and_auth_login_and_plain) {
    TempDir tmp;
    const Certificate cert =
        make_certificate(tmp.path(), "localhost", "DNS:localhost,IP:127.0.0.1");
    CaptureServer server(CaptureOptions{.cert_file = cert.cert,
                                        .key_file = cert.key,
                                        .require_tls = true,
                                        .username = user,
                                        .password = password});
    for (const std::string mechanism : {"LOGIN", "PLAIN"}) {
        const Result r =
            run("swaks", {"--server", server.address(), "--tls", "--auth", mechanism, "--auth-user",
                          user, "--auth-password", password, "--from", user, "--to",
                          "user@example.com", "--header", "Subject: via " + mechanism});
        BOOST_TEST_MESSAGE(r.output);
        BOOST_TEST(r.exit_code == 0);
    }
    BOOST_REQUIRE(server.wait_for(2, 5s));
    for (const auto& got : server.messages()) {
        BOOST_TEST(got.tls);
        BOOST_TEST(got.auth_user == user);
    }
}

// A bulk connection reopens its session after MAIL_MAX_EMAILS. When the new session cannot
// get TLS, the send fails, and so must every later one: the half-opened session (no STARTTLS
// yet) is closed, never used. (Before: the third message went out in clear text.)
BOOST_AUTO_TEST_CASE(a_reopened_session_without_tls_never_carries_a_message) {
    TempDir tmp;
    const Certificate cert =
        make_certificate(tmp.path(), "localhost", "DNS:localhost,IP:127.0.0.1");
    std::optional<CaptureServer> server(CaptureOptions{.cert_file = cert.cert,
                                                       .key_file = cert.key,
                                                       .require_tls = true,
                                                       .username = user,
                                                       .password = password});
    const auto port = server->port();
    MailSettings settings = starttls_settings(port, cert);
    settings.max_emails = 1;
    Mail mail(settings);
    Message msg("bulk", user, {"user@example.com"});
    msg.body = "x";
    auto connection = mail.connect();
    BOOST_TEST(connection.send(msg).tls);
    server.reset();  // the same port, now a server without STARTTLS
    CaptureServer plain(CaptureOptions{.port = port});
    BOOST_CHECK_THROW(connection.send(msg), MailError);
    BOOST_CHECK_THROW(connection.send(msg), MailError);
    BOOST_TEST(plain.messages().empty());
}

BOOST_AUTO_TEST_CASE(wrong_password_and_missing_tls_are_refused) {
    TempDir tmp;
    const Certificate cert =
        make_certificate(tmp.path(), "localhost", "DNS:localhost,IP:127.0.0.1");
    CaptureServer server(CaptureOptions{.cert_file = cert.cert,
                                        .key_file = cert.key,
                                        .require_tls = true,
                                        .username = user,
                                        .password = password});
    const Result wrong =
        run("swaks", {"--server", server.address(), "--tls", "--auth", "PLAIN", "--auth-user", user,
                      "--auth-password", "nope", "--from", user, "--to", "user@example.com"});
    BOOST_TEST_MESSAGE(wrong.output);
    BOOST_TEST(wrong.exit_code != 0);
    BOOST_TEST(wrong.output.find("535") != std::string::npos);
    const Result clear =
        run("swaks", {"--server", server.address(), "--from", user, "--to", "user@example.com"});
    BOOST_TEST_MESSAGE(clear.output);
    BOOST_TEST(clear.exit_code != 0);
    BOOST_TEST(clear.output.find("530") != std::string::npos);
    BOOST_TEST(server.messages().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
// Failures: misbehaving_smtp.py drops or goes silent at a chosen step; nothing is lost and
// every step keeps its deadline.

namespace {

// misbehaving_smtp.py on a free port (or `port`), stopped like AiosmtpdPeer.
class MisbehavingPeer {
public:
    explicit MisbehavingPeer(const fs::path& dir, std::vector<std::string> args = {},
                             std::uint16_t port = 0)
        : dir_(dir) {
        args.insert(args.begin(), {(scripts() / "misbehaving_smtp.py").string(), "--dir",
                                   dir.string(), "--port", std::to_string(port)});
        handle_.emplace(Poco::Process::launch(python(), args, &in_, &out_, &out_));
        Poco::PipeInputStream stream(out_);
        std::string line;
        if (!std::getline(stream, line) || line.rfind("PORT ", 0) != 0) {
            stop();
            BOOST_FAIL("misbehaving_smtp.py did not start: " << line);
        }
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
    }
    MisbehavingPeer(const MisbehavingPeer&) = delete;
    MisbehavingPeer& operator=(const MisbehavingPeer&) = delete;
    ~MisbehavingPeer() { stop(); }

    std::uint16_t port() const { return port_; }
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir_))
            n += e.path().extension() == ".eml" ? 1u : 0u;
        return n;
    }
    std::string eml(int n) const {
        return read_file(dir_ / (std::string(n < 10 ? "000" : "00") + std::to_string(n) + ".eml"));
    }
    std::string json(int n) const {
        return read_file(dir_ / (std::string(n < 10 ? "000" : "00") + std::to_string(n) + ".json"));
    }
    std::string events() const { return read_file(dir_ / "events.log"); }

private:
    void stop() noexcept {
        if (stopped_ || !handle_) return;
        stopped_ = true;
        try {
            in_.close();
            int status = handle_->tryWait();
            for (int i = 0; i < 100 && status == -1; ++i) {
                std::this_thread::sleep_for(20ms);
                status = handle_->tryWait();
            }
            if (status == -1) {
                Poco::Process::kill(*handle_);
                handle_->wait();
            }
        } catch (...) {}
    }

    fs::path dir_;
    Poco::Pipe in_, out_;
    std::optional<Poco::ProcessHandle> handle_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

MailSettings plain_settings(std::uint16_t port) {
    MailSettings s;
    s.server = "127.0.0.1";
    s.port = port;
    s.timeout = 5s;
    return s;
}

Message simple_message(const std::string& subject) {
    Message msg(subject, "a@example.com", {"b@example.com"});
    msg.body = "line one\nline two\nline three\nline four\n";
    return msg;
}

std::uint16_t free_port() {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = probe.address().port();
    probe.close();
    return port;
}

struct Step {
    std::string name;      // misbehaving_smtp.py's STEP
    bool starttls;         // needs MAIL_USE_TLS
    std::string expected;  // what the error must name
};

const std::vector<Step> drop_steps{
    {"greeting", false, "waiting for the greeting"},
    {"ehlo", false, "sending EHLO"},
    {"ehlo-half", false, "sending EHLO"},  // hung up in the middle of a multi-line reply
    {"starttls", true, "TLS handshake after STARTTLS"},
    {"ehlo-tls", true, "EHLO after STARTTLS"},
    {"mail", false, "sending MAIL FROM"},
    {"rcpt", false, "sending RCPT TO"},
    {"data", false, "sending DATA"},
    {"body", false, "message data"},
    {"dot", false, "final \".\""},
};

struct FailureFixture : AiosmtpdFixture {
    MailSettings settings_for(const MisbehavingPeer& peer, bool starttls) const {
        MailSettings s = plain_settings(peer.port());
        if (starttls) {
            s.use_tls = true;
            s.ca_file = cert.cert.string();
        }
        return s;
    }
    std::vector<std::string> tls_args() const {
        return {"--cert", cert.cert.string(), "--key", cert.key.string()};
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Failures, FailureFixture)

BOOST_AUTO_TEST_CASE(a_drop_at_each_step_is_retried_and_delivered_exactly_once) {
    for (const Step& step : drop_steps) {
        BOOST_TEST_CONTEXT("drop at " << step.name) {
            const fs::path dir = tmp.path() / ("drop-" + step.name);
            fs::create_directories(dir);
            std::vector<std::string> args{"--drop", step.name};
            if (step.starttls)
                for (const auto& a : tls_args()) args.push_back(a);
            MisbehavingPeer peer(dir, args);
            Mail mail(settings_for(peer, step.starttls));
            std::vector<std::string> lines;
            AsyncSender sender(
                mail, AsyncOptions{.first_backoff = 50ms,
                                   .log = [&](std::string_view l) { lines.emplace_back(l); }});
            BOOST_REQUIRE(sender.submit(simple_message("drop at " + step.name)));
            sender.flush();
            const AsyncStats stats = sender.stats();
            BOOST_TEST_MESSAGE(step.name << ": " << stats.last_error);
            BOOST_TEST(stats.sent == 1u);
            BOOST_TEST(stats.failed == 0u);
            BOOST_TEST(stats.retries == 1u);
            BOOST_TEST(peer.count() == 1u);  // exactly once
            BOOST_TEST(stats.last_error.find("by the server") != std::string::npos,
                       stats.last_error);
            BOOST_TEST(stats.last_error.find(step.expected) != std::string::npos, stats.last_error);
            BOOST_REQUIRE(!lines.empty());
            BOOST_TEST(lines.front().find("will retry") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_drop_halfway_through_a_large_message_is_retried) {
    // 4 MB of data: the server hangs up while we are still writing, so the write fails.
    MisbehavingPeer peer(tmp.path() / "inbox", {"--drop", "body"});
    Mail mail(plain_settings(peer.port()));
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 50ms, .log = [](std::string_view) {}});
    Message msg = simple_message("large");
    for (int i = 0; i < 50'000; ++i)
        msg.body += "a line of the large message, number " + std::to_string(i) + "\n";
    sender.submit(msg);
    sender.flush();
    BOOST_TEST_MESSAGE(sender.stats().last_error);
    BOOST_TEST(sender.stats().sent == 1u);
    BOOST_TEST(sender.stats().retries == 1u);
    BOOST_TEST(sender.stats().last_error.find("by the server") != std::string::npos);
    BOOST_TEST(sender.stats().last_error.find("message data") != std::string::npos);
    BOOST_TEST(peer.count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_dropped_connection_is_temporary_and_names_the_step) {
    MisbehavingPeer peer(tmp.path() / "inbox", {"--drop", "rcpt", "--times", "0"});
    Mail mail(plain_settings(peer.port()));
    try {
        mail.send(simple_message("x"));
        BOOST_FAIL("expected a MailError");
    } catch (const MailError& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(e.temporary());
        BOOST_TEST((e.kind() == MailError::Kind::connection_failed));
        BOOST_TEST(std::string(e.what()).find("closed by the server") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("while sending RCPT TO:<b@example.com>") !=
                   std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(stored_then_dropped_is_delivered_twice_with_the_same_message_id) {
    // SMTP is at-least-once: the server queued the message and died before saying so. The
    // retry delivers a second copy, with the same Message-ID for the receiver to drop.
    MisbehavingPeer peer(tmp.path() / "inbox", {"--drop", "dot", "--store-before-drop"});
    Mail mail(plain_settings(peer.port()));
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 50ms, .log = [](std::string_view) {}});
    sender.submit(simple_message("twice"));
    sender.flush();
    BOOST_TEST(sender.stats().sent == 1u);
    BOOST_REQUIRE_EQUAL(peer.count(), 2u);
    const std::string first = parse_mime(peer.eml(1)).header("Message-ID");
    BOOST_TEST(!first.empty());
    BOOST_TEST(parse_mime(peer.eml(2)).header("Message-ID") == first);
}

BOOST_AUTO_TEST_CASE(connection_refused_for_two_seconds_then_up_is_delivered) {
    const std::uint16_t port = free_port();
    Mail mail(plain_settings(port));
    AsyncSender sender(mail, AsyncOptions{.max_attempts = 8,
                                          .first_backoff = 250ms,
                                          .max_backoff = 1s,
                                          .log = [](std::string_view) {}});
    const auto start = std::chrono::steady_clock::now();
    sender.submit(simple_message("refused, then up"));
    std::this_thread::sleep_for(2s);
    MisbehavingPeer peer(tmp.path() / "inbox", {}, port);
    sender.flush();
    BOOST_TEST_MESSAGE("delivered after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count()
                                          << " ms, retries " << sender.stats().retries);
    BOOST_TEST(sender.stats().sent == 1u);
    BOOST_TEST(sender.stats().retries >= 2u);
    BOOST_TEST(peer.count() == 1u);
}

BOOST_AUTO_TEST_CASE(one_refused_recipient_of_four_does_not_cancel_the_message) {
    MisbehavingPeer peer(tmp.path() / "inbox", {"--refuse", "c@example.com"});
    Mail mail(plain_settings(peer.port()));
    Message msg("four", "a@example.com", {"b@example.com", "c@example.com"});
    msg.cc = {"d@example.com"};
    msg.bcc = {"e@example.com"};
    msg.body = "x";
    const Delivery d = mail.send(msg);
    BOOST_REQUIRE_EQUAL(d.refused.size(), 1u);
    BOOST_TEST(d.refused[0].email == "c@example.com");
    BOOST_TEST(d.refused[0].code == 550);
    BOOST_REQUIRE_EQUAL(peer.count(), 1u);
    BOOST_TEST(
        peer.json(1) ==
        R"({"mail_from": "a@example.com", "rcpt_tos": ["b@example.com", "d@example.com", "e@example.com"]})");

    // The async sender delivers it too and says whom the server refused.
    std::vector<std::string> lines;
    {
        AsyncSender sender(mail,
                           AsyncOptions{.log = [&](std::string_view l) { lines.emplace_back(l); }});
        sender.submit(msg);
        sender.flush();
        BOOST_TEST(sender.stats().sent == 1u);
        BOOST_TEST(sender.stats().refused_recipients == 1u);
    }
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    BOOST_TEST(lines[0].find("refused c@example.com (550") != std::string::npos, lines[0]);
    BOOST_TEST(peer.count() == 2u);

    // Flask-Mail (smtplib) against the same server: also delivers to the other three, and
    // smtplib reports the refused one (Flask-Mail itself drops that report).
    const Result flask = run(python(), {(scripts() / "flask_mail_compare.py").string(),
                                        "--send-four", "127.0.0.1:" + std::to_string(peer.port())});
    BOOST_TEST_MESSAGE(flask.output);
    BOOST_TEST(flask.exit_code == 0);
    BOOST_TEST(flask.output.find("smtplib refused: {'c@example.com': (550") != std::string::npos);
    BOOST_REQUIRE_EQUAL(peer.count(), 4u);
    for (int n : {3, 4}) {  // Flask-Mail's and smtplib's (their envelope order is a set's)
        for (const char* to : {"b@", "d@", "e@"})
            BOOST_TEST(peer.json(n).find(to) != std::string::npos);
        BOOST_TEST(peer.json(n).find("c@") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_recipient_deferred_with_451_gets_the_message_on_a_retry) {
    // Greylisting: the server says "not now" to one recipient. The others get the message at
    // once; the async sender then sends it again to that recipient only, same Message-ID.
    MisbehavingPeer peer(tmp.path() / "inbox", {"--defer", "c@example.com"});
    Mail mail(plain_settings(peer.port()));
    std::vector<std::string> lines;
    AsyncSender sender(mail, AsyncOptions{.first_backoff = 50ms, .log = [&](std::string_view l) {
                                              lines.emplace_back(l);
                                          }});
    Message msg("greylisted", "a@example.com", {"b@example.com", "c@example.com"});
    msg.body = "x";
    sender.submit(msg);
    sender.flush();
    BOOST_TEST(sender.stats().sent == 1u);
    BOOST_TEST(sender.stats().retries == 1u);
    BOOST_TEST(sender.stats().failed == 0u);
    BOOST_REQUIRE_EQUAL(peer.count(), 2u);
    BOOST_TEST(peer.json(1) == R"({"mail_from": "a@example.com", "rcpt_tos": ["b@example.com"]})");
    BOOST_TEST(peer.json(2) == R"({"mail_from": "a@example.com", "rcpt_tos": ["c@example.com"]})");
    BOOST_TEST(parse_mime(peer.eml(1)).header("Message-ID") ==
               parse_mime(peer.eml(2)).header("Message-ID"));
    BOOST_REQUIRE(!lines.empty());
    BOOST_TEST(lines[0].find("deferred c@example.com (451") != std::string::npos, lines[0]);
}

// Given up on after the others got it: the failure handler gets the message addressed to
// the one still without it (a Bcc stays a Bcc), so that sending it again duplicates nothing.
BOOST_AUTO_TEST_CASE(a_recipient_deferred_for_good_is_handed_back_alone) {
    CaptureServer smtp(CaptureOptions{.deferred_recipients = {"c@example.com"}, .deferrals = 100});
    Mail mail(plain_settings(smtp.port()));
    std::optional<Message> failed;
    {
        AsyncSender sender(mail, AsyncOptions{.max_attempts = 2, .first_backoff = 10ms},
                           [&](const Message& m, const MailError&) { failed = m; });
        Message msg("full", "a@example.com", {"Bee <b@example.com>"});
        msg.bcc = {"c@example.com"};
        msg.body = "x";
        sender.submit(msg);
        sender.flush();
        BOOST_TEST(sender.stats().failed == 1u);
    }
    BOOST_REQUIRE(failed.has_value());
    BOOST_TEST(failed->recipients.empty());
    BOOST_TEST(failed->bcc == (std::vector<std::string>{"c@example.com"}));
    BOOST_TEST(smtp.messages().size() == 1u);  // b's copy, once
}

BOOST_AUTO_TEST_CASE(every_recipient_refused_is_an_error_as_before) {
    MisbehavingPeer peer(tmp.path() / "inbox",
                         {"--refuse", "b@example.com", "--refuse", "c@example.com"});
    Mail mail(plain_settings(peer.port()));
    Message msg("none", "a@example.com", {"b@example.com", "c@example.com"});
    msg.body = "x";
    std::string what;
    BOOST_TEST((kind_of(mail, msg, &what) == MailError::Kind::recipient_refused));
    BOOST_TEST(what.find("b@example.com") != std::string::npos);
    BOOST_TEST(what.find("c@example.com") != std::string::npos);
    BOOST_TEST(peer.count() == 0u);
}

// The issue's bound is 1.5 s for MAIL_TIMEOUT=1, and the default build holds it. Under ASan
// the TLS handshake before a silent step alone can take ~0.4 s on a loaded machine, so that
// build only checks that the deadline fired (well under a second MAIL_TIMEOUT). Under TSan,
// slower again (3.6 s seen on a loaded machine), the test is there for the watchdog's threads,
// not its latency.
#if defined(__SANITIZE_THREAD__)
constexpr auto kSilentStepBound = 5000ms;
#elif defined(__SANITIZE_ADDRESS__)
constexpr auto kSilentStepBound = 1900ms;
#else
constexpr auto kSilentStepBound = 1500ms;
#endif

BOOST_AUTO_TEST_CASE(a_silent_server_at_each_step_fails_within_the_timeout_naming_it) {
    const std::vector<Step> silent_steps{
        {"greeting", false, "waiting for the greeting"},
        {"starttls", true, "TLS handshake after STARTTLS"},
        {"ehlo-tls", true, "EHLO after STARTTLS"},
        {"rcpt", false, "sending RCPT TO"},
    };
    for (const Step& step : silent_steps) {
        BOOST_TEST_CONTEXT("silent at " << step.name) {
            const fs::path dir = tmp.path() / ("silent-" + step.name);
            fs::create_directories(dir);
            std::vector<std::string> args{"--silent", step.name, "--times", "0"};
            if (step.starttls)
                for (const auto& a : tls_args()) args.push_back(a);
            MisbehavingPeer peer(dir, args);
            MailSettings s = settings_for(peer, step.starttls);
            s.timeout = 1s;
            Mail mail(s);
            const auto start = std::chrono::steady_clock::now();
            std::string what;
            BOOST_TEST(
                (kind_of(mail, simple_message("silent"), &what) == MailError::Kind::timeout));
            const auto took = std::chrono::steady_clock::now() - start;
            BOOST_TEST_MESSAGE(
                "silent at " << step.name << ": failed after "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                             << " ms: " << what);
            BOOST_TEST(took >= 900ms);
            BOOST_TEST(took < kSilentStepBound);
            BOOST_TEST(what.find(step.expected) != std::string::npos, what);
            BOOST_TEST(what.find("MAIL_TIMEOUT") != std::string::npos);
        }
    }
}

// The answer to the final "." gets RFC 5321's longer wait (data_done_timeout), not MAIL_TIMEOUT:
// the server may be storing the message, and a retry after giving up would deliver it twice.
// (Before: a server 5 s slow here got the message four times from the outbox.)
BOOST_AUTO_TEST_CASE(the_answer_to_the_final_dot_is_waited_for_longer_than_mail_timeout) {
    fs::create_directories(tmp.path() / "slow");
    fs::create_directories(tmp.path() / "silent-dot");
    {
        MisbehavingPeer peer(tmp.path() / "slow", {"--slow-dot", "2"});
        MailSettings s = plain_settings(peer.port());
        s.timeout = 1s;
        Mail mail(s);
        BOOST_CHECK_NO_THROW(mail.send(simple_message("slow")));
        BOOST_TEST(peer.count() == 1u);
    }
    MisbehavingPeer peer(tmp.path() / "silent-dot", {"--silent", "dot", "--times", "0"});
    MailSettings s = plain_settings(peer.port());
    s.timeout = 1s;
    s.data_done_timeout = 2s;
    Mail mail(s);
    const auto start = std::chrono::steady_clock::now();
    std::string what;
    BOOST_TEST((kind_of(mail, simple_message("silent"), &what) == MailError::Kind::timeout));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(took >= 1900ms);
    BOOST_TEST(took < 1s + kSilentStepBound);
    BOOST_TEST(what.find("final \".\"") != std::string::npos, what);
    BOOST_TEST(what.find("may have stored the message") != std::string::npos, what);
}

// smtplib says HELO when EHLO is refused (500/502), and Flask-Mail delivers; so do we. With
// MAIL_USE_TLS the refusal is an error that says why: STARTTLS exists only in ESMTP.
BOOST_AUTO_TEST_CASE(a_server_without_ehlo_gets_helo_as_smtplib_sends_it) {
    fs::create_directories(tmp.path() / "helo");
    MisbehavingPeer peer(tmp.path() / "helo", {"--no-ehlo"});
    MailSettings s = plain_settings(peer.port());
    Mail mail(s);
    BOOST_CHECK_NO_THROW(mail.send(simple_message("helo")));
    BOOST_TEST(peer.count() == 1u);
    s.use_tls = true;
    Mail tls_mail(s);
    std::string what;
    BOOST_TEST((kind_of(tls_mail, simple_message("tls"), &what) == MailError::Kind::rejected));
    BOOST_TEST(what.find("does not speak ESMTP") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(quit_after_a_failure_waits_at_most_its_short_grace) {
    // Every recipient refused, then no answer to QUIT: the error comes after QUIT's 0.5 s
    // grace, not after another MAIL_TIMEOUT.
    MisbehavingPeer peer(tmp.path() / "inbox",
                         {"--refuse", "b@example.com", "--silent", "quit", "--times", "0"});
    MailSettings s = plain_settings(peer.port());
    s.timeout = 10s;
    Mail mail(s);
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST((kind_of(mail, simple_message("refused")) == MailError::Kind::recipient_refused));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST_MESSAGE("failed after "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms");
    BOOST_TEST(took < 1s);
}

BOOST_AUTO_TEST_CASE(a_silent_implicit_tls_handshake_fails_within_the_timeout) {
    MisbehavingPeer peer(tmp.path() / "inbox",
                         {"--implicit-tls", "--silent", "starttls", "--times", "0", "--cert",
                          cert.cert.string(), "--key", cert.key.string()});
    MailSettings s = plain_settings(peer.port());
    s.use_ssl = true;
    s.ca_file = cert.cert.string();
    s.timeout = 1s;
    Mail mail(s);
    const auto start = std::chrono::steady_clock::now();
    std::string what;
    BOOST_TEST((kind_of(mail, simple_message("silent"), &what) == MailError::Kind::timeout));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(took < 1500ms);
    BOOST_TEST(what.find("TLS handshake (MAIL_USE_SSL)") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(shutdown_cuts_an_attempt_in_progress_at_the_grace) {
    MisbehavingPeer peer(tmp.path() / "inbox", {"--silent", "dot", "--times", "0"});
    MailSettings s = plain_settings(peer.port());
    s.timeout = 30s;  // far longer than the grace
    Mail mail(s);
    AsyncSender sender(mail, AsyncOptions{.shutdown_grace = 500ms, .log = [](std::string_view) {}});
    sender.submit(simple_message("cut"));
    std::this_thread::sleep_for(300ms);  // the worker is now waiting for the final "."
    const auto start = std::chrono::steady_clock::now();
    sender.shutdown();
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST_MESSAGE("shutdown took "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms: " << sender.stats().last_error);
    BOOST_TEST(took < 1500ms);
    BOOST_TEST(sender.stats().failed == 1u);
    BOOST_TEST(sender.stats().last_error.find("shut down") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
// Long headers: delivered through aiosmtpd (which refuses lines over 998 characters) and read
// back by Python's email package to the values Flask-Mail would send.

namespace {

// Must match LONG_CASES in flask_mail_compare.py.
Message long_message(const std::string& which) {
    if (which == "long-subject") {
        std::string subject;
        while (subject.size() < 1000) subject += "Flasky ";
        Message msg(subject.substr(0, 1000), "a@example.com", {"b@example.com"});
        msg.body = "long subject";
        return msg;
    }
    if (which == "many-recipients") {
        Message msg("sixty", "a@example.com", {});
        for (int i = 0; i < 60; ++i)
            msg.recipients.push_back("User Number " + std::to_string(i) + " <user" +
                                     std::to_string(i) + "@example.com>");
        msg.body = "sixty recipients";
        return msg;
    }
    if (which == "long-chinese") {
        std::string subject = "你好，Flasky：";
        for (int i = 0; i < 20; ++i) subject += "一封很长的测试邮件标题";
        Message msg(subject, "张三 <zhang@example.com>", {"li@example.com"});
        msg.body = "正文";
        return msg;
    }
    if (which == "chinese-attachment") {
        Message msg("attachment", "a@example.com", {"b@example.com"});
        msg.body = "see the file";
        msg.attach("报告 2026 年.csv", "text/csv", "id,name\n1,Hyman\n");
        msg.attach("一个很长很长很长很长很长很长很长很长很长很长的文件名.txt", "text/plain",
                   "hello");
        return msg;
    }
    Message msg("body only", "a@example.com", {"b@example.com"});
    msg.body = "text body";
    return msg;
}

std::size_t longest_line(const std::string& data) {
    std::size_t longest = 0, start = 0;
    while (start < data.size()) {
        auto end = data.find("\r\n", start);
        if (end == std::string::npos) end = data.size();
        longest = std::max(longest, end - start);
        start = end + 2;
    }
    return longest;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(LongHeaders, AiosmtpdFixture)

BOOST_AUTO_TEST_CASE(long_subject_many_recipients_long_chinese_arrive_as_flask_mail_sends_them) {
    AiosmtpdPeer peer(inbox, cert);
    Mail mail(starttls_settings(peer.port(), cert));
    int n = 0;
    for (const std::string which :
         {"long-subject", "many-recipients", "long-chinese", "chinese-attachment", "body-only"}) {
        BOOST_TEST_CONTEXT(which) {
            const Delivery d = mail.send(long_message(which));
            BOOST_TEST(d.refused.empty());
            BOOST_REQUIRE_EQUAL(peer.count(), static_cast<std::size_t>(++n));
            const std::string received = read_file(peer.eml(n));
            BOOST_TEST_MESSAGE(which << ": longest line " << longest_line(received));
            BOOST_TEST(longest_line(received) <= 998u);
            const std::string head = received.substr(0, received.find("\r\n\r\n"));
            BOOST_TEST(longest_line(head) <= 78u);  // every header line folded to 78
            require_same_as_flask_mail(which, peer.eml(n));
        }
    }
    const std::string sixty = peer.json(2);
    BOOST_TEST(sixty.find("user59@example.com") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

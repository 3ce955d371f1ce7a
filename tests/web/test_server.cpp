// The real server on 127.0.0.1 and a free port, driven by Poco's HTTP client: the same app
// as in-process, keep-alive, limits, HEAD, graceful shutdown and SIGTERM.
#include "common/web/app.hpp"
#include "common/web/extensions.hpp"
#include "common/web/server.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <sstream>
#include <thread>

using namespace common::web;
using namespace std::chrono_literals;

namespace {

struct Reply {
    int status = 0;
    std::string body;
    Poco::Net::HTTPResponse head;
};

Reply send(Poco::Net::HTTPClientSession& session, const std::string& method, const std::string& uri,
           const std::string& cookie = {}, const std::string& body = {}) {
    Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    if (!cookie.empty()) req.set("Cookie", cookie);
    if (!body.empty()) {
        req.setContentType("application/x-www-form-urlencoded");
        req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Reply r;
    std::istream& in = session.receiveResponse(r.head);
    Poco::StreamCopier::copyToString(in, r.body);
    r.status = static_cast<int>(r.head.getStatus());
    return r;
}

/// A raw connection, for what an HTTP client library would not send.
struct Raw {
    Poco::Net::StreamSocket socket;
    explicit Raw(std::uint16_t port) : socket(Poco::Net::SocketAddress("127.0.0.1", port)) {
        socket.setReceiveTimeout(Poco::Timespan(5, 0));
    }
    void write(const std::string& bytes) {
        socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    }
    /// Reads until `enough` returns true for what arrived, or the server closes (or 5 s pass).
    template <class Pred>
    std::string read_until(Pred enough) {
        std::string got;
        char buf[4096];
        while (!enough(got)) {
            int n = 0;
            try {
                n = socket.receiveBytes(buf, sizeof buf);
            } catch (const Poco::TimeoutException&) {
                break;
            }
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
    std::string read_to_end() {
        return read_until([](const std::string&) { return false; });
    }
    /// True when the server closed the connection (end of file) within 5 s.
    bool closed_by_server() {
        char c = 0;
        try {
            return socket.receiveBytes(&c, 1) == 0;
        } catch (const Poco::TimeoutException&) {
            return false;
        } catch (const Poco::Net::ConnectionResetException&) {
            return true;
        }
    }
};

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

struct ServerFixture {
    App app{"served", WEB_TEST_DATA};
    std::atomic<bool> slow_entered{false};
    std::atomic<bool> wait_entered{false};
    std::atomic<int> shutdown_hooks{0};
    std::ostringstream access_log;

    ServerFixture() {
        app.config.set("SECRET_KEY", std::string("server secret"));
        app.config.set("MAX_CONTENT_LENGTH", std::int64_t{1000});
        app.route("/", "index", [](Context& ctx) {
            ctx.session()["visits"] = ctx.session().get("visits", 0).as_int() + 1;
            return Response(
                ctx.render_template("hello.html", {{"name", ctx.session()["visits"].to_text()}}));
        });
        app.route("/slow", "slow", [this](Context&) {
            slow_entered = true;
            std::this_thread::sleep_for(400ms);
            return Response("slow done");
        });
        app.route("/echo", "echo",
                  [](Context& ctx) { return Response(ctx.request.form().get("a")); }, {"POST"});
        app.csrf_exempt("echo");
        // A write that waits, as one does for a database another process has locked.
        app.route("/wait", "wait",
                  [this](Context&) {
                      wait_entered = true;
                      std::this_thread::sleep_for(1500ms);
                      return Response("saved");
                  },
                  {"POST"});
        app.csrf_exempt("wait");
        app.route("/big", "big", [](Context&) {
            return Response(std::string(32 * 1024 * 1024, 'x'), 200, "text/plain");
        });
        app.on_shutdown([this] { ++shutdown_hooks; });
    }
    ServerOptions options() {
        ServerOptions o;
        o.port = 0;
        o.threads = 8;
        o.access_log = &access_log;
        return o;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Server_, ServerFixture)

BOOST_AUTO_TEST_CASE(serves_pages_with_session_over_one_keep_alive_connection) {
    Server server(app, options());
    server.start();
    BOOST_TEST(server.port() != 0);
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    session.setKeepAlive(true);

    auto first = send(session, "GET", "/");
    BOOST_TEST(first.status == 200);
    BOOST_TEST(first.body.find("Hello, 1!") != std::string::npos);
    const auto local_port = session.socket().address().port();
    std::vector<Poco::Net::HTTPCookie> cookies;
    first.head.getCookies(cookies);
    BOOST_REQUIRE(cookies.size() == 1u);
    BOOST_TEST(cookies[0].getName() == "session");

    auto second = send(session, "GET", "/", "session=" + cookies[0].getValue());
    BOOST_TEST(second.status == 200);
    BOOST_TEST(second.body.find("Hello, 2!") != std::string::npos);
    BOOST_TEST(session.socket().address().port() == local_port);  // same connection: keep-alive
    BOOST_TEST(second.head.getKeepAlive());

    auto missing = send(session, "GET", "/nope");
    BOOST_TEST(missing.status == 404);
    server.stop();
    BOOST_TEST(shutdown_hooks == 1);
    const std::string log = access_log.str();
    BOOST_TEST(log.find("\"GET / HTTP/1.1\" 200") != std::string::npos);
    BOOST_TEST(log.find("\"GET /nope HTTP/1.1\" 404") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(head_sends_length_but_no_body) {
    Server server(app, options());
    server.start();
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    auto r = send(session, "HEAD", "/static/css/site.css");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body.empty());
    BOOST_TEST(r.head.getContentLength() == 21);
    auto get = send(session, "GET", "/static/css/site.css");
    BOOST_TEST(get.body == "body { color: red; }\n");
}

BOOST_AUTO_TEST_CASE(oversized_body_is_413_and_closes_the_connection) {
    Server server(app, options());
    server.start();
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    BOOST_TEST(send(session, "POST", "/echo", {}, "a=ok").body == "ok");
    auto r = send(session, "POST", "/echo", {}, "a=" + std::string(5000, 'x'));
    BOOST_TEST(r.status == 413);
    BOOST_TEST(!r.head.getKeepAlive());
}

BOOST_AUTO_TEST_CASE(stop_lets_the_request_in_flight_finish) {
    Server server(app, options());
    server.start();
    const auto port = server.port();
    auto in_flight = std::async(std::launch::async, [port] {
        Poco::Net::HTTPClientSession session("127.0.0.1", port);
        return send(session, "GET", "/slow");
    });
    while (!slow_entered) std::this_thread::sleep_for(5ms);
    server.stop();  // while /slow sleeps
    const auto reply = in_flight.get();
    BOOST_TEST(reply.status == 200);
    BOOST_TEST(reply.body == "slow done");
    BOOST_TEST(shutdown_hooks == 1);
    // And nobody is listening any more.
    Poco::Net::HTTPClientSession late("127.0.0.1", port);
    late.setTimeout(Poco::Timespan(1, 0));
    BOOST_CHECK_THROW(send(late, "GET", "/"), Poco::Exception);
}

BOOST_AUTO_TEST_CASE(sigterm_stops_a_waiting_server) {
    Server server(app, options());
    server.start();
    auto waiter = std::async(std::launch::async, [&server] {
        const auto mode = server.wait_for_stop_request();
        server.stop(mode);
        return mode;
    });
    while (!server.waiting_for_stop_request()) std::this_thread::sleep_for(5ms);
    std::raise(SIGTERM);
    BOOST_TEST((waiter.wait_for(5s) == std::future_status::ready));
    BOOST_TEST((waiter.get() == Server::StopMode::gentle));  // SIGINT would be quick
    BOOST_TEST(!server.running());
    BOOST_TEST(shutdown_hooks == 1);
}

// A proxy keeps idle connections to the app and may write its next request onto one at any
// moment. A gentle stop answers such a request (closing after it); a quick one has closed.
BOOST_AUTO_TEST_CASE(a_gentle_stop_still_answers_on_an_idle_connection) {
    for (const auto mode : {Server::StopMode::gentle, Server::StopMode::quick}) {
        auto o = options();
        o.keep_alive_timeout = std::chrono::seconds(2);
        Server server(app, o);
        server.start();
        Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
        session.setKeepAlive(true);
        session.setTimeout(Poco::Timespan(3, 0));
        BOOST_TEST(send(session, "GET", "/").status == 200);  // now idle, kept alive
        auto stopping = std::async(std::launch::async, [&] { server.stop(mode); });
        std::this_thread::sleep_for(300ms);  // the sweeper has had its chance to close it
        if (mode == Server::StopMode::gentle) {
            auto last = send(session, "GET", "/");
            BOOST_TEST(last.status == 200);
            BOOST_TEST(!last.head.getKeepAlive());  // "Connection: close"
        } else {
            BOOST_CHECK_THROW(send(session, "GET", "/"), Poco::Exception);
        }
        BOOST_TEST((stopping.wait_for(5s) == std::future_status::ready));
    }
}

BOOST_AUTO_TEST_CASE(port_in_use_is_a_clear_error) {
    Server first(app, options());
    first.start();
    ServerOptions o = options();
    o.port = first.port();
    Server second(app, o);
    try {
        second.start();
        BOOST_FAIL("expected the second bind to fail");
    } catch (const common::web::ServerError& e) {
        BOOST_TEST(std::string(e.what()).find("cannot listen on 127.0.0.1:") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("try --port") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_host_that_is_not_this_machine_names_host_not_port) {
    ServerOptions o = options();
    o.host = "192.0.2.1";  // TEST-NET-1 (RFC 5737): never an address of this machine
    Server server(app, o);
    try {
        server.start();
        BOOST_FAIL("expected the bind to fail");
    } catch (const common::web::ServerError& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("--host") != std::string::npos, what);
        BOOST_TEST(what.find("--port") == std::string::npos, what);
    }
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
    Server server(app, options());
    server.start();
    Raw raw(server.port());
    const std::string form =
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n";
    raw.write("POST /echo HTTP/1.1\r\nHost: x\r\n" + form + "\r\na=first" +
              "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + form + "\r\na=later");
    const std::string got = raw.read_to_end();
    BOOST_TEST(count(got, "HTTP/1.1 200 OK") == 2u);
    BOOST_TEST(got.find("first") < got.find("later"));
    BOOST_TEST(got.find("later") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_the_connection_closes) {
    Server server(app, options());
    server.start();
    Raw raw(server.port());
    raw.write("NONSENSE\r\n\r\n");
    const std::string got = raw.read_to_end();  // ends: the server closed
    BOOST_TEST(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0u);
    BOOST_TEST(got.find("Connection: close") != std::string::npos);

    Raw huge(server.port());
    huge.write("GET / HTTP/1.1\r\nX-Filler: " + std::string(100 * 1024, 'a'));
    BOOST_TEST(huge.read_to_end().rfind("HTTP/1.1 431 ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_header_or_url_past_the_limits_gets_431_or_414_saying_which) {
    Server server(app, options());
    server.start();
    // A header of 1,000 characters is fine as a value, too long as a name.
    Raw value(server.port());
    value.write("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: " + std::string(1000, 'a') +
                "\r\nConnection: close\r\n\r\n");
    BOOST_TEST(value.read_to_end().rfind("HTTP/1.1 200 OK\r\n", 0) == 0u);

    Raw name(server.port());
    name.write("GET / HTTP/1.1\r\nHost: a\r\nX-" + std::string(1000, 'a') + ": 1\r\n\r\n");
    const std::string got = name.read_to_end();  // ends: the server closed
    BOOST_TEST(got.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0u, got);
    BOOST_TEST(got.find("The header name &#39;X-aaaa") != std::string::npos, got);
    BOOST_TEST(got.find("is 1002 bytes long; this server takes names of at most 256.") !=
                   std::string::npos,
               got);

    Raw url(server.port());
    url.write("GET /" + std::string(20000, 'u') + " HTTP/1.1\r\nHost: a\r\n\r\n");
    const std::string long_url = url.read_to_end();
    BOOST_TEST(long_url.rfind("HTTP/1.1 414 Request URI Too Long\r\n", 0) == 0u, long_url);
    BOOST_TEST(long_url.find("The request target (URL) is 20001 bytes long") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_line_saying_http_2_gets_505_and_the_connection_closes) {
    Server server(app, options());
    server.start();
    Raw raw(server.port());
    raw.write("GET / HTTP/2.0\r\nHost: a\r\n\r\n");
    const std::string got = raw.read_to_end();  // ends: the server closed
    BOOST_TEST(got.rfind("HTTP/1.1 505 HTTP Version Not Supported\r\n", 0) == 0u, got);
    BOOST_TEST(got.find("The request is HTTP/2.0; this server speaks HTTP/1.1 and HTTP/1.0.") !=
                   std::string::npos,
               got);
}

BOOST_AUTO_TEST_CASE(chunked_bodies_and_expect_100_continue_work) {
    Server server(app, options());
    server.start();
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    Poco::Net::HTTPRequest req("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/x-www-form-urlencoded");
    req.setChunkedTransferEncoding(true);
    session.sendRequest(req) << "a=chun" << std::flush << "ked";
    Poco::Net::HTTPResponse head;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(head), body);
    BOOST_TEST(static_cast<int>(head.getStatus()) == 200);
    BOOST_TEST(body == "chunked");

    Raw raw(server.port());
    raw.write("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 8\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
    const std::string interim = raw.read_until(
        [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
    BOOST_TEST(interim == "HTTP/1.1 100 Continue\r\n\r\n");
    raw.write("a=waited");
    const std::string final =
        raw.read_until([](const std::string& s) { return s.find("waited") != std::string::npos; });
    BOOST_TEST(final.rfind("HTTP/1.1 200 OK\r\n", 0) == 0u);

    // An HTTP/1.0 client gets no interim answer: it would read it as the response. The method
    // in lower case is the same method, as Werkzeug takes it.
    Raw old(server.port());
    old.write("post /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 7\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the head alone, first
    old.write("a=older");
    const std::string answer = old.read_to_end();
    BOOST_TEST(answer.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u, answer);
    BOOST_TEST(answer.find("older") != std::string::npos, answer);
}

BOOST_AUTO_TEST_CASE(idle_and_slow_connections_are_closed) {
    ServerOptions o = options();
    o.keep_alive_timeout = 1s;
    o.request_timeout = 1s;
    Server server(app, o);
    server.start();
    Raw idle(server.port());
    idle.write("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(idle.read_until([](const std::string& s) {
                       return s.find("color: red") != std::string::npos;
                   })
                   .rfind("HTTP/1.1 200", 0) == 0u);
    Raw slow(server.port());
    slow.write("GET / HTTP/1.1\r\nHo");  // and never more (slowloris)
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST(idle.closed_by_server());
    BOOST_TEST(slow.closed_by_server());
    BOOST_TEST((std::chrono::steady_clock::now() - started < 4s));
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_holds_up_nobody) {
    ServerOptions o = options();
    o.threads = 1;  // one loop: the stuck client and the next one share it
    Server server(app, o);
    server.start();
    Raw stuck(server.port());
    stuck.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");  // 32 MiB it never reads
    std::this_thread::sleep_for(200ms);
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    session.setTimeout(Poco::Timespan(5, 0));
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST(send(session, "GET", "/static/css/site.css").status == 200);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));
    // The stuck response is still there for the client once it reads.
    const std::string got =
        stuck.read_until([](const std::string& s) { return s.size() > 32u * 1024 * 1024; });
    BOOST_TEST(got.size() > 32u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(a_client_that_resets_while_its_answer_waits_is_closed_at_once) {
    // The loop watches the connection for writable only; the reset (EPOLLERR/EPOLLHUP) must
    // still reach it, or it would stay open until the sweeper's timeout.
    ServerOptions o = options();
    o.threads = 1;
    Server server(app, o);
    server.start();
    {
        Raw stuck(server.port());
        stuck.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");  // 32 MiB it never reads
        std::this_thread::sleep_for(300ms);
        stuck.socket.setLinger(true, 0);  // close() now sends a reset
        stuck.socket.close();
    }
    std::this_thread::sleep_for(300ms);
    // stop() waits for open connections; one still writing would hold it for 5 s.
    const auto started = std::chrono::steady_clock::now();
    server.stop();
    BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
}

BOOST_AUTO_TEST_CASE(connections_over_the_limit_get_503) {
    ServerOptions o = options();
    o.max_connections = 2;
    Server server(app, o);
    server.start();
    Raw a(server.port()), b(server.port());
    for (Raw* r : {&a, &b}) {  // answered: both are open and counted
        r->write("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n");
        BOOST_TEST(r->read_until([](const std::string& s) {
                        return s.find("color") != std::string::npos;
                    }).size() > 0u);
    }
    Raw third(server.port());
    BOOST_TEST(third.read_to_end().rfind("HTTP/1.1 503 Service Unavailable", 0) == 0u);
}

/// How long a GET takes on a new connection while another client's POST /wait is running.
std::chrono::steady_clock::duration get_while_a_write_waits(ServerFixture& f, ServerOptions o) {
    o.threads = 1;  // one loop: without workers the write would hold it
    Server server(f.app, o);
    server.start();
    Raw writer(server.port());
    writer.write("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    while (!f.wait_entered) std::this_thread::sleep_for(5ms);
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
    session.setTimeout(Poco::Timespan(5, 0));
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST(send(session, "GET", "/static/css/site.css").status == 200);
    const auto took = std::chrono::steady_clock::now() - started;
    // The write is answered too, in full.
    BOOST_TEST(
        writer.read_until([](const std::string& s) { return s.find("saved") != std::string::npos; })
            .find("HTTP/1.1 200 OK") == 0u);
    f.wait_entered = false;
    return took;
}

BOOST_AUTO_TEST_CASE(a_waiting_write_holds_up_no_loop) {
    BOOST_TEST((get_while_a_write_waits(*this, options()) < 300ms));
    // The same with every view on the loops: the GET waits for the write (the old server).
    ServerOptions on_loops = options();
    on_loops.max_workers = 0;
    BOOST_TEST((get_while_a_write_waits(*this, on_loops) > 1s));
}

BOOST_AUTO_TEST_CASE(a_request_the_loop_has_not_read_yet_is_not_idleness) {
    // The one loop is busy for 1.5 s (a view on the loop itself), longer than the keep-alive
    // timeout; a connection that sent its request meanwhile is answered, not closed as idle.
    ServerOptions o = options();
    o.threads = 1;
    o.max_workers = 0;
    o.keep_alive_timeout = 1s;
    Server server(app, o);
    server.start();
    Raw writer(server.port());
    writer.write("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    while (!wait_entered) std::this_thread::sleep_for(5ms);
    Raw reader(server.port());
    reader.write("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string got = reader.read_until(
        [](const std::string& s) { return s.find("color") != std::string::npos; });
    BOOST_TEST(got.rfind("HTTP/1.1 200 OK", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(pipelined_writes_and_reads_stay_in_order_across_workers) {
    Server server(app, options());
    server.start();
    Raw raw(server.port());
    const std::string form =
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n";
    raw.write("POST /echo HTTP/1.1\r\nHost: x\r\n" + form + "\r\na=first" +
              "GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n" +
              "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + form + "\r\na=later");
    const std::string got = raw.read_to_end();
    BOOST_TEST(count(got, "HTTP/1.1 200 OK") == 3u);
    BOOST_TEST(got.find("first") < got.find("color"));
    BOOST_TEST(got.find("color") < got.find("later"));
    BOOST_TEST(got.find("later") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stop_lets_a_write_on_a_worker_finish) {
    Server server(app, options());
    server.start();
    const auto port = server.port();
    auto in_flight = std::async(std::launch::async, [port] {
        Poco::Net::HTTPClientSession session("127.0.0.1", port);
        return send(session, "POST", "/wait", {}, "a=1");
    });
    while (!wait_entered) std::this_thread::sleep_for(5ms);
    server.stop();  // while /wait sleeps on its worker
    const auto reply = in_flight.get();
    BOOST_TEST(reply.status == 200);
    BOOST_TEST(reply.body == "saved");
    BOOST_TEST(!reply.head.getKeepAlive());
    BOOST_TEST(shutdown_hooks == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// The real server on 127.0.0.1 and a free port, driven by Poco's HTTP client: the same app
// as in-process, keep-alive, limits, HEAD, graceful shutdown and SIGTERM.
#include "common/web/app.hpp"
#include "common/web/extensions.hpp"
#include "common/web/server.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
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

struct ServerFixture {
    App app{"served", WEB_TEST_DATA};
    std::atomic<bool> slow_entered{false};
    std::atomic<int> shutdown_hooks{0};
    std::ostringstream access_log;

    ServerFixture() {
        app.config.set("SECRET_KEY", std::string("server secret"));
        app.config.set("MAX_CONTENT_LENGTH", std::int64_t{1000});
        app.route("/", "index", [](Context& ctx) {
            ctx.session()["visits"] = ctx.session().get("visits", 0).as_int() + 1;
            return Response(ctx.render_template("hello.html", {{"name", ctx.session()["visits"].to_text()}}));
        });
        app.route("/slow", "slow", [this](Context&) {
            slow_entered = true;
            std::this_thread::sleep_for(400ms);
            return Response("slow done");
        });
        app.route("/echo", "echo", [](Context& ctx) { return Response(ctx.request.form().get("a")); }, {"POST"});
        app.csrf_exempt("echo");
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
        server.wait_for_stop_request();
        server.stop();
    });
    while (!server.waiting_for_stop_request()) std::this_thread::sleep_for(5ms);
    std::raise(SIGTERM);
    BOOST_TEST((waiter.wait_for(5s) == std::future_status::ready));
    BOOST_TEST(!server.running());
    BOOST_TEST(shutdown_hooks == 1);
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
    } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()).find("cannot listen on 127.0.0.1:") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()

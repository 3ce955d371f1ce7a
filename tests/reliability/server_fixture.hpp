#pragma once
// A small app served for real on 127.0.0.1 (a free port), and a raw socket to talk to it:
// what these tests send is what a client library would refuse to send.
#include "common/web/app.hpp"
#include "common/web/server.hpp"

#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include <optional>
#include <string>

namespace reliability {

struct ServedApp {
    common::web::App app{"reliability"};
    std::optional<common::web::Server> server;

    ServedApp() {
        app.config.set("SECRET_KEY", std::string(40, 'k'));
        app.route("/", "index",
                  [](common::web::Context&) { return common::web::Response("home"); });
        // Echoes the body, so a test sees where the server thought the request ended.
        app.route("/echo", "echo",
                  [](common::web::Context& ctx) {
                      return common::web::Response("body=[" + ctx.request.body + "]");
                  },
                  {"POST"});
        app.csrf_exempt("echo");
    }
    void start() {
        common::web::ServerOptions options;
        options.port = 0;
        options.threads = 2;
        server.emplace(app, options);
        server->start();
    }
    ~ServedApp() {
        if (server) server->stop();
    }
    std::uint16_t port() const { return server->port(); }
};

/// Sends `bytes` on a new connection and reads until the server closes it (or 3 s pass).
/// `closed` says whether it was the server that closed.
inline std::string exchange(std::uint16_t port, const std::string& bytes, bool& closed) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
    socket.setReceiveTimeout(Poco::Timespan(3, 0));
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string got;
    char buf[4096];
    closed = false;
    while (true) {
        int n = 0;
        try {
            n = socket.receiveBytes(buf, sizeof buf);
        } catch (const Poco::TimeoutException&) {
            break;
        } catch (const Poco::Net::ConnectionResetException&) {
            closed = true;
            break;
        }
        if (n <= 0) {
            closed = true;
            break;
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

inline std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

}  // namespace reliability

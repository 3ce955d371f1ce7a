// bench_hello_server — the ceiling of the HTTP benchmark: a bare Poco HTTPServer that answers
// every request with the same fixed page (Flask's first "Hello World!" app). No routing,
// templates, sessions or database: whatever flasky serves below this figure is what the
// framework and the app cost on top of Poco's HTTP machinery.
//
//   bench_hello_server [--port N]     (N = 0 picks a free port; prints "listening 127.0.0.1:N")
//
// Stops cleanly on SIGTERM or SIGINT.
#include "server_args.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view page = "<h1>Hello World!</h1>";

class HelloHandler : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest&,
                       Poco::Net::HTTPServerResponse& response) override {
        response.setContentType("text/html; charset=utf-8");
        response.sendBuffer(page.data(), page.size());
    }
};

class HelloFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new HelloHandler;  // Poco owns and deletes it after the request
    }
};

int usage(std::string_view why) {
    std::cerr << "bench_hello_server: " << why << "\nusage: bench_hello_server [--port N]\n";
    return 2;
}

}  // namespace

int main(int argc, char* argv[]) {
    bench::ServerArgs args{0, 0, {}};
    if (const auto why = bench::parse_server_args(argc, argv, args)) return usage(*why);
    const unsigned long port = args.port;

    const sigset_t stop = bench::block_stop_signals();

    try {
        Poco::Net::ServerSocket socket(
            Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), 64);
        auto params = Poco::makeAuto<Poco::Net::HTTPServerParams>();
        // One thread per keep-alive connection: wrk -c16 holds 16 of them open at once.
        params->setMaxThreads(32);
        params->setMaxQueued(256);
        Poco::ThreadPool pool(2, 32);
        Poco::Net::HTTPServer server(new HelloFactory, pool, socket, params);
        server.start();
        std::cout << "listening 127.0.0.1:" << socket.address().port() << std::endl;

        int sig = 0;
        sigwait(&stop, &sig);
        server.stopAll(true);
        pool.joinAll();
    } catch (const Poco::Exception& e) {
        std::cerr << "bench_hello_server: " << e.displayText() << '\n';
        return 1;
    }
    return 0;
}

// bench_httplib_hello — a second ceiling for the HTTP benchmark: the same fixed "Hello World!"
// page served by cpp-httplib (Debian's libcpp-httplib-dev), the C++ HTTP library a
// user might pick from Debian instead of Poco. Like bench_hello_server it does no routing
// beyond one path, no templates, no sessions, no database.
//
// Tuned only where its defaults would make the comparison unfair: a pool of --threads workers
// (default 32, as bench_hello_server), since it holds one worker per keep-alive connection;
// 1000 requests per connection (nginx's default) instead of its 5; and TCP_NODELAY, without
// which it writes head and body separately and Nagle's algorithm meets the client's delayed
// ACK: about 300 req/s here instead of tens of thousands.
//
//   bench_httplib_hello [--port N] [--threads T]   (N = 0 picks a free port;
//                                                   prints "listening 127.0.0.1:N")
//
// Stops cleanly on SIGTERM or SIGINT.
#include "server_args.hpp"

#include <httplib.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

namespace {

constexpr std::string_view page = "<h1>Hello World!</h1>";

int usage(std::string_view why) {
    std::cerr << "bench_httplib_hello: " << why
              << "\nusage: bench_httplib_hello [--port N] [--threads T]\n";
    return 2;
}

}  // namespace

int main(int argc, char* argv[]) {
    bench::ServerArgs args{0, 32, {}};
    if (const auto why = bench::parse_server_args(argc, argv, args, 1024)) return usage(*why);
    const unsigned long port = args.port;
    const unsigned long threads = args.threads;

    const sigset_t stop = bench::block_stop_signals();

    httplib::Server server;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_keep_alive_max_count(1000);
    server.set_tcp_nodelay(true);
    server.Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content(page.data(), page.size(), "text/html; charset=utf-8");
    });

    int bound = static_cast<int>(port);
    const bool ok = port == 0 ? (bound = server.bind_to_any_port("127.0.0.1")) > 0
                              : server.bind_to_port("127.0.0.1", bound);
    if (!ok) {
        std::cerr << "bench_httplib_hello: cannot listen on 127.0.0.1:" << port << '\n';
        return 1;
    }
    std::thread loop([&server] { server.listen_after_bind(); });
    std::cout << "listening 127.0.0.1:" << bound << std::endl;

    int sig = 0;
    sigwait(&stop, &sig);
    server.stop();
    loop.join();
    return 0;
}

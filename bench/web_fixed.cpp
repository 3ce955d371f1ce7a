// bench_web_fixed — flasky's own server with the page already made: common::web's event loops,
// request parsing, App::handle and response writing, answering every GET / with the bytes of a
// response captured from flasky (--response FILE; Date, Server and Content-Length are written
// by the server as for any view). Beside flasky and bench_epoll_hello with the same bytes, it
// splits what flasky's GET / costs over the epoll ceiling into the server's part (this against
// epoll) and the page's making (flasky against this).
//
//   bench_web_fixed --response FILE [--port N] [--threads T]
//       N = 0 picks a free port; T defaults to flasky's event loops (2 per core)
//
// Logs each request to stderr as flasky runserver does. Stops on SIGTERM or SIGINT.
#include "common/web/app.hpp"
#include "common/web/server.hpp"
#include "server_args.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {

int usage(std::string_view why) {
    std::cerr << "bench_web_fixed: " << why
              << "\nusage: bench_web_fixed --response FILE [--port N] [--threads T]\n";
    return 2;
}

/// The captured response as a view returns it: status, the headers a view sets, the body.
common::web::Response to_response(const std::string& bytes) {
    const auto end_of_head = bytes.find("\r\n\r\n");
    std::string_view head(bytes.data(), end_of_head);
    common::web::Response response(bytes.substr(end_of_head + 4),
                                   std::atoi(bytes.c_str() + 9));  // "HTTP/1.1 200 OK"
    head.remove_prefix(head.find("\r\n") + 2);
    while (!head.empty()) {
        const auto line_end = std::min(head.find("\r\n"), head.size());
        const std::string_view line = head.substr(0, line_end);
        head.remove_prefix(std::min(line_end + 2, head.size()));
        const auto colon = line.find(':');
        const std::string name(line.substr(0, colon));
        const std::string value(line.substr(colon + 2));
        if (name == "Date" || name == "Server" || name == "Content-Length" || name == "Connection")
            continue;  // the server's own, as for every view
        if (name == "Content-Type")
            response.set_content_type(value);
        else
            response.headers.add(name, value);
    }
    return response;
}

}  // namespace

int main(int argc, char* argv[]) {
    bench::ServerArgs args{
        0, static_cast<unsigned long>(common::web::default_server_threads()), {}};
    if (const auto why = bench::parse_server_args(argc, argv, args, 256, true)) return usage(*why);
    if (args.response.empty()) return usage("--response FILE is required");

    static const common::web::Response page = to_response(args.response);
    common::web::App app("bench_web_fixed");
    app.route("/", "index", [](common::web::Context&) { return page; }, {"GET"});
    common::web::ServerOptions options;
    options.port = static_cast<std::uint16_t>(args.port);
    options.threads = static_cast<int>(args.threads);
    options.access_log = &std::clog;
    common::web::Server server(app, options);
    server.run(std::cout);
}

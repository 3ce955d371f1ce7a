// bench_mail — the C++ side of the mail benchmark, and the capture server both sides send to.
//
//   bench_mail HOST PORT [N]    N messages (default 1000) over one SMTP session with
//                               common::mail's Mail::connect(); prints `send <seconds> s`
//   bench_mail --serve PORT     runs common::mail::CaptureServer on 127.0.0.1:PORT (in memory)
//                               until SIGTERM/SIGINT, then prints `received <count>`
//
// The message is the notes' section 2 ('My Subject', text body, <b>HTML</b> body), the same
// as peers/mail_flask.py builds with Flask-Mail.
#include "common/mail/capture_server.hpp"
#include "common/mail/mail.hpp"

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {

int usage(std::string_view why) {
    std::cerr << "bench_mail: " << why
              << "\nusage: bench_mail HOST PORT [N]\n       bench_mail --serve PORT\n";
    return 2;
}

bool parse(std::string_view text, unsigned long& out, unsigned long max) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

int serve(std::uint16_t port) {
    // Block the stop signals before the server starts its threads: only sigwait() sees them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    common::mail::CaptureOptions options;
    options.port = port;
    common::mail::CaptureServer server(options);
    std::cout << "listening " << server.address() << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    const auto received = server.messages().size();
    server.stop();
    std::cout << "received " << received << std::endl;
    return 0;
}

int send(const std::string& host, std::uint16_t port, unsigned long count) {
    common::mail::MailSettings settings;
    settings.server = host;
    settings.port = port;
    settings.default_sender = "flasky@example.com";
    common::mail::Mail mail(settings);

    const auto start = std::chrono::steady_clock::now();
    auto conn = mail.connect();
    for (unsigned long i = 0; i < count; ++i) {
        common::mail::Message msg("My Subject", "flasky@example.com",
                                  {"reader" + std::to_string(i) + "@example.com"});
        msg.body = "text body";
        msg.html = "<b>HTML</b> body";
        conn.send(msg);
    }
    conn.close();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("send %.4f s\n", took.count());
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    try {
        unsigned long port = 0, count = 1000;
        if (argc == 3 && std::string_view(argv[1]) == "--serve") {
            if (!parse(argv[2], port, 65535)) return usage("PORT must be a number from 0 to 65535");
            return serve(static_cast<std::uint16_t>(port));
        }
        if (argc < 3 || argc > 4) return usage("wrong number of arguments");
        if (!parse(argv[2], port, 65535) || port == 0)
            return usage("PORT must be a number from 1 to 65535");
        if (argc == 4 && (!parse(argv[3], count, 10'000'000) || count == 0))
            return usage("N must be a positive number of messages");
        return send(argv[1], static_cast<std::uint16_t>(port), count);
    } catch (const std::exception& e) {
        std::cerr << "bench_mail: " << e.what() << '\n';
        return 1;
    }
}

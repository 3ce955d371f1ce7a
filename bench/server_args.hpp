#pragma once
/// What the fixed-page servers of the HTTP ceilings share (hello_server, epoll_hello,
/// httplib_hello): `--port N [--threads N]`, and the stop signals kept for sigwait().

#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

struct ServerArgs {
    unsigned long port = 0;
    unsigned long threads = 0;
};

/// Parses `--port N` and, when max_threads > 0, `--threads N` into `out` (which holds the
/// defaults); returns what is wrong with the arguments, or nothing.
inline std::optional<std::string> parse_server_args(int argc, char* argv[], ServerArgs& out,
                                                    unsigned long max_threads = 0) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        char* end = nullptr;
        if (arg == "--port" && i + 1 < argc) {
            out.port = std::strtoul(argv[++i], &end, 10);
            if (*end != '\0' || out.port > 65535) return "--port wants a number from 0 to 65535";
        } else if (max_threads > 0 && arg == "--threads" && i + 1 < argc) {
            out.threads = std::strtoul(argv[++i], &end, 10);
            if (*end != '\0' || out.threads < 1 || out.threads > max_threads)
                return "--threads wants a number from 1 to " + std::to_string(max_threads);
        } else {
            return "unknown argument '" + std::string(arg) + "'";
        }
    }
    return std::nullopt;
}

/// Blocks SIGTERM and SIGINT before any thread starts (threads inherit the mask), so that
/// only the caller's sigwait() on the returned set sees them.
inline sigset_t block_stop_signals() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    return stop;
}

}  // namespace bench

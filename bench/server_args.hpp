#pragma once
/// What the fixed-page servers of the HTTP ceilings share (hello_server, epoll_hello,
/// httplib_hello, web_fixed): `--port N [--threads N]`, the stop signals kept for sigwait(),
/// and reading a response captured from flasky (`--response FILE`).

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

struct ServerArgs {
    unsigned long port = 0;
    unsigned long threads = 0;
    std::string response;  ///< the bytes of --response FILE, checked by load_response()
};

/// FILE's bytes when they are one whole HTTP/1.1 response whose Content-Length is its body's
/// size (wrk would otherwise read the answers out of step); otherwise what is wrong with them.
inline std::string load_response(const char* path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::string("cannot read ") + path + ": " + std::strerror(errno);
        return {};
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto end_of_head = bytes.find("\r\n\r\n");
    const auto length = bytes.find("\r\nContent-Length: ");
    if (!bytes.starts_with("HTTP/1.1 ") || end_of_head == std::string::npos ||
        length == std::string::npos || length > end_of_head) {
        error = std::string(path) +
                " is not an HTTP/1.1 response with a Content-Length header (save one whole "
                "response, head and body, as it came off the wire)";
        return {};
    }
    const std::size_t body = bytes.size() - end_of_head - 4;
    if (std::strtoul(bytes.c_str() + length + 18, nullptr, 10) != body) {
        error = std::string(path) + ": Content-Length does not match the " + std::to_string(body) +
                " bytes after the head (was the body cut short?)";
        return {};
    }
    return bytes;
}

/// Parses `--port N`, when max_threads > 0 `--threads N`, and when takes_response
/// `--response FILE` into `out` (which holds the defaults); returns what is wrong with the
/// arguments, or nothing.
inline std::optional<std::string> parse_server_args(int argc, char* argv[], ServerArgs& out,
                                                    unsigned long max_threads = 0,
                                                    bool takes_response = false) {
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
        } else if (takes_response && arg == "--response" && i + 1 < argc) {
            std::string error;
            out.response = load_response(argv[++i], error);
            if (!error.empty()) return error;
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

// bench_epoll_hello — the machine's ceiling for the HTTP benchmark: the least a server can do to
// answer HTTP/1.1 keep-alive requests with one small fixed page. Hand-written on purpose (the
// house rule is to use a library; here the point is to measure what no library can beat): each
// thread owns an epoll set and its own SO_REUSEPORT listener on 127.0.0.1, so the kernel spreads
// connections over threads and nothing is shared. A request is read up to its blank line
// ("\r\n\r\n") and answered; several heads in one read (pipelining) get one answer each. Bodies,
// chunked uploads and parse errors are out of scope: wrk sends none.
//
// The page is the same small "Hello World!" as bench_hello_server, not flasky's GET / page: this
// measures the cost of HTTP itself. With --response FILE it answers with FILE's bytes instead
// (a whole response, head and body, as bench/run captures it from flasky): the machine's limit
// for sending that page, which tells the cost of the page's size from the cost of making it.
//
//   bench_epoll_hello [--port N] [--threads T] [--response FILE]
//       N = 0 picks a free port; T defaults to the number of cores; prints "listening 127.0.0.1:N"
//
// Stops on SIGTERM or SIGINT.
#include "server_args.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::string_view hello = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/html; charset=utf-8\r\n"
                                   "Content-Length: 21\r\n"
                                   "\r\n"
                                   "<h1>Hello World!</h1>";

// What every request is answered with: `hello`, or the bytes of --response FILE. Set before
// the loops start and only read afterwards.
std::string response(hello);

[[noreturn]] void fail(const char* what) {
    std::cerr << "bench_epoll_hello: " << what << ": " << std::strerror(errno) << '\n';
    std::exit(1);
}

// A listener on 127.0.0.1:port that other threads may bind too (SO_REUSEPORT).
int listener(unsigned short port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) fail("SO_REUSEPORT");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
    if (listen(fd, 512) != 0) fail("listen");
    return fd;
}

unsigned short bound_port(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
    return ntohs(addr.sin_port);
}

struct Connection {
    std::string in;   // bytes read but not yet part of a complete head
    std::string out;  // answers not yet written (the socket buffer was full)
};

// Writes what it can; false when the connection is broken.
bool flush(int fd, Connection& c) {
    while (!c.out.empty()) {
        const ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        c.out.erase(0, static_cast<std::size_t>(n));
    }
    return true;
}

// Reads everything available, answers each complete head; false when the peer is gone.
bool serve(int fd, Connection& c) {
    char buf[16384];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return false;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return false;
        }
        c.in.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (std::size_t end; (end = c.in.find("\r\n\r\n", start)) != std::string::npos;) {
        c.out.append(response);
        start = end + 4;
    }
    c.in.erase(0, start);
    return flush(fd, c);
}

void event_loop(int listen_fd) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
    std::unordered_map<int, Connection> connections;
    epoll_event events[256];
    for (;;) {
        const int ready = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < ready; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listen_fd) {
                int client;
                while ((client = accept4(listen_fd, nullptr, nullptr,
                                         SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    const int one = 1;
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    // Edge-triggered: serve() drains the socket on every wake-up anyway.
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
                    cev.data.fd = client;
                    epoll_ctl(ep, EPOLL_CTL_ADD, client, &cev);
                    connections[client];
                }
                continue;
            }
            Connection& c = connections[fd];
            const bool alive = (events[i].events & (EPOLLERR | EPOLLHUP)) == 0 &&
                               ((events[i].events & EPOLLIN) ? serve(fd, c) : flush(fd, c));
            if (!alive) {
                close(fd);  // also removes it from the epoll set
                connections.erase(fd);
            }
        }
    }
}

int usage(std::string_view why) {
    std::cerr << "bench_epoll_hello: " << why
              << "\nusage: bench_epoll_hello [--port N] [--threads T] [--response FILE]\n";
    return 2;
}

}  // namespace

int main(int argc, char* argv[]) {
    bench::ServerArgs args{0, std::thread::hardware_concurrency(), {}};
    if (const auto why = bench::parse_server_args(argc, argv, args, 256, true)) return usage(*why);
    if (!args.response.empty()) response = std::move(args.response);
    const unsigned long port = args.port;
    const unsigned long threads = args.threads == 0 ? 1 : args.threads;

    const sigset_t stop = bench::block_stop_signals();

    // The first listener settles the port (when 0 asked for a free one); the others join it.
    std::vector<int> listeners{listener(static_cast<unsigned short>(port))};
    const unsigned short bound = bound_port(listeners.front());
    while (listeners.size() < threads) listeners.push_back(listener(bound));
    for (const int fd : listeners) std::thread(event_loop, fd).detach();
    std::cout << "listening 127.0.0.1:" << bound << std::endl;

    int sig = 0;
    sigwait(&stop, &sig);
    return 0;  // the loops hold no state worth a clean shutdown: exiting closes every socket
}

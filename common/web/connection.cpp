#include "common/web/connection.hpp"

#include "common/web/app.hpp"

#include <Poco/Exception.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <ostream>
#include <sys/socket.h>

namespace common::web {

// ---- AccessLog ------------------------------------------------------------------------

AccessLog::AccessLog(std::ostream* out) : out_(out) {
    if (out_) writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
    if (!out_) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void AccessLog::write(std::string_view line) {
    bool big = false;
    {
        std::lock_guard lock(mutex_);
        buffer_ += line;
        big = buffer_.size() > 64 * 1024;
    }
    if (big) wake_.notify_one();
}

void AccessLog::run() {
    std::string batch;
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait_for(lock, std::chrono::milliseconds(200));
        batch.swap(buffer_);
        const bool stop = stopping_;
        lock.unlock();
        if (!batch.empty()) {
            out_->write(batch.data(), static_cast<std::streamsize>(batch.size()));
            out_->flush();
            batch.clear();
        }
        lock.lock();
        if (stop && buffer_.empty()) return;
    }
}

namespace {

/// Werkzeug's "[13/Jul/2024 10:00:00]".
const std::string& log_time() {
    return once_a_second([](std::time_t now) {
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%d/%b/%Y %H:%M:%S", &tm);
        return std::string(buf);
    });
}

/// Methods that only read (RFC 9110's safe methods our views answer).
bool is_read(const FramedRequest& framed) {
    const std::string& m = framed.request.method;
    return m == "GET" || m == "HEAD" || m == "OPTIONS";
}

}  // namespace

// ---- WorkerPool -----------------------------------------------------------------------

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

void WorkerPool::submit(Connection* connection) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(connection);
        // A thread more only when every thread has work: one that just finished, or waits,
        // takes this request.
        if (busy_ + queue_.size() > threads_.size() && threads_.size() < max_)
            threads_.emplace_back([this] { run(); });
    }
    wake_.notify_one();
}

void WorkerPool::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, and nothing left to answer
        Connection* connection = queue_.front();
        queue_.pop_front();
        ++busy_;
        lock.unlock();
        connection->work();
        lock.lock();
        --busy_;
    }
}

// ---- Connection -----------------------------------------------------------------------

Connection::Connection(const Poco::Net::StreamSocket& socket, EventLoop& loop,
                       ConnectionShared& shared)
    : socket_(socket), fd_(socket_.impl()->sockfd()), loop_(loop), shared_(shared) {
    socket_.setBlocking(false);
    socket_.setNoDelay(true);
    remote_addr_ = socket_.peerAddress().host().toString();
    touch();
    {
        std::lock_guard lock(shared_.mutex);
        shared_.open.insert(this);
    }
    // Last: from here on the loop's thread may call us, and may even have closed (and
    // deleted) the connection before watch() returns, so `this` is not touched after it.
    watching_ = Watch::readable;
    try {
        loop.watch(fd_, *this, Watch::none, Watch::readable);
    } catch (...) {
        std::lock_guard lock(shared_.mutex);
        shared_.open.erase(this);
        throw;
    }
}

Connection::~Connection() {
    bool last = false;
    {
        std::lock_guard lock(shared_.mutex);
        shared_.open.erase(this);
        last = shared_.open.empty();
    }
    if (last) shared_.emptied.notify_all();
    try {
        if (!abandoned_) loop_.watch(fd_, *this, watching_, Watch::none);
        socket_.close();
    } catch (...) {}
}

void Connection::sweep(Clock::time_point now) {
    int state = state_.load();
    const auto age = now - Clock::time_point(Clock::duration(since_.load()));
    bool expired = false;
    switch (state) {
        case idle:
            // Bytes the loop has not read yet are a request on its way, not idleness. A gentle
            // stop (SIGTERM) leaves an idle connection its keep-alive time: a proxy in front
            // (nginx) may be sending its next request on it right now, and a POST lost to our
            // close is a 502 it does not retry. That request is answered with "Connection:
            // close"; a proxy whose own keep-alive timeout is shorter (deploy/nginx.conf)
            // closes first.
            expired = ((shared_.stopping && !shared_.keep_idle_while_stopping) ||
                       age > shared_.keep_alive) &&
                      !has_unread_bytes();
            break;
        case receiving:
        case writing:
            // While stopping, a half-sent request gets a few seconds, not the full timeout.
            expired = age > (shared_.stopping ? std::min<Clock::duration>(shared_.request_timeout,
                                                                          std::chrono::seconds(5))
                                              : shared_.request_timeout);
            break;
        case lingering: expired = age > std::chrono::seconds(2); break;
        default: break;
    }
    if (expired && state_.compare_exchange_strong(state, closing)) {
        try {
            socket_.shutdown();
        } catch (...) {}
    }
}

bool Connection::has_unread_bytes() {
    try {
        return socket_.available() > 0;
    } catch (...) {
        return false;
    }
}

void Connection::abandon() {
    abandoned_ = true;
    delete this;
}

bool Connection::move(int from, int to) {
    if (!state_.compare_exchange_strong(from, to)) return false;
    touch();
    return true;
}

// ANCHOR: on_readable
void Connection::on_readable() noexcept {
    try {
        char buffer[16 * 1024];
        const int n = socket_.receiveBytes(buffer, sizeof buffer);
        if (n < 0) return;           // nothing after all (non-blocking socket)
        if (n == 0) return close();  // the client hung up, or the sweeper shut us down
        const int state = state_.load();
        if (state == lingering || state == closing) return;  // draining before close
        in_.append(buffer, static_cast<std::size_t>(n));
        if (state == idle && !move(idle, receiving)) return;
        serve();
    } catch (...) {
        close();  // a reset connection, or anything else: never let it reach the loop
    }
}
// ANCHOR_END: on_readable

void Connection::on_writable() noexcept {
    try {
        if (flush()) serve();
    } catch (...) {
        close();
    }
}

void Connection::serve() {
    while (out_.empty()) {
        FramedRequest framed;
        switch (parse_request(in_, shared_.limits, framed, &chunks_)) {
            case Framing::incomplete:
                if (framed.expects_continue && !sent_continue_) {
                    sent_continue_ = true;
                    if (!queue("HTTP/1.1 100 Continue\r\n\r\n", false)) return;
                }
                if (in_.empty()) move(receiving, idle);
                return;
            case Framing::bad_request:
                return reject(400, "The request is not valid HTTP/1.1: " + framed.error);
            case Framing::head_too_large:
                return reject(431, framed.error.empty()
                                       ? "The request line and headers are too large."
                                       : framed.error);
            case Framing::uri_too_long: return reject(414, framed.error);
            case Framing::version_not_supported: return reject(505, framed.error);
            case Framing::complete: break;
        }
        in_.erase(0, framed.consumed);
        sent_continue_ = false;
        if (!move(receiving, handling)) return;
        if (shared_.workers && !on_worker_ && !(shared_.reads_on_loops && is_read(framed)))
            return hand_to_worker(std::move(framed));
        if (!respond(framed)) return;
        if (!move(handling, in_.empty() ? idle : receiving)) return;
    }
}

// ANCHOR: hand_to_worker
void Connection::hand_to_worker(FramedRequest framed) {
    handed_over_ = std::move(framed);
    wanted_ = Watch::readable;
    want(Watch::none);  // the loop forgets the socket: no event reaches us while a worker works
    on_worker_ = true;
    shared_.workers->submit(this);  // from here on the worker owns the connection
}

void Connection::work() {
    try {
        FramedRequest framed = std::move(handed_over_);
        if (respond(framed) && move(handling, in_.empty() ? idle : receiving)) serve();
    } catch (...) {
        // A reset connection: shut it down, and the loop sees end-of-file and deletes it.
        state_.store(closing);
        try {
            socket_.shutdown();
        } catch (...) {}
        wanted_ = Watch::readable;
    }
    hand_back();
}

void Connection::hand_back() {
    const Watch watch = wanted_ == Watch::none ? Watch::readable : wanted_;
    on_worker_ = false;
    watching_ = watch;
    try {
        // The last touch: once the loop watches the socket again it may delete us.
        loop_.watch(fd_, *this, Watch::none, watch);
    } catch (...) {
        // The loop could not take it back (the kernel is out of memory): we still own the
        // connection, and nobody else will close it.
        watching_ = Watch::none;
        delete this;
    }
}
// ANCHOR_END: hand_to_worker

void Connection::want(Watch watch) {
    if (on_worker_) {
        wanted_ = watch;
        return;
    }
    loop_.watch(fd_, *this, watching_, watch);
    watching_ = watch;
}

bool Connection::respond(FramedRequest& framed) {
    Request& req = framed.request;
    req.remote_addr = remote_addr_;
    Response resp;
    try {
        resp = shared_.app.handle(req);
    } catch (...) {
        // Only reached when exceptions propagate (DEBUG/TESTING; App::handle logged it):
        // answer 500 rather than drop the connection.
        resp = Response(error_page(500), 500);
    }
    const bool keep_alive = framed.keep_alive && !shared_.stopping;
    const bool head = req.method == "HEAD";
    if (shared_.log.enabled()) {
        const bool no_body = head || resp.status == 304 || resp.status == 204;
        // Into one string per thread that keeps its capacity: no allocation per request.
        thread_local std::string line;
        line.clear();
        line.append(remote_addr_).append(" - - [").append(log_time()).append("] \"");
        line.append(req.method).append(" ").append(framed.target).append(" ");
        line.append(framed.version).append("\" ").append(std::to_string(resp.status)).append(" ");
        line.append(no_body ? std::string("-") : std::to_string(resp.body.size())).append("\n");
        shared_.log.write(line);
    }
    return queue(serialize_response(resp, framed.version, keep_alive, !head), !keep_alive);
}

void Connection::reject(int status, const std::string& why) {
    state_.store(handling);
    queue(error_response(status, why), true);
}

bool Connection::queue(std::string bytes, bool close_after) {
    if (out_.empty()) {
        out_ = std::move(bytes);
        out_sent_ = 0;
    } else {
        out_ += bytes;
    }
    close_after_write_ = close_after_write_ || close_after;
    return flush();
}

bool Connection::flush() {
    while (out_sent_ < out_.size()) {
        const int chunk = static_cast<int>(std::min<std::size_t>(out_.size() - out_sent_, INT_MAX));
        const int n = send_some(out_.data() + out_sent_, chunk);
        if (n < 0) {  // the socket's buffer is full: wait until the client reads
            want(Watch::writable);
            int state = state_.load();
            if (state != writing && !state_.compare_exchange_strong(state, writing)) return false;
            touch();
            return false;
        }
        out_sent_ += static_cast<std::size_t>(n);
        touch();
    }
    out_.clear();
    out_sent_ = 0;
    if (state_.load() == writing) {
        want(Watch::readable);
        if (!move(writing, in_.empty() ? idle : receiving)) return false;
    }
    if (close_after_write_) {
        linger();
        return false;
    }
    return true;
}

void Connection::linger() {
    state_.store(lingering);
    touch();
    want(Watch::readable);  // read and drop until the client closes
    try {
        socket_.shutdownSend();
    } catch (...) {
        if (!on_worker_) close();
    }
}

int Connection::send_some(const char* data, int size) {
    const auto n = ::send(fd_, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
    throw Poco::IOException("send failed", errno);
}

}  // namespace common::web

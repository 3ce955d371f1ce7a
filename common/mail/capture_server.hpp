#pragma once
// CaptureServer — a small ESMTP server on 127.0.0.1 that stores what it receives. The
// chapter sends to it when no MAIL_SERVER is set (so it runs offline); tests use it when
// they need no outside peer.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace common::mail {

namespace detail {
struct CaptureState;
}

struct CaptureOptions {
    std::filesystem::path directory{};   ///< where NNNN.eml files go; empty → keep in memory only
    std::uint16_t port = 0;              ///< 0 → a free port (see CaptureServer::port())
    std::string hostname = "localhost";  ///< the name in the greeting and EHLO reply
    std::filesystem::path cert_file{};   ///< PEM certificate; with key_file, STARTTLS is offered
    std::filesystem::path key_file{};
    bool require_tls = false;  ///< refuse AUTH/MAIL before STARTTLS (530)
    std::string username{};    ///< non-empty → AUTH PLAIN/LOGIN required, checked
    std::string password{};
    std::size_t max_size = 10 * 1024 * 1024;  ///< bigger DATA → 552, and SIZE in EHLO
    int temporary_failures = 0;  ///< answer 451 to the end of DATA of the first N messages
    std::vector<std::string> refused_recipients{};  ///< RCPT TO these → 550
    /// RCPT TO these → 452 ("try later") the first `deferrals` times each, then 250.
    std::vector<std::string> deferred_recipients{};
    int deferrals = 1;
    bool silent = false;  ///< accept connections and never answer (time-out tests)
    /// Answer the end of DATA this long after storing the message (a slow server).
    std::chrono::milliseconds data_reply_delay{0};
    std::chrono::milliseconds idle_timeout{60'000};  ///< drop a client silent for this long
};

/// One message as received.
struct CapturedMessage {
    std::string mail_from{};
    std::vector<std::string> rcpt_to{};
    std::string data{};            ///< after dot-unstuffing, CRLF line ends
    std::filesystem::path file{};  ///< the .eml, empty when directory is empty
    bool tls = false;              ///< arrived over STARTTLS
    std::string auth_user{};       ///< who authenticated, empty when nobody
    int session = 0;               ///< 1, 2, ...: which connection brought it
};

class CaptureServer {
public:
    /// Listens on 127.0.0.1 at once. Throws std::runtime_error if the port is taken or the
    /// certificate cannot be loaded.
    explicit CaptureServer(CaptureOptions options = {});
    CaptureServer(const CaptureServer&) = delete;
    CaptureServer& operator=(const CaptureServer&) = delete;
    /// stop().
    ~CaptureServer();

    std::uint16_t port() const;
    std::string address() const;  ///< "127.0.0.1:port"

    std::vector<CapturedMessage> messages() const;
    /// Connections accepted so far.
    int sessions() const;
    /// Waits until at least `count` messages arrived or `timeout` passed; returns whether they did.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;

    /// Stops listening, closes open connections and waits for their threads.
    void stop();

private:
    std::shared_ptr<detail::CaptureState> state_{};
};

}  // namespace common::mail

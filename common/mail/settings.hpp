#pragma once
// MailSettings — Flask-Mail's configuration keys as a plain struct. Deliberately independent
// of common::config: the app feeds it from its config, a chapter from the environment.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace common::mail {

/// A MAIL_* setting has a value that cannot be used; the message names the key.
class SettingsError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Looks a key up ("MAIL_SERVER"); nullopt when it is not set.
using SettingsLookup = std::function<std::optional<std::string>(std::string_view key)>;

/// One field per Flask-Mail key, with Flask-Mail's defaults, plus MAIL_TIMEOUT and
/// MAIL_CA_FILE which Flask-Mail lacks.
struct MailSettings {
    std::string server = "localhost";         ///< MAIL_SERVER
    std::uint16_t port = 25;                  ///< MAIL_PORT
    bool use_tls = false;                     ///< MAIL_USE_TLS: STARTTLS after EHLO (port 587)
    bool use_ssl = false;                     ///< MAIL_USE_SSL: TLS from the first byte (port 465)
    std::string username{};                   ///< MAIL_USERNAME: empty → no AUTH
    std::string password{};                   ///< MAIL_PASSWORD
    std::string default_sender{};             ///< MAIL_DEFAULT_SENDER
    bool suppress_send = false;               ///< MAIL_SUPPRESS_SEND: record, never connect
    std::optional<std::size_t> max_emails{};  ///< MAIL_MAX_EMAILS: reconnect after this many
    std::chrono::milliseconds timeout{10'000};  ///< MAIL_TIMEOUT (s): deadline of each step
    /// How long the answer to the final "." of the data may take (never less than `timeout`):
    /// RFC 5321 §4.5.3.2.6's ten minutes, as Postfix waits. The server may be storing the
    /// message; giving up sooner and retrying would deliver it twice.
    std::chrono::milliseconds data_done_timeout{600'000};
    std::string ca_file{};  ///< MAIL_CA_FILE: extra PEM CA bundle to trust

    /// Reads every MAIL_* key through `lookup`; unset keys keep their defaults. Strings are
    /// parsed ("true"/"false"/"1"/"0"/"yes"/"no", port 1-65535, timeout in seconds such as
    /// "10" or "0.5"); a bad value throws SettingsError naming the key and what it expected.
    static MailSettings from_lookup(const SettingsLookup& lookup);

    /// from_lookup over std::getenv.
    static MailSettings from_environment();

    /// Throws SettingsError for combinations that cannot work: both MAIL_USE_TLS and
    /// MAIL_USE_SSL, a username without a password (or the reverse), an unreadable CA file.
    void validate() const;
};

}  // namespace common::mail

#include "common/mail/settings.hpp"

#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace common::mail {

namespace {

[[noreturn]] void bad(std::string_view key, const std::string& value, const std::string& expected) {
    throw SettingsError(std::string(key) + "='" + value + "': expected " + expected);
}

bool parse_bool(std::string_view key, const std::string& value) {
    const std::string v = Poco::toLower(Poco::trim(value));
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
    bad(key, value, "true or false (also 1/0, yes/no, on/off)");
}

unsigned long long parse_unsigned(std::string_view key, const std::string& value,
                                  unsigned long long min, unsigned long long max) {
    Poco::UInt64 n = 0;
    if (!Poco::NumberParser::tryParseUnsigned64(Poco::trim(value), n) || n < min || n > max)
        bad(key, value,
            "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return n;
}

}  // namespace

MailSettings MailSettings::from_lookup(const SettingsLookup& lookup) {
    MailSettings s;
    auto get = [&](std::string_view key) { return lookup(key); };
    if (auto v = get("MAIL_SERVER")) s.server = Poco::trim(*v);
    if (auto v = get("MAIL_PORT"))
        s.port = static_cast<std::uint16_t>(parse_unsigned("MAIL_PORT", *v, 1, 65535));
    if (auto v = get("MAIL_USE_TLS")) s.use_tls = parse_bool("MAIL_USE_TLS", *v);
    if (auto v = get("MAIL_USE_SSL")) s.use_ssl = parse_bool("MAIL_USE_SSL", *v);
    if (auto v = get("MAIL_USERNAME")) s.username = *v;
    if (auto v = get("MAIL_PASSWORD")) s.password = *v;
    if (auto v = get("MAIL_DEFAULT_SENDER")) s.default_sender = *v;
    if (auto v = get("MAIL_SUPPRESS_SEND")) s.suppress_send = parse_bool("MAIL_SUPPRESS_SEND", *v);
    if (auto v = get("MAIL_MAX_EMAILS"); v && !Poco::trim(*v).empty())
        s.max_emails =
            static_cast<std::size_t>(parse_unsigned("MAIL_MAX_EMAILS", *v, 1, 1'000'000'000));
    if (auto v = get("MAIL_TIMEOUT")) {
        double seconds = 0;
        if (!Poco::NumberParser::tryParseFloat(Poco::trim(*v), seconds) ||
            !std::isfinite(seconds) || seconds <= 0 || seconds > 86400)
            bad("MAIL_TIMEOUT", *v, "seconds greater than 0, such as 10 or 0.5");
        s.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
    }
    if (auto v = get("MAIL_CA_FILE")) s.ca_file = Poco::trim(*v);
    s.validate();
    return s;
}

MailSettings MailSettings::from_environment() {
    return from_lookup([](std::string_view key) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(key).c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    });
}

void MailSettings::validate() const {
    if (server.empty())
        throw SettingsError("MAIL_SERVER is empty: set it to the SMTP host, e.g. smtp.qq.com");
    if (port == 0)
        throw SettingsError(
            "MAIL_PORT is 0: set the SMTP port (25, 587 with MAIL_USE_TLS, 465 with MAIL_USE_SSL)");
    if (use_tls && use_ssl)
        throw SettingsError(
            "MAIL_USE_TLS and MAIL_USE_SSL are both true: use MAIL_USE_TLS with port "
            "587 (STARTTLS) or MAIL_USE_SSL with port 465 (implicit TLS), not both");
    if (!username.empty() && password.empty())
        throw SettingsError(
            "MAIL_USERNAME is set but MAIL_PASSWORD is empty: set MAIL_PASSWORD (for QQ "
            "Mail the authorization code, for Gmail an app password)");
    if (username.empty() && !password.empty())
        throw SettingsError(
            "MAIL_PASSWORD is set but MAIL_USERNAME is empty: set MAIL_USERNAME to the "
            "account's address");
    if (timeout.count() <= 0) throw SettingsError("MAIL_TIMEOUT must be greater than 0 seconds");
    if (!ca_file.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(ca_file, ec))
            throw SettingsError("MAIL_CA_FILE='" + ca_file +
                                "' is not a readable file: give the path "
                                "of a PEM file with the CA certificate(s) to trust");
    }
}

}  // namespace common::mail

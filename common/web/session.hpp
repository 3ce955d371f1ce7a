#pragma once
/// \file
/// Flask's client-side session: the session's values live in a cookie, signed with
/// HMAC-SHA256 over the SECRET_KEY so the client can read but not change them, with an
/// expiry inside the signature. A cookie that fails verification is an empty session.

#include "common/web/data.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace common::web {

/// One flashed message (flask.flash(message, category)).
struct Flash {
    std::string category;
    std::string message;
};

/// The session of one request, like Flask's `session` (a dict that remembers being changed).
class Session {
public:
    Session() : data_(Data::object()) {}
    explicit Session(Data data);

    /// Read a value: nullptr when absent (Python's session.get(key)).
    const Data* get(std::string_view key) const { return data_.find(key); }
    /// The value, or fallback when absent.
    Data get(std::string_view key, Data fallback) const;
    bool contains(std::string_view key) const { return data_.contains(key); }
    /// Write access (session[key] = ...): marks the session modified.
    Data& operator[](std::string_view key);
    void set(std::string_view key, Data value) { (*this)[key] = std::move(value); }
    /// Removes a key (session.pop(key, None)); marks modified if it was there.
    void erase(std::string_view key);
    void clear();
    bool empty() const { return data_.size() == 0; }
    bool modified() const { return modified_; }
    /// Everything, e.g. to print it.
    const Data& data() const { return data_; }

    /// flash(): appends to the `_flashes` list, as Flask stores them.
    void flash(std::string message, std::string category = "message");
    /// get_flashed_messages(): returns and removes the flashed messages.
    std::vector<Flash> pop_flashes();
    bool has_flashes() const { return data_.contains("_flashes"); }

private:
    Data data_;
    bool modified_ = false;
};

/// Signs and verifies session cookies: `base64url(json) "." expires "." base64url(mac)`,
/// mac = HMAC-SHA256(key, first two parts) where key = HMAC-SHA256(SECRET_KEY, salt) (the
/// key derivation itsdangerous does, so a SECRET_KEY is never used raw). JSON over 512 bytes
/// that zlib shrinks is sent as `"." base64url(zlib(json))`, the mark itsdangerous uses.
class SessionSerializer {
public:
    explicit SessionSerializer(std::string_view secret_key,
                               std::string_view salt = "cookie-session");
    SessionSerializer(const SessionSerializer&);
    SessionSerializer(SessionSerializer&&) noexcept;
    SessionSerializer& operator=(const SessionSerializer&);
    SessionSerializer& operator=(SessionSerializer&&) noexcept;
    ~SessionSerializer();

    /// The cookie value for the session data, valid until `expires` (Unix seconds).
    std::string dumps(const Data& data, std::int64_t expires) const;
    /// The data of a cookie that verifies and has not expired at `now`; nullopt for a
    /// tampered, malformed or expired cookie (never an exception: clients send garbage).
    std::optional<Data> loads(std::string_view cookie, std::int64_t now) const;

private:
    class MacKey;  ///< the derived key, its HMAC pads already hashed (session.cpp)
    std::shared_ptr<const MacKey> key_;
};

/// Compares in time independent of where the strings differ (for MACs and CSRF tokens).
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;
/// `bytes` random bytes (OpenSSL's CSPRNG, which the OS seeds), hex encoded.
std::string random_hex(std::size_t bytes);
/// Unix time now, in seconds.
std::int64_t unix_now();

}  // namespace common::web

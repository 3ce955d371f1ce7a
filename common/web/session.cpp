#include "common/web/session.hpp"

#include "common/web/errors.hpp"
#include "common/web/http.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>  // the BASE64_* options
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>
#include <Poco/Timestamp.h>

#include <sys/random.h>

#include <cerrno>
#include <charconv>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace common::web {

namespace {

/// HMACEngine<> wants BLOCK_SIZE and DIGEST_SIZE enums that SHA2Engine lacks (Poco 1.11);
/// these are SHA-256's and give the same MACs as Python's hmac.new(key, msg, sha256).
class SHA256Engine : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    SHA256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

std::string hmac_sha256(std::string_view key, std::string_view message) {
    Poco::HMACEngine<SHA256Engine> engine(key.data(), key.size());
    engine.update(message.data(), static_cast<unsigned>(message.size()));
    const auto& digest = engine.digest();
    return std::string(digest.begin(), digest.end());
}

constexpr int kBase64Url = Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING;

/// URL-safe base64 without padding (what b64decode reads with kBase64Url). By hand because Poco's
/// Base64Encoder is an ostream: a stream, its buffer and its locale per call were 4 % of a
/// page view, for what is a table lookup per 6 bits.
std::string b64encode(std::string_view raw) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) {
        return static_cast<unsigned>(static_cast<unsigned char>(raw[k]));
    };
    for (; i + 3 <= raw.size(); i += 3) {
        const unsigned n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        out += alphabet[n & 63];
    }
    if (const std::size_t rest = raw.size() - i; rest > 0) {
        const unsigned n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0u);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        if (rest == 2) out += alphabet[n >> 6 & 63];
    }
    return out;
}

std::optional<std::string> b64decode(std::string_view text) {
    std::istringstream in{std::string(text)};
    Poco::Base64Decoder decoder(in, kBase64Url);
    std::string out;
    char buf[512];
    try {
        while (decoder.read(buf, sizeof buf) || decoder.gcount() > 0)
            out.append(buf, static_cast<std::size_t>(decoder.gcount()));
    } catch (...) {
        return std::nullopt;  // invalid characters
    }
    if (decoder.bad()) return std::nullopt;
    return out;
}

}  // namespace

// ---- Session --------------------------------------------------------------------------

Session::Session(Data data) : data_(std::move(data)) {
    if (!data_.is_object()) data_ = Data::object();
}

Data Session::get(std::string_view key, Data fallback) const {
    auto* v = data_.find(key);
    return v ? *v : std::move(fallback);
}

Data& Session::operator[](std::string_view key) {
    modified_ = true;
    return data_[key];
}

void Session::erase(std::string_view key) {
    if (data_.erase(key)) modified_ = true;
}

void Session::clear() {
    if (!empty()) modified_ = true;
    data_ = Data::object();
}

void Session::flash(std::string message, std::string category) {
    (*this)["_flashes"].push_back(Data::list({std::move(category), std::move(message)}));
}

std::vector<Flash> Session::pop_flashes() {
    std::vector<Flash> out;
    const Data* flashes = data_.find("_flashes");
    if (!flashes) return out;
    if (flashes->is_list()) {
        for (const auto& item : flashes->as_list()) {
            if (item.is_list() && item.size() == 2 && item.as_list()[0].is_string() &&
                item.as_list()[1].is_string())
                out.push_back({item.as_list()[0].as_string(), item.as_list()[1].as_string()});
        }
    }
    erase("_flashes");
    return out;
}

// ---- SessionSerializer ----------------------------------------------------------------

SessionSerializer::SessionSerializer(std::string_view secret_key, std::string_view salt)
    : key_(hmac_sha256(secret_key, salt)) {}

std::string SessionSerializer::mac(std::string_view message) const {
    return hmac_sha256(key_, message);
}

std::string SessionSerializer::dumps(const Data& data, std::int64_t expires) const {
    // A string a view put in the session may not be UTF-8; JSON must be, or loads() would
    // refuse the cookie and the visitor would silently lose the session.
    std::string json = data.to_json();
    make_valid_utf8(json);
    std::string signed_part = b64encode(json);
    signed_part += '.';
    signed_part += std::to_string(expires);
    return signed_part + "." + b64encode(mac(signed_part));
}

std::optional<Data> SessionSerializer::loads(std::string_view cookie, std::int64_t now) const {
    const auto last_dot = cookie.rfind('.');
    if (last_dot == std::string_view::npos) return std::nullopt;
    const std::string_view signed_part = cookie.substr(0, last_dot);
    // Verify before looking at anything else: unsigned input is never parsed. Compare the
    // encoded text, not decoded bytes: base64 has spare bits, so decoding would accept
    // several spellings of one signature.
    if (!constant_time_equals(cookie.substr(last_dot + 1), b64encode(mac(signed_part))))
        return std::nullopt;

    const auto dot = signed_part.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view expires_text = signed_part.substr(dot + 1);
    std::int64_t expires = 0;
    auto [ptr, ec] =
        std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
    if (ec != std::errc{} || ptr != expires_text.data() + expires_text.size() || expires <= now)
        return std::nullopt;

    const auto json = b64decode(signed_part.substr(0, dot));
    if (!json) return std::nullopt;
    try {
        Data data = Data::from_json(*json);
        if (!data.is_object()) return std::nullopt;
        return data;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// ---- helpers --------------------------------------------------------------------------

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;  // lengths of MACs and tokens are public
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff = static_cast<unsigned char>(
            diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
    return diff == 0;
}

std::string random_hex(std::size_t bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    // getrandom(2) rather than Poco::RandomInputStream: one system call, where Poco opens,
    // reads and closes /dev/urandom for every token (5 % of a page view in our profile).
    std::vector<unsigned char> raw(bytes);
    for (std::size_t got = 0; got < bytes;) {
        const auto n = ::getrandom(raw.data() + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw ServerError("getrandom failed: the OS has no randomness to give");
        }
        got += static_cast<std::size_t>(n);
    }
    std::string out;
    out.reserve(bytes * 2);
    for (const unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
    return out;
}

std::int64_t unix_now() { return Poco::Timestamp().epochTime(); }

}  // namespace common::web

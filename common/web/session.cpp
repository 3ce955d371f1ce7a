// SHA256_CTX and its functions are deprecated in OpenSSL 3; MacKey says why they are used.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "common/web/session.hpp"

#include "common/web/errors.hpp"
#include "common/web/http.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>  // the BASE64_* options
#include <Poco/DeflatingStream.h>
#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>
#include <Poco/Timestamp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace common::web {

/// HMAC-SHA256 (RFC 2104, what Python's hmac.new(key, msg, sha256) computes) with the key's
/// two padded blocks hashed once, when the key is set: HMAC(m) = H(opad ‖ H(ipad ‖ m)), and
/// the states after `ipad` and `opad` are the same for every message. A MAC then costs the
/// message's blocks and one more, instead of two extra blocks and a key schedule each time
/// (Poco's HMACEngine and OpenSSL's EVP_MAC rebuild the pads per message).
///
/// The states are OpenSSL's plain SHA256_CTX structs (deprecated in OpenSSL 3 in favour of
/// EVP, but kept and still running the CPU's SHA instructions): starting a MAC is a struct
/// copy. The EVP way copies a context through the provider, a malloc, a free and a cleanse
/// each time, two per MAC and four per new visitor's page; that cost more than the hashing.
/// The two states are only read after construction, so threads share one MacKey.
class SessionSerializer::MacKey {
public:
    explicit MacKey(std::string_view key) {
        std::array<unsigned char, 64> block{};  // SHA-256's block size
        if (key.size() > block.size())          // a long key is hashed first (RFC 2104)
            SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block.data());
        else
            std::memcpy(block.data(), key.data(), key.size());
        const auto start = [&](SHA256_CTX& state, unsigned char pad) {
            std::array<unsigned char, 64> padded;
            for (std::size_t i = 0; i < padded.size(); ++i)
                padded[i] = static_cast<unsigned char>(block[i] ^ pad);
            SHA256_Init(&state);
            SHA256_Update(&state, padded.data(), padded.size());
            OPENSSL_cleanse(padded.data(), padded.size());
        };
        start(inner_, 0x36);
        start(outer_, 0x5c);
        OPENSSL_cleanse(block.data(), block.size());
    }

    MacKey(const MacKey&) = delete;
    MacKey& operator=(const MacKey&) = delete;
    ~MacKey() {
        OPENSSL_cleanse(&inner_, sizeof inner_);
        OPENSSL_cleanse(&outer_, sizeof outer_);
    }

    /// The 32-byte MAC of `message`.
    std::array<unsigned char, 32> mac(std::string_view message) const {
        std::array<unsigned char, 32> inner_digest, out;
        SHA256_CTX work = inner_;
        SHA256_Update(&work, message.data(), message.size());
        SHA256_Final(inner_digest.data(), &work);
        work = outer_;
        SHA256_Update(&work, inner_digest.data(), inner_digest.size());
        SHA256_Final(out.data(), &work);
        return out;
    }

private:
    SHA256_CTX inner_{}, outer_{};
};

namespace {

constexpr int kBase64Url = Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING;

/// Appends URL-safe base64 without padding (what b64decode reads with kBase64Url). By hand
/// because Poco's Base64Encoder is an ostream: a stream, its buffer and its locale per call
/// were 4 % of a page view, for what is a table lookup per 6 bits. Two signed values per new
/// visitor make this a hot loop, so it looks up 12 bits (two characters) at a time.
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr auto kPairs = [] {
    std::array<char, 2 * 4096> pairs{};
    for (std::size_t n = 0; n < 4096; ++n) {
        pairs[2 * n] = kAlphabet[n >> 6];
        pairs[2 * n + 1] = kAlphabet[n & 63];
    }
    return pairs;
}();

void b64encode_to(std::string& out, std::string_view raw) {
    const std::size_t rest = raw.size() % 3;
    const std::size_t start = out.size();
    // Sized once and written through a pointer: += per character re-checks the capacity.
    out.resize(start + raw.size() / 3 * 4 + (rest ? rest + 1 : 0));
    char* p = out.data() + start;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) {
        return static_cast<unsigned>(static_cast<unsigned char>(raw[k]));
    };
    for (; i + 3 <= raw.size(); i += 3, p += 4) {
        const unsigned n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        std::memcpy(p, &kPairs[2 * (n >> 12)], 2);
        std::memcpy(p + 2, &kPairs[2 * (n & 4095)], 2);
    }
    if (rest > 0) {
        const unsigned n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0u);
        *p++ = kAlphabet[n >> 18 & 63];
        *p++ = kAlphabet[n >> 12 & 63];
        if (rest == 2) *p++ = kAlphabet[n >> 6 & 63];
    }
}

std::string_view as_text(const std::array<unsigned char, 32>& digest) {
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
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
    : key_(std::make_shared<const MacKey>(as_text(MacKey(secret_key).mac(salt)))) {}

SessionSerializer::SessionSerializer(const SessionSerializer&) = default;
SessionSerializer::SessionSerializer(SessionSerializer&&) noexcept = default;
SessionSerializer& SessionSerializer::operator=(const SessionSerializer&) = default;
SessionSerializer& SessionSerializer::operator=(SessionSerializer&&) noexcept = default;
SessionSerializer::~SessionSerializer() = default;

namespace {
/// JSON longer than this is tried compressed: a browser drops a cookie over 4096 bytes
/// without a word, and a long name or many flashes would otherwise lose the whole session.
/// (itsdangerous compresses every payload that shrinks; a short one costs zlib's set-up, a
/// few microseconds per page, and never shrinks enough to matter.)
constexpr std::size_t compress_above = 512;
/// What a compressed payload may inflate to: it is signed, so only this server made it, but
/// a limit costs nothing.
constexpr std::size_t max_inflated = 1 << 20;

std::string deflate(std::string_view json) {
    std::ostringstream out;
    Poco::DeflatingOutputStream deflater(out, Poco::DeflatingStreamBuf::STREAM_ZLIB,
                                         Z_BEST_COMPRESSION);
    deflater.write(json.data(), static_cast<std::streamsize>(json.size()));
    deflater.close();
    return std::move(out).str();
}

std::optional<std::string> inflate(const std::string& compressed) {
    std::istringstream in(compressed);
    Poco::InflatingInputStream inflater(in, Poco::InflatingStreamBuf::STREAM_ZLIB);
    std::string out;
    char buf[4096];
    try {
        while (inflater.read(buf, sizeof buf) || inflater.gcount() > 0) {
            out.append(buf, static_cast<std::size_t>(inflater.gcount()));
            if (out.size() > max_inflated) return std::nullopt;
        }
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
    if (inflater.bad()) return std::nullopt;
    return out;
}
}  // namespace

std::string SessionSerializer::dumps(const Data& data, std::int64_t expires) const {
    // A string a view put in the session may not be UTF-8; JSON must be, or loads() would
    // refuse the cookie and the visitor would silently lose the session.
    std::string json = data.to_json();
    make_valid_utf8(json);
    // As itsdangerous marks it: a payload that starts with '.' is zlib-compressed JSON.
    bool compressed = false;
    if (json.size() > compress_above) {
        if (std::string packed = deflate(json); packed.size() + 1 < json.size()) {
            json = std::move(packed);
            compressed = true;
        }
    }
    char stamp[24];
    const auto stamp_end = std::to_chars(stamp, stamp + sizeof stamp, expires).ptr;
    // One string, sized once: base64 of the JSON, '.', the expiry, '.', 43 characters of MAC.
    std::string out;
    out.reserve((json.size() + 2) / 3 * 4 + 2 + static_cast<std::size_t>(stamp_end - stamp) + 44);
    if (compressed) out += '.';
    b64encode_to(out, json);
    out += '.';
    out.append(stamp, stamp_end);
    const auto mac = key_->mac(out);
    out += '.';
    b64encode_to(out, as_text(mac));
    return out;
}

std::optional<Data> SessionSerializer::loads(std::string_view cookie, std::int64_t now) const {
    const auto last_dot = cookie.rfind('.');
    if (last_dot == std::string_view::npos) return std::nullopt;
    const std::string_view signed_part = cookie.substr(0, last_dot);
    // Verify before looking at anything else: unsigned input is never parsed. Compare the
    // encoded text, not decoded bytes: base64 has spare bits, so decoding would accept
    // several spellings of one signature.
    std::string expected;
    b64encode_to(expected, as_text(key_->mac(signed_part)));
    if (!constant_time_equals(cookie.substr(last_dot + 1), expected)) return std::nullopt;

    const auto dot = signed_part.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view expires_text = signed_part.substr(dot + 1);
    std::int64_t expires = 0;
    auto [ptr, ec] =
        std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
    if (ec != std::errc{} || ptr != expires_text.data() + expires_text.size() || expires <= now)
        return std::nullopt;

    std::string_view payload = signed_part.substr(0, dot);
    const bool compressed = payload.starts_with('.');
    if (compressed) payload.remove_prefix(1);
    auto json = b64decode(payload);
    if (json && compressed) json = inflate(*json);
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

namespace {

/// Random bytes handed out from a per-thread buffer that one RAND_bytes call fills. OpenSSL's
/// generator is a CSPRNG in user space that the OS seeds (and reseeds), so a token costs no
/// system call; but each call still locks, looks up the DRBG and re-keys AES after the output
/// for backtracking resistance: 2.5 µs for 32 bytes, a tenth of a page view in our profile.
/// A 4 KiB draw costs about the same once, so the buffer makes it a memcpy. A forked child
/// must not hand out its parent's bytes: pthread_atfork bumps a generation that drops them.
std::atomic<unsigned> g_fork_generation{0};

class RandomPool {
public:
    RandomPool() = default;
    RandomPool(const RandomPool&) = delete;
    RandomPool& operator=(const RandomPool&) = delete;
    ~RandomPool() { OPENSSL_cleanse(buffer_.data(), buffer_.size()); }  // a thread's exit too

    void fill(unsigned char* out, std::size_t n) {
        static const bool registered = [] {
            pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); });
            return true;
        }();
        (void)registered;
        if (generation_ != g_fork_generation.load(std::memory_order_relaxed)) {
            generation_ = g_fork_generation.load(std::memory_order_relaxed);
            OPENSSL_cleanse(buffer_.data(), buffer_.size());
            used_ = buffer_.size();
        }
        while (n > 0) {
            if (used_ == buffer_.size()) refill();
            const std::size_t take = std::min(n, buffer_.size() - used_);
            std::memcpy(out, buffer_.data() + used_, take);
            // Wiped once handed out: the same bytes never go to two callers, and a later
            // memory disclosure cannot recover a token already issued.
            OPENSSL_cleanse(buffer_.data() + used_, take);
            used_ += take;
            out += take;
            n -= take;
        }
    }

private:
    void refill() {
        if (RAND_bytes(buffer_.data(), static_cast<int>(buffer_.size())) != 1)
            throw ServerError("RAND_bytes failed: OpenSSL's random generator could not be seeded");
        used_ = 0;
    }
    std::array<unsigned char, 4096> buffer_{};
    std::size_t used_ = buffer_.size();
    unsigned generation_ = 0;
};

}  // namespace

std::string random_hex(std::size_t bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    thread_local RandomPool pool;
    // The random bytes go into the second half of the result, which is then hex encoded from
    // the front: byte k becomes characters 2k and 2k+1, never overwriting a byte not yet read.
    std::string out(bytes * 2, '\0');
    auto* raw = reinterpret_cast<unsigned char*>(out.data()) + bytes;
    pool.fill(raw, bytes);
    for (std::size_t k = 0; k < bytes; ++k) {
        const unsigned char c = raw[k];
        out[2 * k] = hex[c >> 4];
        out[2 * k + 1] = hex[c & 0xf];
    }
    return out;
}

std::int64_t unix_now() { return Poco::Timestamp().epochTime(); }

}  // namespace common::web

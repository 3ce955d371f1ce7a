// libFuzzer target: the session cookie decoder (SessionSerializer::loads in
// common/web/session.cpp). A cookie is verified before it is parsed, so random bytes
// alone would only ever reach the signature check. The first byte picks a mode:
//   - even: the input is the cookie, as a client sends it (must come back nullopt, since
//     the fuzzer cannot forge HMAC-SHA256; it must never throw);
//   - odd: the input is the JSON payload, signed here with the serializer's own key, so
//     the base64 and JSON decoding behind the signature is fuzzed too.
// Invariants: loads never throws, gives only objects, and what it gives survives
// dumps → loads unchanged.

#include "common/web/session.hpp"
#include "fuzz_check.hpp"

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace web = common::web;

namespace {

constexpr std::string_view secret = "fuzz secret key";
constexpr std::int64_t now = 1'800'000'000;

// The serializer's signature, recomputed from its documented scheme (session.hpp:
// mac = HMAC-SHA256(HMAC-SHA256(SECRET_KEY, salt), message), base64url without padding):
// the harness needs it to sign payloads, and the class rightly keeps mac() private.
class SHA256Engine : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    SHA256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

std::string hmac(std::string_view key, std::string_view message) {
    Poco::HMACEngine<SHA256Engine> engine(key.data(), key.size());
    engine.update(message.data(), static_cast<unsigned>(message.size()));
    const auto& digest = engine.digest();
    return {digest.begin(), digest.end()};
}

std::string b64url(std::string_view raw) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (const char c : raw) {
        bits = bits << 8 | static_cast<unsigned char>(c);
        count += 8;
        while (count >= 6) {
            count -= 6;
            out += alphabet[bits >> count & 63];
        }
    }
    if (count > 0) out += alphabet[bits << (6 - count) & 63];
    return out;
}

std::string sign(std::string_view payload) {
    static const std::string key = hmac(secret, "cookie-session");
    std::string signed_part = b64url(payload) + "." + std::to_string(now + 3600);
    return signed_part + "." + b64url(hmac(key, signed_part));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const web::SessionSerializer serializer(secret);
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool forged = data[0] % 2 == 0;
    const std::string cookie = forged ? std::string(input) : sign(input);

    std::optional<web::Data> loaded;
    try {
        loaded = serializer.loads(cookie, now);
    } catch (...) {
        fuzz::require(false, "loads() threw (it must answer nullopt to garbage)");
    }
    if (!loaded) return 0;
    fuzz::require(loaded->is_object(), "loads() gave a non-object session");
    const auto again = serializer.loads(serializer.dumps(*loaded, now + 60), now);
    if (!again || *again != *loaded)
        std::fprintf(stderr, "loaded: %s\nagain:  %s\n", loaded->to_json().c_str(),
                     again ? again->to_json().c_str() : "(nullopt)");
    fuzz::require(again.has_value() && *again == *loaded, "dumps → loads changed the session");
    return 0;
}

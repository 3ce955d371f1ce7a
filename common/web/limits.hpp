#pragma once
/// \file
/// Limits — the one copy of every size limit of a request, with Flask's and Werkzeug's
/// defaults. The app reads them from its config once, when it starts serving
/// (Limits::from_config); the server frames requests with them and a Request's form parser
/// points at them.

#include <cstddef>
#include <string_view>

namespace common::config {
class Config;
}

namespace common::web {

struct Limits {
    /// MAX_CONTENT_LENGTH: a larger body is answered 413 without being read. Flask's default
    /// is no limit; a server on the open network wants one, so ours is 16 MiB.
    std::size_t max_content_length = 16 * 1024 * 1024;
    /// MAX_FORM_PARTS: fields (and files) of one form; more → 413 (Werkzeug's 1000).
    std::size_t max_form_parts = 1000;
    /// MAX_FORM_MEMORY_SIZE: bytes of one non-file form field; more → 413 (Werkzeug's 500 kB).
    std::size_t max_form_memory_size = 500 * 1000;
    /// Request line plus headers; more → 431. Not a config key (Werkzeug has none either).
    std::size_t max_head = 64 * 1024;

    /// The keys above from `config`, each a positive number; ConfigError naming the key
    /// otherwise.
    static Limits from_config(const common::config::Config& config);
};

/// config[key] as a positive number (fallback when unset); ConfigError naming the key otherwise.
std::size_t positive_setting(const common::config::Config& config, std::string_view key,
                             std::size_t fallback);

/// Flask's defaults, for a Request built outside an app (tests).
inline constexpr Limits default_limits{};

}  // namespace common::web

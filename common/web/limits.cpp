#include "common/web/limits.hpp"

#include "common/config/config.hpp"

#include <string>

namespace common::web {

std::size_t positive_setting(const common::config::Config& config, std::string_view key,
                             std::size_t fallback) {
    const std::int64_t v = config.get_int_or(key, static_cast<std::int64_t>(fallback));
    if (v <= 0)
        throw common::config::ConfigError("config " + std::string(key) +
                                          " must be a positive number, got " + std::to_string(v));
    return static_cast<std::size_t>(v);
}

Limits Limits::from_config(const common::config::Config& config) {
    Limits limits;
    limits.max_content_length =
        positive_setting(config, "MAX_CONTENT_LENGTH", default_limits.max_content_length);
    limits.max_form_parts =
        positive_setting(config, "MAX_FORM_PARTS", default_limits.max_form_parts);
    limits.max_form_memory_size =
        positive_setting(config, "MAX_FORM_MEMORY_SIZE", default_limits.max_form_memory_size);
    return limits;
}

}  // namespace common::web

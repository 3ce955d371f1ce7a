#pragma once
// common::config — Flask's `app.config`: a key → value store whose values are typed like the
// Python values a config class holds (None, bool, int, str) and which remembers where every
// value came from, so that "why is MAIL_PORT 2525?" has an answer.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace common::config {

/// One configuration value, like a Python value in Flask's app.config: None, bool, int or str.
using Value = std::variant<std::monostate, bool, std::int64_t, std::string>;

/// A missing key, a value of the wrong type, a bad environment variable, an unknown config
/// name. The message names the key (or variable) and says what to fix.
class ConfigError : public std::runtime_error {
public:
    using runtime_error::runtime_error;
};

/// Python's name for the value's type: "None", "bool", "int" or "str".
std::string_view type_name(const Value& value);

/// The value as Python's repr() writes it: None, True, 587, 'smtp.qq.com'.
std::string repr(const Value& value);

/// True for keys whose value must never be printed: SECRET_KEY, MAIL_PASSWORD and any key
/// containing PASSWORD, SECRET or TOKEN (case-insensitive).
bool is_secret(std::string_view key);

class ConfigClass;

/// Flask's app.config: a typed key→value store that remembers where each value came from.
class Config {
public:
    void set(const std::string& key, Value value, std::string source = "set in code");
    bool contains(std::string_view key) const;
    /// The value; ConfigError "no config key 'X'..." if missing.
    const Value& operator[](std::string_view key) const;

    /// Typed reads. A missing key, a None or a value of another type is a ConfigError naming
    /// the key, the expected type and, for None, the environment variable to export.
    std::string get_string(std::string_view key) const;
    std::int64_t get_int(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    /// None or missing → nullopt; a value of another type is still an error.
    std::optional<std::string> get_optional_string(std::string_view key) const;
    /// Missing or None → fallback; a value of another type is still an error.
    std::string get_string_or(std::string_view key, std::string fallback) const;
    std::int64_t get_int_or(std::string_view key, std::int64_t fallback) const;
    bool get_bool_or(std::string_view key, bool fallback) const;

    /// Where the value came from: "Config", "DevelopmentConfig", "env DATABASE_URI",
    /// "set in code".
    const std::string& source(std::string_view key) const;
    /// The keys, sorted.
    std::vector<std::string> keys() const;
    /// The value as the workbook prints it: repr(), or *** for a secret that is set.
    std::string display(std::string_view key) const;

    /// app.config.from_object(cls): copies every attribute of the config class (its own and
    /// inherited ones), with the environment layered over the class values. See
    /// config_class.hpp for the rules.
    void from_object(const ConfigClass& cls);

private:
    struct Entry {
        Value value;
        std::string source;
        /// Set for keys loaded by from_object: the variable that overrides them, for the
        /// "is not set: export X=..." hint.
        std::string environment_variable;
    };
    const Entry& entry(std::string_view key) const;
    [[noreturn]] void wrong_type(std::string_view key, const Entry& e,
                                 std::string_view expected) const;

    std::map<std::string, Entry, std::less<>> entries_;
    std::string loaded_from_;  ///< the class from_object loaded last, for error messages
};

}  // namespace common::config

// The typed store behind app.config. from_object() lives in config_class.cpp, next to the
// classes it loads.
#include "common/config/config.hpp"

#include <algorithm>
#include <cctype>

namespace common::config {

std::string_view type_name(const Value& value) {
    static constexpr std::string_view names[] = {"None", "bool", "int", "str"};
    return names[value.index()];
}

std::string repr(const Value& value) {
    struct Repr {
        std::string operator()(std::monostate) const { return "None"; }
        std::string operator()(bool b) const { return b ? "True" : "False"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(const std::string& s) const {
            // Python picks the quote that needs no escaping; enough for config values.
            const char quote =
                s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
            std::string out(1, quote);
            for (char c : s) {
                if (c == quote || c == '\\') out += '\\';
                out += c;
            }
            return out + quote;
        }
    };
    return std::visit(Repr{}, value);
}

bool is_secret(std::string_view key) {
    std::string upper(key);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    for (std::string_view word : {"PASSWORD", "SECRET", "TOKEN"})
        if (upper.find(word) != std::string::npos) return true;
    return false;
}

void Config::set(const std::string& key, Value value, std::string source) {
    entries_.insert_or_assign(key, Entry{std::move(value), std::move(source), {}});
}

bool Config::contains(std::string_view key) const { return entries_.find(key) != entries_.end(); }

const Config::Entry& Config::entry(std::string_view key) const {
    if (auto it = entries_.find(key); it != entries_.end()) return it->second;
    std::string where = loaded_from_.empty()
                            ? "nothing was loaded with from_object() and it was never set"
                            : loaded_from_ + " does not define it";
    throw ConfigError("no config key '" + std::string(key) + "': " + where +
                      "; add it to the config class or set it with config.set(\"" +
                      std::string(key) + "\", ...)");
}

const Value& Config::operator[](std::string_view key) const { return entry(key).value; }

const std::string& Config::source(std::string_view key) const { return entry(key).source; }

std::vector<std::string> Config::keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [key, e] : entries_) out.push_back(key);
    return out;
}

std::string Config::display(std::string_view key) const {
    const Value& value = entry(key).value;
    if (!is_secret(key)) return repr(value);
    // Say whether a secret is there without saying what it is.
    if (std::holds_alternative<std::monostate>(value)) return "None";
    if (auto s = std::get_if<std::string>(&value); s && s->empty()) return "''";
    return "***";
}

void Config::wrong_type(std::string_view key, const Entry& e, std::string_view expected) const {
    const std::string name(key);
    if (std::holds_alternative<std::monostate>(e.value)) {
        if (!e.environment_variable.empty())
            throw ConfigError(name + " is not set (None, from " + e.source + "): export " +
                              e.environment_variable + "=... and run again");
        throw ConfigError("config key '" + name + "' is None (" + e.source + "), expected " +
                          std::string(expected));
    }
    const std::string shown = is_secret(key) ? std::string("***") : repr(e.value);
    throw ConfigError("config key '" + name + "' is " + std::string(type_name(e.value)) + " " +
                      shown + " (" + e.source + "), expected " + std::string(expected));
}

std::string Config::get_string(std::string_view key) const {
    const Entry& e = entry(key);
    if (auto s = std::get_if<std::string>(&e.value)) return *s;
    wrong_type(key, e, "str");
}

std::int64_t Config::get_int(std::string_view key) const {
    const Entry& e = entry(key);
    if (auto i = std::get_if<std::int64_t>(&e.value)) return *i;
    wrong_type(key, e, "int");
}

bool Config::get_bool(std::string_view key) const {
    const Entry& e = entry(key);
    if (auto b = std::get_if<bool>(&e.value)) return *b;
    wrong_type(key, e, "bool");
}

std::optional<std::string> Config::get_optional_string(std::string_view key) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || std::holds_alternative<std::monostate>(it->second.value))
        return std::nullopt;
    return get_string(key);
}

std::string Config::get_string_or(std::string_view key, std::string fallback) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || std::holds_alternative<std::monostate>(it->second.value))
        return fallback;
    return get_string(key);
}

std::int64_t Config::get_int_or(std::string_view key, std::int64_t fallback) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || std::holds_alternative<std::monostate>(it->second.value))
        return fallback;
    return get_int(key);
}

bool Config::get_bool_or(std::string_view key, bool fallback) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || std::holds_alternative<std::monostate>(it->second.value))
        return fallback;
    return get_bool(key);
}

}  // namespace common::config

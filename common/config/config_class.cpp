// Config classes, the registry's error, and Config::from_object(): the environment layered
// over the class values with Poco::Util::LayeredConfiguration, which also does the typed
// parsing (getInt64, getBool: 1/0, true/false, yes/no, on/off).
#include "common/config/config_class.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>

namespace common::config {

// ---------------------------------------------------------------------------------------------
// ConfigClass

void ConfigClass::class_body(std::string name) {
    if (lineage_.size() == 1 && lineage_.front() == "ConfigClass") lineage_.clear();
    lineage_.push_back(std::move(name));
}

void ConfigClass::attr(std::string key, Value value) { define(std::move(key), std::move(value)); }

void ConfigClass::attr(std::string key, FromEnv lookup) {
    define(std::move(key), std::move(lookup));
}

void ConfigClass::define(std::string key, std::variant<Value, FromEnv> definition) {
    // Flask's from_object copies only UPPERCASE attributes; a lowercase one would be silently
    // ignored there, so it is a mistake worth stopping at.
    const bool upper = !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isupper(c) || std::isdigit(c) || c == '_';
    });
    if (!upper)
        throw ConfigError(
            "config key '" + key + "' in " + name() +
            " is not UPPERCASE: from_object() only loads UPPERCASE names, as Flask's does");
    for (auto& existing : attributes_) {
        if (existing.key == key) {  // a subclass overrides its base: same place, new value
            existing.definition = std::move(definition);
            existing.defined_in = name();
            return;
        }
    }
    attributes_.push_back(Attribute{std::move(key), std::move(definition), name()});
}

const ConfigClass::Attribute* ConfigClass::find(std::string_view key) const {
    for (const auto& a : attributes_)
        if (a.key == key) return &a;
    return nullptr;
}

std::vector<std::string> ConfigClass::environment_variables() const {
    std::set<std::string> names;
    for (const auto& a : attributes_) {
        if (auto lookup = std::get_if<FromEnv>(&a.definition))
            names.insert(lookup->variable);  // the seed's lookup: that variable only
        else if (same_name_variables_)
            names.insert(a.key);
    }
    return {names.begin(), names.end()};
}

// ---------------------------------------------------------------------------------------------
// The registry's error

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

void throw_unknown_name(std::string_view name, const std::vector<std::string>& names) {
    std::string message =
        "unknown config name '" + std::string(name) + "'; valid names: " + join_names(names);
    for (const auto& n : names)
        if (Poco::icompare(n, std::string(name)) == 0)
            message += " (names are lowercase: did you mean '" + n + "'?)";
    throw ConfigError(message);
}

// ---------------------------------------------------------------------------------------------
// from_object

namespace {

/// 1/0, true/false, yes/no, on/off in any case: what the docs promise, and nothing else.
std::optional<Value> parse_bool(const std::string& text) {
    const std::string t = Poco::toLower(text);
    if (t == "1" || t == "true" || t == "yes" || t == "on") return Value{true};
    if (t == "0" || t == "false" || t == "no" || t == "off") return Value{false};
    return std::nullopt;
}

/// A whole number in decimal digits, with an optional sign; nothing around it.
std::optional<Value> parse_int(const std::string& text) {
    std::int64_t n = 0;
    const char* first = text.data() + (text.starts_with('+') ? 1 : 0);
    const char* last = text.data() + text.size();
    if (first != text.data() && (first == last || *first == '-')) return std::nullopt;  // "+-5"
    const auto [end, error] = std::from_chars(first, last, n);
    if (first == last || error != std::errc{} || end != last) return std::nullopt;
    return Value{n};
}

/// The process environment as a Poco configuration layer, with two rules Poco's own
/// SystemConfiguration ("system.env.NAME") does not have: only the keys the config class
/// defines are visible (nothing else leaks into app.config), and an empty variable counts as
/// unset.
class EnvironmentLayer : public Poco::Util::AbstractConfiguration {
public:
    explicit EnvironmentLayer(std::set<std::string> keys) : keys_(std::move(keys)) {}

protected:
    bool getRaw(const std::string& key, std::string& value) const override {
        if (!keys_.contains(key) || !Poco::Environment::has(key)) return false;
        value = Poco::Environment::get(key);
        return !value.empty();
    }
    void setRaw(const std::string& key, const std::string&) override {
        throw Poco::InvalidAccessException("the environment layer is read-only: " + key);
    }
    void enumerate(const std::string& key, Keys& range) const override {
        if (!key.empty()) return;  // flat: no hierarchy below a key
        std::string value;
        for (const auto& k : keys_)
            if (getRaw(k, value)) range.push_back(k);
    }
    ~EnvironmentLayer() override = default;

private:
    std::set<std::string> keys_;
};

std::string as_text(const Value& value) {
    if (auto b = std::get_if<bool>(&value)) return *b ? "true" : "false";
    if (auto i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
    return std::get<std::string>(value);
}

std::string env_value(const std::string& variable) {
    return Poco::Environment::has(variable) ? Poco::Environment::get(variable) : std::string();
}

}  // namespace

void Config::from_object(const ConfigClass& cls) {
    using Poco::AutoPtr;
    using namespace Poco::Util;

    // Layer 2: the class body, evaluated now. `type` is what the environment must parse as:
    // the type of the class value (None counts as str, as os.environ.get returns str).
    AutoPtr<MapConfiguration> body(new MapConfiguration);
    std::map<std::string, std::string> body_source;
    std::map<std::string, std::size_t> type;
    std::set<std::string> keys;
    for (const auto& a : cls.attributes()) {
        const auto* lookup = std::get_if<FromEnv>(&a.definition);
        // A key the seed reads from a variable of its own reads that one only: an exported
        // SQLALCHEMY_DATABASE_URI must not replace DEV_DATABASE_URI's database (`flasky db
        // drop` would drop it), as Python never reads it.
        if (!lookup) keys.insert(a.key);
        const Value& declared = lookup ? lookup->fallback : std::get<Value>(a.definition);
        type[a.key] = std::holds_alternative<std::monostate>(declared) ? 3 : declared.index();
        Value value = declared;
        std::string source = a.defined_in;
        if (lookup) {
            if (std::string found = env_value(lookup->variable); !found.empty()) {
                value = std::move(found);  // typed below, through the layers
                source = "env " + lookup->variable;
            }
        }
        if (!std::holds_alternative<std::monostate>(value)) body->setString(a.key, as_text(value));
        body_source[a.key] = source;
    }

    // Layer 1: the environment, same names as the keys the class sets to a literal. Lower
    // priority number wins.
    AutoPtr<EnvironmentLayer> environment(
        new EnvironmentLayer(cls.reads_same_name_variables() ? keys : std::set<std::string>{}));
    AutoPtr<LayeredConfiguration> layered(new LayeredConfiguration);
    layered->add(AbstractConfiguration::Ptr(environment, true), "environment", 0);
    layered->add(AbstractConfiguration::Ptr(body, true), "class " + cls.name(), 1);

    for (const auto& a : cls.attributes()) {
        const std::string& key = a.key;
        const std::string source = environment->has(key) ? "env " + key : body_source[key];
        Value value;
        if (layered->has(key)) {
            // Raw text, parsed here: Poco's getBool/getInt64 would expand "${OTHER_KEY}" (a
            // variable could pull in the secret key, or loop until the stack ends) and take
            // "0x24b", "1,000" or "2" as numbers and bools.
            const std::string text = layered->getRawString(key);
            std::optional<Value> parsed;
            switch (type[key]) {
                case 1: parsed = parse_bool(text); break;
                case 2: parsed = parse_int(text); break;
                default: parsed = Value{text}; break;
            }
            if (parsed) {
                value = std::move(*parsed);
            } else {
                // Only the environment can hold text of the wrong type: the class values are
                // typed C++ values.
                const std::string variable = source.substr(4);  // "env X" → "X"
                const bool is_bool = type[key] == 1;
                throw ConfigError(
                    "environment variable " + variable + "=" + repr(env_value(variable)) +
                    " is not " + (is_bool ? "a bool" : "an int") + ": " + key + " is " +
                    (is_bool
                         ? "a bool; use 1/0, true/false, yes/no or on/off"
                         : "an int; use a whole number like " +
                               (body->has(key) ? body->getRawString(key) : std::string("587"))) +
                    ", or unset " + variable + " to use " + a.defined_in + "'s value");
            }
        }
        entries_.insert_or_assign(key, Entry{std::move(value), source, key});
    }
    loaded_from_ = cls.name();
}

}  // namespace common::config

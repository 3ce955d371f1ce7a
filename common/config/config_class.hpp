#pragma once
// Config classes as in the seed's config.py: a class body is a list of attributes, a subclass
// inherits its base's attributes and adds or overrides its own, and a registry maps names
// ('development', ...) to classes. Config::from_object() loads one into an app's config.
//
// How a value is found, highest first (the environment wins over the class):
//   1. an environment variable with the key's own name (MAIL_PORT=2525), read only for keys
//      the class defines and converted to the type of the class value (int, bool, str);
//   2. the class body, evaluated when from_object runs: a literal (MAIL_PORT = 587), or the
//      seed's own lookup `os.environ.get('DEV_DATABASE_URI') or <fallback>`;
//   3. None, for `os.environ.get('MAIL_USERNAME')` with the variable unset.
// An empty environment variable counts as unset everywhere (as the seed's `or` does), so
// `SECRET_KEY=` falls back to the class value instead of becoming an empty secret.

#include "common/config/config.hpp"

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace common::config {

/// `os.environ.get(variable) or fallback`, evaluated when from_object loads the class.
struct FromEnv {
    std::string variable;
    Value fallback;  ///< None: the key is None while the variable is unset
};

/// Reads like the seed: `attr("FLASKY_ADMIN", env("FLASKY_ADMIN"))`.
inline FromEnv env(std::string variable, Value fallback = {}) {
    return FromEnv{std::move(variable), std::move(fallback)};
}

/// A config class: derive from it, and declare the attributes in the constructor, after
/// `class_body("Name")`. Base constructors run first, so a subclass sees and may override
/// what its base declared, as Python's attribute lookup does.
class ConfigClass {
public:
    struct Attribute {
        std::string key;
        std::variant<Value, FromEnv> definition;
        std::string defined_in;  ///< the class whose body declares it ("Config")
    };

    virtual ~ConfigClass() = default;

    /// The most derived class's name ("DevelopmentConfig").
    const std::string& name() const { return lineage_.back(); }
    /// Base first: {"Config", "DevelopmentConfig"}.
    const std::vector<std::string>& lineage() const { return lineage_; }
    /// Every attribute, in declaration order (base first; an override keeps its place).
    const std::vector<Attribute>& attributes() const { return attributes_; }
    /// The attribute, or nullptr if the class does not define the key.
    const Attribute* find(std::string_view key) const;
    /// Every environment variable loading this class may read, sorted: each key's own name
    /// and the variables of the seed's lookups (DEV_DATABASE_URI).
    std::vector<std::string> environment_variables() const;
    /// Whether a variable named after a key overrides it (the workbook's rule; see
    /// only_the_seeds_lookups()).
    bool reads_same_name_variables() const { return same_name_variables_; }

protected:
    ConfigClass() = default;
    ConfigClass(const ConfigClass&) = default;
    ConfigClass& operator=(const ConfigClass&) = default;

    /// "class DevelopmentConfig(Config):" — the attributes that follow belong to `name`.
    void class_body(std::string name);
    /// `KEY = value`
    void attr(std::string key, Value value);
    /// `KEY = os.environ.get('VAR') or fallback`
    void attr(std::string key, FromEnv lookup);
    /// This class reads only the seed's own lookups (`os.environ.get('VAR')`), not a variable
    /// named after each key: for a config whose values must not depend on who runs it.
    void only_the_seeds_lookups() { same_name_variables_ = false; }

private:
    void define(std::string key, std::variant<Value, FromEnv> definition);

    std::vector<std::string> lineage_{"ConfigClass"};
    std::vector<Attribute> attributes_;
    bool same_name_variables_ = true;
};

/// Names valid in `registry`, joined for an error message: "development, testing, ...".
std::string join_names(const std::vector<std::string>& names);

/// The error for an unknown name: lists the valid names, and points out a case mistake
/// ('Production' → did you mean 'production'?).
[[noreturn]] void throw_unknown_name(std::string_view name, const std::vector<std::string>& names);

/// The seed's `config = {'development': DevelopmentConfig, ...}`: names → config classes.
/// Lookup is exact (case-sensitive); an unknown name is a ConfigError listing the valid ones.
template <class T>
class Registry {
public:
    Registry(std::initializer_list<std::pair<std::string, const T*>> entries) : entries_(entries) {}

    const T& operator[](std::string_view name) const {
        for (const auto& [key, cls] : entries_)
            if (key == name) return *cls;
        throw_unknown_name(name, names());
    }
    bool contains(std::string_view name) const {
        for (const auto& entry : entries_)
            if (entry.first == name) return true;
        return false;
    }
    /// In declaration order.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& entry : entries_) out.push_back(entry.first);
        return out;
    }

private:
    std::vector<std::pair<std::string, const T*>> entries_;
};

}  // namespace common::config

#include "config_tour.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>

namespace ch03 {

using common::config::ConfigError;
using flasky::config;

// ANCHOR: configure
void configure(common::config::Config& app_config, const flasky::Config& cls) {
    app_config.from_object(cls);  // app.config.from_object(config[config_name])
    cls.init_app(app_config);     // config[config_name].init_app(app)
}
// ANCHOR_END: configure

namespace {

void print_registry(std::ostream& out) {
    out << ">>> config\n{";
    const char* separator = "";
    for (const auto& name : config.names()) {
        // Python's repr of a class in the module config.py: <class 'config.DevelopmentConfig'>
        out << separator << "'" << name << "': <class 'config." << config[name].name() << "'>";
        separator = ", ";
    }
    out << "}\n";
    // Python's `is`: the same class object, not an equal copy.
    out << ">>> config['default'] is DevelopmentConfig\n"
        << (&config["default"] == &config["development"] ? "True" : "False") << "\n\n";
}

void print_table(std::ostream& out, const common::config::Config& app_config,
                 const flasky::Config& cls) {
    // The value column comes last: it is the only one whose width varies (paths). The source
    // column grows when an environment variable named after a long key set the value.
    std::size_t source_width = 24;
    for (const auto& attribute : cls.attributes())
        source_width = std::max(source_width, app_config.source(attribute.key).size() + 2);
    const auto width = static_cast<int>(source_width);
    out << std::left << std::setw(31) << "KEY" << std::setw(width) << "SOURCE"
        << "VALUE\n";
    for (const auto& attribute : cls.attributes()) {  // in class order, base first
        const std::string& key = attribute.key;
        out << std::setw(31) << key << std::setw(width) << app_config.source(key)
            << app_config.display(key) << "\n";
    }
    out << std::right;
}

/// Lists the names, wrapped to stay readable in a terminal.
void print_wrapped(std::ostream& out, const std::string& lead,
                   const std::vector<std::string>& names) {
    std::string line = lead;
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string word = names[i] + (i + 1 < names.size() ? "," : "");
        if (line.size() + 1 + word.size() > 92) {
            out << line << "\n";
            line = "   ";
        }
        line += " " + word;
    }
    out << line << "\n";
}

}  // namespace

void run(std::ostream& out, std::optional<std::string> name) {
    out << "Chapter 03 — config.py: config classes, the config registry, the environment\n\n";
    print_registry(out);

    const flasky::ConfigChoice choice = flasky::choose_config(std::move(name));
    out << "config name: '" << choice.name << "' — " << choice.source << "\n";
    const flasky::Config& cls = config[choice.name];  // ConfigError listing the valid names

    std::string lineage;
    for (auto it = cls.lineage().rbegin(); it != cls.lineage().rend(); ++it)
        lineage += (lineage.empty() ? "" : "(") + *it;
    lineage += std::string(cls.lineage().size() - 1, ')');
    out << "class: " << lineage << "\n\n";

    // ANCHOR: load
    common::config::Config app_config;
    out << ">>> app.config.from_object(config['" << choice.name << "'])\n";
    app_config.from_object(cls);
    print_table(out, app_config, cls);
    // ANCHOR_END: load

    out << "\n>>> config['" << choice.name << "'].init_app(app)\n";
    try {
        cls.init_app(app_config);
    } catch (const ConfigError& e) {
        out << "ConfigError: " << e.what() << "\n";
        out.flush();
        throw;
    }
    // None: Python's REPL prints nothing for it.

    // The seed leaves some values to the environment; unset, they are None, and using one
    // as a string says what to export instead of failing somewhere deep in the mail code.
    bool first = true;
    for (const auto& attribute : cls.attributes()) {
        if (!std::holds_alternative<std::monostate>(app_config[attribute.key])) continue;
        if (first) out << "\nUnset values are None; using one says what to do:\n";
        first = false;
        out << ">>> app.config.get_string(\"" << attribute.key << "\")\n";
        try {
            out << app_config.get_string(attribute.key) << "\n";
        } catch (const ConfigError& e) {
            out << "ConfigError: " << e.what() << "\n";
        }
    }

    out << "\n";
    print_wrapped(out, "Environment variables this config reads (empty counts as unset):",
                  cls.environment_variables());
    out << "Try: MAIL_SERVER=127.0.0.1 MAIL_PORT=2525 MAIL_USE_TLS=0 build/bin/ch03_config\n"
           "     DATABASE_URI=sqlite:////tmp/p.db SECRET_KEY=s build/bin/ch03_config production\n";
}

}  // namespace ch03

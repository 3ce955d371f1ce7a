#include "common/flasky/manage.hpp"

#include "common/flasky/app.hpp"
#include "common/flasky/config.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/web/server.hpp"

#include <Poco/Exception.h>
#include <Poco/Path.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <vector>

namespace flasky::manage {

namespace {

constexpr const char* usage =
    "usage: flasky <command> [options]\n"
    "\n"
    "  runserver [--host 127.0.0.1] [--port 5000] [--threads N] [--workers W]\n"
    "                                                serve the app (Ctrl+C stops it); N event\n"
    "                                                loops (default: two per core), up to W\n"
    "                                                threads for the views of writes (default\n"
    "                                                64; 0: every view on the loops)\n"
    "            [--reads-on-workers]                GET views on the workers too\n"
    "  routes                                        print the URL map\n"
    "  db create | db drop [--yes]                   create or drop the tables (production's\n"
    "                                                drop needs --yes)\n"
    "  test [NAME ...]                               run the test suite verbosely\n"
    "\n"
    "The config is $FLASKY_CONFIG, else $FLASK_CONFIG (the book's name): development, testing\n"
    "or production; default: development.\n";

/// The test suite is a program of its own (Boost.Test), built beside this one.
std::string test_program() {
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    auto program = self.parent_path() / "test_flasky";
    if (!std::filesystem::exists(program))
        throw std::runtime_error(
            program.string() +
            " is missing: build it with `cmake --build build --target test_flasky`");
    return program.string();
}

/// Every suite and test of the program as a --run_test path ("BasicTestCase",
/// "BasicTestCase/test_app_exists"), from Boost.Test's --list_content tree (four spaces a level).
std::vector<std::string> test_paths(const std::string& program) {
    Poco::Pipe output;
    Poco::ProcessHandle child =
        Poco::Process::launch(program, {"--list_content"}, nullptr, &output, &output);
    Poco::PipeInputStream stream(output);
    std::vector<std::string> paths, parents;
    std::string line;
    while (std::getline(stream, line)) {
        const auto indent = line.find_first_not_of(' ');
        if (indent == std::string::npos) continue;
        std::string name = line.substr(indent);
        name.erase(name.find_last_not_of(" *") + 1);  // '*' marks an enabled unit
        parents.resize(std::min(parents.size(), indent / 4));
        parents.push_back(name);
        std::string path;
        for (const auto& p : parents) path += (path.empty() ? "" : "/") + p;
        paths.push_back(path);
    }
    child.wait();
    return paths;
}

}  // namespace

void runserver(std::ostream& out, std::string_view config_name,
               common::web::ServerOptions options) {
    auto app = create_app(config_name);
    // Serving for real: a session key that can be guessed forges sessions and CSRF tokens.
    // (ProductionConfig refuses an empty or default key; serving also wants 32 bytes.)
    if (config_name == "production") {
        const std::string key = app->config.get_string_or("SECRET_KEY", "");
        if (key.size() < 32)
            throw common::config::ConfigError(
                "runserver refuses to serve production with a SECRET_KEY of " +
                std::to_string(key.size()) +
                " bytes: use at least 32 random bytes, e.g. export SECRET_KEY=$(openssl rand "
                "-hex 32)");
    }
    db.create_all(*app);
    {
        common::db::Session session(db.engine(*app));
        insert_roles(session);
    }
    mail.outbox(*app).start();  // resumes what the last run left in the outbox
    options.access_log = &std::clog;
    common::web::Server server(*app, options);
    server.run(out);
}

void print_url_map(std::ostream& out, const common::web::App& app, std::string_view indent) {
    // Flask 2.2's layout: HEAD and OPTIONS left out (every GET answers HEAD, every route
    // OPTIONS), each column as wide as its longest cell, a row of dashes under the heading.
    struct Row {
        std::string endpoint, methods, rule;
    };
    std::vector<Row> rows;
    std::size_t widths[3] = {std::string_view("Endpoint").size(),
                             std::string_view("Methods").size(), std::string_view("Rule").size()};
    for (const auto& route : app.url_map()) {
        std::vector<std::string> shown;
        for (const auto& m : route.methods)
            if (m != "HEAD" && m != "OPTIONS") shown.push_back(m);
        std::sort(shown.begin(), shown.end());
        Row row{route.endpoint, "", route.rule};
        for (const auto& m : shown) row.methods += (row.methods.empty() ? "" : ", ") + m;
        widths[0] = std::max(widths[0], row.endpoint.size());
        widths[1] = std::max(widths[1], row.methods.size());
        widths[2] = std::max(widths[2], row.rule.size());
        rows.push_back(std::move(row));
    }
    auto line = [&](std::string_view a, std::string_view b, std::string_view c) {
        std::string text = std::string(a) + std::string(widths[0] - a.size() + 2, ' ') +
                           std::string(b) + std::string(widths[1] - b.size() + 2, ' ') +
                           std::string(c);
        out << indent << text.substr(0, text.find_last_not_of(' ') + 1) << "\n";  // rstrip
    };
    line("Endpoint", "Methods", "Rule");
    line(std::string(widths[0], '-'), std::string(widths[1], '-'), std::string(widths[2], '-'));
    for (const auto& row : rows) line(row.endpoint, row.methods, row.rule);
}

void routes(std::ostream& out, std::string_view config_name) {
    print_url_map(out, *create_app(config_name));
}

void db_command(std::ostream& out, std::string_view config_name, std::string_view action,
                bool confirmed) {
    auto app = create_app(config_name);
    // Printed, so with the password masked (a deploy script keeps this output in its logs).
    const auto uri = common::db::uri_for_display(db.engine(*app).uri());
    if (action == "create") {
        db.create_all(*app);
        common::db::Session session(db.engine(*app));
        int added = insert_roles(session);
        out << "Created the tables in " << uri << " (" << added << " roles added).\n";
    } else if (action == "drop") {
        // One mistyped command should not delete a live site's users: production asks for
        // the word, as a confirmation prompt would, but a deploy script can give it.
        if (config_name == "production" && !confirmed)
            throw std::invalid_argument("this would drop every table in " + uri +
                                        ", users and all, under the production config; run "
                                        "`flasky db drop --yes` if that is what you want");
        db.drop_all(*app);
        out << "Dropped the tables in " << uri << ".\n";
    } else {
        throw std::invalid_argument("unknown db action '" + std::string(action) +
                                    "': use `flasky db create` or `flasky db drop`");
    }
}

// ANCHOR: test_command
int test(std::ostream& out, const std::vector<std::string>& names) {
    // --log_level=test_suite prints each suite and test as it enters and leaves it, with the
    // failures in between: Boost.Test's verbosity=2.
    std::vector<std::string> args{"--log_level=test_suite", "--report_level=short",
                                  "--color_output=no"};
    // Boost.Test runs the tests any of the names match and says nothing of a name that matches
    // none: a mistyped name beside a right one would look like a passing run. (Names with
    // Boost's filter syntax, "*" or "@label", are passed on as they are.)
    const std::string program = test_program();
    std::vector<std::string> known;
    for (const auto& name : names) {
        const bool plain = name.find_first_of("*@!:,") == std::string::npos;
        if (plain && known.empty()) known = test_paths(program);
        if (plain && std::find(known.begin(), known.end(), name) == known.end()) {
            out << "flasky test: no test or suite is named '" << name << "'; the names are:\n";
            for (const auto& k : known) out << "  " << k << "\n";
            return 200;  // what Boost.Test answers when no name matches
        }
        args.push_back("--run_test=" + name);
    }
    Poco::Pipe output;
    Poco::ProcessHandle child = Poco::Process::launch(program, args, nullptr, &output, &output);
    Poco::PipeInputStream stream(output);
    // Boost.Test names each place by its absolute source path; relative to the project the
    // lines are shorter and the same on every machine.
    const std::string root = std::string(FLASKY_PROJECT_ROOT) + "/";
    std::string line;
    while (std::getline(stream, line)) {
        for (auto at = line.find(root); at != std::string::npos; at = line.find(root))
            line.erase(at, root.size());
        out << line << "\n";
    }
    return child.wait();
}
// ANCHOR_END: test_command

int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty()) {
        err << usage;
        return 2;
    }
    const auto choice = choose_config(std::nullopt);
    const std::string& command = args[0];
    try {
        if (command == "runserver") {
            common::web::ServerOptions options;
            std::string host = "127.0.0.1";
            long port = 5000;
            long threads = options.threads;
            long workers = options.max_workers;
            // A whole number in [low, high], all of the text: "5000abc" is a typo, not 5000.
            const auto number = [&](const std::string& option, const std::string& text, long low,
                                    long high, long& into) {
                long n = 0;
                const auto [end, error] =
                    std::from_chars(text.data(), text.data() + text.size(), n);
                if (text.empty() || error != std::errc{} || end != text.data() + text.size() ||
                    n < low || n > high) {
                    err << "flasky runserver: " << option << " must be a whole number from " << low
                        << " to " << high << ", not '" << text << "'\n";
                    return false;
                }
                into = n;
                return true;
            };
            for (std::size_t i = 1; i < args.size(); ++i) {
                const std::string& option = args[i];
                const bool takes_value = option == "--host" || option == "--port" ||
                                         option == "--threads" || option == "--workers";
                if (takes_value && i + 1 == args.size()) {
                    err << "flasky runserver: " << option << " needs a value\n";
                    return 2;
                }
                if (option == "--host")
                    host = args[++i];
                else if (option == "--port" && !number(option, args[++i], 1, 65535, port))
                    return 2;
                else if (option == "--threads" && !number(option, args[++i], 1, 1024, threads))
                    return 2;
                else if (option == "--workers" && !number(option, args[++i], 0, 4096, workers))
                    return 2;
                else if (option == "--reads-on-workers")
                    options.reads_on_loops = false;
                else if (option == "-h" || option == "--help") {
                    out << usage;
                    return 0;
                } else if (!takes_value) {
                    err << "flasky runserver: unknown option '" << option << "'\n" << usage;
                    return 2;
                }
            }
            options.host = host;
            options.port = static_cast<std::uint16_t>(port);
            options.threads = static_cast<int>(threads);
            options.max_workers = static_cast<int>(workers);
            // Which config serves: FLASK_CONFIG where FLASKY_CONFIG was meant would otherwise
            // go unnoticed (Flask prints its debug mode here).
            out << " * Config '" << choice.name << "' (" << choice.source << ")" << std::endl;
            runserver(out, choice.name, options);
            return 0;
        }
        const bool help = args.size() > 1 && (args[1] == "-h" || args[1] == "--help");
        if ((command == "routes" || command == "db") && help) {
            out << usage;
            return 0;
        }
        if (command == "routes") {
            if (args.size() > 1) {
                err << "flasky routes: takes no arguments (got '" << args[1] << "')\n";
                return 2;
            }
            routes(out, choice.name);
            return 0;
        }
        if (command == "db") {
            // Checked before anything opens the database, which would create its file.
            const bool known = args.size() > 1 && (args[1] == "create" || args[1] == "drop");
            const bool yes = args.size() == 3 && args[2] == "--yes" && args[1] == "drop";
            if (!known || (args.size() > 2 && !yes)) {
                err << "flasky db: "
                    << (args.size() == 1 ? std::string("say what to do")
                                         : "unknown arguments '" + args[1] +
                                               (args.size() > 2 ? " " + args[2] : "") +
                                               (args.size() > 3 ? " ..." : "") + "'")
                    << ": use `flasky db create`, `flasky db drop` or `flasky db drop --yes`\n";
                return 2;
            }
            db_command(out, choice.name, args[1], yes);
            return 0;
        }
        if (command == "test" && help) {
            out << usage;
            return 0;
        }
        if (command == "test") return test(out, {args.begin() + 1, args.end()});
        if (command == "-h" || command == "--help" || command == "help") {
            out << usage;
            return 0;
        }
    } catch (const Poco::Exception& e) {
        // displayText(): what() of a Poco exception is its class's name ("System exception").
        out.flush();
        err << "flasky " << command << ": " << e.displayText() << "\n";
        return 1;
    } catch (const std::exception& e) {
        out.flush();
        err << "flasky " << command << ": " << e.what() << "\n";
        return 1;
    }
    err << "flasky: unknown command '" << command << "'\n" << usage;
    return 2;
}

}  // namespace flasky::manage

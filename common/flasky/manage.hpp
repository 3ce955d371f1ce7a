#pragma once
// manage.py: the `flasky` command. The seed uses Flask-Script (unmaintained; Flask has had
// its own CLI since 1.0); the subcommands are the same: runserver, the URL map, the tables,
// and the test suite.

#include "common/web/server.hpp"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace common::web {
class App;
}

namespace flasky::manage {

// ANCHOR: commands
/// flasky runserver [--host H] [--port P] [--threads N] [--workers W]: create_app(config_name),
/// create missing tables and the default roles (so a first run on an empty database works),
/// serve until Ctrl+C/SIGTERM (the access log goes to std::clog).
void runserver(std::ostream& out, std::string_view config_name,
               common::web::ServerOptions options = {});

/// flasky routes: the URL map, as `flask routes` prints it.
void routes(std::ostream& out, std::string_view config_name);
/// The table `routes` prints, for an app you already have; `indent` starts each line.
void print_url_map(std::ostream& out, const common::web::App& app, std::string_view indent = "");

/// flasky db create|drop: with the production config, drop also needs `--yes` (confirmed).
void db_command(std::ostream& out, std::string_view config_name, std::string_view action,
                bool confirmed = false);

/// flasky test [NAMES...]: runs the app's test suite (build/bin/test_flasky, beside this
/// program) test by test (entering and leaving each), like unittest's verbosity=2; returns
/// its exit status.
/// A name is a suite or a test: BasicTestCase, BasicTestCase/test_app_exists.
int test(std::ostream& out, const std::vector<std::string>& names);
// ANCHOR_END: commands

/// The whole command line: dispatches to the functions above. Unknown subcommand or bad
/// option → usage on `err`, returns 2. The config comes from FLASKY_CONFIG (default 'default').
int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace flasky::manage

#pragma once
// Chapter 04: the application factory and the main blueprint, driven from the outside.

#include <cstdint>
#include <iosfwd>
#include <string>

namespace ch04 {

/// create_app('testing'), then what `flask routes` and a few requests through the test
/// client show: the config, the blueprints, the URL map, GET /, POST a name, the redirect,
/// the admin mail, a 404.
void run(std::ostream& out);

/// `--serve`: create_app(config_name), create missing tables and the default roles, serve on
/// host:port until Ctrl+C / SIGTERM (in-flight requests finish, queued mail is delivered).
void serve(std::ostream& out, const std::string& config_name, const std::string& host,
           std::uint16_t port);

}  // namespace ch04

#pragma once
/// \file
/// The two extensions the seed binds with init_app(): Flask-Bootstrap and Flask-Moment,
/// both serving Debian's packaged JavaScript under /static (no CDN).
///
///     common::web::Bootstrap bootstrap;   // created without an app, like `bootstrap = Bootstrap()`
///     common::web::Moment moment;
///     ...in create_app(): bootstrap.init_app(app); moment.init_app(app);

#include <chrono>
#include <string>
#include <string_view>

namespace common::web {

class App;

/// Bootstrap 4 from libjs-bootstrap4 (+ jQuery from libjs-jquery):
/// - serves /static/bootstrap4/... and /static/jquery/... (endpoints bootstrap.static, jquery.static);
/// - adds the layout "bootstrap/base.html" with blocks title, head, styles, navbar, content
///   (flashed messages as dismissible alerts, then the block page_content) and scripts;
/// - adds the partials "bootstrap/styles.html" and "bootstrap/scripts.html", which is how a
///   child keeps the defaults when it overrides those blocks (Jinja's super()).
class Bootstrap {
public:
    Bootstrap() = default;
    explicit Bootstrap(App& app) { init_app(app); }
    void init_app(App& app);

    static constexpr std::string_view bootstrap_dir = "/usr/share/javascript/bootstrap4";
    static constexpr std::string_view jquery_dir = "/usr/share/javascript/jquery";
    /// The text of bootstrap/base.html (to read or print it).
    static std::string_view base_template();
};

/// Flask-Moment: times are sent as UTC ISO-8601 in a hidden <span>, and moment.js (from
/// libjs-moment, served under /static/moment/) formats them in the reader's time zone and
/// language; the renderer is /static/flask-moment/render.js (a file, not inline, so a strict
/// Content-Security-Policy allows it). Adds the partial "moment/scripts.html"
/// (Flask-Moment's moment.include_moment()): put
/// `{{>moment/scripts.html}}` in the scripts block. Render spans with format()/from_now()
/// and insert them unescaped: `{{{current_time}}}`.
class Moment {
public:
    using time_point = std::chrono::system_clock::time_point;

    Moment() = default;
    explicit Moment(App& app) { init_app(app); }
    void init_app(App& app);

    static constexpr std::string_view moment_dir = "/usr/share/javascript/moment";

    /// moment(timestamp).format(fmt), e.g. format(now, "LLL") → "May 1, 2024 2:03 PM" in the browser.
    static std::string format(time_point t, std::string_view fmt = "LLL", int refresh_ms = 0);
    /// moment(timestamp).fromNow() → "a few seconds ago"; refresh_ms > 0 keeps it updating.
    static std::string from_now(time_point t, int refresh_ms = 0);
    /// moment(timestamp).calendar() → "Today at 2:03 PM".
    static std::string calendar(time_point t);
    /// UTC ISO-8601 with a Z: "2024-05-01T14:03:00Z".
    static std::string iso8601(time_point t);
};

}  // namespace common::web

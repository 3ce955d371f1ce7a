#include "common/web/extensions.hpp"

#include "common/web/app.hpp"
#include "common/web/http.hpp"

#include <chrono>

namespace common::web {

// ---- Bootstrap ------------------------------------------------------------------------

namespace {

constexpr std::string_view kBootstrapStyles =
    R"(<link rel="stylesheet" href="{{url_for.bootstrap.static}}/css/bootstrap.min.css">
)";

constexpr std::string_view kBootstrapScripts =
    R"(<script src="{{url_for.jquery.static}}/jquery.min.js"></script>
<script src="{{url_for.bootstrap.static}}/js/bootstrap.bundle.min.js"></script>
)";

// Flask-Bootstrap's base.html, in mustache blocks, for Bootstrap 4.
// ANCHOR: bootstrap_base
constexpr std::string_view kBootstrapBase =
    R"(<!doctype html>
<html lang="en">
<head>
{{$head}}
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
<title>{{$title}}{{/title}}</title>
{{$styles}}{{>bootstrap/styles.html}}{{/styles}}
{{/head}}
</head>
<body>
{{$navbar}}{{/navbar}}
{{$content}}
<div class="container">
{{#get_flashed_messages}}
<div class="alert alert-{{alert}} alert-dismissible fade show" role="alert">
{{message}}
<button type="button" class="close" data-dismiss="alert" aria-label="Close"><span aria-hidden="true">&times;</span></button>
</div>
{{/get_flashed_messages}}
{{$page_content}}{{/page_content}}
</div>
{{/content}}
{{$scripts}}{{>bootstrap/scripts.html}}{{/scripts}}
</body>
</html>
)";
// ANCHOR_END: bootstrap_base

}  // namespace

std::string_view Bootstrap::base_template() { return kBootstrapBase; }

// ANCHOR: bootstrap_init_app
void Bootstrap::init_app(App& app) {
    app.add_static_files("/static/bootstrap4", std::string(bootstrap_dir), "bootstrap.static");
    app.add_static_files("/static/jquery", std::string(jquery_dir), "jquery.static");
    app.add_template("bootstrap/base.html", std::string(kBootstrapBase));
    app.add_template("bootstrap/styles.html", std::string(kBootstrapStyles));
    app.add_template("bootstrap/scripts.html", std::string(kBootstrapScripts));
    app.extensions.add("bootstrap", *this);
}
// ANCHOR_END: bootstrap_init_app

// ---- Moment ---------------------------------------------------------------------------

namespace {

// Flask-Moment's include_moment(): moment.js, then the renderer. Flask-Moment inlines the
// renderer in a <script>; ours is a file, so a Content-Security-Policy of 'self' allows it.
constexpr std::string_view kMomentScripts =
    R"(<script src="{{url_for.moment.static}}/moment.min.js"></script>
<script src="{{url_for.moment.renderer}}"></script>
)";

// Renders every span.flask-moment with moment.js (the spans start hidden, showing nothing
// until the browser's local time is known).
constexpr std::string_view kMomentRenderer =
    R"(function flask_moment_render(elem) {
    var t = moment(elem.dataset.timestamp);
    var args = elem.dataset.format ? [elem.dataset.format] : [];
    elem.textContent = t[elem.dataset.function].apply(t, args);
    elem.classList.remove('flask-moment');
    elem.hidden = false;
}
function flask_moment_render_all() {
    document.querySelectorAll('.flask-moment').forEach(function (elem) {
        flask_moment_render(elem);
        var refresh = parseInt(elem.dataset.refresh || '0', 10);
        if (refresh > 0) {
            setInterval(function () { flask_moment_render(elem); }, refresh);
        }
    });
}
document.addEventListener('DOMContentLoaded', flask_moment_render_all);
)";

std::string span(Moment::time_point t, std::string_view function, std::string_view fmt,
                 int refresh_ms) {
    const std::string iso = Moment::iso8601(t);
    // Appended into one string sized once: this span is on every page view of the index.
    std::string out;
    out.reserve(128 + 2 * iso.size() + fmt.size());
    out.append("<span class=\"flask-moment\" data-timestamp=\"").append(iso);
    out.append("\" data-function=\"").append(function).append("\"");
    if (!fmt.empty()) out.append(" data-format=\"").append(html_escape(fmt)).append("\"");
    out.append(" data-refresh=\"").append(std::to_string(refresh_ms > 0 ? refresh_ms : 0));
    out.append("\" hidden>").append(iso).append("</span>");
    return out;
}

}  // namespace

// ANCHOR: moment_init_app
void Moment::init_app(App& app) {
    app.add_static_files("/static/moment", std::string(moment_dir), "moment.static");
    app.route("/static/flask-moment/render.js", "moment.renderer", [](Context&) {
        return Response(std::string(kMomentRenderer), 200, "text/javascript; charset=utf-8");
    });
    app.add_template("moment/scripts.html", std::string(kMomentScripts));
    app.extensions.add("moment", *this);
}
// ANCHOR_END: moment_init_app

std::string Moment::iso8601(time_point t) {
    // Calendar arithmetic from <chrono> rather than gmtime_r + strftime: those take glibc's
    // time zone lock and consult the locale, on every page view of the index.
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day date{day};
    const hh_mm_ss time{secs - day};
    std::string out = "0000-00-00T00:00:00Z";
    const auto put = [&out](std::size_t at, std::size_t width, long long value) {
        for (std::size_t i = at + width; i-- > at; value /= 10)
            out[i] = static_cast<char>('0' + value % 10);
    };
    put(0, 4, static_cast<int>(date.year()));
    put(5, 2, static_cast<unsigned>(date.month()));
    put(8, 2, static_cast<unsigned>(date.day()));
    put(11, 2, time.hours().count());
    put(14, 2, time.minutes().count());
    put(17, 2, time.seconds().count());
    return out;
}

std::string Moment::format(time_point t, std::string_view fmt, int refresh_ms) {
    return span(t, "format", fmt, refresh_ms);
}

std::string Moment::from_now(time_point t, int refresh_ms) {
    return span(t, "fromNow", {}, refresh_ms);
}

std::string Moment::calendar(time_point t) { return span(t, "calendar", {}, 0); }

}  // namespace common::web

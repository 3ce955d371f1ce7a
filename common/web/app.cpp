#include "common/web/app.hpp"

#include "common/web/static_files.hpp"
#include "common/web/templates.hpp"

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>

namespace common::web {

namespace fs = std::filesystem;

// ---- Blueprint ------------------------------------------------------------------------

Blueprint::Blueprint(std::string name, std::string template_folder, std::string url_prefix)
    : name_(std::move(name)), template_folder_(std::move(template_folder)),
      url_prefix_(std::move(url_prefix)) {
    if (name_.empty() || name_.find('.') != std::string::npos)
        throw UsageError("blueprint name '" + name_ + "' must be non-empty and contain no '.'");
}

void Blueprint::add_route(std::string rule, std::string endpoint, View view,
                          std::vector<std::string> methods) {
    if (endpoint.find('.') != std::string::npos)
        throw UsageError("endpoint '" + endpoint + "' of blueprint '" + name_ +
                         "' must not contain '.': the blueprint adds its name (" + name_ +
                         ".endpoint)");
    routes_.push_back({std::move(rule), std::move(endpoint), std::move(view), std::move(methods)});
}

// The app-wide variants record the scope "" instead of the blueprint's name.
Blueprint& Blueprint::app_errorhandler(int code, ErrorHandler handler) {
    records_.error_handlers.push_back({"", code, std::move(handler)});
    return *this;
}
Blueprint& Blueprint::before_app_request(BeforeRequest hook) {
    records_.before_request.push_back({"", std::move(hook)});
    return *this;
}
Blueprint& Blueprint::after_app_request(AfterRequest hook) {
    records_.after_request.push_back({"", std::move(hook)});
    return *this;
}
Blueprint& Blueprint::teardown_app_request(Teardown hook) {
    records_.teardown_request.push_back({"", std::move(hook)});
    return *this;
}

// ---- Extensions -----------------------------------------------------------------------

std::vector<std::string> Extensions::names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) out.push_back(k);
    return out;
}

void Extensions::missing(std::string_view name) {
    throw UsageError("no extension '" + std::string(name) + "' on this app: call " +
                     std::string(name) + ".init_app(app) in create_app()");
}

// ---- App::Impl ------------------------------------------------------------------------

namespace {

/// Config values read once when the app starts serving, so the hot path does no map lookups.
struct Settings {
    std::string cookie_name = "session";
    bool cookie_secure = false;
    std::int64_t lifetime = 31LL * 24 * 3600;
    Limits limits;
    bool csrf_enabled = true;
    /// WTF_CSRF_TIME_LIMIT (Flask-WTF's 3600 s); 0 or None: a token never expires.
    std::int64_t csrf_time_limit = 3600;
    bool propagate = false;
    std::optional<SessionSerializer> serializer;
    /// Signs the CSRF tokens put in pages, with their expiry (Flask-WTF's salt).
    std::optional<SessionSerializer> csrf_serializer;
    /// Headers every response gets unless the view set them: the browser's own defences,
    /// on by default (Flask leaves them to Flask-Talisman). Config keys of the same names
    /// change them; an empty value leaves the header out.
    std::vector<std::pair<std::string, std::string>> security_headers{
        {"X-Content-Type-Options", "nosniff"},
        // Scripts, styles, images and frames only from this site; no inline script; the
        // pages may not be framed (clickjacking).
        {"Content-Security-Policy",
         "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
        {"Referrer-Policy", "strict-origin-when-cross-origin"},
    };
};

bool is_unsafe(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string alert_class(const std::string& category) {
    if (category == "message") return "info";
    if (category == "error") return "danger";
    return category;
}

std::string exception_text(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

/// What templates may ask url_for for ({{url_for.main.index}}): every endpoint whose URL needs
/// no variables, and each folder-serving endpoint (".../<path:filename>") as its folder's URL.
std::map<std::string, std::string, std::less<>> template_urls(const Router& router) {
    constexpr std::string_view files = "/<path:filename>";
    std::map<std::string, std::string, std::less<>> urls;
    for (const auto& r : router.rules()) {
        const auto variable = r.rule.find('<');
        if (variable == std::string::npos)
            urls.emplace(r.endpoint, router.build(r.endpoint, {}));
        else if (r.rule.ends_with(files) && variable == r.rule.size() - files.size() + 1)
            urls.emplace(r.endpoint, r.rule.substr(0, variable - 1));
    }
    return urls;
}

/// after_request and teardown order (Flask's): the blueprint's hooks, then the app's, each
/// newest first.
template <class Hook, class Fn>
void for_each_reversed(std::vector<Scoped<Hook>>& hooks, const std::string& blueprint, Fn&& fn) {
    for (int pass = 0; pass < 2; ++pass) {
        for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
            const bool app_wide = it->blueprint.empty();
            if ((pass == 1) != app_wide) continue;
            if (!app_wide && it->blueprint != blueprint) continue;
            fn(it->fn);
        }
    }
}

/// "https://example.com:8443" → "example.com:8443"; "" when it is not scheme://host.
std::string_view origin_host(std::string_view origin) {
    const auto scheme = origin.find("://");
    if (scheme == std::string_view::npos) return {};
    return origin.substr(scheme + 3);
}

/// "example.com:8443" → "example.com", "[::1]:5000" → "[::1]"; as given without a port.
std::string_view without_port(std::string_view host) {
    const auto colon = host.rfind(':');
    if (colon == std::string_view::npos || host.find(']', colon) != std::string_view::npos)
        return host;
    return host.substr(0, colon);
}

/// Whether the browser's Origin host is `host` (a Host or X-Forwarded-Host value). A host
/// without a port matches the origin's name on any port: a proxy that passes `$host` drops the
/// port the browser used, and cookies are not kept apart by port either, so another port of
/// the same name is no other site to them.
bool same_site(std::string_view origin, std::string_view host) {
    if (host.empty()) return false;
    if (iequals(origin, host)) return true;
    return without_port(host) == host && iequals(without_port(origin), host);
}

/// What is wrong with the request's CSRF token, in Flask-WTF's words; "" when it is valid.
std::string csrf_problem(Context& ctx, const Settings& s) {
    const Request& req = ctx.request;
    // A browser names the page a form was posted from: another site's page posting here is
    // what CSRF is, whatever token it carries. (Behind a proxy the scheme may differ, so only
    // the host is compared.) "null" names no page: a browser sends it for a form posted
    // under Referrer-Policy: no-referrer, from this site too; the token decides then.
    // A proxy's X-Forwarded-Host counts too: a page on another site cannot set that header.
    if (const std::string* origin = req.headers.find("Origin"); origin && *origin != "null") {
        // Chained proxies list hosts ("a, b"): the first is the one the browser asked for.
        const std::string* forwarded = req.headers.find("X-Forwarded-Host");
        const std::string_view first =
            forwarded ? trim_ows(std::string_view(*forwarded).substr(0, forwarded->find(',')))
                      : std::string_view{};
        const std::string_view from = origin_host(*origin);
        if (!same_site(from, req.host()) && !same_site(from, first))
            return "The request came from another site (Origin " + *origin + ", this site is " +
                   req.host() + ").";
    }
    std::string token;
    if (const std::string* header = req.headers.find("X-CSRFToken"))
        token = *header;
    else if (const std::string* header2 = req.headers.find("X-CSRF-Token"))
        token = *header2;
    else if (const std::string* field = req.form().find("csrf_token"))
        token = *field;
    // Flask-WTF's messages.
    if (token.empty()) return "The CSRF token is missing.";
    const Data* expected = ctx.session().get("csrf_token");
    if (!expected || !expected->is_string()) return "The CSRF session token is missing.";
    if (!s.csrf_serializer) return "The CSRF token is invalid.";
    // The page's token is the session's, signed with its expiry (Flask-WTF's TimedSerializer).
    auto raw = s.csrf_serializer->loads(token, unix_now());
    if (!raw) {
        const bool expired = s.csrf_serializer->loads(token, 0).has_value();
        return expired ? "The CSRF token has expired." : "The CSRF token is invalid.";
    }
    const Data* signed_raw = raw->find("csrf");
    if (!signed_raw || !signed_raw->is_string() ||
        !constant_time_equals(signed_raw->as_string(), expected->as_string()))
        return "The CSRF tokens do not match.";
    return {};
}

/// The app's check of every unsafe request (Flask-WTF's CSRFProtect): 400 with the reason.
void check_csrf(Context& ctx, const Settings& s) {
    if (auto why = csrf_problem(ctx, s); !why.empty()) throw HTTPError(400, std::move(why));
}

}  // namespace

struct App::Impl {
    std::string name, root_path;
    std::string template_folder = "templates", static_folder = "static";

    Router router;
    std::vector<View> views;
    std::vector<std::string> blueprint_names;
    std::vector<std::function<void()>> shutdown_hooks;
    std::function<void(const std::string&)> logger = [](const std::string& msg) {
        std::cerr << msg + "\n";
    };

    /// Template sources after the app folder, in registration order: folder, or name+text.
    struct TemplateSource {
        std::string folder, name, text;
    };
    std::vector<TemplateSource> template_sources;
    std::unique_ptr<TemplateEngine> templates = std::make_unique<TemplateEngine>();

    std::mutex freeze_mutex;
    std::atomic<bool> frozen{false};
    Settings settings;

    /// An absolute folder as is; a relative one under root_path; none ("") when there is no
    /// root_path, so an app never picks up whatever "templates" folder the current directory has.
    std::string resolve(const std::string& folder) const {
        if (folder.empty() || fs::path(folder).is_absolute()) return folder;
        if (root_path.empty()) return {};
        return (fs::path(root_path) / folder).string();
    }

    void add_rule(std::string rule, std::string endpoint, View view,
                  std::vector<std::string> methods) {
        views.push_back(std::move(view));
        try {
            router.add(std::move(rule), std::move(endpoint), std::move(methods), views.size() - 1);
        } catch (...) {
            views.pop_back();
            throw;
        }
    }
};

// ---- App ------------------------------------------------------------------------------

App::App(std::string name, std::string root_path) : impl_(std::make_unique<Impl>()) {
    impl_->name = std::move(name);
    impl_->root_path = std::move(root_path);
    // Flask adds the static route in its constructor; the folder is looked up per request so
    // set_static_folder() may still change it.
    impl_->add_rule("/static/<path:filename>", "static",
                    [im = impl_.get()](Context& ctx) {
                        return send_from_directory(im->resolve(im->static_folder),
                                                   ctx.request.view_arg("filename"), ctx.request);
                    },
                    {"GET"});
}

App::~App() = default;
App::App(App&&) noexcept = default;
App& App::operator=(App&&) noexcept = default;

const std::string& App::name() const { return impl_->name; }
const std::string& App::root_path() const { return impl_->root_path; }

void App::check_setup(std::string_view method) const {
    if (frozen())
        throw UsageError("The setup method '" + std::string(method) +
                         "' can no longer be called on app '" + impl_->name +
                         "': it has already started serving. Make all setup calls in "
                         "create_app().");
}

const std::string& App::scope() const {
    static const std::string app_wide;
    return app_wide;
}

void App::add_route(std::string rule, std::string endpoint, View view,
                    std::vector<std::string> methods) {
    impl_->add_rule(std::move(rule), std::move(endpoint), std::move(view), std::move(methods));
}

App& App::set_template_folder(std::string folder) {
    return setup("set_template_folder",
                 [&](App& app) { app.impl_->template_folder = std::move(folder); });
}
App& App::set_static_folder(std::string folder) {
    return setup("set_static_folder",
                 [&](App& app) { app.impl_->static_folder = std::move(folder); });
}

App& App::register_blueprint(const Blueprint& bp, std::optional<std::string> url_prefix) {
    check_setup("register_blueprint");
    for (const auto& n : impl_->blueprint_names)
        if (n == bp.name())
            throw UsageError("a blueprint named '" + bp.name() +
                             "' is already registered on app '" + impl_->name + "'");
    std::string prefix = url_prefix.value_or(bp.url_prefix());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty() && prefix.front() != '/')
        throw UsageError("url_prefix '" + prefix + "' of blueprint '" + bp.name() +
                         "' must start with '/'");

    for (const auto& r : bp.routes_) {
        std::string rule = prefix + r.rule;
        impl_->add_rule(rule.empty() ? "/" : rule, bp.name() + "." + r.endpoint, r.view, r.methods);
    }
    // The records keep their scope: the blueprint's name, or "" for its app-wide ones.
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(records_.error_handlers, bp.records_.error_handlers);
    append(records_.exception_handlers, bp.records_.exception_handlers);
    append(records_.before_request, bp.records_.before_request);
    append(records_.after_request, bp.records_.after_request);
    append(records_.teardown_request, bp.records_.teardown_request);
    append(records_.csrf_exempt, bp.records_.csrf_exempt);
    if (!bp.template_folder().empty())
        impl_->template_sources.push_back({bp.template_folder(), {}, {}});
    impl_->blueprint_names.push_back(bp.name());
    return *this;
}

std::vector<std::string> App::blueprints() const { return impl_->blueprint_names; }

App& App::add_static_files(std::string url_prefix, std::string directory, std::string endpoint) {
    while (!url_prefix.empty() && url_prefix.back() == '/') url_prefix.pop_back();
    View serve = [dir = std::move(directory)](Context& ctx) {
        return send_from_directory(dir, ctx.request.view_arg("filename"), ctx.request);
    };
    return setup("add_static_files", [&](App& app) {
        app.add_route(url_prefix + "/<path:filename>", std::move(endpoint), std::move(serve),
                      {"GET"});
    });
}
App& App::add_template(std::string name, std::string text) {
    return setup("add_template", [&](App& app) {
        app.impl_->template_sources.push_back({{}, std::move(name), std::move(text)});
    });
}
App& App::on_shutdown(std::function<void()> hook) {
    impl_->shutdown_hooks.push_back(std::move(hook));
    return *this;
}
App& App::set_error_logger(std::function<void(const std::string&)> logger) {
    return setup("set_error_logger", [&](App& app) { app.impl_->logger = std::move(logger); });
}

void App::run_shutdown_hooks() {
    for (auto& hook : impl_->shutdown_hooks) {
        try {
            hook();
        } catch (const std::exception& e) {
            impl_->logger(std::string("Exception in shutdown hook: ") + e.what());
        }
    }
}

std::string App::url_for(std::string_view endpoint, const UrlParams& params) const {
    if (!endpoint.empty() && endpoint.front() == '.') endpoint.remove_prefix(1);
    return impl_->router.build(endpoint, params);
}

std::vector<RouteInfo> App::url_map() const {
    std::vector<RouteInfo> out;
    for (const auto& r : impl_->router.rules()) out.push_back({r.endpoint, r.methods, r.rule});
    // `flask routes` sorts by endpoint by default.
    std::stable_sort(out.begin(), out.end(), [](const RouteInfo& a, const RouteInfo& b) {
        return a.endpoint != b.endpoint ? a.endpoint < b.endpoint : a.rule < b.rule;
    });
    return out;
}

const TemplateEngine& App::templates() const { return *impl_->templates; }

std::string App::render_template(std::string_view name, const Data& vars) {
    freeze();
    return impl_->templates->render(name, vars);
}

const Limits& App::limits() const { return impl_->settings.limits; }

bool App::frozen() const { return impl_->frozen.load(std::memory_order_acquire); }

void App::freeze() {
    if (frozen()) return;
    std::lock_guard lock(impl_->freeze_mutex);
    if (frozen()) return;

    Settings s;
    s.cookie_name = config.get_string_or("SESSION_COOKIE_NAME", "session");
    s.cookie_secure = config.get_bool_or("SESSION_COOKIE_SECURE", false);
    s.lifetime = static_cast<std::int64_t>(positive_setting(config, "PERMANENT_SESSION_LIFETIME",
                                                            static_cast<std::size_t>(s.lifetime)));
    s.limits = Limits::from_config(config);
    s.csrf_enabled = config.get_bool_or("WTF_CSRF_ENABLED", true);
    const bool debug_or_testing =
        config.get_bool_or("TESTING", false) || config.get_bool_or("DEBUG", false);
    s.propagate = config.get_bool_or("PROPAGATE_EXCEPTIONS", debug_or_testing);
    if (auto key = config.get_optional_string("SECRET_KEY"); key && !key->empty()) {
        s.serializer.emplace(*key);
        s.csrf_serializer.emplace(*key, "wtf-csrf-token");
    }
    s.csrf_time_limit = config.get_int_or("WTF_CSRF_TIME_LIMIT", s.csrf_time_limit);
    if (s.csrf_time_limit < 0)
        throw common::config::ConfigError(
            "config WTF_CSRF_TIME_LIMIT must be seconds (0 for no limit), got " +
            std::to_string(s.csrf_time_limit));
    for (auto& [name, value] : s.security_headers) value = config.get_string_or(name, value);
    std::erase_if(s.security_headers, [](const auto& header) { return header.second.empty(); });

    auto engine = std::make_unique<TemplateEngine>();
    engine->set_urls(template_urls(impl_->router));
    engine->add_folder(impl_->resolve(impl_->template_folder));
    for (const auto& src : impl_->template_sources) {
        if (src.folder.empty())
            engine->add_string(src.name, src.text);
        else
            engine->add_folder(impl_->resolve(src.folder));
    }
    engine->compile();

    impl_->settings = std::move(s);
    impl_->templates = std::move(engine);
    impl_->frozen.store(true, std::memory_order_release);
}

// ---- the request pipeline -------------------------------------------------------------

// ANCHOR: dispatch
Response App::handle(Request& req) {
    try {
        freeze();
    } catch (const std::exception& e) {
        impl_->logger(std::string("Cannot start app '") + impl_->name + "': " + e.what());
        return Response(error_page(500), 500);
    }
    req.limits = &impl_->settings.limits;
    Context ctx(*this, req);
    // Empty until a view, hook or handler answers: a default Response would be a page of its
    // own (a header list and a Content-Type), built and thrown away on every request.
    std::optional<Response> response;
    std::exception_ptr unhandled;
    try {
        try {
            match_request(ctx);
            response = preprocess_request(ctx);
            if (!response) response = dispatch_request(ctx);
        } catch (const HTTPError& e) {
            response = handle_user_exception(ctx, e);
        } catch (...) {
            response = handle_user_exception(ctx, std::current_exception());
            if (!response) throw;  // no handler for its class: the 500 path below
        }
        finalize_request(ctx, *response);
    } catch (...) {
        unhandled = std::current_exception();
        response = handle_exception(ctx, unhandled);  // rethrows when exceptions propagate
    }
    do_teardown_request(ctx, unhandled);
    return std::move(*response);
}

/// Finds the rule for the request (Flask does this when it pushes the request context). A
/// routing error (404, 405) is kept and raised by dispatch_request(), after the
/// before_request hooks ran, as in Flask.
void App::match_request(Context& ctx) {
    Request& req = ctx.request;
    const std::size_t max = impl_->settings.limits.max_content_length;
    if (req.body_too_large || req.body.size() > max)
        throw HTTPError(413, "The request body is larger than MAX_CONTENT_LENGTH (" +
                                 std::to_string(max) + " bytes).");
    Match match;
    try {
        match = impl_->router.match(req.path, req.method, req.query_string, &ctx.allowed_methods_);
    } catch (HTTPError& e) {
        ctx.routing_error_ = std::move(e);
        return;
    }
    if (!match.rule) return;  // OPTIONS for a rule without a view: answered by dispatch
    req.endpoint = match.rule->endpoint;
    if (auto dot = req.endpoint.find('.'); dot != std::string::npos)
        req.blueprint = req.endpoint.substr(0, dot);
    for (auto& [k, v] : match.args) req.view_args.emplace(std::move(k), std::move(v));
    ctx.view_ = match.rule->view;
}

/// The before_request hooks, app-wide ones first, then the blueprint's. The first that
/// returns a response answers the request.
std::optional<Response> App::preprocess_request(Context& ctx) {
    const std::string& blueprint = ctx.request.blueprint;
    for (auto& hook : records_.before_request)
        if (hook.blueprint.empty())
            if (auto early = hook.fn(ctx)) return early;
    if (!blueprint.empty())
        for (auto& hook : records_.before_request)
            if (hook.blueprint == blueprint)
                if (auto early = hook.fn(ctx)) return early;
    return std::nullopt;
}

/// Raises the routing error, answers OPTIONS, checks the CSRF token, calls the view.
Response App::dispatch_request(Context& ctx) {
    Request& req = ctx.request;
    if (ctx.routing_error_) throw *ctx.routing_error_;
    if (req.endpoint.empty()) {
        // Automatic OPTIONS answer, as Flask gives.
        Response r("", 200);
        std::string allow;
        for (const auto& a : ctx.allowed_methods_) allow += (allow.empty() ? "" : ", ") + a;
        r.headers.set("Allow", allow);
        return r;
    }
    if (impl_->settings.csrf_enabled && is_unsafe(req.method) && !is_csrf_exempt(req.endpoint))
        check_csrf(ctx, impl_->settings);
    return impl_->views[ctx.view_](ctx);
}
// ANCHOR_END: dispatch

bool App::is_csrf_exempt(std::string_view endpoint) const {
    const auto& exempt = records_.csrf_exempt;
    return std::find(exempt.begin(), exempt.end(), endpoint) != exempt.end();
}

/// An HTTPError (abort(404), a routing 405...): the blueprint's handler for its code, else the
/// app's, else Werkzeug's plain page. The error's headers (Allow, Location) are kept.
/// An exception that is not an HTTPError: the handler registered for its class, the
/// blueprint's before the app's, the newest first; nullopt when none is.
std::optional<Response> App::handle_user_exception(Context& ctx, std::exception_ptr error) {
    std::optional<Response> response;
    for_each_reversed(records_.exception_handlers, ctx.request.blueprint,
                      [&](ExceptionHandler& handler) {
                          if (!response) response = handler(ctx, error);
                      });
    return response;
}

Response App::handle_user_exception(Context& ctx, const HTTPError& error) {
    const ErrorHandler* handler = nullptr;
    const std::string& blueprint = ctx.request.blueprint;
    // The newest registration wins; a blueprint's own handler before an app-wide one.
    for (auto it = records_.error_handlers.rbegin(); it != records_.error_handlers.rend(); ++it)
        if (it->code == error.code() && !blueprint.empty() && it->blueprint == blueprint) {
            handler = &it->fn;
            break;
        }
    if (!handler)
        for (auto it = records_.error_handlers.rbegin(); it != records_.error_handlers.rend(); ++it)
            if (it->code == error.code() && it->blueprint.empty()) {
                handler = &it->fn;
                break;
            }
    Response r;
    bool handled = false;
    if (handler) {
        try {
            r = (*handler)(ctx, error);
            handled = true;
        } catch (const HTTPError&) {
            // abort() inside an error handler: fall back to the plain page.
        }
    }
    if (!handled) r = Response(error_page(error.code(), error.description()), error.code());
    for (const auto& [k, v] : error.headers.items())
        if (!r.headers.contains(k)) r.headers.add(k, v);
    return r;
}

/// The after_request hooks, then the session cookie (Flask's process_response).
void App::finalize_request(Context& ctx, Response& response) {
    for_each_reversed(records_.after_request, ctx.request.blueprint,
                      [&](AfterRequest& hook) { hook(ctx, response); });
    const Settings& s = impl_->settings;
    for (const auto& [name, value] : s.security_headers)
        if (!response.headers.contains(name)) response.headers.add(name, value);
    save_session(ctx, response);
    // A page with a CSRF token or a cookie is this visitor's alone: no cache may keep it.
    if ((ctx.csrf_issued_ || response.headers.contains("Set-Cookie")) &&
        !response.headers.contains("Cache-Control"))
        response.headers.add("Cache-Control", "no-store");
}

/// The session cookie: set when the session changed, deleted when it was emptied.
void App::save_session(Context& ctx, Response& response) {
    if (!ctx.session_opened()) return;
    const Settings& s = impl_->settings;
    Session& session = *ctx.session_;
    response.headers.add("Vary", "Cookie");
    if (!session.modified()) return;
    CookieOptions options;
    options.secure = s.cookie_secure;
    if (session.empty()) {
        if (ctx.session_cookie_present_) response.delete_cookie(s.cookie_name, options);
        return;
    }
    if (!s.serializer)
        throw UsageError("The session is unavailable because no SECRET_KEY is set. Set app.config "
                         "SECRET_KEY (or export SECRET_KEY) to a long random string.");
    std::string cookie = s.serializer->dumps(session.data(), unix_now() + s.lifetime);
    // Werkzeug's warning, for the same reason: browsers drop a cookie over 4096 bytes (name,
    // value and attributes) without a word, and the visitor keeps the old session.
    if (const auto size = s.cookie_name.size() + 1 + cookie.size(); size > 4093)
        impl_->logger("The '" + s.cookie_name + "' cookie is too large: its name and value are " +
                      std::to_string(size) +
                      " bytes, but browsers may silently ignore cookies over 4093 bytes; keep "
                      "less in the session.");
    response.set_cookie(s.cookie_name, std::move(cookie), options);
}

/// Anything but an HTTPError escaped: log it, then re-raise (PROPAGATE_EXCEPTIONS, after the
/// teardown hooks) or answer with the 500 handler (Flask's handle_exception).
Response App::handle_exception(Context& ctx, std::exception_ptr error) {
    impl_->logger("Exception on " + ctx.request.path + " [" + ctx.request.method +
                  "]: " + exception_text(error));
    if (impl_->settings.propagate) {
        for_each_reversed(records_.teardown_request, ctx.request.blueprint, [&](Teardown& hook) {
            try {
                hook(ctx, error);
            } catch (...) {}
        });
        std::rethrow_exception(error);
    }
    try {
        Response response = handle_user_exception(ctx, HTTPError(500));
        finalize_request(ctx, response);
        return response;
    } catch (...) {
        return Response(error_page(500), 500);
    }
}

/// The teardown hooks, always, with the unhandled exception if there was one.
void App::do_teardown_request(Context& ctx, std::exception_ptr error) {
    for_each_reversed(records_.teardown_request, ctx.request.blueprint, [&](Teardown& hook) {
        try {
            hook(ctx, error);
        } catch (const std::exception& e) {
            impl_->logger(std::string("Exception in teardown_request: ") + e.what());
        }
    });
}

std::optional<Data> App::decode_session_cookie(std::string_view value) const {
    const auto& serializer = impl_->settings.serializer;
    if (!serializer) return std::nullopt;
    return serializer->loads(value, unix_now());
}

const std::string& App::session_cookie_name() const { return impl_->settings.cookie_name; }

// ---- Context --------------------------------------------------------------------------

Context::Context(App& app_, Request& request_) : app(app_), request(request_) {}
Context::~Context() = default;

Session& Context::session() {
    if (session_) return *session_;
    const auto& s = app.impl_->settings;
    const auto& cookies = request.cookies();
    if (auto it = cookies.find(s.cookie_name); it != cookies.end()) {
        session_cookie_present_ = true;
        if (s.serializer)
            if (auto data = s.serializer->loads(it->second, unix_now()))
                return session_.emplace(std::move(*data));
    }
    return session_.emplace();
}

std::string Context::url_for(std::string_view endpoint, const UrlParams& params) const {
    if (!endpoint.empty() && endpoint.front() == '.') {
        std::string full = request.blueprint.empty() ? std::string(endpoint.substr(1))
                                                     : request.blueprint + std::string(endpoint);
        return app.impl_->router.build(full, params);
    }
    return app.impl_->router.build(endpoint, params);
}

std::string Context::render_template(std::string_view name, const Data& vars) {
    const TemplateEngine& engine = *app.impl_->templates;
    const auto uses = engine.uses(name);
    Data globals = Data::object();
    if (uses.flashes) {
        Data list = Data::list();
        for (auto& f : get_flashed_messages())
            list.push_back(Data{{"message", f.message},
                                {"category", f.category},
                                {"alert", alert_class(f.category)}});
        globals["get_flashed_messages"] = std::move(list);
    }
    if (uses.csrf) {
        std::string token = csrf_token();
        std::string field;  // built in one allocation: this runs for every form page
        field.reserve(token.size() + 64);
        field.append("<input type=\"hidden\" name=\"csrf_token\" value=\"").append(token);
        field.append("\">");
        globals["csrf_token"] = std::move(token);
        globals["csrf_field"] = std::move(field);
    }
    return engine.render(name, vars, &globals);
}

void Context::flash(std::string message, std::string category) {
    session().flash(std::move(message), std::move(category));
}

std::vector<Flash> Context::get_flashed_messages() {
    // Do not open (and so re-sign) a session just to find it has no flashes.
    if (!session_opened() && !request.cookies().contains(app.impl_->settings.cookie_name))
        return {};
    if (!session().has_flashes()) return {};
    return session().pop_flashes();
}

std::string Context::csrf_error() {
    const auto& settings = app.impl_->settings;
    return settings.csrf_enabled ? csrf_problem(*this, settings) : std::string{};
}

std::string Context::csrf_token() {
    Session& s = session();
    std::string raw;
    if (const Data* t = s.get("csrf_token"); t && t->is_string()) {
        raw = t->as_string();
    } else {
        raw = random_hex(32);
        s["csrf_token"] = raw;
    }
    csrf_issued_ = true;
    const auto& settings = app.impl_->settings;
    if (!settings.csrf_serializer) return raw;  // no SECRET_KEY: the session cannot be saved
    const std::int64_t limit =
        settings.csrf_time_limit > 0 ? settings.csrf_time_limit : 100LL * 365 * 24 * 3600;
    // Valid until `expires` (exclusive) = now + limit + 1: Flask-WTF (itsdangerous' max_age)
    // accepts a token while its age in whole seconds is at most the limit, so one made at
    // 10.9 s with a 1 s limit still passes at 11.9 s; without the + 1 it failed at 11.0 s.
    return settings.csrf_serializer->dumps(Data{{"csrf", std::move(raw)}}, unix_now() + limit + 1);
}

}  // namespace common::web

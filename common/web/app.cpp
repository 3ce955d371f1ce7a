#include "common/web/app.hpp"

#include "common/web/static_files.hpp"
#include "common/web/templates.hpp"

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>

namespace common::web {

namespace fs = std::filesystem;

// ---- Blueprint ------------------------------------------------------------------------

Blueprint::Blueprint(std::string name, std::string template_folder, std::string url_prefix)
    : name_(std::move(name)), template_folder_(std::move(template_folder)),
      url_prefix_(std::move(url_prefix)) {
    if (name_.empty() || name_.find('.') != std::string::npos)
        throw std::invalid_argument("blueprint name '" + name_ +
                                    "' must be non-empty and contain no '.'");
}

Blueprint& Blueprint::route(std::string rule, std::string endpoint, View view,
                            std::vector<std::string> methods) {
    if (endpoint.find('.') != std::string::npos)
        throw std::invalid_argument("endpoint '" + endpoint + "' of blueprint '" + name_ +
                                    "' must not contain '.': the blueprint adds its name (" +
                                    name_ + ".endpoint)");
    routes_.push_back({std::move(rule), std::move(endpoint), std::move(view), std::move(methods)});
    return *this;
}
Blueprint& Blueprint::errorhandler(int code, ErrorHandler h) {
    error_handlers_.emplace_back(code, std::move(h));
    return *this;
}
Blueprint& Blueprint::app_errorhandler(int code, ErrorHandler h) {
    app_error_handlers_.emplace_back(code, std::move(h));
    return *this;
}
Blueprint& Blueprint::before_request(BeforeRequest h) {
    before_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::after_request(AfterRequest h) {
    after_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::teardown_request(Teardown h) {
    teardown_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::before_app_request(BeforeRequest h) {
    before_app_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::after_app_request(AfterRequest h) {
    after_app_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::teardown_app_request(Teardown h) {
    teardown_app_.push_back(std::move(h));
    return *this;
}
Blueprint& Blueprint::csrf_exempt(std::string endpoint) {
    csrf_exempt_.push_back(std::move(endpoint));
    return *this;
}

// ---- Extensions -----------------------------------------------------------------------

std::vector<std::string> Extensions::names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) out.push_back(k);
    return out;
}

void Extensions::missing(std::string_view name) {
    throw std::out_of_range("no extension '" + std::string(name) + "' on this app: call " +
                            std::string(name) + ".init_app(app) in create_app()");
}

// ---- App::Impl ------------------------------------------------------------------------

namespace {

/// Config values read once when the app starts serving, so the hot path does no map lookups.
struct Settings {
    std::string cookie_name = "session";
    bool cookie_secure = false;
    std::int64_t lifetime = 31LL * 24 * 3600;
    std::size_t max_content_length = 16u * 1024 * 1024;
    std::size_t max_form_parts = 1000;
    std::size_t max_form_memory_size = 500 * 1000;
    bool csrf_enabled = true;
    bool propagate = false;
    std::optional<SessionSerializer> serializer;
};

template <class T>
struct Scoped {
    std::string blueprint;  ///< empty: app-wide
    T fn;
};

bool is_unsafe(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string default_error_page(const HTTPError& e) {
    // Werkzeug's error page, so a missing handler looks like Flask's.
    return "<!doctype html>\n<html lang=en>\n<title>" + e.title() + "</title>\n<h1>" +
           std::string(reason_phrase(e.code())) + "</h1>\n<p>" + html_escape(e.description()) +
           "</p>\n";
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

std::size_t positive(const common::config::Config& c, std::string_view key, std::int64_t fallback) {
    const std::int64_t v = c.get_int_or(key, fallback);
    if (v <= 0)
        throw common::config::ConfigError("config " + std::string(key) +
                                          " must be a positive number, got " + std::to_string(v));
    return static_cast<std::size_t>(v);
}

}  // namespace

struct App::Impl {
    std::string name, root_path;
    std::string template_folder = "templates", static_folder = "static";

    Router router;
    std::vector<View> views;
    std::vector<std::string> blueprint_names;
    std::map<int, ErrorHandler> app_errors;
    std::map<std::string, std::map<int, ErrorHandler>, std::less<>> blueprint_errors;
    std::vector<Scoped<BeforeRequest>> before;
    std::vector<Scoped<AfterRequest>> after;
    std::vector<Scoped<Teardown>> teardown;
    std::set<std::string, std::less<>> csrf_exempt;
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

    void check_not_frozen(std::string_view what) const {
        if (frozen.load(std::memory_order_acquire))
            throw std::logic_error(
                "The setup method '" + std::string(what) + "' can no longer be called on app '" +
                name + "': it has already started serving. Make all setup calls in create_app().");
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

    const ErrorHandler* find_error_handler(const Request& req, int code) const {
        if (!req.blueprint.empty()) {
            if (auto bp = blueprint_errors.find(req.blueprint); bp != blueprint_errors.end())
                if (auto h = bp->second.find(code); h != bp->second.end()) return &h->second;
        }
        if (auto h = app_errors.find(code); h != app_errors.end()) return &h->second;
        return nullptr;
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

void App::set_template_folder(std::string folder) {
    impl_->check_not_frozen("set_template_folder");
    impl_->template_folder = std::move(folder);
}
void App::set_static_folder(std::string folder) {
    impl_->check_not_frozen("set_static_folder");
    impl_->static_folder = std::move(folder);
}

App& App::route(std::string rule, std::string endpoint, View view,
                std::vector<std::string> methods) {
    impl_->check_not_frozen("route");
    impl_->add_rule(std::move(rule), std::move(endpoint), std::move(view), std::move(methods));
    return *this;
}

void App::register_blueprint(const Blueprint& bp, std::optional<std::string> url_prefix) {
    impl_->check_not_frozen("register_blueprint");
    for (const auto& n : impl_->blueprint_names)
        if (n == bp.name())
            throw std::invalid_argument("a blueprint named '" + bp.name() +
                                        "' is already registered on app '" + impl_->name + "'");
    std::string prefix = url_prefix.value_or(bp.url_prefix());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty() && prefix.front() != '/')
        throw std::invalid_argument("url_prefix '" + prefix + "' of blueprint '" + bp.name() +
                                    "' must start with '/'");

    for (const auto& r : bp.routes_) {
        std::string rule = prefix + r.rule;
        impl_->add_rule(rule.empty() ? "/" : rule, bp.name() + "." + r.endpoint, r.view, r.methods);
    }
    for (const auto& [code, h] : bp.error_handlers_) impl_->blueprint_errors[bp.name()][code] = h;
    for (const auto& [code, h] : bp.app_error_handlers_) impl_->app_errors[code] = h;
    for (const auto& h : bp.before_) impl_->before.push_back({bp.name(), h});
    for (const auto& h : bp.before_app_) impl_->before.push_back({"", h});
    for (const auto& h : bp.after_) impl_->after.push_back({bp.name(), h});
    for (const auto& h : bp.after_app_) impl_->after.push_back({"", h});
    for (const auto& h : bp.teardown_) impl_->teardown.push_back({bp.name(), h});
    for (const auto& h : bp.teardown_app_) impl_->teardown.push_back({"", h});
    for (const auto& e : bp.csrf_exempt_) impl_->csrf_exempt.insert(bp.name() + "." + e);
    if (!bp.template_folder().empty())
        impl_->template_sources.push_back({bp.template_folder(), {}, {}});
    impl_->blueprint_names.push_back(bp.name());
}

std::vector<std::string> App::blueprints() const { return impl_->blueprint_names; }

App& App::errorhandler(int code, ErrorHandler handler) {
    impl_->check_not_frozen("errorhandler");
    impl_->app_errors[code] = std::move(handler);
    return *this;
}
App& App::before_request(BeforeRequest hook) {
    impl_->check_not_frozen("before_request");
    impl_->before.push_back({"", std::move(hook)});
    return *this;
}
App& App::after_request(AfterRequest hook) {
    impl_->check_not_frozen("after_request");
    impl_->after.push_back({"", std::move(hook)});
    return *this;
}
App& App::teardown_request(Teardown hook) {
    impl_->check_not_frozen("teardown_request");
    impl_->teardown.push_back({"", std::move(hook)});
    return *this;
}
App& App::csrf_exempt(std::string endpoint) {
    impl_->check_not_frozen("csrf_exempt");
    impl_->csrf_exempt.insert(std::move(endpoint));
    return *this;
}
App& App::add_static_files(std::string url_prefix, std::string directory, std::string endpoint) {
    impl_->check_not_frozen("add_static_files");
    while (!url_prefix.empty() && url_prefix.back() == '/') url_prefix.pop_back();
    impl_->add_rule(url_prefix + "/<path:filename>", std::move(endpoint),
                    [dir = std::move(directory)](Context& ctx) {
                        return send_from_directory(dir, ctx.request.view_arg("filename"),
                                                   ctx.request);
                    },
                    {"GET"});
    return *this;
}
App& App::add_template(std::string name, std::string text) {
    impl_->check_not_frozen("add_template");
    impl_->template_sources.push_back({{}, std::move(name), std::move(text)});
    return *this;
}
App& App::on_shutdown(std::function<void()> hook) {
    impl_->shutdown_hooks.push_back(std::move(hook));
    return *this;
}
App& App::set_error_logger(std::function<void(const std::string&)> logger) {
    impl_->check_not_frozen("set_error_logger");
    impl_->logger = std::move(logger);
    return *this;
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

bool App::frozen() const { return impl_->frozen.load(std::memory_order_acquire); }

void App::freeze() {
    if (frozen()) return;
    std::lock_guard lock(impl_->freeze_mutex);
    if (frozen()) return;

    Settings s;
    s.cookie_name = config.get_string_or("SESSION_COOKIE_NAME", "session");
    s.cookie_secure = config.get_bool_or("SESSION_COOKIE_SECURE", false);
    s.lifetime =
        static_cast<std::int64_t>(positive(config, "PERMANENT_SESSION_LIFETIME", s.lifetime));
    s.max_content_length =
        positive(config, "MAX_CONTENT_LENGTH", static_cast<std::int64_t>(s.max_content_length));
    s.max_form_parts =
        positive(config, "MAX_FORM_PARTS", static_cast<std::int64_t>(s.max_form_parts));
    s.max_form_memory_size =
        positive(config, "MAX_FORM_MEMORY_SIZE", static_cast<std::int64_t>(s.max_form_memory_size));
    s.csrf_enabled = config.get_bool_or("WTF_CSRF_ENABLED", true);
    const bool debug_or_testing =
        config.get_bool_or("TESTING", false) || config.get_bool_or("DEBUG", false);
    s.propagate = config.get_bool_or("PROPAGATE_EXCEPTIONS", debug_or_testing);
    if (auto key = config.get_optional_string("SECRET_KEY"); key && !key->empty())
        s.serializer.emplace(*key);

    auto engine = std::make_unique<TemplateEngine>();
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

namespace {

void check_csrf(Context& ctx) {
    const Request& req = ctx.request;
    std::string token;
    if (const std::string* header = req.headers.find("X-CSRFToken"))
        token = *header;
    else if (const std::string* header2 = req.headers.find("X-CSRF-Token"))
        token = *header2;
    else if (const std::string* field = req.form().find("csrf_token"))
        token = *field;
    // Flask-WTF's messages.
    if (token.empty()) throw HTTPError(400, "The CSRF token is missing.");
    const Data* expected = ctx.session().get("csrf_token");
    if (!expected || !expected->is_string())
        throw HTTPError(400, "The CSRF session token is missing.");
    if (!constant_time_equals(token, expected->as_string()))
        throw HTTPError(400, "The CSRF tokens do not match.");
}

}  // namespace

Response App::handle(Request& req) {
    try {
        freeze();
    } catch (const std::exception& e) {
        impl_->logger(std::string("Cannot start app '") + impl_->name + "': " + e.what());
        HTTPError error(500);
        return Response(default_error_page(error), 500);
    }
    Impl& im = *impl_;
    const Settings& s = im.settings;
    req.max_form_parts = s.max_form_parts;
    req.max_form_memory_size = s.max_form_memory_size;

    Context ctx(*this, req);

    auto render_error = [&](const HTTPError& e) -> Response {
        Response r;
        bool handled = false;
        if (const ErrorHandler* h = im.find_error_handler(req, e.code())) {
            try {
                r = (*h)(ctx, e);
                handled = true;
            } catch (const HTTPError&) {
                // abort() inside an error handler: fall back to the plain page.
            }
        }
        if (!handled) r = Response(default_error_page(e), e.code());
        for (const auto& [k, v] : e.headers.items())
            if (!r.headers.contains(k)) r.headers.add(k, v);
        return r;
    };

    // ANCHOR: dispatch
    auto dispatch = [&]() -> Response {
        if (req.body_too_large || req.body.size() > s.max_content_length)
            throw HTTPError(413, "The request body is larger than MAX_CONTENT_LENGTH (" +
                                     std::to_string(s.max_content_length) + " bytes).");
        std::optional<HTTPError> routing_error;
        Match match;
        std::vector<std::string> allowed;
        try {
            match = im.router.match(req.path, req.method, req.query_string, &allowed);
        } catch (HTTPError& e) {
            routing_error = std::move(e);
        }
        if (match.rule) {
            req.endpoint = match.rule->endpoint;
            if (auto dot = req.endpoint.find('.'); dot != std::string::npos)
                req.blueprint = req.endpoint.substr(0, dot);
            for (auto& [k, v] : match.args) req.view_args.emplace(std::move(k), std::move(v));
        } else if (!routing_error) {
            // Automatic OPTIONS answer, as Flask gives.
            Response r("", 200);
            std::string allow;
            for (const auto& a : allowed) allow += (allow.empty() ? "" : ", ") + a;
            r.headers.set("Allow", allow);
            return r;
        }
        // App-wide before_request hooks first, then the blueprint's (Flask's order).
        for (int pass = 0; pass < 2; ++pass) {
            for (auto& hook : im.before) {
                const bool app_wide = hook.blueprint.empty();
                if ((pass == 0) != app_wide) continue;
                if (!app_wide && hook.blueprint != req.blueprint) continue;
                if (auto early = hook.fn(ctx)) return std::move(*early);
            }
        }
        if (routing_error) throw *routing_error;
        if (s.csrf_enabled && is_unsafe(req.method) && !im.csrf_exempt.contains(req.endpoint))
            check_csrf(ctx);
        return im.views[match.rule->view](ctx);
    };
    // ANCHOR_END: dispatch

    // after_request / teardown order: the blueprint's hooks, then the app's, each newest first.
    auto for_each_reversed = [&](auto& hooks, auto&& call) {
        for (int pass = 0; pass < 2; ++pass) {
            for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
                const bool app_wide = it->blueprint.empty();
                if ((pass == 1) != app_wide) continue;
                if (!app_wide && it->blueprint != req.blueprint) continue;
                call(it->fn);
            }
        }
    };

    auto finalize = [&](Response& r) {
        for_each_reversed(im.after, [&](AfterRequest& hook) { hook(ctx, r); });
        if (ctx.session_opened()) {
            Session& session = *ctx.session_;
            r.headers.add("Vary", "Cookie");
            if (session.modified()) {
                CookieOptions options;
                options.secure = s.cookie_secure;
                if (session.empty()) {
                    if (ctx.session_cookie_present_) r.delete_cookie(s.cookie_name, options);
                } else {
                    if (!s.serializer)
                        throw std::runtime_error(
                            "The session is unavailable because no SECRET_KEY is set. Set "
                            "app.config SECRET_KEY (or export SECRET_KEY) to a long random "
                            "string.");
                    r.set_cookie(s.cookie_name,
                                 s.serializer->dumps(session.data(), unix_now() + s.lifetime),
                                 options);
                }
            }
        }
    };

    Response response;
    std::exception_ptr unhandled;
    try {
        try {
            response = dispatch();
        } catch (const HTTPError& e) {
            response = render_error(e);
        }
        finalize(response);
    } catch (...) {
        unhandled = std::current_exception();
        im.logger("Exception on " + req.path + " [" + req.method +
                  "]: " + exception_text(unhandled));
        if (s.propagate) {
            for_each_reversed(im.teardown, [&](Teardown& hook) {
                try {
                    hook(ctx, unhandled);
                } catch (...) {}
            });
            throw;
        }
        try {
            response = render_error(HTTPError(500));
            finalize(response);
        } catch (...) {
            response = Response(default_error_page(HTTPError(500)), 500);
        }
    }
    for_each_reversed(im.teardown, [&](Teardown& hook) {
        try {
            hook(ctx, unhandled);
        } catch (const std::exception& e) {
            im.logger(std::string("Exception in teardown_request: ") + e.what());
        }
    });
    return response;
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
        const std::string token = csrf_token();
        globals["csrf_token"] = token;
        globals["csrf_field"] =
            "<input type=\"hidden\" name=\"csrf_token\" value=\"" + token + "\">";
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

std::string Context::csrf_token() {
    Session& s = session();
    if (const Data* t = s.get("csrf_token"); t && t->is_string()) return t->as_string();
    std::string token = random_hex(32);
    s["csrf_token"] = token;
    return token;
}

}  // namespace common::web

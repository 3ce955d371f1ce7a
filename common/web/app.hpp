#pragma once
/// \file
/// App and Blueprint — a small Flask. Views take the request context explicitly:
///
///     Response index(Context& ctx) { return ctx.render_template("index.html", {{"name", "Bob"}}); }
///     Blueprint main("main", FLASKY_TEMPLATES);
///     main.route("/", "index", index, {"GET", "POST"});
///     App app("flasky");
///     app.register_blueprint(main);
///
/// The App handles a Request → Response in one function, App::handle(), which both the
/// real server (server.hpp) and the socketless test client (test_client.hpp) call.

#include "common/config/config.hpp"
#include "common/web/data.hpp"
#include "common/web/http.hpp"
#include "common/web/request.hpp"
#include "common/web/response.hpp"
#include "common/web/routing.hpp"
#include "common/web/session.hpp"

#include <any>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace common::web {

class App;
class Context;
class TestClient;
class TemplateEngine;

/// A view function: `Response view(Context& ctx)`. Return a std::string for a 200 HTML page.
using View = std::function<Response(Context&)>;
/// An error handler: renders the error page for `error.code()`. Flask's errorhandler(code).
using ErrorHandler = std::function<Response(Context&, const HTTPError&)>;
/// before_request: return a Response to answer without calling the view; nullopt to go on.
using BeforeRequest = std::function<std::optional<Response>(Context&)>;
/// after_request: may change the response (add headers, cookies).
using AfterRequest = std::function<void(Context&, Response&)>;
/// teardown_request: always runs last; `error` is the unhandled exception, if any.
using Teardown = std::function<void(Context&, std::exception_ptr error)>;

/// Flask's Blueprint: routes, error handlers, hooks and a template folder, recorded here and
/// copied into an App by App::register_blueprint() (so one blueprint can serve many apps,
/// e.g. one per test).
class Blueprint {
public:
    /// template_folder: absolute, or relative to the App's root_path. url_prefix: e.g. "/auth".
    explicit Blueprint(std::string name, std::string template_folder = {},
                       std::string url_prefix = {});

    const std::string& name() const { return name_; }
    const std::string& template_folder() const { return template_folder_; }
    const std::string& url_prefix() const { return url_prefix_; }

    /// @bp.route(rule, methods=...): endpoint is the view's name inside the blueprint
    /// ("index" → "main.index"). Methods default to GET (HEAD and OPTIONS are automatic).
    Blueprint& route(std::string rule, std::string endpoint, View view,
                     std::vector<std::string> methods = {"GET"});
    /// Same as route(), Flask's name.
    Blueprint& add_url_rule(std::string rule, std::string endpoint, View view,
                            std::vector<std::string> methods = {"GET"}) {
        return route(std::move(rule), std::move(endpoint), std::move(view), std::move(methods));
    }
    /// @bp.errorhandler(code): only for errors raised in this blueprint's views.
    Blueprint& errorhandler(int code, ErrorHandler handler);
    /// @bp.app_errorhandler(code): for the whole app (404 pages, 500 pages).
    Blueprint& app_errorhandler(int code, ErrorHandler handler);
    /// Hooks that run only for this blueprint's requests...
    Blueprint& before_request(BeforeRequest hook);
    Blueprint& after_request(AfterRequest hook);
    Blueprint& teardown_request(Teardown hook);
    /// ...and their app-wide variants (before_app_request etc.).
    Blueprint& before_app_request(BeforeRequest hook);
    Blueprint& after_app_request(AfterRequest hook);
    Blueprint& teardown_app_request(Teardown hook);
    /// Flask-WTF's csrf.exempt(view): POSTs to this endpoint need no CSRF token (APIs).
    Blueprint& csrf_exempt(std::string endpoint);

private:
    friend class App;
    struct RouteRecord {
        std::string rule, endpoint;
        View view;
        std::vector<std::string> methods;
    };
    std::string name_, template_folder_, url_prefix_;
    std::vector<RouteRecord> routes_;
    std::vector<std::pair<int, ErrorHandler>> error_handlers_, app_error_handlers_;
    std::vector<BeforeRequest> before_, before_app_;
    std::vector<AfterRequest> after_, after_app_;
    std::vector<Teardown> teardown_, teardown_app_;
    std::vector<std::string> csrf_exempt_;
};

/// Flask's app.extensions: name → extension object. Extensions are often globals created
/// before the app (like the seed's `mail = Mail()`), so add() can keep a non-owning pointer.
class Extensions {
public:
    /// Stores a pointer; the caller keeps the extension alive (globals, long-lived objects).
    template <class T>
    void add(std::string name, T& extension) {
        items_[std::move(name)] = Item{std::any(&extension), nullptr};
    }
    /// Stores and owns the extension.
    template <class T>
    void add(std::string name, std::shared_ptr<T> extension) {
        T* raw = extension.get();
        items_[std::move(name)] = Item{std::any(raw), std::move(extension)};
    }
    /// The extension, or nullptr when absent; std::bad_any_cast if it has another type.
    template <class T>
    T* find(std::string_view name) const {
        auto it = items_.find(name);
        return it == items_.end() ? nullptr : std::any_cast<T*>(it->second.pointer);
    }
    /// The extension; std::out_of_range "call X.init_app(app)" when absent.
    template <class T>
    T& get(std::string_view name) const {
        if (T* p = find<T>(name)) return *p;
        missing(name);
    }
    bool contains(std::string_view name) const { return items_.find(name) != items_.end(); }
    std::vector<std::string> names() const;

private:
    [[noreturn]] static void missing(std::string_view name);
    struct Item {
        std::any pointer;                 ///< T*
        std::shared_ptr<void> keepalive;  ///< set when the registry owns it
    };
    std::map<std::string, Item, std::less<>> items_;
};

/// The request context handed to views, hooks and error handlers: what Flask reaches through
/// the globals current_app, request, session and g.
class Context {
public:
    Context(App& app, Request& request);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    App& app;          ///< current_app
    Request& request;  ///< request
    /// Flask's g: per-request scratch space (a db session, the current user...).
    std::map<std::string, std::any, std::less<>> g;

    /// The session, opened from the signed cookie on first use.
    Session& session();
    bool session_opened() const { return session_.has_value(); }

    /// url_for(): "main.index", or ".index" for the current blueprint; extra params become
    /// the query string. std::invalid_argument when it cannot be built.
    std::string url_for(std::string_view endpoint, const UrlParams& params = {}) const;
    /// render_template(): the app's compiled template with vars, plus the globals
    /// get_flashed_messages (a list of {message, category, alert}) and csrf_token /
    /// csrf_field (a hidden <input>, use {{{csrf_field}}}) when the template uses them.
    std::string render_template(std::string_view name, const Data& vars = {});
    /// flash(message, category)
    void flash(std::string message, std::string category = "message");
    /// get_flashed_messages(): returns them and removes them from the session.
    std::vector<Flash> get_flashed_messages();
    /// The session's CSRF token (created on first use), for forms and X-CSRFToken headers.
    std::string csrf_token();

private:
    friend class App;
    std::optional<Session> session_;
    bool session_cookie_present_ = false;
};

/// One line of the URL map, as `flask routes` prints it.
struct RouteInfo {
    std::string endpoint;
    std::vector<std::string> methods;
    std::string rule;
};

/// Flask's app object.
class App {
public:
    /// root_path: folder that relative template/static folders (the app's and blueprints')
    /// are resolved against, like the folder of Flask's app package. Without one, only
    /// absolute folders are used.
    explicit App(std::string name = "app", std::string root_path = {});
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;
    /// Movable, so a factory can `return app;` — but not while a Server or TestClient uses it.
    App(App&&) noexcept;
    App& operator=(App&&) noexcept;

    const std::string& name() const;
    const std::string& root_path() const;

    /// app.config: SECRET_KEY, SESSION_COOKIE_NAME ("session"), SESSION_COOKIE_SECURE (false),
    /// PERMANENT_SESSION_LIFETIME (seconds, 31 days), MAX_CONTENT_LENGTH (bytes, 16 MiB),
    /// MAX_FORM_PARTS (1000), MAX_FORM_MEMORY_SIZE (500 000), WTF_CSRF_ENABLED (true),
    /// PROPAGATE_EXCEPTIONS (default TESTING or DEBUG) are read when the app starts serving.
    common::config::Config config;
    /// app.extensions
    Extensions extensions;

    /// App-level template folder (default "templates") and static folder served under
    /// /static (default "static"), both relative to root_path unless absolute. Set them
    /// before the first request.
    void set_template_folder(std::string folder);
    void set_static_folder(std::string folder);

    /// Routes on the app itself (endpoint without blueprint prefix).
    App& route(std::string rule, std::string endpoint, View view,
               std::vector<std::string> methods = {"GET"});
    App& add_url_rule(std::string rule, std::string endpoint, View view,
                      std::vector<std::string> methods = {"GET"}) {
        return route(std::move(rule), std::move(endpoint), std::move(view), std::move(methods));
    }
    /// Copies the blueprint's routes (prefixed), handlers, hooks and template folder into the
    /// app. url_prefix overrides the blueprint's. Throws std::invalid_argument when a
    /// blueprint of that name is already registered.
    void register_blueprint(const Blueprint& bp,
                            std::optional<std::string> url_prefix = std::nullopt);
    /// Names of the registered blueprints, in registration order.
    std::vector<std::string> blueprints() const;

    App& errorhandler(int code, ErrorHandler handler);
    App& before_request(BeforeRequest hook);
    App& after_request(AfterRequest hook);
    App& teardown_request(Teardown hook);
    App& csrf_exempt(std::string endpoint);
    /// Serves files of `directory` under `url_prefix` ("/static/bootstrap4") with content
    /// types, ETag/304 and no path traversal; endpoint e.g. "bootstrap.static".
    App& add_static_files(std::string url_prefix, std::string directory, std::string endpoint);
    /// Adds an in-memory template (searched after the app folder and earlier sources).
    App& add_template(std::string name, std::string text);
    /// Runs when the server shuts down, after in-flight requests finished (flush a mail queue).
    App& on_shutdown(std::function<void()> hook);
    /// Where unhandled exceptions are logged ("Exception on /path [GET]: what"). Default: stderr.
    App& set_error_logger(std::function<void(const std::string&)> logger);

    /// url_for() outside a request (full endpoint names only).
    std::string url_for(std::string_view endpoint, const UrlParams& params = {}) const;
    /// The URL map: one entry per rule, sorted by endpoint (as `flask routes` prints it).
    std::vector<RouteInfo> url_map() const;
    /// Renders a template outside a request (e.g. a mail body): no request globals.
    std::string render_template(std::string_view name, const Data& vars = {});

    /// Reads config, compiles the templates; done automatically on the first request, by
    /// test_client() and by the server. After it, adding routes/blueprints is an error (as in
    /// Flask). Throws TemplateError / ConfigError with what to fix.
    void freeze();
    bool frozen() const;

    /// Handles one request: routing, hooks, CSRF, the view, error handlers, the session
    /// cookie. Never throws unless exceptions propagate (PROPAGATE_EXCEPTIONS / TESTING).
    Response handle(Request& request);

    /// A socketless client for tests (include "common/web/test_client.hpp").
    TestClient test_client();
    /// Serves on host:port until SIGINT/SIGTERM (include "common/web/server.hpp" for options).
    void run(const std::string& host = "127.0.0.1", std::uint16_t port = 5000);

    /// Decodes a session cookie value with this app's SECRET_KEY (tests, debugging);
    /// nullopt when it does not verify or has expired. Needs freeze().
    std::optional<Data> decode_session_cookie(std::string_view value) const;
    const std::string& session_cookie_name() const;

    /// Shutdown hooks, in registration order (the server calls this).
    void run_shutdown_hooks();
    /// The template engine (compiled by freeze()).
    const TemplateEngine& templates() const;

private:
    friend class Context;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace common::web

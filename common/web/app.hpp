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
/// The App handles a Request → Response in App::handle(), which both the real server
/// (server.hpp) and the socketless test client (test_client.hpp) call. It reads as Flask's
/// wsgi_app: preprocess_request → dispatch_request → handle_user_exception →
/// finalize_request → do_teardown_request, each a private member below.

#include "common/config/config.hpp"
#include "common/web/data.hpp"
#include "common/web/http.hpp"
#include "common/web/limits.hpp"
#include "common/web/request.hpp"
#include "common/web/response.hpp"
#include "common/web/routing.hpp"
#include "common/web/scaffold.hpp"
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

/// Flask's Blueprint: routes, error handlers, hooks and a template folder, recorded here and
/// copied into an App by App::register_blueprint() (so one blueprint can serve many apps,
/// e.g. one per test). The setup methods shared with App are Scaffold's.
class Blueprint : public Scaffold<Blueprint> {
public:
    /// template_folder: absolute, or relative to the App's root_path. url_prefix: e.g. "/auth".
    explicit Blueprint(std::string name, std::string template_folder = {},
                       std::string url_prefix = {});

    const std::string& name() const { return name_; }
    const std::string& template_folder() const { return template_folder_; }
    const std::string& url_prefix() const { return url_prefix_; }

    /// @bp.app_errorhandler(code): for the whole app (404 pages, 500 pages).
    Blueprint& app_errorhandler(int code, ErrorHandler handler);
    /// @bp.app_errorhandler(E): for an E thrown anywhere in the app.
    template <class E>
    Blueprint& app_errorhandler(std::function<Response(Context&, const E&)> handler) {
        records_.exception_handlers.push_back({"", handler_for<E>(std::move(handler))});
        return *this;
    }
    /// The app-wide variants of the hooks (before_app_request etc.).
    Blueprint& before_app_request(BeforeRequest hook);
    Blueprint& after_app_request(AfterRequest hook);
    Blueprint& teardown_app_request(Teardown hook);

private:
    friend class Scaffold<Blueprint>;
    friend class App;
    /// A blueprint may be set up at any time; it is copied when registered.
    void check_setup(std::string_view) const {}
    const std::string& scope() const { return name_; }
    void add_route(std::string rule, std::string endpoint, View view,
                   std::vector<std::string> methods);

    struct RouteRecord {
        std::string rule, endpoint;
        View view;
        std::vector<std::string> methods;
    };
    std::string name_, template_folder_, url_prefix_;
    std::vector<RouteRecord> routes_;
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
    /// The extension; UsageError "call X.init_app(app)" when absent.
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
    /// the query string. BuildError when it cannot be built.
    std::string url_for(std::string_view endpoint, const UrlParams& params = {}) const;
    /// render_template(): the app's compiled template with vars, plus the globals
    /// get_flashed_messages (a list of {message, category, alert}) and csrf_token /
    /// csrf_field (a hidden <input>, use {{{csrf_field}}}) when the template uses them.
    std::string render_template(std::string_view name, const Data& vars = {});
    /// flash(message, category)
    void flash(std::string message, std::string category = "message");
    /// get_flashed_messages(): returns them and removes them from the session.
    std::vector<Flash> get_flashed_messages();
    /// A CSRF token for forms and X-CSRFToken headers: the session's secret, signed with an
    /// expiry of WTF_CSRF_TIME_LIMIT seconds (3600 by default, as Flask-WTF).
    std::string csrf_token();
    /// What is wrong with this request's CSRF token (the X-CSRFToken header or the csrf_token
    /// field), in Flask-WTF's words ("The CSRF token is missing."); "" when it is valid or
    /// WTF_CSRF_ENABLED is false. For a form that checks the token itself, as a FlaskForm does,
    /// in a view the app's own check leaves out (Scaffold::csrf_exempt).
    std::string csrf_error();

private:
    friend class App;
    std::optional<Session> session_;
    bool session_cookie_present_ = false;
    /// What URL matching found (Flask keeps it on the request context): the view to call,
    /// or the routing error to raise after the before_request hooks ran.
    std::size_t view_ = 0;
    std::optional<HTTPError> routing_error_;
    std::vector<std::string> allowed_methods_;  ///< for the automatic OPTIONS answer
    bool csrf_issued_ = false;                  ///< the page carries a CSRF token
};

/// One line of the URL map, as `flask routes` prints it.
struct RouteInfo {
    std::string endpoint;
    std::vector<std::string> methods;
    std::string rule;
};

/// Flask's app object. The setup methods shared with Blueprint are Scaffold's.
class App : public Scaffold<App> {
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
    /// PERMANENT_SESSION_LIFETIME (seconds, 31 days), the Limits (limits.hpp),
    /// WTF_CSRF_ENABLED (true), WTF_CSRF_TIME_LIMIT (3600 s), the security headers
    /// (X-Content-Type-Options, Content-Security-Policy, Referrer-Policy), PROPAGATE_EXCEPTIONS (default TESTING or DEBUG) are read
    /// when the app starts serving.
    common::config::Config config;
    /// app.extensions
    Extensions extensions;

    /// App-level template folder (default "templates") and static folder served under
    /// /static (default "static"), both relative to root_path unless absolute. Set them
    /// before the first request.
    App& set_template_folder(std::string folder);
    App& set_static_folder(std::string folder);

    /// Copies the blueprint's routes (prefixed), handlers, hooks and template folder into the
    /// app. url_prefix overrides the blueprint's. UsageError when a blueprint of that name is
    /// already registered.
    App& register_blueprint(const Blueprint& bp,
                            std::optional<std::string> url_prefix = std::nullopt);
    /// Names of the registered blueprints, in registration order.
    std::vector<std::string> blueprints() const;

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
    /// test_client() and by the server. After it, adding routes/blueprints is a UsageError
    /// (as in Flask). Throws TemplateError / ConfigError with what to fix.
    void freeze();
    bool frozen() const;
    /// The size limits read from config by freeze(): the server frames requests with them.
    const Limits& limits() const;

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
    friend class Scaffold<App>;
    friend class Context;
    /// The guard of every setup method: UsageError once the app serves.
    void check_setup(std::string_view method) const;
    const std::string& scope() const;
    void add_route(std::string rule, std::string endpoint, View view,
                   std::vector<std::string> methods);

    // The steps of handle(), in order (Flask's names).
    void match_request(Context& ctx);
    std::optional<Response> preprocess_request(Context& ctx);
    Response dispatch_request(Context& ctx);
    Response handle_user_exception(Context& ctx, const HTTPError& error);
    std::optional<Response> handle_user_exception(Context& ctx, std::exception_ptr error);
    void finalize_request(Context& ctx, Response& response);
    void save_session(Context& ctx, Response& response);
    Response handle_exception(Context& ctx, std::exception_ptr error);
    void do_teardown_request(Context& ctx, std::exception_ptr error);
    bool is_csrf_exempt(std::string_view endpoint) const;

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace common::web

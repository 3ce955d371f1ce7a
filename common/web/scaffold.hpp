#pragma once
/// \file
/// Scaffold — what App and Blueprint have in common, as in Flask (flask/sansio/scaffold.py):
/// the setup methods route, errorhandler, before_request, after_request, teardown_request and
/// csrf_exempt, written once. Every setup call passes one guard (App refuses setup once it
/// serves; a Blueprint always accepts).
///
/// Hooks and handlers are recorded with their scope, as Flask keys them by blueprint name
/// (None for the app): "" is app-wide, "main" only for requests routed to blueprint main.
/// register_blueprint() copies a blueprint's records into the app with their scope.

#include "common/web/http.hpp"
#include "common/web/response.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common::web {

class Context;

/// A view function: `Response view(Context& ctx)`. Return a std::string for a 200 HTML page.
using View = std::function<Response(Context&)>;
/// An error handler: renders the error page for `error.code()`. Flask's errorhandler(code).
using ErrorHandler = std::function<Response(Context&, const HTTPError&)>;
/// Flask's errorhandler(ExceptionClass), type-erased: the answer for `error` when it is of the
/// handler's class, nullopt otherwise.
using ExceptionHandler = std::function<std::optional<Response>(Context&, std::exception_ptr error)>;
/// before_request: return a Response to answer without calling the view; nullopt to go on.
using BeforeRequest = std::function<std::optional<Response>(Context&)>;
/// after_request: may change the response (add headers, cookies).
using AfterRequest = std::function<void(Context&, Response&)>;
/// teardown_request: always runs last; `error` is the unhandled exception, if any.
using Teardown = std::function<void(Context&, std::exception_ptr error)>;

/// A hook or handler and the blueprint it belongs to ("" = app-wide).
template <class T>
struct Scoped {
    std::string blueprint;
    T fn;
};

struct ScopedErrorHandler {
    std::string blueprint;
    int code;
    ErrorHandler fn;
};

/// `handler` as an ExceptionHandler: called for an E (or a class derived from it).
template <class E>
ExceptionHandler handler_for(std::function<Response(Context&, const E&)> handler) {
    return [fn = std::move(handler)](Context& ctx,
                                     std::exception_ptr error) -> std::optional<Response> {
        try {
            std::rethrow_exception(error);
        } catch (const E& e) {
            return fn(ctx, e);
        } catch (...) {
            return std::nullopt;
        }
    };
}

/// The records both App and Blueprint keep (Flask's Scaffold attributes).
struct SetupRecords {
    std::vector<ScopedErrorHandler> error_handlers;
    std::vector<Scoped<ExceptionHandler>> exception_handlers;
    std::vector<Scoped<BeforeRequest>> before_request;
    std::vector<Scoped<AfterRequest>> after_request;
    std::vector<Scoped<Teardown>> teardown_request;
    std::vector<std::string> csrf_exempt;  ///< full endpoint names ("api.login")
};

/// Self is App or Blueprint; it provides check_setup(method) (the guard), scope() (its own
/// hooks' scope) and add_route() (App binds the rule at once, a Blueprint records it).
template <class Self>
class Scaffold {
public:
    /// @app.route(rule, methods=...) / @bp.route: the view answers `rule`; methods default
    /// to GET (HEAD and OPTIONS are automatic). A blueprint's endpoint gets its name in front
    /// ("index" → "main.index").
    Self& route(std::string rule, std::string endpoint, View view,
                std::vector<std::string> methods = {"GET"}) {
        return setup("route", [&](Self& self) {
            self.add_route(std::move(rule), std::move(endpoint), std::move(view),
                           std::move(methods));
        });
    }
    /// @app.errorhandler(code); on a blueprint only for errors raised in its own views.
    Self& errorhandler(int code, ErrorHandler handler) {
        return setup("errorhandler", [&](Self& self) {
            records_.error_handlers.push_back({self.scope(), code, std::move(handler)});
        });
    }
    /// @app.errorhandler(E): an E (or a class derived from it) thrown by a view or a
    /// before_request hook is answered by `handler` instead of the 500 page, e.g.
    /// `app.errorhandler<db::OperationalError>(...)` answers a locked database with 503.
    /// Where two registrations match, the newest wins (Flask picks the most derived class).
    template <class E>
    Self& errorhandler(std::function<Response(Context&, const E&)> handler) {
        return setup("errorhandler", [&](Self& self) {
            records_.exception_handlers.push_back(
                {self.scope(), handler_for<E>(std::move(handler))});
        });
    }
    /// @app.before_request; on a blueprint only before its own views.
    Self& before_request(BeforeRequest hook) {
        return setup("before_request", [&](Self& self) {
            records_.before_request.push_back({self.scope(), std::move(hook)});
        });
    }
    /// @app.after_request; on a blueprint only after its own views.
    Self& after_request(AfterRequest hook) {
        return setup("after_request", [&](Self& self) {
            records_.after_request.push_back({self.scope(), std::move(hook)});
        });
    }
    /// @app.teardown_request; on a blueprint only for its own requests.
    Self& teardown_request(Teardown hook) {
        return setup("teardown_request", [&](Self& self) {
            records_.teardown_request.push_back({self.scope(), std::move(hook)});
        });
    }
    /// Flask-WTF's csrf.exempt(view): POSTs to this endpoint need no CSRF token (APIs).
    Self& csrf_exempt(std::string endpoint) {
        return setup("csrf_exempt", [&](Self& self) {
            const std::string& scope = self.scope();
            records_.csrf_exempt.push_back(scope.empty() ? std::move(endpoint)
                                                         : scope + "." + endpoint);
        });
    }

protected:
    /// The one guard every setup method passes: Self::check_setup(method), then the record.
    template <class Record>
    Self& setup(std::string_view method, Record&& record) {
        Self& self = static_cast<Self&>(*this);
        self.check_setup(method);
        record(self);
        return self;
    }

    SetupRecords records_;
};

}  // namespace common::web

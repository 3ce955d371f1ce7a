// app/main/errors.py: the app-wide error pages, in the site's layout.
#include "common/flasky/main/main.hpp"

#include "common/db/errors.hpp"

namespace flasky::main {

namespace web = common::web;

// ANCHOR: errors
void add_errors(web::Blueprint& main) {
    // @main.app_errorhandler(404): app-wide, not only for this blueprint's routes.
    main.app_errorhandler(404, [](web::Context& ctx, const web::HTTPError&) {
        return web::Response(ctx.render_template("404.html"), 404);
    });
    main.app_errorhandler(500, [](web::Context& ctx, const web::HTTPError&) {
        return web::Response(ctx.render_template("500.html"), 500);
    });
    // Ours: a database another process keeps locked past the busy timeout (or a lost
    // PostgreSQL connection) is a moment's unavailability, not a bug: 503 and when to retry,
    // where Flask-SQLAlchemy's OperationalError would give a 500.
    main.app_errorhandler<common::db::OperationalError>(
        [](web::Context& ctx, const common::db::OperationalError&) {
            web::Response response(ctx.render_template("503.html"), 503);
            response.headers.set("Retry-After", "5");
            return response;
        });
}
// ANCHOR_END: errors

}  // namespace flasky::main

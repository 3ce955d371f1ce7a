// app/main/errors.py: the app-wide error pages, in the site's layout.
#include "common/flasky/main/main.hpp"

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
}
// ANCHOR_END: errors

}  // namespace flasky::main

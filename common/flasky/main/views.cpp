// app/main/views.py
#include "common/flasky/app.hpp"
#include "common/flasky/email.hpp"
#include "common/flasky/main/forms.hpp"
#include "common/flasky/main/main.hpp"
#include "common/flasky/models.hpp"

#include <chrono>
#include <functional>

namespace flasky::main {

namespace web = common::web;

namespace {

/// Adds `name` as a new user and returns true, or returns false when the user exists — also
/// when another request added the same name between our look-up and our commit: the UNIQUE
/// constraint decides, and the loser of that race rolls back and treats the name as known.
/// `with_user` adds what must be committed with the user (the admin's mail) or not at all.
bool add_user_if_new(common::db::Session& session, const std::string& name,
                     const std::function<void()>& with_user) {
    if (session.query<User>().filter_by("username", name).first()) return false;
    session.add(User{.username = name});
    with_user();
    try {
        session.commit();
        return true;
    } catch (const common::db::IntegrityError&) {
        session.rollback();
        return false;
    }
}

}  // namespace

// ANCHOR: index
web::Response index(web::Context& ctx) {
    NameForm form;
    if (form.validate_on_submit(ctx)) {
        auto& session = ctx.session();
        const auto admin = ctx.app.config.get_optional_string("FLASKY_ADMIN");
        const auto mail_admin = [&] {
            if (admin)
                send_email(ctx, *admin, "New User", "mail/new_user",
                           {{"user", {{"username", form.name}}}});
        };
        if (add_user_if_new(db.session(ctx), form.name, mail_admin)) {
            session["known"] = false;
        } else {
            session["known"] = true;
        }
        session["name"] = form.name;
        return web::redirect(ctx.url_for(".index"));
    }
    return ctx.render_template(
        "index.html", {
                          {"form", form.data()},
                          {"name", ctx.session().get("name", nullptr)},
                          {"known", ctx.session().get("known", false)},
                          {"current_time", moment.format(std::chrono::system_clock::now(), "LLL")},
                      });
}
// ANCHOR_END: index

// ANCHOR: add_views
void add_views(web::Blueprint& main) {
    main.route("/", "index", index, {"GET", "POST"});
    // NameForm checks the CSRF token itself, as a FlaskForm does (forms.hpp).
    main.csrf_exempt("index");
}
// ANCHOR_END: add_views

}  // namespace flasky::main

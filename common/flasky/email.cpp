#include "common/flasky/email.hpp"

#include "common/flasky/app.hpp"
#include "common/mail/message.hpp"

namespace flasky {

void send_email(common::web::Context& ctx, const std::string& to, const std::string& subject,
                const std::string& template_name, const common::web::Data& vars) {
    auto& app = ctx.app;
    common::mail::Message msg(app.config.get_string("FLASKY_MAIL_SUBJECT_PREFIX") + " " + subject,
                              app.config.get_string("FLASKY_MAIL_SENDER"), {to});
    msg.body = app.render_template(template_name + ".txt", vars);
    msg.html = app.render_template(template_name + ".html", vars);
    // The book starts a Thread per message, and the mail dies with the process. A row in
    // the request's transaction lives as long as the user row it announces.
    mail.send(ctx, msg);
}

}  // namespace flasky

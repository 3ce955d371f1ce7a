#include "common/flasky/email.hpp"

#include "common/flasky/app.hpp"
#include "common/mail/async_sender.hpp"
#include "common/mail/message.hpp"

namespace flasky {

bool send_email(common::web::App& app, const std::string& to, const std::string& subject,
                const std::string& template_name, const common::web::Data& vars) {
    common::mail::Message msg(app.config.get_string("FLASKY_MAIL_SUBJECT_PREFIX") + " " + subject,
                              app.config.get_string("FLASKY_MAIL_SENDER"), {to});
    msg.body = app.render_template(template_name + ".txt", vars);
    msg.html = app.render_template(template_name + ".html", vars);
    // The book starts a Thread per message; a queue with one worker does the same job
    // without a thread per request, and retries when the server says "try later".
    return mail.sender(app).submit(msg);
}

}  // namespace flasky

#include "factory_tour.hpp"

#include "common/flasky/app.hpp"
#include "common/flasky/manage.hpp"
#include "common/flasky/models.hpp"
#include "common/flasky/outbox.hpp"
#include "common/mail/async_sender.hpp"
#include "common/mail/mail.hpp"
#include "common/web/test_client.hpp"

#include <iomanip>
#include <iostream>
#include <ostream>

namespace ch04 {

namespace web = common::web;

namespace {

/// The text of the first <tag>…</tag> in an HTML page (`tag` may carry attributes:
/// `div class="x"`), tags inside stripped: what a reader would see of it.
std::string text_of(const std::string& html, const std::string& tag, std::size_t from = 0) {
    auto open = html.find("<" + tag, from);
    if (open == std::string::npos) return "(no <" + tag + ">)";
    auto start = html.find('>', open) + 1;
    auto end = html.find("</" + tag.substr(0, tag.find(' ')) + ">", start);
    std::string text;
    bool in_tag = false;
    for (char c : html.substr(start, end - start)) {
        if (c == '<')
            in_tag = true;
        else if (c == '>')
            in_tag = false;
        else if (!in_tag && c != '\n')
            text += c;
    }
    return text;
}

/// "Hello, Bob! / Pleased to meet you!" — the page's h1 and the paragraph after it.
std::string greeting(const std::string& html) {
    auto h1 = html.find("<h1");
    return text_of(html, "h1") + " / " + text_of(html, "p", h1 == std::string::npos ? 0 : h1);
}

void show(std::ostream& out, const std::string& request, const web::TestResponse& r) {
    out << request << "\n    → " << r.status_line();
    if (!r.location().empty()) out << ", Location: " << r.location();
    out << "\n";
}

}  // namespace

void run(std::ostream& out) {
    out << "Chapter 04 — the application factory and the main blueprint\n\n";

    // ANCHOR: tour_factory
    out << ">>> app = create_app('testing')\n";
    auto app = flasky::create_app("testing");
    // ANCHOR_END: tour_factory

    out << ">>> app.config   # from TestingConfig (secrets masked)\n";
    for (const auto& key : app->config.keys())
        out << "    " << std::left << std::setw(30) << key << " " << app->config.display(key)
            << "\n";

    out << ">>> list(app.extensions)\n    [";
    const char* sep = "";
    for (const auto& name : app->extensions.names())
        out << std::exchange(sep, ", ") << "'" << name << "'";
    out << "]\n>>> list(app.blueprints)\n    [";
    sep = "";
    for (const auto& name : app->blueprints())
        out << std::exchange(sep, ", ") << "'" << name << "'";
    out << "]\n\n$ flask routes\n";
    flasky::manage::print_url_map(out, *app, "    ");

    // The chapter starts from empty tables, so a re-run prints the same transcript.
    out << "\n>>> db.drop_all(); db.create_all()\n";
    flasky::db.drop_all(*app);
    flasky::db.create_all(*app);

    // Under TESTING, MAIL_SUPPRESS_SEND is on: the admin mail is recorded, not sent.
    auto outbox = flasky::mail.for_app(*app).record_messages();

    // ANCHOR: tour_requests
    // Every URL comes from the URL map, as url_for('main.index') gives it in Flask: register
    // main under a url_prefix and the tour follows.
    const std::string home = app->url_for("main.index");
    web::TestClient client = app->test_client();
    auto page = client.get(home);
    show(out, "GET " + home, page);
    out << "    " << greeting(page.body) << "\n";

    const auto token = web::TestClient::csrf_token(page.body);
    auto posted = client.post(home, {{"name", "Bob"}, {"csrf_token", token}});
    show(out, "POST " + home + " name=Bob csrf_token=…", posted);
    page = client.get(posted.location());
    show(out, "GET " + posted.location(), page);
    out << "    " << greeting(page.body) << "\n";
    // ANCHOR_END: tour_requests

    flasky::mail.outbox(*app).drain();  // the server's drainer thread does this
    for (const auto& msg : outbox.messages())
        out << "    mail to " << msg.recipients.at(0) << ": \"" << msg.subject << "\" — "
            << msg.body.substr(0, msg.body.find('\n')) << "\n";

    page = client.post(home, {{"name", "Bob"}, {"csrf_token", token}}, {.follow_redirects = true});
    show(out, "POST " + home + " name=Bob (again, following the redirect)", page);
    out << "    " << greeting(page.body) << "\n";

    page = client.post(home, {{"name", ""}, {"csrf_token", token}});
    show(out, "POST " + home + " name=(empty)", page);
    out << "    " << text_of(page.body, "div class=\"invalid-feedback\"") << "\n";

    page = client.post(home, {{"name", "Mallory"}});
    show(out, "POST " + home + " name=Mallory without csrf_token", page);
    out << "    " << text_of(page.body, "div class=\"d-block invalid-feedback\"") << "\n";

    page = client.get("/nope");
    show(out, "GET /nope", page);
    out << "    " << text_of(page.body, "h1") << " (in the site layout: "
        << (page.contains("navbar-brand") ? "navbar present" : "no navbar") << ")\n";

    out << "\n>>> User.query.all()\n    [";
    common::db::Session session(flasky::db.engine(*app));
    sep = "";
    for (const auto& user : session.query<flasky::User>().order_by("id").all())
        out << std::exchange(sep, ", ") << *user;
    out << "]\n";
}

void serve(std::ostream& out, const std::string& config_name, const std::string& host,
           std::uint16_t port) {
    flasky::manage::runserver(out, config_name, {.host = host, .port = port});
}

}  // namespace ch04

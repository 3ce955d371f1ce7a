#include "mail_chapter.hpp"

#include "common/mail/capture_server.hpp"
#include "common/mail/mail.hpp"
#include "common/mail/mime.hpp"

#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>

namespace ch02 {

using namespace common::mail;

// ANCHOR: seed_message
Message seed_message() {
    Message msg("My Subject", "879651072@qq.com", {"879651072@qq.com"});
    msg.body = "text body";
    msg.html = "<b>HTML</b> body";
    return msg;
}
// ANCHOR_END: seed_message

// ANCHOR: seed_config
SettingsLookup seed_config(SettingsLookup env) {
    return [env = std::move(env)](std::string_view key) -> std::optional<std::string> {
        if (auto value = env(key)) return value;  // the environment wins
        const bool seed_server = env("MAIL_USERNAME") && !env("MAIL_SERVER");
        if (!seed_server) return std::nullopt;  // Flask-Mail's own defaults
        if (key == "MAIL_SERVER") return "smtp.qq.com";
        if (key == "MAIL_PORT") return "587";
        if (key == "MAIL_USE_TLS") return "true";
        return std::nullopt;
    };
}
// ANCHOR_END: seed_config

SettingsLookup environment() {
    return [](std::string_view key) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(key).c_str());
        if (!value || !*value) return std::nullopt;  // VAR= counts as unset
        return std::string(value);
    };
}

namespace {

void print_message(std::ostream& out, const std::string& data) {
    out << "raw message (CRLF shown as line ends):\n";
    std::size_t start = 0;
    while (start < data.size()) {
        auto end = data.find("\r\n", start);
        if (end == std::string::npos) end = data.size();
        const std::string line = data.substr(start, end - start);
        out << "  |" << (line.empty() ? "" : " ") << line << '\n';  // no trailing blanks
        start = end + 2;
    }
    out << "MIME tree (bodies decoded):\n";
    const std::string tree = describe_tree(parse_mime(data));
    start = 0;
    while (start < tree.size()) {
        const auto end = tree.find('\n', start);
        out << "  " << tree.substr(start, end - start) << '\n';
        start = end + 1;
    }
}

}  // namespace

int run(std::ostream& out, const SettingsLookup& env, const std::filesystem::path& workdir,
        const Message& message) {
    // The notes' lines as they are written, errata included (each marked, as in chapter 01);
    // the C++ below each group does what they mean.
    out << "# Chapter 02: Flask-Mail in C++ (common::mail)\n"
           "# The >>> lines are the notes' lines, labels for the C++ that runs.\n\n";
    out << ">>> import os\n"
           ">>> app.config['MAIL_SERVER']='smtp.qq.com'\n"
           ">>> app.config['MAIL_PORT']=587\n"
           ">>> app.config['MAIL_USE_TLS']=True\n"
           ">>> ?app.config['MAIL_USERNAME']=os.environ.get('MAIL_USERNAME')\n"
           "# (erratum: the stray '?' is a SyntaxError; the line is read without it,\n"
           "# see docs/errata.md)\n"
           ">>> app.config['MAIL_PASSWORD']=os.environ.get('MAIL_PASSWORD')\n"
           ">>> from flask_mail import Mail\n"
           ">>> mail=Mail(app)\n";
    try {
        // With no server and no account configured, deliver to a capture server on
        // 127.0.0.1, so the chapter runs offline and the reader can open the .eml file.
        std::optional<CaptureServer> capture;
        SettingsLookup lookup = seed_config(env);
        if (!env("MAIL_SERVER") && !env("MAIL_USERNAME")) {
            capture.emplace(CaptureOptions{.directory = workdir / "mail"});
            out << "(MAIL_USERNAME is not set: sending to a local capture server instead of "
                   "smtp.qq.com:587; set MAIL_USERNAME/MAIL_PASSWORD to use the real one)\n";
            lookup = [&env, port = std::to_string(capture->port())](
                         std::string_view key) -> std::optional<std::string> {
                if (key == "MAIL_SERVER") return "127.0.0.1";
                if (key == "MAIL_PORT") return port;
                return env(key);
            };
        }

        out << "\n>>> from flask.ext.mail import Message\n"
               "# (erratum: flask.ext is gone since Flask 1.0; from flask_mail import Message)\n"
               ">>> from test import mail\n"
               ">>> msg=Message('My Subject',sender='879651072@qq.com',"
               "recipients=['879651072@qq.com'])\n"
               ">>> msg.body='text body'\n"
               ">>> msg.html='<b>HTML</b> body'\n"
               ">>> with app.app_context():\n"
               "# (erratum: app was never imported: from test import app, mail; the C++\n"
               "# Mail carries its settings and needs no app context)\n"
               "...     mail.send(msg)\n";
        // ANCHOR: send
        Mail mail(MailSettings::from_lookup(lookup));
        const Delivery delivery = mail.send(message);
        // ANCHOR_END: send

        out << "sent to " << delivery.server << ": TLS " << (delivery.tls ? "yes" : "no")
            << ", authenticated "
            << (delivery.auth.empty() ? std::string("no") : "yes (AUTH " + delivery.auth + ")")
            << '\n';
        out << "envelope: MAIL FROM:<" << delivery.envelope_from << ">";
        for (const auto& to : delivery.envelope_to) out << " RCPT TO:<" << to << ">";
        out << "\nserver replied: " << delivery.reply << '\n';
        // Like smtplib, a refused recipient does not stop the others from getting it.
        for (const auto& r : delivery.refused)
            out << "refused by the server: " << r.email << " (" << r.reply << ")\n";
        out << '\n';

        out << "The message as sent:\n";
        print_message(out, delivery.data);
        if (capture) {
            const auto received = capture->messages();
            // SMTP ends the data with CRLF before the final ".": a message whose last line has
            // no line end (a body-only message, usually) arrives with one more CRLF.
            const bool as_sent =
                received.size() == 1 && (received.front().data == delivery.data ||
                                         received.front().data == delivery.data + "\r\n");
            if (!as_sent) {
                out << "error: the capture server did not receive the message as sent\n";
                return 1;
            }
            out << "\nstored by the capture server as " << received.front().file.string() << '\n';
        }
        return 0;
    } catch (const std::exception& e) {
        out << "error: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace ch02

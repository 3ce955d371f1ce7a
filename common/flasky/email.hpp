#pragma once
// app/email.py: send_email() renders a text and an HTML template into one message and hands
// it to the outbox, so the request that triggered it does not wait for SMTP.

#include "common/web/app.hpp"

#include <string>

namespace flasky {

// ANCHOR: send_email
/// send_email(to, subject, template, **kwargs): renders `<template>.txt` and
/// `<template>.html` with `vars`, prefixes the subject with FLASKY_MAIL_SUBJECT_PREFIX, sends
/// from FLASKY_MAIL_SENDER, and puts the message in the outbox of the request's db.session:
/// it is written by the request's commit, with the rows that caused it, and delivered after.
void send_email(common::web::Context& ctx, const std::string& to, const std::string& subject,
                const std::string& template_name, const common::web::Data& vars);
// ANCHOR_END: send_email

}  // namespace flasky

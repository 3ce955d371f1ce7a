#pragma once
// Chapter 02 — Flask-Mail: the seed's configuration and message, sent with common::mail.

#include "common/mail/message.hpp"
#include "common/mail/settings.hpp"

#include <filesystem>
#include <iosfwd>

namespace ch02 {

/// The seed's message, field for field:
///     msg = Message('My Subject', sender='879651072@qq.com', recipients=['879651072@qq.com'])
///     msg.body = 'text body'
///     msg.html = '<b>HTML</b> body'
common::mail::Message seed_message();

/// The seed's app.config: smtp.qq.com:587 with TLS, MAIL_USERNAME/MAIL_PASSWORD from the
/// environment. The seed's server defaults apply only when MAIL_USERNAME is set and
/// MAIL_SERVER is not; every MAIL_* key set in `env` wins.
common::mail::SettingsLookup seed_config(common::mail::SettingsLookup env);

/// The environment as a lookup (std::getenv).
common::mail::SettingsLookup environment();

/// Sends `message` (the seed's unless given) and prints what happened, refused recipients
/// included. With neither MAIL_SERVER nor MAIL_USERNAME in `env`, it starts a CaptureServer
/// on 127.0.0.1 and stores the message under `workdir`/mail. Returns 0, or 1 after printing
/// the error.
int run(std::ostream& out, const common::mail::SettingsLookup& env,
        const std::filesystem::path& workdir,
        const common::mail::Message& message = seed_message());

}  // namespace ch02

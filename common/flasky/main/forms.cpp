#include "common/flasky/main/forms.hpp"

#include <Poco/TextIterator.h>
#include <Poco/UTF8Encoding.h>

namespace flasky::main {

namespace {
/// Python's str.isspace(), which DataRequired's field.data.strip() goes by: ASCII white space,
/// the separators \x1c-\x1f and U+0085, and Unicode's space characters (a no-break space
/// U+00A0, the ideographic space U+3000, ...). std::isspace knows only the ASCII ones.
bool python_space(int c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

bool blank(const std::string& s) {
    Poco::UTF8Encoding utf8;  // form values are valid UTF-8 by now (Request::form())
    for (Poco::TextIterator it(s, utf8), end(s); it != end; ++it)
        if (!python_space(*it)) return false;
    return true;
}
}  // namespace

bool NameForm::validate_on_submit(common::web::Context& ctx) {
    if (ctx.request.method != "POST") return false;
    name = ctx.request.form().get("name");
    errors.clear();
    csrf_errors.clear();
    // Flask-WTF's form makes the session's token as it is built, before it validates: a post
    // without a session token then says "The CSRF tokens do not match.", as here.
    (void)ctx.csrf_token();
    if (auto why = ctx.csrf_error(); !why.empty()) csrf_errors.push_back(std::move(why));
    if (blank(name)) errors.emplace_back("This field is required.");  // DataRequired's message
    return errors.empty() && csrf_errors.empty();
}

common::web::Data NameForm::data() const {
    const auto as_list = [](const std::vector<std::string>& messages) {
        auto list = common::web::Data::list();
        for (const auto& m : messages) list.push_back(m);
        return list;
    };
    return {{"label", label},
            {"name", name},
            {"errors", as_list(errors)},
            {"has_errors", !errors.empty()},
            {"csrf_errors", as_list(csrf_errors)}};
}

}  // namespace flasky::main

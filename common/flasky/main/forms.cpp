#include "common/flasky/main/forms.hpp"

#include <algorithm>
#include <cctype>

namespace flasky::main {

namespace {
bool blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}
}  // namespace

bool NameForm::validate_on_submit(common::web::Context& ctx) {
    if (ctx.request.method != "POST") return false;
    name = ctx.request.form().get("name");
    errors.clear();
    csrf_errors.clear();
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

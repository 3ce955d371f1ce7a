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
    if (blank(name)) errors.emplace_back("This field is required.");  // DataRequired's message
    return errors.empty();
}

common::web::Data NameForm::data() const {
    auto list = common::web::Data::list();
    for (const auto& e : errors) list.push_back(e);
    return {{"label", label}, {"name", name}, {"errors", list}, {"has_errors", !errors.empty()}};
}

}  // namespace flasky::main

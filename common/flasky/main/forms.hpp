#pragma once
// app/main/forms.py: the book's NameForm (Flask-WTF). The CSRF half of Flask-WTF is done by
// the app for every unsafe request (common/web), so a form here is only fields + validators.

#include "common/web/app.hpp"

#include <string>
#include <vector>

namespace flasky::main {

// ANCHOR: form
/// class NameForm(FlaskForm):
///     name = StringField('What is your name?', validators=[DataRequired()])
///     submit = SubmitField('Submit')
struct NameForm {
    static constexpr const char* label = "What is your name?";
    std::string name;                 ///< the field's value, from the posted form
    std::vector<std::string> errors;  ///< the field's validation errors

    /// Reads the posted field; an empty or blank name fails DataRequired.
    /// True only for a POST whose data validates.
    bool validate_on_submit(common::web::Context& ctx);
    /// What the template needs: label, value, errors.
    common::web::Data data() const;
};
// ANCHOR_END: form

}  // namespace flasky::main

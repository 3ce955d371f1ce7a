#pragma once
// app/main/forms.py: the book's NameForm (Flask-WTF). Like a FlaskForm it checks the page's
// CSRF token as part of validate_on_submit(), so a missing or stale token shows the form
// again with the error, as in the book (the app's own check, a 400, is for other views).

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
    std::string name;                      ///< the field's value, from the posted form
    std::vector<std::string> errors;       ///< the field's validation errors
    std::vector<std::string> csrf_errors;  ///< the hidden csrf_token field's

    /// Reads the posted field; an empty or blank name fails DataRequired, a missing, stale or
    /// foreign CSRF token fails the hidden field. True only for a POST whose data validates.
    bool validate_on_submit(common::web::Context& ctx);
    /// What the template needs: label, value, errors, csrf_errors.
    common::web::Data data() const;
};
// ANCHOR_END: form

}  // namespace flasky::main

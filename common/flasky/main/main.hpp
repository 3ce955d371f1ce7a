#pragma once
// app/main/__init__.py: the `main` blueprint. Python creates it here and then imports views
// and errors, whose decorators add the routes; C++ has no import side effects, so blueprint()
// builds it once and calls each file's add_*() in the same order.

#include "common/web/app.hpp"

namespace flasky::main {

// ANCHOR: blueprint
/// main = Blueprint('main', __name__); from . import views, errors
const common::web::Blueprint& blueprint();

/// views.py: @main.route('/', methods=['GET', 'POST']) def index()
void add_views(common::web::Blueprint& main);
/// errors.py: @main.app_errorhandler(404) / (500)
void add_errors(common::web::Blueprint& main);
// ANCHOR_END: blueprint

}  // namespace flasky::main

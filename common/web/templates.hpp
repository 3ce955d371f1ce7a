#pragma once
/// \file
/// Templates: kainjow mustache with HTML auto-escaping, plus layouts. Every template is
/// loaded, its layout and partials resolved, and parsed ONCE (compile()); rendering is then
/// lock-free and never parses.
///
/// Layouts use the Mustache inheritance syntax, which we resolve before kainjow sees the text:
///
///     base.html:   <title>{{$title}}Flasky{{/title}}</title> ... {{$content}}{{/content}}
///     index.html:  {{<base.html}}{{$title}}Home{{/title}}{{$content}}<h1>Hi</h1>{{/content}}{{/base.html}}
///
/// A child overrides blocks of its parent; a block not overridden keeps its default; chains
/// (A extends B extends C) work, the outermost override wins. `{{>name}}` includes a partial.
/// `{{x}}` escapes HTML in .html/.htm/.xml templates, `{{{x}}}` does not; other templates
/// (mail .txt) are not escaped, as in Flask. Set-delimiter tags are not supported.

#include "common/web/data.hpp"
#include "common/web/errors.hpp"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace common::web {

class TemplateEngine {
public:
    TemplateEngine();
    ~TemplateEngine();
    TemplateEngine(const TemplateEngine&) = delete;
    TemplateEngine& operator=(const TemplateEngine&) = delete;

    /// Adds a folder searched for templates (names are paths relative to it, with '/').
    /// Earlier sources win for the same name, like Flask's app-then-blueprints order.
    void add_folder(std::string path);
    /// Adds an in-memory template (Jinja's DictLoader), e.g. an extension's base layout.
    void add_string(std::string name, std::string text);

    /// Flask's url_for in templates, for mustache: `{{url_for.main.index}}` is replaced by the
    /// URL of endpoint main.index when the templates compile (URLs do not change once an app
    /// serves, so no request pays for it). `urls` maps endpoint → URL; an endpoint whose rule
    /// ends in <path:filename> maps to the folder's URL: `{{url_for.static}}/style.css`.
    void set_urls(std::map<std::string, std::string, std::less<>> urls);

    /// Loads every template of every source, resolves layouts and partials, parses each once.
    /// Throws TemplateError for a syntax error, a missing parent/partial, a cycle or a
    /// url_for of an unknown endpoint.
    /// Calling it again reloads everything.
    void compile();

    bool has(std::string_view name) const;
    std::vector<std::string> names() const;

    /// Which context globals a template refers to, so they are computed only when used.
    struct Uses {
        bool flashes = false;  ///< get_flashed_messages
        bool csrf = false;     ///< csrf_token / csrf_field
    };
    Uses uses(std::string_view name) const;

    /// Renders a compiled template with vars (an object) and optional globals merged under
    /// them (vars win). Throws TemplateError if the name is unknown.
    std::string render(std::string_view name, const Data& vars,
                       const Data* globals = nullptr) const;

    /// Parses and renders a template given as text, without caching (slow path: tests, REPL).
    std::string render_string(std::string_view text, const Data& vars,
                              bool escape_html = true) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace common::web

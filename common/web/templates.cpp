// The one translation unit that includes kainjow/mustache.hpp (it is large and header-only).
#include "common/web/templates.hpp"

#include "common/web/http.hpp"

#include <Poco/String.h>
#include <kainjow/mustache.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <variant>

namespace common::web {

namespace fs = std::filesystem;
namespace mstch = kainjow::mustache;

namespace {

/// The parts of a template our layout resolution cares about; all other text (including
/// ordinary mustache tags) stays Text and goes to kainjow unchanged.
struct Node {
    enum Kind { Text, Block, Parent, Partial } kind = Text;
    std::string text;  ///< the text, or the block/parent/partial name
    std::vector<Node> children;
};

std::vector<Node> parse_nodes(const std::string& text, const std::string& tname) {
    struct Frame {
        bool section;  ///< a {{#x}}/{{^x}} section: its text stays in the enclosing node
        std::string name;
        Node node;
    };
    std::vector<Node> root;
    std::vector<Frame> stack;
    auto out = [&]() -> std::vector<Node>& {
        for (auto it = stack.rbegin(); it != stack.rend(); ++it)
            if (!it->section) return it->node.children;
        return root;
    };
    auto emit_text = [&](std::string_view t) {
        if (t.empty()) return;
        auto& o = out();
        if (!o.empty() && o.back().kind == Node::Text)
            o.back().text.append(t);
        else
            o.push_back(Node{Node::Text, std::string(t), {}});
    };
    auto fail = [&](const std::string& why) {
        return TemplateError("template '" + tname + "': " + why);
    };

    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find("{{", pos);
        if (open == std::string::npos) {
            emit_text(std::string_view(text).substr(pos));
            break;
        }
        emit_text(std::string_view(text).substr(pos, open - pos));
        const bool triple = open + 2 < text.size() && text[open + 2] == '{';
        const auto close = text.find(triple ? "}}}" : "}}", open + 2);
        if (close == std::string::npos)
            throw fail("unclosed tag starting '" + text.substr(open, 20) + "'");
        const std::size_t end = close + (triple ? 3 : 2);
        const std::string_view raw = std::string_view(text).substr(open, end - open);
        pos = end;
        if (triple) {
            emit_text(raw);
            continue;
        }
        const std::string content = Poco::trim(std::string(raw.substr(2, raw.size() - 4)));
        const char sigil = content.empty() ? ' ' : content.front();
        const std::string name = Poco::trim(content.substr(1));
        switch (sigil) {
            case '=': throw fail("set-delimiter tags ({{=...=}}) are not supported; keep {{ }}");
            case '>': out().push_back(Node{Node::Partial, name, {}}); break;
            case '$': stack.push_back(Frame{false, name, Node{Node::Block, name, {}}}); break;
            case '<': stack.push_back(Frame{false, name, Node{Node::Parent, name, {}}}); break;
            case '#':
            case '^':
                emit_text(raw);
                stack.push_back(Frame{true, name, {}});
                break;
            case '/': {
                if (stack.empty() || stack.back().name != name)
                    throw fail("{{/" + name + "}} closes nothing" +
                               (stack.empty() ? std::string()
                                              : " (the open tag is '" + stack.back().name + "')"));
                Frame frame = std::move(stack.back());
                stack.pop_back();
                if (frame.section)
                    emit_text(raw);
                else
                    out().push_back(std::move(frame.node));
                break;
            }
            default: emit_text(raw);
        }
    }
    if (!stack.empty()) throw fail("'" + stack.back().name + "' is opened but never closed");
    return root;
}

bool escapes_html(std::string_view name) {
    return name.ends_with(".html") || name.ends_with(".htm") || name.ends_with(".xml") ||
           name.ends_with(".xhtml");
}

// ---- the renderer ----------------------------------------------------------------------
//
// kainjow parses our templates at compile() (its error messages are the ones users see), but
// rendering walks a tree of our own, straight over Data. kainjow's renderer costs what a page
// view should not: every value converted into its own data type (maps of unique_ptrs), every
// space and newline of the template a component of its own, each piece of output through a
// std::function. It was a fifth of a GET / in our profile. The tree below gives the same
// bytes: it follows kainjow's rules, which differ from the Mustache spec in places (noted).

/// One piece of a compiled template.
struct Op {
    enum Kind : unsigned char { Text, Newline, Lines, Var, RawVar, Section, Inverted } kind = Text;
    std::string text;               ///< Text/Newline/Lines: the characters; else the tag's name
    std::vector<std::string> path;  ///< a dotted name split at '.', as kainjow splits it
    std::vector<Op> children;       ///< Section/Inverted
    std::size_t tail = 0;           ///< Lines: the characters after its last newline
};

std::string trim_tag(std::string_view s) {
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

/// "a.b" → {"a", "b"}; like std::getline splitting, a trailing '.' gives no empty part.
std::vector<std::string> split_name(const std::string& name) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start < name.size()) {
        const auto dot = std::min(name.find('.', start), name.size());
        parts.push_back(name.substr(start, dot - start));
        start = dot + 1;
    }
    return parts;
}

/// Parses a flattened template (layouts and partials resolved, no set-delimiter tags) the way
/// kainjow's parser does; call it only on text kainjow accepted.
std::vector<Op> parse_ops(std::string_view text, std::string_view tname) {
    std::vector<Op> root;
    std::vector<std::vector<Op>*> open{&root};
    const auto fail = [&](const std::string& why) {
        return TemplateError("template '" + std::string(tname) + "': " + why);
    };
    const auto add_text = [&](std::string_view t) {
        auto& ops = *open.back();
        if (!ops.empty() && ops.back().kind == Op::Text)
            ops.back().text.append(t);
        else
            ops.push_back(Op{Op::Text, std::string(t), {}, {}});
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (text.compare(pos, 2, "{{") != 0) {
            const char c = text[pos];
            if (c == '\n' || c == '\r') {
                const std::size_t len = c == '\r' && text.compare(pos, 2, "\r\n") == 0 ? 2 : 1;
                open.back()->push_back(Op{Op::Newline, std::string(text.substr(pos, len)), {}, {}});
                pos += len;
            } else {
                const auto next = std::min(text.find_first_of("{\r\n", pos + 1), text.size());
                add_text(text.substr(pos, next - pos));
                pos = next;
            }
            continue;
        }
        std::size_t contents = pos + 2;
        const bool triple = pos != text.size() - 2 && text[contents] == '{';
        if (triple) ++contents;
        const auto close = text.find(triple ? "}}}" : "}}", contents);
        if (close == std::string_view::npos) throw fail("unclosed tag");
        const std::string tag = trim_tag(text.substr(contents, close - contents));
        pos = close + (triple ? 3 : 2);

        Op op;
        const char sigil = tag.empty() ? ' ' : tag.front();
        if (triple) {
            op.kind = Op::RawVar;
            op.text = tag;
        } else if (tag.empty() || std::string_view("#^/>&!=").find(sigil) == std::string::npos) {
            op.kind = Op::Var;
            op.text = tag;
        } else {
            op.text = trim_tag(std::string_view(tag).substr(1));
            switch (sigil) {
                case '!':
                    continue;  // a comment renders nothing (and does not make a line standalone)
                case '&': op.kind = Op::RawVar; break;
                case '#': op.kind = Op::Section; break;
                case '^': op.kind = Op::Inverted; break;
                case '/':
                    if (open.size() == 1) throw fail("{{/" + op.text + "}} closes nothing");
                    open.pop_back();
                    continue;
                default: throw fail("tag '" + tag + "' should have been resolved before rendering");
            }
        }
        if (op.text.find('.') != std::string::npos && op.text != ".") op.path = split_name(op.text);
        auto& ops = *open.back();
        ops.push_back(std::move(op));
        if (ops.back().kind == Op::Section || ops.back().kind == Op::Inverted)
            open.push_back(&ops.back().children);
    }
    if (open.size() != 1) throw fail("a section is opened but never closed");
    return root;
}

/// Joins the text between tags into whole-line runs (Lines), so that a page is a few dozen
/// appends instead of one per line. Only after a Newline of the same list: there the line
/// buffer has just restarted with no section on it, and a run of plain text and newlines
/// leaves it exactly as appending the run at once and restarting after its last newline.
void join_lines(std::vector<Op>& ops) {
    std::vector<Op> joined;
    joined.reserve(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        Op& op = ops[i];
        if (op.kind == Op::Section || op.kind == Op::Inverted) join_lines(op.children);
        const bool after_newline = !joined.empty() && joined.back().kind == Op::Newline;
        if (!after_newline || (op.kind != Op::Text && op.kind != Op::Newline)) {
            joined.push_back(std::move(op));
            continue;
        }
        Op run{Op::Lines, {}, {}, {}, 0};
        bool has_newline = false;
        for (; i < ops.size() && (ops[i].kind == Op::Text || ops[i].kind == Op::Newline); ++i) {
            run.text += ops[i].text;
            if (ops[i].kind == Op::Newline) {
                has_newline = true;
                run.tail = 0;
            } else {
                run.tail += ops[i].text.size();
            }
        }
        --i;
        if (!has_newline) run.kind = Op::Text;  // one line's text: nothing to join
        joined.push_back(std::move(run));
    }
    ops = std::move(joined);
}

/// The state of one render: kainjow's line buffer, kept inside `out` (the line is
/// out[line_start, end)), and its stack of contexts (the innermost last).
struct Renderer {
    std::string& out;
    bool escape;
    std::vector<const Data*> stack;
    std::size_t line_start = 0;
    /// kainjow's rule for standalone lines: a line on which a section's body was rendered
    /// (a {{#x}} whose x is true, a {{^x}} whose x is false) and that printed nothing but
    /// spaces or tabs is dropped with its newline. A line whose section was skipped stays, and
    /// so does a line holding only a comment (the spec would drop both).
    bool section_on_line = false;

    const Data* lookup(const Op& op) const {
        if (op.text == ".") return stack.back();
        for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
            if (op.path.empty()) {
                if (const Data* v = (*it)->find(op.text)) return v;
                continue;
            }
            const Data* v = *it;
            for (const auto& part : op.path)
                if (!(v = v->find(part))) break;
            if (v) return v;
        }
        return nullptr;
    }

    /// kainjow's truth: false, null (converted to false) and an empty list are false;
    /// everything else, even "" and 0, is true.
    static bool truthy(const Data& v) {
        if (v.is_null()) return false;
        if (v.is_bool()) return v.as_bool();
        if (v.is_list()) return !v.as_list().empty();
        return true;
    }

    void write(std::string_view text) {
        if (!escape) {
            out.append(text);
            return;
        }
        // kainjow's html_escape, appended in place.
        std::size_t from = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            std::string_view entity;
            switch (text[i]) {
                case '&': entity = "&amp;"; break;
                case '<': entity = "&lt;"; break;
                case '>': entity = "&gt;"; break;
                case '"': entity = "&quot;"; break;
                case '\'': entity = "&apos;"; break;
                default: continue;
            }
            out.append(text, from, i - from).append(entity);
            from = i + 1;
        }
        out.append(text, from);
    }

    /// Only strings and numbers print; true/false, null, lists and objects print nothing.
    void variable(const Data& v, bool escaped) {
        const bool saved = escape;
        escape = escape && escaped;
        if (v.is_string())
            write(v.as_string());
        else if (v.is_int() || v.is_double())
            write(v.to_text());
        escape = saved;
    }

    /// Only spaces and tabs since line_start (asked only on a line with a section).
    bool blank_line() const {
        for (std::size_t i = line_start; i < out.size(); ++i)
            if (out[i] != ' ' && out[i] != '\t') return false;
        return true;
    }

    void end_line(const std::string* newline) {
        if (section_on_line && blank_line())
            out.resize(line_start);
        else if (newline)
            out += *newline;
        line_start = out.size();
        section_on_line = false;
    }

    void section(const Op& op, const Data* v) {
        const auto body = [&](const Data* context) {
            section_on_line = true;
            if (context) stack.push_back(context);
            walk(op.children);
            if (context) stack.pop_back();
            section_on_line = true;
        };
        if (v && v->is_list() && !v->as_list().empty())
            for (const auto& item : v->as_list()) body(&item);
        else
            body(v);
    }

    void walk(const std::vector<Op>& ops) {
        for (const auto& op : ops) {
            switch (op.kind) {
                case Op::Text: out += op.text; break;
                case Op::Newline: end_line(&op.text); break;
                case Op::Lines:
                    out += op.text;
                    line_start = out.size() - op.tail;
                    break;
                case Op::Var:
                case Op::RawVar:
                    if (const Data* v = lookup(op)) variable(*v, op.kind == Op::Var);
                    break;
                case Op::Section:
                    if (const Data* v = lookup(op); v && truthy(*v)) section(op, v);
                    break;
                case Op::Inverted:
                    if (const Data* v = lookup(op); !v || !truthy(*v)) section(op, v);
                    break;
            }
        }
    }
};

}  // namespace

struct TemplateEngine::Impl {
    struct Source {
        std::string folder;  ///< empty for an in-memory template
        std::string name, text;
    };
    struct Compiled {
        std::vector<Op> ops;  ///< read-only once compiled: shared by all threads, no lock
        bool escape = true;   ///< HTML-escape {{x}} (.html, .htm, .xml, .xhtml)
        Uses uses;
        /// The size of the last page rendered from it: the next one reserves that much.
        mutable std::atomic<std::size_t> size_hint{0};
    };

    std::vector<Source> sources;
    std::map<std::string, std::string, std::less<>> urls;  ///< set_urls()

    /// Replaces every {{url_for.ENDPOINT}} of a flattened template by the endpoint's URL.
    std::string substitute_urls(const std::string& flat, std::string_view name) const {
        static constexpr std::string_view open = "{{url_for.";
        std::string out;
        std::size_t pos = 0;
        for (auto at = flat.find(open); at != std::string::npos; at = flat.find(open, pos)) {
            const auto close = flat.find("}}", at);
            if (close == std::string::npos) break;  // the parser reports the unclosed tag
            const std::string endpoint = flat.substr(at + open.size(), close - at - open.size());
            auto url = urls.find(endpoint);
            if (url == urls.end())
                throw TemplateError("template '" + std::string(name) + "' uses {{url_for." +
                                    endpoint + "}}, but the app has no endpoint '" + endpoint +
                                    "' that builds without variables. Check the name in "
                                    "`flask routes`, or build the URL in the view and pass it.");
            out.append(flat, pos, at - pos);
            out += escapes_html(name) ? html_escape(url->second) : url->second;
            pos = close + 2;
        }
        if (pos == 0) return flat;
        out.append(flat, pos);
        return out;
    }
    std::map<std::string, std::string, std::less<>> raw;     ///< name → text, first source wins
    std::map<std::string, std::string, std::less<>> origin;  ///< name → file path or "(in memory)"
    std::map<std::string, std::vector<Node>, std::less<>> parsed;
    /// std::less<> so that render(std::string_view) looks a name up without a copy.
    std::map<std::string, Compiled, std::less<>> compiled;

    void load() {
        raw.clear();
        origin.clear();
        parsed.clear();
        for (const auto& s : sources) {
            if (s.folder.empty()) {
                if (raw.emplace(s.name, s.text).second) origin.emplace(s.name, "(in memory)");
                continue;
            }
            std::error_code ec;
            if (!fs::is_directory(s.folder, ec)) continue;  // a blueprint may have no templates
            std::vector<fs::path> files;
            for (auto it = fs::recursive_directory_iterator(s.folder, ec);
                 !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
                if (it->is_regular_file()) files.push_back(it->path());
            std::sort(files.begin(), files.end());
            for (const auto& file : files) {
                const std::string name = fs::relative(file, s.folder).generic_string();
                if (raw.contains(name)) continue;
                std::ifstream in(file, std::ios::binary);
                std::ostringstream text;
                text << in.rdbuf();
                if (!in) throw TemplateError("cannot read template file " + file.string());
                raw.emplace(name, text.str());
                origin.emplace(name, file.string());
            }
        }
    }

    const std::vector<Node>& nodes(const std::string& name, const std::string& from) {
        if (auto it = parsed.find(name); it != parsed.end()) return it->second;
        auto r = raw.find(name);
        if (r == raw.end()) throw not_found(name, from);
        return parsed.emplace(name, parse_nodes(r->second, name)).first->second;
    }

    TemplateError not_found(std::string_view name, std::string_view from) const {
        std::string where;
        for (const auto& s : sources)
            if (!s.folder.empty()) where += (where.empty() ? "" : ", ") + s.folder;
        std::string msg = "template '" + std::string(name) + "' not found";
        if (!from.empty()) msg += " (used by '" + std::string(from) + "')";
        msg += "; searched folders: " + (where.empty() ? std::string("none") : where) +
               " and the templates added in code (extensions)";
        return TemplateError(msg);
    }

    using Overrides = std::map<std::string, const std::vector<Node>*, std::less<>>;

    void expand(const std::vector<Node>& list, const Overrides& ov, int depth, std::string& out,
                const std::string& tname) {
        for (const auto& n : list) {
            switch (n.kind) {
                case Node::Text: out += n.text; break;
                case Node::Block: {
                    auto it = ov.find(n.text);
                    expand(it != ov.end() ? *it->second : n.children, ov, depth, out, tname);
                    break;
                }
                case Node::Parent: {
                    Overrides merged = ov;  // outer overrides win over this child's
                    for (const auto& c : n.children)
                        if (c.kind == Node::Block) merged.emplace(c.text, &c.children);
                    expand_template(n.text, merged, depth + 1, out, tname);
                    break;
                }
                case Node::Partial: expand_template(n.text, ov, depth + 1, out, tname); break;
            }
        }
    }

    void expand_template(const std::string& name, const Overrides& ov, int depth, std::string& out,
                         const std::string& from) {
        if (depth > 32)
            throw TemplateError("template '" + from +
                                "': layouts/partials nest deeper than 32 levels; '" + name +
                                "' probably extends or includes itself");
        expand(nodes(name, from), ov, depth, out, name);
    }

    std::string flatten(const std::string& name) {
        std::string out;
        expand_template(name, {}, 0, out, "");
        return out;
    }

    /// kainjow checks the syntax of a flattened template, so errors read as they always have.
    static void check_syntax(const std::string& flat, std::string_view name) {
        const mstch::mustache tmpl(flat);
        if (!tmpl.is_valid())
            throw TemplateError("template '" + std::string(name) +
                                "' does not compile: " + tmpl.error_message());
    }
};

TemplateEngine::TemplateEngine() : impl_(std::make_unique<Impl>()) {}
TemplateEngine::~TemplateEngine() = default;

void TemplateEngine::add_folder(std::string path) {
    impl_->sources.push_back({std::move(path), {}, {}});
}

void TemplateEngine::add_string(std::string name, std::string text) {
    impl_->sources.push_back({{}, std::move(name), std::move(text)});
}

void TemplateEngine::set_urls(std::map<std::string, std::string, std::less<>> urls) {
    impl_->urls = std::move(urls);
}

void TemplateEngine::compile() {
    impl_->load();
    std::map<std::string, Impl::Compiled, std::less<>> compiled;
    for (const auto& [name, text] : impl_->raw) {
        const std::string flat = impl_->substitute_urls(impl_->flatten(name), name);
        Impl::check_syntax(flat, name);
        Impl::Compiled& c = compiled[name];
        c.ops = parse_ops(flat, name);
        join_lines(c.ops);
        c.escape = escapes_html(name);
        c.uses.flashes = flat.find("get_flashed_messages") != std::string::npos;
        c.uses.csrf = flat.find("csrf_") != std::string::npos;
    }
    impl_->compiled = std::move(compiled);
}

bool TemplateEngine::has(std::string_view name) const { return impl_->compiled.contains(name); }

std::vector<std::string> TemplateEngine::names() const {
    std::vector<std::string> out;
    for (const auto& [name, c] : impl_->compiled) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

TemplateEngine::Uses TemplateEngine::uses(std::string_view name) const {
    auto it = impl_->compiled.find(name);
    return it == impl_->compiled.end() ? Uses{} : it->second.uses;
}

std::string TemplateEngine::render(std::string_view name, const Data& vars,
                                   const Data* globals) const {
    auto it = impl_->compiled.find(name);
    if (it == impl_->compiled.end()) throw impl_->not_found(name, {});
    const Impl::Compiled& c = it->second;
    std::string out;
    out.reserve(c.size_hint.load(std::memory_order_relaxed) + 256);
    Renderer r{out, c.escape, {}};
    r.stack.reserve(8);
    // Globals under the vars: a name is looked up in the vars first, as when kainjow had
    // them merged into one object with the vars winning.
    static const Data empty = Data::object();
    r.stack.push_back(globals && globals->is_object() ? globals : &empty);
    if (vars.is_object()) r.stack.push_back(&vars);
    r.walk(c.ops);
    r.end_line(nullptr);  // the last line, which has no newline
    c.size_hint.store(out.size(), std::memory_order_relaxed);
    return out;
}

std::string TemplateEngine::render_string(std::string_view text, const Data& vars,
                                          bool escape_html) const {
    // Resolve layouts against the loaded templates, then parse this one text.
    static const std::string self = "(string)";
    std::string flat;
    impl_->expand(parse_nodes(std::string(text), self), {}, 0, flat, self);
    flat = impl_->substitute_urls(flat, self);
    Impl::check_syntax(flat, self);
    auto ops = parse_ops(flat, self);
    join_lines(ops);
    std::string out;
    Renderer r{out, escape_html, {}};
    static const Data empty = Data::object();
    r.stack.push_back(vars.is_object() ? &vars : &empty);
    r.walk(ops);
    r.end_line(nullptr);
    return out;
}

}  // namespace common::web

// The one translation unit that includes kainjow/mustache.hpp (it is large and header-only).
#include "common/web/templates.hpp"

#include "common/web/http.hpp"

#include <Poco/String.h>
#include <kainjow/mustache.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
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

mstch::data to_mustache(const Data& d) {
    if (d.is_null()) return mstch::data(false);
    if (d.is_bool()) return mstch::data(d.as_bool());
    if (d.is_string()) return mstch::data(d.as_string());
    if (d.is_list()) {
        mstch::data list(mstch::data::type::list);
        for (const auto& item : d.as_list()) list.push_back(to_mustache(item));
        return list;
    }
    if (d.is_object()) {
        mstch::data obj;
        for (const auto& [k, v] : d.as_object()) obj.set(k, to_mustache(v));
        return obj;
    }
    return mstch::data(d.to_text());
}

std::string identity(const std::string& s) { return s; }

}  // namespace

struct TemplateEngine::Impl {
    struct Source {
        std::string folder;  ///< empty for an in-memory template
        std::string name, text;
    };
    struct Compiled {
        // render() is a non-const member in kainjow, but with no lambdas or partial data
        // (our flattening removes partial tags) it only reads the parsed tree: shared by
        // all threads without a lock.
        mutable std::unique_ptr<mstch::mustache> tmpl;
        Uses uses;
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
    std::unordered_map<std::string, Compiled> compiled;

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

    static std::unique_ptr<mstch::mustache> parse(const std::string& flat, std::string_view name) {
        auto tmpl = std::make_unique<mstch::mustache>(flat);
        if (!tmpl->is_valid())
            throw TemplateError("template '" + std::string(name) +
                                "' does not compile: " + tmpl->error_message());
        if (!escapes_html(name)) tmpl->set_custom_escape(identity);
        return tmpl;
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
    std::unordered_map<std::string, Impl::Compiled> compiled;
    for (const auto& [name, text] : impl_->raw) {
        const std::string flat = impl_->substitute_urls(impl_->flatten(name), name);
        Impl::Compiled c;
        c.tmpl = Impl::parse(flat, name);
        c.uses.flashes = flat.find("get_flashed_messages") != std::string::npos;
        c.uses.csrf = flat.find("csrf_") != std::string::npos;
        compiled.emplace(name, std::move(c));
    }
    impl_->compiled = std::move(compiled);
}

bool TemplateEngine::has(std::string_view name) const {
    return impl_->compiled.contains(std::string(name));
}

std::vector<std::string> TemplateEngine::names() const {
    std::vector<std::string> out;
    for (const auto& [name, c] : impl_->compiled) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

TemplateEngine::Uses TemplateEngine::uses(std::string_view name) const {
    auto it = impl_->compiled.find(std::string(name));
    return it == impl_->compiled.end() ? Uses{} : it->second.uses;
}

std::string TemplateEngine::render(std::string_view name, const Data& vars,
                                   const Data* globals) const {
    auto it = impl_->compiled.find(std::string(name));
    if (it == impl_->compiled.end()) throw impl_->not_found(name, {});
    mstch::data data = vars.is_object() ? to_mustache(vars) : mstch::data{};
    if (globals && globals->is_object())
        for (const auto& [k, v] : globals->as_object())
            if (!vars.contains(k)) data.set(k, to_mustache(v));
    std::string out;
    it->second.tmpl->render(data, [&out](const std::string& s) { out += s; });
    return out;
}

std::string TemplateEngine::render_string(std::string_view text, const Data& vars,
                                          bool escape_html) const {
    // Resolve layouts against the loaded templates, then parse this one text.
    static const std::string self = "(string)";
    std::string flat;
    impl_->expand(parse_nodes(std::string(text), self), {}, 0, flat, self);
    flat = impl_->substitute_urls(flat, self);
    auto tmpl = Impl::parse(flat, escape_html ? "string.html" : "string.txt");
    mstch::data data = to_mustache(vars);
    std::string out;
    tmpl->render(data, [&out](const std::string& s) { out += s; });
    return out;
}

}  // namespace common::web

#include "common/web/routing.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace common::web {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    // "/" → {""}, "/a/b" → {"a","b"}, "/a/" → {"a",""}
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 18 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Werkzeug orders rules so that static parts win over variables: compare the segment kinds.
bool more_specific(const Rule& a, const Rule& b) {
    const auto n = std::min(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < n; ++i)
        if (a.segments[i].kind != b.segments[i].kind)
            return a.segments[i].kind < b.segments[i].kind;
    return a.segments.size() > b.segments.size();
}

}  // namespace

bool Rule::allows(std::string_view method) const {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
}

const Rule& Router::add(std::string rule, std::string endpoint, std::vector<std::string> methods,
                        std::size_t view) {
    auto bad = [&](const std::string& why) {
        return UsageError("bad URL rule '" + rule + "' for endpoint '" + endpoint + "': " + why);
    };
    if (rule.empty() || rule.front() != '/')
        throw bad("a rule starts with '/', e.g. '/user/<username>'");
    if (endpoint.empty()) throw bad("the endpoint name is empty");

    Rule r;
    std::set<std::string, std::less<>> names;
    const auto segs = split_path(rule);
    for (std::size_t i = 0; i < segs.size(); ++i) {
        std::string_view s = segs[i];
        Rule::Segment seg;
        auto open = s.find('<');
        if (open == std::string_view::npos) {
            if (s.find('>') != std::string_view::npos)
                throw bad("stray '>' in '" + std::string(s) + "'");
            seg.text = std::string(s);
        } else {
            if (open != 0 || s.back() != '>')
                throw bad("put each <variable> in a path segment of its own (got '" +
                          std::string(s) + "')");
            std::string_view inner = s.substr(1, s.size() - 2);
            std::string_view converter = "string";
            if (auto colon = inner.find(':'); colon != std::string_view::npos) {
                converter = inner.substr(0, colon);
                inner = inner.substr(colon + 1);
            }
            if (inner.empty() || inner.find_first_of("<>:/") != std::string_view::npos)
                throw bad("a variable needs a name, like <username> or <int:id>");
            if (converter == "string") {
                seg.kind = 1;
            } else if (converter == "int") {
                seg.kind = 1;
                seg.integer = true;
            } else if (converter == "path") {
                seg.kind = 2;
                if (i + 1 != segs.size()) throw bad("<path:...> must be the last part of the rule");
            } else {
                throw bad("unknown converter '" + std::string(converter) +
                          "' (use string, int or path)");
            }
            seg.text = std::string(inner);
            if (!names.insert(seg.text).second)
                throw bad("variable '" + seg.text + "' appears twice");
        }
        r.segments.push_back(std::move(seg));
    }

    for (auto& m : methods) m = ascii_upper(m);
    if (methods.empty()) methods = {"GET"};
    if (std::find(methods.begin(), methods.end(), "GET") != methods.end())
        methods.push_back("HEAD");
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());

    for (const auto& existing : rules_)
        if (existing.endpoint == endpoint && existing.view != view)
            throw UsageError(
                "endpoint '" + endpoint +
                "' is already bound to another view: give this route another endpoint name");

    r.rule = std::move(rule);
    r.endpoint = std::move(endpoint);
    r.methods = std::move(methods);
    r.view = view;
    rules_.push_back(std::move(r));
    const std::size_t index = rules_.size() - 1;
    const Rule& added = rules_.back();

    const bool is_static = std::all_of(added.segments.begin(), added.segments.end(),
                                       [](const Rule::Segment& s) { return s.kind == 0; });
    if (is_static) static_rules_[added.rule].push_back(index);
    auto pos =
        std::upper_bound(order_.begin(), order_.end(), index, [this](std::size_t a, std::size_t b) {
            return more_specific(rules_[a], rules_[b]);
        });
    order_.insert(pos, index);
    return added;
}

bool Router::match_rule(const Rule& r, const std::vector<std::string_view>& segs, Match& m) const {
    m.args.clear();
    const auto& rs = r.segments;
    if (rs.empty()) return false;
    const bool has_path = rs.back().kind == 2;
    if (has_path ? segs.size() < rs.size() : segs.size() != rs.size()) return false;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        const auto& seg = rs[i];
        if (seg.kind == 0) {
            if (segs[i] != seg.text) return false;
        } else if (seg.kind == 1) {
            if (segs[i].empty()) return false;
            if (seg.integer && !all_digits(segs[i])) return false;
            m.args.emplace_back(seg.text, std::string(segs[i]));
        } else {
            // <path>: the rest of the path, joined back with '/'.
            std::string rest;
            for (std::size_t j = i; j < segs.size(); ++j) {
                if (j > i) rest += '/';
                rest.append(segs[j]);
            }
            if (rest.empty()) return false;
            m.args.emplace_back(seg.text, std::move(rest));
        }
    }
    m.rule = &r;
    return true;
}

Match Router::match(std::string_view path, std::string_view method, std::string_view query_string,
                    std::vector<std::string>* allowed_out) const {
    // Fast path: a static rule for exactly this path that accepts the method.
    if (auto it = static_rules_.find(std::string(path)); it != static_rules_.end()) {
        for (auto i : it->second)
            if (rules_[i].allows(method)) return Match{&rules_[i], {}};
    }

    const auto segs = split_path(path);
    std::set<std::string> allowed;
    Match m;
    for (auto i : order_) {
        if (!match_rule(rules_[i], segs, m)) continue;
        if (rules_[i].allows(method)) return m;
        allowed.insert(rules_[i].methods.begin(), rules_[i].methods.end());
    }
    if (!allowed.empty()) {
        allowed.insert("OPTIONS");
        std::string allow;
        for (const auto& a : allowed) allow += (allow.empty() ? "" : ", ") + a;
        if (method == "OPTIONS") {
            if (allowed_out) allowed_out->assign(allowed.begin(), allowed.end());
            return Match{};
        }
        HTTPError e(405);
        e.headers.set("Allow", allow);
        throw e;
    }
    // strict_slashes: "/about" when only "/about/" exists → permanent redirect there.
    if (path.empty() || path.back() != '/') {
        auto slashed = segs;
        slashed.push_back({});
        for (auto i : order_) {
            if (match_rule(rules_[i], slashed, m)) {
                HTTPError e(308, "This resource has moved to the URL with a trailing slash.");
                std::string location = url_quote(path, true) + "/";
                if (!query_string.empty()) location += "?" + std::string(query_string);
                e.headers.set("Location", location);
                throw e;
            }
        }
    }
    throw HTTPError(404);
}

std::string Router::build(std::string_view endpoint, const UrlParams& params) const {
    auto find_param = [&](const std::string& name) -> const Data* {
        for (const auto& [k, v] : params)
            if (k == name) return &v;
        return nullptr;
    };
    const Rule* best = nullptr;
    std::vector<std::string> missing_for_first;
    bool seen = false;
    for (const auto& r : rules_) {
        if (r.endpoint != endpoint) continue;
        std::vector<std::string> missing;
        for (const auto& s : r.segments)
            if (s.kind != 0 && !find_param(s.text)) missing.push_back(s.text);
        if (missing.empty()) {
            best = &r;
            break;
        }
        if (!seen) missing_for_first = std::move(missing);
        seen = true;
    }
    if (!best) {
        if (!seen)
            throw BuildError("Could not build url for endpoint '" + std::string(endpoint) +
                             "': no such endpoint. Blueprint views are named 'blueprint.view' "
                             "(or '.view' from inside the same blueprint).");
        std::string list;
        for (const auto& m : missing_for_first) list += (list.empty() ? "'" : ", '") + m + "'";
        throw BuildError("Could not build url for endpoint '" + std::string(endpoint) +
                         "'. Did you forget to specify values [" + list + "]?");
    }

    std::string url;
    std::set<std::string, std::less<>> used;
    for (const auto& s : best->segments) {
        url += '/';
        if (s.kind == 0) {
            url += s.text;
            continue;
        }
        used.insert(s.text);
        const std::string value = find_param(s.text)->to_text();
        if (s.integer && !all_digits(value))
            throw BuildError("Could not build url for endpoint '" + std::string(endpoint) + "': '" +
                             s.text + "' must be a non-negative integer, got '" + value + "'");
        if (value.empty())
            throw BuildError("Could not build url for endpoint '" + std::string(endpoint) + "': '" +
                             s.text + "' is empty");
        url += url_quote(value, s.kind == 2);
    }
    MultiDict query;
    for (const auto& [k, v] : params)
        if (!used.contains(k) && !v.is_null()) query.add(k, v.to_text());
    if (!query.empty()) url += "?" + encode_query(query);
    return url;
}

}  // namespace common::web

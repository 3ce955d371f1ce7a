#pragma once
/// \file
/// The URL map (Werkzeug's Map/Rule): rules like `/user/<username>` or `/post/<int:id>`
/// → endpoint, matched against a request path, and built back by url_for().

#include "common/web/data.hpp"
#include "common/web/http.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace common::web {

/// Values for url_for(): path variables first, anything else becomes the query string.
using UrlParams = std::vector<std::pair<std::string, Data>>;

/// One rule of the URL map.
struct Rule {
    std::string rule;      ///< "/user/<username>"
    std::string endpoint;  ///< "main.user"
    std::vector<std::string>
        methods;           ///< sorted, upper case; GET implies HEAD; OPTIONS is automatic
    std::size_t view = 0;  ///< index of the view in the app's view table

    // Parsed form. kind: 0 static text, 1 <string>/<int> (one segment), 2 <path> (the rest).
    struct Segment {
        int kind = 0;
        std::string text;      ///< the static text, or the variable name
        bool integer = false;  ///< <int:...>
    };
    std::vector<Segment> segments;
    bool allows(std::string_view method) const;
};

/// Result of a match: the rule and its decoded path variables.
struct Match {
    const Rule* rule = nullptr;
    std::vector<std::pair<std::string, std::string>> args;
};

class Router {
public:
    /// Adds a rule. Throws UsageError with what to fix for a malformed rule
    /// (no leading '/', unknown converter, a variable not alone in its segment, <path> not
    /// last, a variable named twice) or an endpoint already bound to a different view.
    const Rule& add(std::string rule, std::string endpoint, std::vector<std::string> methods,
                    std::size_t view);

    /// Finds the rule for path and method. Throws HTTPError: 404 when no rule matches the
    /// path, 405 (with an Allow header) when rules match but not for this method, 308 to
    /// the slash-terminated URL when only that one exists (Werkzeug's strict_slashes).
    /// OPTIONS on a matching path returns rule == nullptr and `allowed` filled.
    Match match(std::string_view path, std::string_view method, std::string_view query_string,
                std::vector<std::string>* allowed = nullptr) const;

    /// Builds the URL of an endpoint. Throws BuildError (Werkzeug's)
    /// naming the endpoint and the missing variables, or for an unknown endpoint.
    std::string build(std::string_view endpoint, const UrlParams& params) const;

    /// The rules in the order they were added.
    const std::vector<Rule>& rules() const { return rules_; }

private:
    bool match_rule(const Rule& r, const std::vector<std::string_view>& segs, Match& m) const;
    std::vector<Rule> rules_;
    std::vector<std::size_t>
        order_;  ///< rule indices, most specific first (static before variables)
    std::unordered_map<std::string, std::vector<std::size_t>>
        static_rules_;  ///< path → rules without variables
};

}  // namespace common::web

#include "common/web/data.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "common/web/errors.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace common::web {

Data::Data(std::initializer_list<Member> items) : v_(Object{}) {
    auto& object = std::get<Object>(v_);
    // Python's dict literal: a key given twice keeps its last value.
    for (const Member& m : items) object.insert_or_assign(m.key, std::move(m.value));
}

namespace {

[[noreturn]] void wrong_type(const Data& d, const char* wanted) {
    throw DataError(std::string("expected a ") + wanted + " value, got " + d.type_name());
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    // Runs of characters that need no escape are appended whole: a session's JSON is mostly
    // such runs, and += per character re-checks the capacity each time. A table says which
    // bytes are plain: one load per byte instead of three compares.
    static constexpr auto plain = [] {
        std::array<bool, 256> table{};
        for (int c = 0x20; c < 256; ++c) table[static_cast<std::size_t>(c)] = true;
        table['"'] = table['\\'] = false;
        return table;
    }();
    for (std::size_t i = 0; i < s.size();) {
        std::size_t j = i;
        while (j < s.size() && plain[static_cast<unsigned char>(s[j])]) ++j;
        out.append(s, i, j - i);
        if (j == s.size()) break;
        i = j + 1;
        const char c = s[j];
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default: {  // the other control characters; UTF-8 bytes were plain (JSON is UTF-8)
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            }
        }
    }
    out += '"';
}

std::string number_text(double d) {
    if (!std::isfinite(d)) return "null";  // JSON has no NaN/Infinity.
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string text(buf, end);
    // Python writes 2.0, not 2: without the ".0" a float would come back from JSON (a
    // session cookie) as an int.
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

void append_json(std::string& out, const Data& d) {
    if (d.is_null()) {
        out += "null";
    } else if (d.is_bool()) {
        out += d.as_bool() ? "true" : "false";
    } else if (d.is_int()) {
        out += std::to_string(d.as_int());
    } else if (d.is_double()) {
        out += number_text(d.as_double());
    } else if (d.is_string()) {
        append_json_string(out, d.as_string());
    } else if (d.is_list()) {
        out += '[';
        bool first = true;
        for (const auto& item : d.as_list()) {
            if (!first) out += ',';
            first = false;
            append_json(out, item);
        }
        out += ']';
    } else {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : d.as_object()) {
            if (!first) out += ',';
            first = false;
            append_json_string(out, k);
            out += ':';
            append_json(out, v);
        }
        out += '}';
    }
}

Data from_var(const Poco::Dynamic::Var& v) {
    if (v.isEmpty()) return {};
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
        Data::Object o;
        auto obj = v.extract<Poco::JSON::Object::Ptr>();
        for (const auto& [k, item] : *obj) o.emplace(k, from_var(item));
        return Data(std::move(o));
    }
    if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
        Data::List l;
        auto arr = v.extract<Poco::JSON::Array::Ptr>();
        for (const auto& item : *arr) l.push_back(from_var(item));
        return Data(std::move(l));
    }
    if (v.type() == typeid(bool)) return Data(v.extract<bool>());
    if (v.isString()) return Data(v.extract<std::string>());
    if (v.isInteger()) {
        if (v.isSigned()) return Data(v.convert<std::int64_t>());
        const auto u = v.convert<std::uint64_t>();
        // Above int64's range the nearest double, as for any other big number; a cast
        // would turn 18446744073709551615 into -1.
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return Data(static_cast<double>(u));
        return Data(static_cast<std::int64_t>(u));
    }
    if (v.isNumeric()) return Data(v.convert<double>());
    return Data(v.convert<std::string>());
}

}  // namespace

bool Data::as_bool() const {
    if (auto* b = std::get_if<bool>(&v_)) return *b;
    wrong_type(*this, "bool");
}
std::int64_t Data::as_int() const {
    if (auto* i = std::get_if<std::int64_t>(&v_)) return *i;
    wrong_type(*this, "integer");
}
double Data::as_double() const {
    if (auto* d = std::get_if<double>(&v_)) return *d;
    if (auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
    wrong_type(*this, "number");
}
const std::string& Data::as_string() const {
    if (auto* s = std::get_if<std::string>(&v_)) return *s;
    wrong_type(*this, "string");
}
const Data::List& Data::as_list() const {
    if (auto* l = std::get_if<List>(&v_)) return *l;
    wrong_type(*this, "list");
}
Data::List& Data::as_list() {
    if (auto* l = std::get_if<List>(&v_)) return *l;
    wrong_type(*this, "list");
}
const Data::Object& Data::as_object() const {
    if (auto* o = std::get_if<Object>(&v_)) return *o;
    wrong_type(*this, "object");
}
Data::Object& Data::as_object() {
    if (auto* o = std::get_if<Object>(&v_)) return *o;
    wrong_type(*this, "object");
}

bool Data::truthy() const {
    return std::visit(
        [](const auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return false;
            else if constexpr (std::is_same_v<T, bool>)
                return x;
            else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
                return x != 0;
            else
                return !x.empty();
        },
        v_);
}

std::string Data::to_text() const {
    if (is_null()) return {};
    if (is_string()) return as_string();
    if (is_bool()) return as_bool() ? "true" : "false";
    if (is_int()) return std::to_string(as_int());
    if (is_double()) return number_text(as_double());
    return to_json();
}

Data& Data::operator[](std::string_view key) {
    if (is_null()) v_ = Object{};
    auto& o = as_object();
    auto it = o.find(key);
    if (it == o.end()) it = o.emplace(std::string(key), Data{}).first;
    return it->second;
}

const Data* Data::find(std::string_view key) const {
    auto* o = std::get_if<Object>(&v_);
    if (!o) return nullptr;
    // The objects a template looks names up in have a handful of members, and most lookups
    // miss (a name is searched from the innermost context out). A scan that compares lengths
    // first settles most members without a memcmp, where the tree's find compares bytes at
    // every node it passes: its compares were 3 % of a page view.
    if (o->size() <= 8) {
        for (const auto& [k, v] : *o)
            if (k.size() == key.size() && k == key) return &v;
        return nullptr;
    }
    auto it = o->find(key);
    return it == o->end() ? nullptr : &it->second;
}

bool Data::erase(std::string_view key) {
    auto* o = std::get_if<Object>(&v_);
    if (!o) return false;
    auto it = o->find(key);
    if (it == o->end()) return false;
    o->erase(it);
    return true;
}

void Data::push_back(Data d) {
    if (is_null()) v_ = List{};
    as_list().push_back(std::move(d));
}

std::size_t Data::size() const {
    if (auto* l = std::get_if<List>(&v_)) return l->size();
    if (auto* o = std::get_if<Object>(&v_)) return o->size();
    return 0;
}

std::string Data::to_json() const {
    std::string out;
    out.reserve(128);  // a session's JSON fits: no regrowing on every page view
    append_json(out, *this);
    return out;
}

Data Data::from_json(std::string_view text) {
    try {
        Poco::JSON::Parser parser;
        return from_var(parser.parse(std::string(text)));
    } catch (const Poco::Exception& e) {
        throw DataError("invalid JSON: " + e.displayText());
    }
}

const char* Data::type_name() const {
    static constexpr const char* names[] = {"null",   "bool", "integer", "number",
                                            "string", "list", "object"};
    return names[v_.index()];
}

}  // namespace common::web

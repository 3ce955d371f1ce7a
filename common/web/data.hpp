#pragma once
/// \file
/// Data — the one value type of common::web: what a Flask view hands to render_template(),
/// what the session stores, and what request.get_json()/jsonify() carry. JSON-shaped: null,
/// bool, integer, number, string, list, object.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace common::web {

class Data {
public:
    using List = std::vector<Data>;
    using Object = std::map<std::string, Data, std::less<>>;

    Data() = default;  ///< null
    Data(std::nullptr_t) {}
    Data(bool b) : v_(b) {}
    template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Data(T i)
        : v_(static_cast<std::int64_t>(i)) {}
    Data(double d) : v_(d) {}
    Data(const char* s) : v_(std::string(s)) {}
    Data(std::string s) : v_(std::move(s)) {}
    Data(std::string_view s) : v_(std::string(s)) {}
    explicit Data(List l) : v_(std::move(l)) {}
    Data(Object o) : v_(std::move(o)) {}
    /// One `{"name", value}` of an object literal. The value is moved out when the object is
    /// built: a std::initializer_list only hands out const elements, so a literal of
    /// pair<const string, Data> would copy every nested list and object once more.
    struct Member;
    /// An object: `Data{{"name", "Bob"}, {"known", true}}`, like a Python dict literal.
    Data(std::initializer_list<Member> items);

    /// A list: `Data::list({"a", "b"})` (a named function, because `{...}` already means object).
    static Data list(std::initializer_list<Data> items = {}) { return Data(List(items)); }
    static Data object() { return Data(Object{}); }

    bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
    bool is_bool() const { return std::holds_alternative<bool>(v_); }
    bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
    bool is_double() const { return std::holds_alternative<double>(v_); }
    bool is_string() const { return std::holds_alternative<std::string>(v_); }
    bool is_list() const { return std::holds_alternative<List>(v_); }
    bool is_object() const { return std::holds_alternative<Object>(v_); }

    /// Typed access; throws DataError naming the expected and actual type.
    bool as_bool() const;
    std::int64_t as_int() const;
    double as_double() const;  ///< also accepts an integer
    const std::string& as_string() const;
    const List& as_list() const;
    List& as_list();
    const Object& as_object() const;
    Object& as_object();

    /// Python truthiness: null, false, 0, "", [] and {} are false.
    bool truthy() const;
    /// The value as text, as a template prints it: strings as is, numbers in decimal,
    /// true/false, null → "".
    std::string to_text() const;

    /// Object member access; a null value becomes an empty object first (like JSON builders).
    Data& operator[](std::string_view key);
    /// Member or nullptr (also when this is not an object).
    const Data* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    /// Removes a member; returns whether it was there.
    bool erase(std::string_view key);
    /// Appends to a list; a null value becomes an empty list first.
    void push_back(Data d);
    /// Members of an object or elements of a list; 0 otherwise.
    std::size_t size() const;

    /// Compact JSON (UTF-8 passed through, control characters escaped).
    std::string to_json() const;
    /// Parses JSON (with Poco::JSON); throws DataError saying what is wrong.
    static Data from_json(std::string_view text);

    const char* type_name() const;
    friend bool operator==(const Data&, const Data&) = default;

private:
    std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Object> v_;
};

struct Data::Member {
    Member(std::string_view k, Data v) : key(k), value(std::move(v)) {}
    std::string key;
    mutable Data value;
};

}  // namespace common::web

#pragma once
/// A bound SQL parameter: NULL, integer, real or text. Values only ever reach SQL through
/// placeholders, never by splicing them into the statement text.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace common::db {

class Value {
public:
    using Storage = std::variant<std::monostate, std::int64_t, double, std::string>;

    Value() = default;
    Value(std::nullptr_t) {}
    Value(std::nullopt_t) {}
    Value(bool v) : v_(std::int64_t{v ? 1 : 0}) {}
    Value(int v) : v_(std::int64_t{v}) {}
    Value(long v) : v_(std::int64_t{v}) {}
    Value(long long v) : v_(static_cast<std::int64_t>(v)) {}
    Value(double v) : v_(v) {}
    Value(const char* v) : v_(std::string(v)) {}
    Value(std::string_view v) : v_(std::string(v)) {}
    Value(std::string v) : v_(std::move(v)) {}
    template <class T>
    Value(const std::optional<T>& v) {
        if (v) *this = Value(*v);
    }

    bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
    const Storage& storage() const { return v_; }

    /// Python-style literal, as SQLAlchemy's echo prints it: None, 42, 'text'.
    friend std::ostream& operator<<(std::ostream& os, const Value& v);

private:
    Storage v_;
};

}  // namespace common::db

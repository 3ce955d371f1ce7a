#pragma once
/// The relationship members a model declares:
///   One<T>      a scalar: many-to-one (the side with the foreign key) or a one-to-one
///               declared with uselist=false. `u->role = r`, `u->role->name`, `print(u->role)`.
///   Many<T>     a list (lazy select or joined): append/remove/size/iteration.
///   Dynamic<T>  lazy='dynamic': a query (all/count/filter_by/order_by/limit/first) plus
///               append/remove; nothing is loaded until asked.
/// Each is a small handle into the session's identity map; the session keeps both sides of a
/// backref in step as soon as one side is assigned, and writes foreign keys at flush.

#include "common/db/query.hpp"

#include <initializer_list>
#include <iterator>
#include <ostream>

namespace common::db {

namespace detail {
template <class T>
std::vector<ObjectState*> states_of(const std::vector<Ptr<T>>& values) {
    std::vector<ObjectState*> out;
    out.reserve(values.size());
    for (const auto& v : values) {
        if (!v) throw UsageError("a relationship list cannot hold None");
        out.push_back(v.state());
    }
    return out;
}
}  // namespace detail

template <class T>
class One : public ScalarBase {
public:
    using target_type = T;
    static constexpr MemberKind kind = MemberKind::scalar;

    One() = default;
    One(const One&) = default;
    /// `u->role = r`: updates the backref at once; the foreign key is written at flush.
    One& operator=(Ptr<T> value) {
        set_state(value.state());
        return *this;
    }
    One& operator=(std::nullptr_t) {
        set_state(nullptr);
        return *this;
    }
    /// `u2->role = u1->role`
    One& operator=(const One& other) {
        if (owner_ && other.owner_ && this != &other) set_state(other.get_state());
        return *this;
    }

    Ptr<T> get() const { return Ptr<T>(get_state()); }
    operator Ptr<T>() const { return get(); }
    T* operator->() const { return get().operator->(); }
    explicit operator bool() const { return get_state() != nullptr; }
    friend bool operator==(const One& a, const Ptr<T>& b) { return a.get() == b; }
    friend std::ostream& operator<<(std::ostream& os, const One& o) { return os << o.get(); }
};

template <class T>
class Many : public ListBase {
public:
    using target_type = T;
    static constexpr MemberKind kind = MemberKind::list;

    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Ptr<T>;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = Ptr<T>;
        iterator() = default;
        explicit iterator(std::vector<ObjectState*>::const_iterator it) : it_(it) {}
        Ptr<T> operator*() const { return Ptr<T>(*it_); }
        iterator& operator++() {
            ++it_;
            return *this;
        }
        iterator operator++(int) { return iterator(it_++); }
        friend bool operator==(const iterator&, const iterator&) = default;

    private:
        std::vector<ObjectState*>::const_iterator it_;
    };

    Many() = default;
    Many(const Many&) = default;
    /// `a->books = {b1, b2}`, `a->books = {}`: replaces the collection, as SQLAlchemy's
    /// assignment does: the items left out are removed (their pairs or foreign keys go at
    /// flush), the new ones appended.
    Many& operator=(std::initializer_list<Ptr<T>> values) { return *this = std::vector(values); }
    Many& operator=(const std::vector<Ptr<T>>& values) {
        replace_states(detail::states_of(values));
        return *this;
    }
    /// `a2->books = a1->books`. (From a copied model struct, which is detached, nothing: as
    /// for One<T>, assigning a whole struct copies its columns, not its relationships.)
    Many& operator=(const Many& other) {
        if (owner_ && other.owner_ && this != &other) *this = other.all();
        return *this;
    }

    /// `r->users.append(u)`: sets u->role at once.
    void append(Ptr<T> value) { append_state(value.state()); }
    void remove(Ptr<T> value) { remove_state(value.state()); }
    std::size_t size() const { return items().size(); }
    bool empty() const { return items().empty(); }
    Ptr<T> operator[](std::size_t i) const { return Ptr<T>(items().at(i)); }
    iterator begin() const { return iterator(items().begin()); }
    iterator end() const { return iterator(items().end()); }
    std::vector<Ptr<T>> all() const { return {begin(), end()}; }
    friend std::ostream& operator<<(std::ostream& os, const Many& m) { return os << m.all(); }
};

template <class T>
class Dynamic : public DynamicBase {
public:
    using target_type = T;
    static constexpr MemberKind kind = MemberKind::dynamic;

    Dynamic() = default;
    Dynamic(const Dynamic&) = default;
    /// `s->classes = {c1}`: replaces the collection (loading the old one first, as SQLAlchemy
    /// does for a dynamic relationship).
    Dynamic& operator=(std::initializer_list<Ptr<T>> values) { return *this = std::vector(values); }
    Dynamic& operator=(const std::vector<Ptr<T>>& values) {
        replace_states(detail::states_of(values));
        return *this;
    }
    Dynamic& operator=(const Dynamic& other) {
        if (owner_ && other.owner_ && this != &other) *this = other.all();
        return *this;
    }

    /// The relationship as a query, to refine further.
    Query<T> query() const { return Query<T>(make_query()); }
    std::vector<Ptr<T>> all() const { return query().all(); }
    Ptr<T> first() const { return query().first(); }
    std::int64_t count() const { return query().count(); }
    Query<T> filter_by(std::string_view column, Value value) const {
        return query().filter_by(column, std::move(value));
    }
    Query<T> filter(std::string_view condition, std::vector<Value> params = {}) const {
        return query().filter(condition, std::move(params));
    }
    Query<T> order_by(std::string_view column) const { return query().order_by(column); }
    Query<T> limit(std::int64_t n) const { return query().limit(n); }
    Query<T> offset(std::int64_t n) const { return query().offset(n); }

    /// For many-to-many: the association row is written at the next flush, once.
    void append(Ptr<T> value) { append_state(value.state()); }
    void remove(Ptr<T> value) { remove_state(value.state()); }
};

}  // namespace common::db

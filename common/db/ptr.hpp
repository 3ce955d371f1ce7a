#pragma once
/// db::Ptr<T>: the handle every listing uses — what `u` is in `u = User(name='Hyman')`.

#include "common/db/model_info.hpp"

#include <ostream>
#include <vector>

namespace common::db {

/// A handle to an object held by a Session: what `u` is in `u = User(name='Hyman')`.
/// Null is Python's None. Valid while its Session object exists (after close() the object is
/// detached: readable, never written).
template <class T>
class Ptr {
public:
    Ptr() = default;
    Ptr(std::nullptr_t) {}
    explicit Ptr(ObjectState* state) : s_(state) {}

    /// The object (null for None), reloaded first if a commit or rollback expired it.
    T* get() const {
        if (!s_) return nullptr;
        s_->notice();
        return static_cast<T*>(s_->object);
    }
    /// An object this session deleted keeps the values it had; one whose row was found missing
    /// throws ObjectDeletedError.
    T& operator*() const {
        if (!s_)
            throw UsageError("dereferenced a null db::Ptr (Python would say: 'NoneType' object has "
                             "no attribute)");
        if (s_->status == Status::deleted && !s_->deleted_here) throw_deleted(*s_);
        s_->notice();
        return *static_cast<T*>(s_->object);
    }
    T* operator->() const { return &**this; }
    explicit operator bool() const { return s_ != nullptr; }
    ObjectState* state() const { return s_; }
    friend bool operator==(const Ptr&, const Ptr&) = default;

private:
    ObjectState* s_ = nullptr;
};

/// Whether T is a db::Ptr (Session::add tells a handle from a model object by it).
template <class T>
inline constexpr bool is_ptr_v = false;
template <class T>
inline constexpr bool is_ptr_v<Ptr<T>> = true;

/// `print(obj)`: the model's own operator<<, or None.
template <class T>
std::ostream& operator<<(std::ostream& os, const Ptr<T>& p) {
    if (!p) return os << "None";
    return os << *p;
}

/// `print([a, b])` → [<Class Math>, <Class Art>]
template <class T>
std::ostream& operator<<(std::ostream& os, const std::vector<Ptr<T>>& v) {
    os << '[';
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    return os << ']';
}

}  // namespace common::db

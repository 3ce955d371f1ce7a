#pragma once
/// A session's storage (internals: models and sessions use it, readers need not): each
/// model's objects in chunks that never move, with their state and snapshot beside them, and
/// the identity map from primary key to object.

#include "common/db/detail/block_cache.hpp"
#include "common/db/detail/identity_map.hpp"
#include "common/db/model_info.hpp"

#include <algorithm>
#include <functional>
#include <new>
#include <optional>
#include <vector>

namespace common::db::detail {

class StoreBase {
public:
    virtual ~StoreBase() = default;
    /// A default-constructed object for a row being loaded.
    virtual ObjectState* emplace() = 0;
    virtual void for_each(const std::function<void(ObjectState&)>& f) = 0;

    IdentityMap identity;
    std::vector<ObjectState*> pending, dirty, doomed;
};

/// An object and its session state, side by side in the session's storage.
template <class T>
struct Slot : ObjectState {
    Slot() { object = &value; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    T value{};
    /// The snapshot (only its columns are used), constructed on first need.
    std::optional<T> saved{};
};

/// A session's objects of one model, in chunks that never move (handles stay valid) and grow
/// geometrically (loading 100k rows costs a handful of allocations, not 100k). The chunks'
/// memory comes from, and goes back to, the block cache (block_cache.hpp).
template <class T>
class Store final : public StoreBase {
public:
    static_assert(alignof(Slot<T>) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                  "over-aligned model types are not supported");

    Store() = default;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    ~Store() override {
        for (std::size_t c = 0; c < chunks_.size(); ++c) {
            for (std::size_t i = 0; i < constructed(c); ++i) chunks_[c][i].~Slot<T>();
            block_cache::give(chunks_[c], sizes_[c] * sizeof(Slot<T>));
        }
    }

    ObjectState* emplace() override { return next(); }
    ObjectState* emplace(T&& object) {
        auto* slot = next();
        slot->value = std::move(object);
        return slot;
    }
    void for_each(const std::function<void(ObjectState&)>& f) override {
        for (std::size_t c = 0; c < chunks_.size(); ++c)
            for (std::size_t i = 0; i < constructed(c); ++i) f(chunks_[c][i]);
    }

private:
    /// Slots are constructed in order: every chunk but the last is full.
    std::size_t constructed(std::size_t chunk) const {
        return chunk + 1 == chunks_.size() ? used_ : sizes_[chunk];
    }

    Slot<T>* next() {
        if (chunks_.empty() || used_ == sizes_.back()) {
            std::size_t size =
                chunks_.empty() ? 16 : std::min<std::size_t>(sizes_.back() * 2, 8192);
            chunks_.reserve(chunks_.size() + 1);
            sizes_.reserve(sizes_.size() + 1);
            chunks_.push_back(static_cast<Slot<T>*>(block_cache::take(size * sizeof(Slot<T>))));
            sizes_.push_back(size);
            used_ = 0;
        }
        Slot<T>* slot = new (chunks_.back() + used_) Slot<T>();
        ++used_;
        return slot;
    }

    std::vector<Slot<T>*> chunks_;
    std::vector<std::size_t> sizes_;
    std::size_t used_ = 0;
};

}  // namespace common::db::detail

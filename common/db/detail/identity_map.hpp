#pragma once
/// Primary key → object, one per session and model. Hand-written open addressing because
/// std::unordered_map allocates a node per entry: loading 100k rows would cost 100k mallocs.

#include <cstdint>
#include <vector>

namespace common::db {
struct ObjectState;
}  // namespace common::db

namespace common::db::detail {

class IdentityMap {
public:
    ObjectState* find(std::int64_t key) const {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = home(key);; i = (i + 1) & mask()) {
            const auto& s = slots_[i];
            if (!s.value) return nullptr;
            if (s.key == key) return s.value;
        }
    }

    /// Inserts or replaces.
    void insert(std::int64_t key, ObjectState* value) {
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        for (std::size_t i = home(key);; i = (i + 1) & mask()) {
            auto& s = slots_[i];
            if (!s.value) {
                s = {key, value};
                ++size_;
                return;
            }
            if (s.key == key) {
                s.value = value;
                return;
            }
        }
    }

    void erase(std::int64_t key) {
        if (slots_.empty()) return;
        std::size_t i = home(key);
        while (slots_[i].value && slots_[i].key != key) i = (i + 1) & mask();
        if (!slots_[i].value) return;
        // Backward-shift deletion keeps probe chains intact without tombstones.
        for (std::size_t j = (i + 1) & mask(); slots_[j].value; j = (j + 1) & mask()) {
            std::size_t h = home(slots_[j].key);
            bool movable = (i <= j) ? (h <= i || h > j) : (h <= i && h > j);
            if (movable) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = {};
        --size_;
    }

    void clear() {
        slots_.clear();
        size_ = 0;
    }
    std::size_t size() const { return size_; }
    void reserve(std::size_t n) {
        while (slots_.size() * 3 < n * 4) grow();
    }

private:
    struct Slot {
        std::int64_t key = 0;
        ObjectState* value = nullptr;
    };
    std::size_t mask() const { return slots_.size() - 1; }
    std::size_t home(std::int64_t key) const {
        auto x = static_cast<std::uint64_t>(key);  // splitmix64 finaliser
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return static_cast<std::size_t>(x ^ (x >> 31)) & mask();
    }
    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.resize(old.empty() ? 16 : old.size() * 2);
        size_ = 0;
        for (const auto& s : old)
            if (s.value) insert(s.key, s.value);
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
};

}  // namespace common::db::detail

#include "common/db/detail/block_cache.hpp"

#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace common::db::detail::block_cache {

namespace {

constexpr std::size_t cap_bytes = 64u << 20;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool caching = false;
#else
constexpr bool caching = true;
#endif

struct Cache {
    std::mutex mutex;
    std::map<std::size_t, std::vector<void*>> free_blocks;  // by size in bytes
    std::size_t held = 0;

    ~Cache() {
        for (auto& [bytes, blocks] : free_blocks)
            for (void* block : blocks) ::operator delete(block);
    }
};

Cache& cache() {
    static Cache instance;
    return instance;
}

}  // namespace

void* take(std::size_t bytes) {
    if (caching) {
        auto& c = cache();
        std::lock_guard lock(c.mutex);
        auto it = c.free_blocks.find(bytes);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            void* block = it->second.back();
            it->second.pop_back();
            c.held -= bytes;
            return block;
        }
    }
    return ::operator new(bytes);
}

void give(void* block, std::size_t bytes) noexcept {
    if (!block) return;
    if (caching) {
        auto& c = cache();
        std::lock_guard lock(c.mutex);
        if (c.held + bytes <= cap_bytes) {
            try {
                c.free_blocks[bytes].push_back(block);
                c.held += bytes;
                return;
            } catch (...) {  // no memory to remember it: free it below
            }
        }
    }
    ::operator delete(block);
}

}  // namespace common::db::detail::block_cache

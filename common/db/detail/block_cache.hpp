#pragma once
/// Memory for the sessions' object stores, kept between sessions.
///
/// Why hand-written: glibc gives large freed blocks back to the kernel, so each new session
/// page-faults in the memory the previous session just released. For a session loading 100k
/// users that was half of the load time (bench/README.md, finding 2). Keeping the blocks in a
/// small process-wide cache makes the next session's stores reuse them, warm.

#include <cstddef>

namespace common::db::detail::block_cache {

/// A block of exactly `bytes` (aligned for any ordinary type): a cached one, or new memory.
void* take(std::size_t bytes);

/// Returns a block from take(): kept for reuse while the cache holds less than its cap
/// (64 MiB), freed otherwise. Under AddressSanitizer blocks are always freed, so that a use
/// after the session closed is still caught.
void give(void* block, std::size_t bytes) noexcept;

}  // namespace common::db::detail::block_cache

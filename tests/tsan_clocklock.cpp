// Linked into every executable of a ThreadSanitizer build (cmake/Workbook.cmake), nowhere else.
//
// Why it exists: std::timed_mutex::try_lock_for() (common::db's writer lock) waits on the
// steady clock, so libstdc++ 12 calls pthread_mutex_clocklock(). The ThreadSanitizer runtime
// of GCC 12 (and of clang 14) intercepts pthread_mutex_lock, _trylock and _timedlock but not
// _clocklock: it never sees the lock taken, reports "unlock of an unlocked mutex" at the
// unlock, and — worse than the noise — loses the ordering the mutex gives, so it could neither
// see what the lock protects nor a lock-order inversion through it. A suppression would hide
// the report and keep the blindness; this wrapper tells ThreadSanitizer about the lock, as its
// own pthread_mutex_timedlock interceptor does, and leaves the locking itself to glibc.
#ifndef __SANITIZE_THREAD__
#error "tests/tsan_clocklock.cpp belongs only in a -fsanitize=thread build"
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <sanitizer/tsan_interface.h>

#include <ctime>

extern "C" int pthread_mutex_clocklock(pthread_mutex_t* mutex, clockid_t clock,
                                       const struct timespec* abstime) noexcept {
    using Real = int (*)(pthread_mutex_t*, clockid_t, const struct timespec*);
    // glibc's own function: the next definition after this executable's.
    static const Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "pthread_mutex_clocklock"));
    __tsan_mutex_pre_lock(mutex, __tsan_mutex_try_lock);
    const int rc = real(mutex, clock, abstime);
    __tsan_mutex_post_lock(
        mutex,
        rc == 0 ? __tsan_mutex_try_lock : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed, 0);
    return rc;
}

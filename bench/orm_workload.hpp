// The ORM benchmark's workload, shared by its two C++ sides (the ORM and the raw sqlite3
// floor) and mirrored by peers/orm_sqlalchemy.py. Change one, change all three.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

namespace bench {

inline constexpr int roles = 100;
inline constexpr int classes = 200;
inline constexpr int students = 1000;
inline constexpr int classes_per_student = 10;

/// The k-th class of student s: ten consecutive classes, so all distinct.
constexpr int class_of(int s, int k) { return (s * 7 + k) % classes; }

/// Times one phase and prints `<phase> <seconds> s` when done, the format bench/run reads.
/// With BENCH_CPU_TIME=1 in the environment the figure is the process's CPU time instead of
/// the wall clock: on a machine shared with other work (load above the core count), wall
/// times of the same binary vary by ±50 %, CPU times by a few per cent. bench/run does not set
/// it; it is for comparing two builds by hand.
class Phase {
public:
    explicit Phase(const char* name) : name_(name), start_(now()) {}
    void done() const {
        std::printf("%s %.4f s\n", name_, now() - start_);
        std::fflush(stdout);
    }

private:
    static double now() {
        static const bool cpu = [] {
            const char* v = std::getenv("BENCH_CPU_TIME");
            return v && std::string(v) == "1";
        }();
        if (cpu) {
            timespec ts{};
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
        }
        const std::chrono::duration<double> t = std::chrono::steady_clock::now().time_since_epoch();
        return t.count();
    }

    const char* name_;
    double start_;
};

/// The figures only mean something if the work was really done.
inline void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("workload check failed: " + what);
}

/// The ORM side (bench_orm_cpp.cpp) and the raw sqlite3 floor (bench_orm_raw.cpp) on a fresh
/// SQLite file at `path` with `users` users.
void run_orm(const std::string& path, int users);
void run_raw(const std::string& path, int users);

}  // namespace bench

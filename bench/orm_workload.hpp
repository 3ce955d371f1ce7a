// The ORM benchmark's workload, shared by its two C++ sides (the ORM and the raw sqlite3
// floor) and mirrored by peers/orm_sqlalchemy.py. Change one, change all three.
#pragma once

#include <chrono>
#include <cstdio>
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
class Phase {
public:
    explicit Phase(const char* name) : name_(name), start_(std::chrono::steady_clock::now()) {}
    void done() const {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
        std::printf("%s %.4f s\n", name_, took.count());
        std::fflush(stdout);
    }

private:
    const char* name_;
    std::chrono::steady_clock::time_point start_;
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

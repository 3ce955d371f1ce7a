// bench_orm — the ORM workload of bench/README.md on a fresh SQLite file, timed per phase.
//
//   bench_orm [N] [--raw] [--db FILE]
//
// N users (default 100000); --raw runs the same statements through the sqlite3 C API (the
// floor) instead of common::db; --db keeps the database in FILE (replaced if it exists)
// instead of a temporary file. Prints `<phase> <seconds> s` per phase, like the Python peer.
#include "orm_workload.hpp"

#include <charconv>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

int usage(std::string_view why) {
    std::cerr << "bench_orm: " << why << "\nusage: bench_orm [N] [--raw] [--db FILE]\n";
    return 2;
}

void remove_database(const fs::path& path) {
    std::error_code ignored;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"})
        fs::remove(path.string() + suffix, ignored);
}

}  // namespace

int main(int argc, char* argv[]) {
    int users = 100000;
    bool raw = false;
    fs::path db;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--raw") {
            raw = true;
        } else if (arg == "--db" && i + 1 < argc) {
            db = argv[++i];
        } else {
            const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), users);
            if (ec != std::errc() || end != arg.data() + arg.size())
                return usage("unknown argument '" + std::string(arg) + "'");
            if (users < bench::roles)
                return usage("N must be at least " + std::to_string(bench::roles));
        }
    }
    const bool temporary = db.empty();
    if (temporary)
        db = fs::temp_directory_path() / ("bench_orm-" + std::to_string(getpid()) + ".sqlite");
    db = fs::absolute(db);
    remove_database(db);  // always a fresh file

    int status = 0;
    try {
        if (raw) {
            bench::run_raw(db.string(), users);
        } else {
#ifdef BENCH_HAVE_ORM
            bench::run_orm(db.string(), users);
#else
            std::cerr
                << "bench_orm: the ORM side needs common/db, which is not built yet (issue 4); "
                   "only --raw is available\n";
            status = 3;
#endif
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_orm: " << e.what() << '\n';
        status = 1;
    }
    if (temporary) remove_database(db);
    return status;
}

#pragma once
// ScopedEnv — for tests: set or unset an environment variable for one scope and put back what
// was there before, so a test neither sees nor leaves the machine's settings. setenv is not
// thread-safe: use it where no other thread reads the environment.
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace common::config {

/// ScopedEnv port("MAIL_PORT", "2525");  ScopedEnv none("SECRET_KEY", std::nullopt);
class ScopedEnv {
public:
    /// Sets `name` to `value`, or unsets it when value is nullopt.
    ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) saved_ = old;
        if (value)
            ::setenv(name_.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (saved_)
            ::setenv(name_.c_str(), saved_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> saved_;
};

}  // namespace common::config

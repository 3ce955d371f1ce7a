#pragma once
// RAII for environment variables in tests: set or unset a variable for one scope, and put
// back what was there before, so tests neither see nor leave the machine's settings.
#include <cstdlib>
#include <optional>
#include <string>

namespace test_support {

class EnvGuard {
public:
    /// Sets `name` to `value`, or unsets it when value is nullopt.
    EnvGuard(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) saved_ = old;
        if (value) ::setenv(name_.c_str(), value->c_str(), 1);
        else ::unsetenv(name_.c_str());
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;
    ~EnvGuard() {
        if (saved_) ::setenv(name_.c_str(), saved_->c_str(), 1);
        else ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> saved_;
};

}  // namespace test_support

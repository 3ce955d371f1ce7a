// ch03_config [NAME] — prints the config NAME (default: $FLASKY_CONFIG, else 'default').
#include "config_tour.hpp"

#include <iostream>

int main(int argc, char** argv) {
    if (argc > 2) {
        std::cerr << "usage: ch03_config [development|testing|production|default]\n";
        return 2;
    }
    try {
        ch03::run(std::cout, argc == 2 ? std::optional<std::string>(argv[1]) : std::nullopt);
    } catch (const common::config::ConfigError& e) {
        std::cout.flush();
        std::cerr << "ch03_config: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

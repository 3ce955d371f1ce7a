// ch04_factory_blueprints [--serve [--host H] [--port P] [--config NAME]]
#include "factory_tour.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    bool serve = false;
    std::string host = "127.0.0.1", config = "development";
    long port = 5000;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        bool has_value = i + 1 < argc;
        if (arg == "--serve")
            serve = true;
        else if (arg == "--host" && has_value)
            host = argv[++i];
        else if (arg == "--port" && has_value)
            port = std::strtol(argv[++i], nullptr, 10);
        else if (arg == "--config" && has_value)
            config = argv[++i];
        else {
            std::cerr << "usage: ch04_factory_blueprints [--serve [--host 127.0.0.1] [--port 5000] "
                         "[--config NAME]]\n";
            return 2;
        }
    }
    if (port < 1 || port > 65535) {
        std::cerr << "ch04_factory_blueprints: --port must be 1-65535\n";
        return 2;
    }
    try {
        if (serve)
            ch04::serve(std::cout, config, host, static_cast<std::uint16_t>(port));
        else
            ch04::run(std::cout);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "ch04_factory_blueprints: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

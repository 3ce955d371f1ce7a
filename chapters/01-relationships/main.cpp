// ch01_relationships [--database URI] [--echo]
#include "relationships.hpp"

#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    std::string uri(ch01::default_uri);
    bool echo = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--database") == 0 && i + 1 < argc) {
            uri = argv[++i];
        } else if (std::strcmp(argv[i], "--echo") == 0) {
            echo = true;
        } else {
            std::cerr << "usage: " << argv[0] << " [--database URI] [--echo]\n"
                      << "  URI: " << common::db::Dialect::accepted_uris() << " (default "
                      << ch01::default_uri
                      << ")\n  --echo: print every SQL statement with its parameters\n";
            return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    try {
        ch01::run(std::cout, uri, echo);
    } catch (const std::exception& e) {
        std::cerr << "ch01_relationships: " << e.what() << '\n';
        return 1;
    }
}

// ch02_mail: sends the seed's message. Configure with MAIL_* environment variables (see
// README.md); with none set it delivers to a local capture server and needs no network.
#include "mail_chapter.hpp"

#include <filesystem>
#include <iostream>

int main(int argc, char**) {
    if (argc > 1) {  // a typo such as --server would otherwise be ignored without a word
        std::cerr << "usage: ch02_mail (no arguments; set MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS,\n"
                     "  MAIL_USERNAME and MAIL_PASSWORD in the environment, see README.md)\n";
        return 2;
    }
    return ch02::run(std::cout, ch02::environment(), std::filesystem::current_path());
}

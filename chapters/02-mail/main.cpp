// ch02_mail: sends the seed's message. Configure with MAIL_* environment variables (see
// README.md); with none set it delivers to a local capture server and needs no network.
#include "mail_chapter.hpp"

#include <filesystem>
#include <iostream>

int main() { return ch02::run(std::cout, ch02::environment(), std::filesystem::current_path()); }

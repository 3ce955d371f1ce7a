// The `flasky` command (the seed's manage.py): see manage.hpp.
#include "common/flasky/manage.hpp"

#include <iostream>

int main(int argc, char** argv) {
    return flasky::manage::main({argv + 1, argv + argc}, std::cout, std::cerr);
}

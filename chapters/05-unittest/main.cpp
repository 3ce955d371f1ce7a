// ch05_unittest — the notes' tests beside the C++ ones, run; see unittest_tour.hpp.
#include "unittest_tour.hpp"

#include <exception>
#include <iostream>

int main(int argc, char**) {
    if (argc > 1) {  // the tour takes no options; `flasky test NAME` runs chosen tests
        std::cerr << "usage: ch05_unittest (no arguments; to run chosen tests: build/bin/flasky "
                     "test NAME ...)\n";
        return 2;
    }
    try {
        return ch05::run(std::cout);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "ch05_unittest: " << e.what() << "\n";
        return 1;
    }
}

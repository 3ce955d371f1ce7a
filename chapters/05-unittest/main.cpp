// ch05_unittest — the notes' tests beside the C++ ones, run; see unittest_tour.hpp.
#include "unittest_tour.hpp"

#include <exception>
#include <iostream>

int main() {
    try {
        return ch05::run(std::cout);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "ch05_unittest: " << e.what() << "\n";
        return 1;
    }
}

#include "unittest_tour.hpp"

#include "common/flasky/manage.hpp"

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ch05 {

namespace {

// The notes' test_basic.py and manager.py command (section 5), as the notes write them:
// character for character, trailing spaces aside. The bugs are listed after, not marked in.
constexpr const char* seed_test_basic = R"(import unittest
from flask import current_app
from app import create_app,db

class BasicTestCase(unittest.TestCase):
    def setup(self):
        self.app=create_app('testing')
        self.app_context=self.app.app_context()
        self.app_context.push()
        db.create_all()

    def teardown(self):
        db.session.remove()
        db.drop_all()
        self.app_context.pop()

    def test_app_exits(self):
        self.assertFalse(current_app is None)

    def test_app_is_testing(self):
        self.assertFalse(current_app.config['TESTING'])
)";

constexpr const char* seed_manager_test = R"(@manager.command
def test():
    """Run the unit tests"""
    import unittest
    tests=unittest.TestLoader().discover('test')
    unittest.TextTestRunner(verbosity=2).run(tests)
)";

constexpr const char* seed_bug_list =
    R"(Typed as written, this file has three bugs and one typo:
  bug 1: setup() is never called; unittest calls setUp()
  bug 2: teardown() is never called; unittest calls tearDown()
  bug 3: assertFalse(current_app.config['TESTING']) says the opposite of the test's name
  typo:  test_app_exits (the book's test_app_exists); it still runs, since unittest runs
         every method whose name starts with "test"
)";

constexpr const char* seed_manager_note =
    R"(It discovers 'test' (the book: 'tests'); with no folder test/ beside it, unittest
imports Python's own regression-test package, named test, and runs its tests instead.
)";

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name` of a source file: the
/// transcript shows the C++ the reader has in front of them, not a copy of it. (The docs use
/// tools/docs_include.py for the same job; this is its few-line C++ twin.)
std::string anchor(const std::string& relative_path, const std::string& name) {
    std::ifstream in(std::string(WORKBOOK_SOURCE_DIR) + "/" + relative_path);
    if (!in)
        throw std::runtime_error("cannot read " + relative_path +
                                 " (is the source tree beside the build?)");
    std::ostringstream text;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.find("// ANCHOR: " + name) != std::string::npos)
            inside = true;
        else if (line.find("// ANCHOR_END: " + name) != std::string::npos)
            return text.str();
        else if (inside && line.find("// ANCHOR") == std::string::npos)
            text << "    " << line << "\n";
    }
    throw std::runtime_error(relative_path + " has no complete anchor '" + name + "'");
}

void banner(std::ostream& out, const std::string& title) {
    out << "\n---- " << title << " " << std::string(title.size() < 70 ? 70 - title.size() : 0, '-')
        << "\n";
}

}  // namespace

int run(std::ostream& out) {
    out << "Chapter 05 — unit tests: BasicTestCase, its three bugs, and `flasky test`\n";

    banner(out, "the notes: test_basic.py");
    out << seed_test_basic << "\n" << seed_bug_list;
    banner(out, "the notes: manager.py");
    out << seed_manager_test << "\n" << seed_manager_note;

    banner(out, "C++: the fixture (common/flasky/testing.hpp, testing.cpp)");
    out << anchor("common/flasky/testing.hpp", "fixture") << "\n"
        << anchor("common/flasky/testing.cpp", "setup_teardown");
    banner(out, "C++: the two tests (tests/flasky/test_basics.cpp)");
    out << anchor("tests/flasky/test_basics.cpp", "basics");

    // ANCHOR: run_tests
    banner(out, "$ flasky test BasicTestCase");
    const int fixed = flasky::manage::test(out, {"BasicTestCase"});
    out << "exit status: " << fixed << "\n";
    // ANCHOR_END: run_tests

    banner(out, "bugs 1 and 2: a set-up that is never called");
    out << "unittest calls setUp(); the notes define setup(), so no app and no tables exist.\n"
           "Boost.Test calls the fixture's constructor (and members named setup()/teardown()),\n"
           "so the mirror image of the bug is a fixture that puts its set-up in setUp():\n\n";
    out << anchor("tests/flasky/test_basics.cpp", "seed_bugs") << "\n";
    const int no_setup = flasky::manage::test(out, {"SeedErrata/test_without_setup"});
    out << "exit status: " << no_setup << "   (the tables were never created)\n";

    banner(out, "bug 3: assertFalse(current_app.config['TESTING'])");
    const int inverted = flasky::manage::test(out, {"SeedErrata/test_app_is_testing_inverted"});
    out << "exit status: " << inverted
        << "   (the assertion says the opposite of the test's name)\n";

    const bool as_expected = fixed == 0 && no_setup != 0 && inverted != 0;
    out << "\n"
        << (as_expected ? "The fixed tests pass; each of the notes' versions fails, as it should."
                        : "UNEXPECTED: see the exit statuses above.")
        << "\n";
    return as_expected ? 0 : 1;
}

}  // namespace ch05

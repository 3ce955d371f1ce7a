#define BOOST_TEST_MODULE ch01_relationships
#include <boost/test/unit_test.hpp>

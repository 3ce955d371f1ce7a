#define BOOST_TEST_MODULE common_web
#include <boost/test/unit_test.hpp>

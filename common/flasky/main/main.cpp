#include "common/flasky/main/main.hpp"

namespace flasky::main {

const common::web::Blueprint& blueprint() {
    static const common::web::Blueprint main = [] {
        common::web::Blueprint bp("main");
        add_views(bp);
        add_errors(bp);
        return bp;
    }();
    return main;
}

}  // namespace flasky::main

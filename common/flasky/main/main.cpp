#include "common/flasky/main/main.hpp"

namespace flasky::main {

// ANCHOR: blueprint_body
const common::web::Blueprint& blueprint() {
    static const common::web::Blueprint main = [] {
        common::web::Blueprint bp("main");
        add_views(bp);
        add_errors(bp);
        return bp;
    }();
    return main;
}
// ANCHOR_END: blueprint_body

}  // namespace flasky::main

#pragma once
/// Small helpers shared by the session's three source files (session.cpp, attributes.cpp,
/// persistence.cpp): a relationship member of an object, a column's name.

#include "common/db/model_info.hpp"

#include <string>

namespace common::db::detail {

inline ScalarBase& scalar_member(ObjectState* s, const RelationshipInfo* r) {
    return static_cast<ScalarBase&>(r->member->get(s->object));
}
inline ListBase& list_member(ObjectState* s, const RelationshipInfo* r) {
    return static_cast<ListBase&>(r->member->get(s->object));
}
inline DynamicBase& dynamic_member(ObjectState* s, const RelationshipInfo* r) {
    return static_cast<DynamicBase&>(r->member->get(s->object));
}
inline const std::string& column_name(const Table& t, int i) {
    return t.columns()[static_cast<std::size_t>(i)].name;
}

}  // namespace common::db::detail

#include "common/db/model.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

namespace common::db {

namespace {
std::atomic<std::size_t> next_model_id{0};

/// The foreign-key columns of `table` that point at table `target`.
std::vector<int> foreign_keys_to(const Table& table, const std::string& target) {
    std::vector<int> out;
    for (std::size_t i = 0; i < table.columns().size(); ++i)
        if (const auto& fk = table.columns()[i].foreign_key; fk && fk->table == target)
            out.push_back(static_cast<int>(i));
    return out;
}

/// A relationship writes the referenced object's primary key into the column: a foreign key
/// to another column (ForeignKey("depts.code")) would be given the wrong value.
void check_references_key(const RelationshipInfo& rel, const Table& table, int column,
                          const ModelInfo& referenced) {
    const auto& fk = *table.columns()[static_cast<std::size_t>(column)].foreign_key;
    const auto& key =
        referenced.table().columns()[static_cast<std::size_t>(referenced.primary_key())].name;
    if (fk.column != key)
        throw UsageError(rel.qualified_name() + ": " + table.name() + "." +
                         table.columns()[static_cast<std::size_t>(column)].name + " references " +
                         fk.table + "." + fk.column +
                         ", and a relationship needs a foreign key "
                         "to the primary key (" +
                         fk.table + "." + key + ")");
}
}  // namespace

void throw_deleted(const ObjectState& s) {
    throw ObjectDeletedError(
        "the " + s.model->name() + " row with id " + std::to_string(s.key) +
        " is gone (deleted in this session, or by someone else); query it again");
}

std::string RelationshipInfo::qualified_name() const {
    return (parent ? parent->name() : std::string("?")) + "." + name;
}

ModelInfo::ModelInfo(std::string table) : table_(std::move(table)), id_(next_model_id++) {}

void ModelInfo::add_column(ColumnDef column, std::unique_ptr<ColumnAccess> access) {
    if (!access->accepts(column.type.kind))
        throw UsageError(name() + "." + column.name +
                         ": the C++ member type does not fit the column type");
    if (table_.columns().size() == 64)  // ObjectState::changed has one bit per column
        throw UsageError(name() + ": a model maps at most 64 columns");
    if (column.primary_key) {
        if (pk_ >= 0) throw UsageError(name() + ": models have one integer primary key column");
        if (column.type.kind != SqlType::Integer)
            throw UsageError(name() + ": the primary key must be an Integer");
        pk_ = static_cast<int>(table_.columns().size());
    }
    table_.add(std::move(column));
    access_.push_back(std::move(access));
}

void ModelInfo::add_relationship(std::unique_ptr<RelationshipInfo> rel) {
    relationships_.push_back(rel.get());
    declared_.push_back(std::move(rel));
}

const RelationshipInfo* ModelInfo::relationship(std::string_view n) const {
    for (auto* r : relationships_)
        if (r->name == n) return r;
    return nullptr;
}

void ModelInfo::resolve() {
    if (resolved_) return;
    if (pk_ < 0) throw UsageError(name() + ": a model needs a primary key column");
    for (auto& owned : declared_) {
        auto& rel = *owned;
        rel.parent = this;
        rel.target = &rel.target_model();
        const std::string& me = name();
        const std::string& other = rel.target->name();
        if (rel.secondary) {
            if (me == other)
                throw UsageError(rel.qualified_name() +
                                 ": self-referential many-to-many is not supported");
            rel.direction = Direction::many_to_many;
            rel.secondary_local = rel.secondary->find_foreign_key(me);
            rel.secondary_remote = rel.secondary->find_foreign_key(other);
            if (rel.secondary_local < 0 || rel.secondary_remote < 0)
                throw UsageError(rel.qualified_name() + ": table " + rel.secondary->name() +
                                 " needs foreign keys to both " + me + " and " + other);
            if (rel.member_kind == MemberKind::scalar)
                throw UsageError(rel.qualified_name() +
                                 ": a many-to-many relationship is a Many<T> or Dynamic<T>");
            check_references_key(rel, *rel.secondary, rel.secondary_local, *this);
            check_references_key(rel, *rel.secondary, rel.secondary_remote, *rel.target);
        } else {
            // The foreign key that joins the two tables: ours (many-to-one) or theirs
            // (one-to-many). Two candidates (a message's sender_id and recipient_id) need
            // foreign_keys(...), as SQLAlchemy's AmbiguousForeignKeysError says: guessing would
            // store both relationships in one column.
            auto own = foreign_keys_to(table_, other);
            auto theirs =
                me == other ? std::vector<int>{} : foreign_keys_to(rel.target->table(), me);
            if (!rel.foreign_key.empty()) {
                auto named = [&](const std::vector<int>& fks, const Table& t) {
                    return std::find_if(fks.begin(), fks.end(), [&](int c) {
                               return t.columns()[static_cast<std::size_t>(c)].name ==
                                      rel.foreign_key;
                           }) != fks.end();
                };
                const int in_own = table_.find(rel.foreign_key);
                const int in_theirs = rel.target->table().find(rel.foreign_key);
                if (named(own, table_)) {
                    own = {in_own};
                    theirs.clear();
                } else if (named(theirs, rel.target->table())) {
                    theirs = {in_theirs};
                    own.clear();
                } else {
                    throw UsageError(rel.qualified_name() + ": foreign_keys(\"" + rel.foreign_key +
                                     "\") names no column of " + me + " or " + other +
                                     " with a db::ForeignKey between the two");
                }
            }
            if (own.size() + theirs.size() > 1)
                throw UsageError(rel.qualified_name() + ": more than one foreign key joins " + me +
                                 " and " + other +
                                 "; name the one this relationship uses with "
                                 "db::foreign_keys(\"column\") (SQLAlchemy: "
                                 "AmbiguousForeignKeysError)");
            if (own.size() == 1) {
                rel.direction = Direction::many_to_one;
                rel.fk_column = own.front();
                if (rel.member_kind != MemberKind::scalar)
                    throw UsageError(rel.qualified_name() + ": " + me +
                                     " holds the foreign key, so this side is a One<T>");
                check_references_key(rel, table_, rel.fk_column, *rel.target);
            } else if (theirs.size() == 1) {
                rel.direction = Direction::one_to_many;
                rel.fk_column = theirs.front();
                check_references_key(rel, rel.target->table(), rel.fk_column, *this);
            } else {
                throw UsageError(rel.qualified_name() + ": no foreign key between " + me + " and " +
                                 other + " (add db::ForeignKey(\"" + other +
                                 ".id\") to a column, or a secondary table)");
            }
        }

        if (rel.backref_member) {
            auto back = std::make_unique<RelationshipInfo>();
            back->name = rel.backref_name;
            back->parent = rel.target;
            back->target = this;
            back->member = rel.backref_member;
            back->member_kind = rel.backref_kind;
            back->lazy = rel.backref_kind == MemberKind::dynamic ? Lazy::dynamic : Lazy::select;
            if (rel.backref_lazy) {
                if ((*rel.backref_lazy == Lazy::dynamic) !=
                    (rel.backref_kind == MemberKind::dynamic))
                    throw UsageError(back->qualified_name() +
                                     ": lazy='dynamic' goes with a Dynamic<T> member");
                back->lazy = *rel.backref_lazy;
            }
            back->secondary = rel.secondary;
            back->secondary_local = rel.secondary_remote;
            back->secondary_remote = rel.secondary_local;
            back->fk_column = rel.fk_column;
            back->direction = rel.direction == Direction::many_to_one   ? Direction::one_to_many
                              : rel.direction == Direction::one_to_many ? Direction::many_to_one
                                                                        : Direction::many_to_many;
            if (back->direction == Direction::many_to_one &&
                back->member_kind != MemberKind::scalar)
                throw UsageError(back->qualified_name() + ": " + other +
                                 " holds the foreign key, so this side is a One<T>");
            if (back->direction == Direction::many_to_many &&
                back->member_kind == MemberKind::scalar)
                throw UsageError(back->qualified_name() +
                                 ": a many-to-many relationship is a Many<T> or Dynamic<T>");
            back->backref = &rel;
            rel.backref = back.get();
            rel.target->relationships_.push_back(back.get());
            rel.owned_backref = std::move(back);
        } else if (rel.direction == Direction::one_to_many) {
            // The many-to-one side is where the foreign key is kept in step; without it there
            // would be nothing to write at flush.
            throw UsageError(rel.qualified_name() + ": declare a backref (the member on " + other +
                             " that holds the foreign key)");
        }
    }
    resolved_ = true;
}

Metadata::Metadata(std::vector<ModelInfo*> models) {
    static std::mutex resolving;
    {
        std::lock_guard lock(resolving);
        for (auto* m : models) m->resolve();
    }
    std::vector<const Table*> all;
    auto add = [&all](const Table* t) {
        for (auto* x : all)
            if (x == t)
                return;
            else if (x->name() == t->name())
                throw UsageError("two tables are called " + t->name());
        all.push_back(t);
    };
    for (auto* m : models) add(&m->table());
    for (auto* m : models)
        for (auto* r : m->relationships()) {
            if (std::find(models.begin(), models.end(), r->target) == models.end())
                throw UsageError(r->qualified_name() + " refers to " + r->target->name() +
                                 ", which is not in the metadata");
            if (r->secondary) add(r->secondary);
        }
    // Parents first, otherwise in the order given (Kahn's algorithm, stable).
    while (!all.empty()) {
        auto ready = std::find_if(all.begin(), all.end(), [&](const Table* t) {
            for (const auto& c : t->columns()) {
                if (!c.foreign_key || c.foreign_key->table == t->name()) continue;
                bool placed = std::any_of(tables_.begin(), tables_.end(), [&](const Table* p) {
                    return p->name() == c.foreign_key->table;
                });
                bool known = placed || std::any_of(all.begin(), all.end(), [&](const Table* p) {
                                 return p->name() == c.foreign_key->table;
                             });
                if (!known)
                    throw UsageError(t->name() + "." + c.name + " references table " +
                                     c.foreign_key->table + ", which is not in the metadata");
                if (!placed) return false;
            }
            return true;
        });
        if (ready == all.end()) throw UsageError("the tables' foreign keys form a cycle");
        tables_.push_back(*ready);
        all.erase(ready);
    }
    for (auto* t : tables_)
        for (auto* m : models)
            if (&m->table() == t) models_.push_back(m);
}

bool Metadata::contains(const ModelInfo& model) const {
    return std::find(models_.begin(), models_.end(), &model) != models_.end();
}

}  // namespace common::db

// Persistence: the INSERT/UPDATE/DELETE statements a flush executes, built by Table (schema.cpp,
// next to create_sql) and run with one cached prepared statement per shape.
#include "common/db/detail/members.hpp"
#include "common/db/session.hpp"

#include <algorithm>
#include <unordered_map>

namespace common::db {

using detail::column_name;
using detail::list_member;
using detail::scalar_member;

namespace {
/// Binds column i of an object, naming the column if its value cannot be stored (DataError).
void bind_column(const ModelInfo& model, int i, Statement& st, int position, const void* object) {
    try {
        model.access(i).bind(st, position, object);
    } catch (const DataError& e) {
        throw DataError(model.name() + "." + column_name(model.table(), i) + ": " + e.what());
    }
}

bool self_referential(const ModelInfo& model) {
    return std::any_of(model.relationships().begin(), model.relationships().end(),
                       [&](const RelationshipInfo* r) {
                           return r->direction == Direction::many_to_one && r->target == &model;
                       });
}
}  // namespace

/// The pending objects of a self-referential model (a node whose parent is a node), each
/// after the pending parent it was given, as SQLAlchemy's unit of work sorts them: the child's
/// INSERT needs the parent's key.
std::vector<ObjectState*> Session::parents_first(const ModelInfo& model,
                                                 const std::vector<ObjectState*>& pending) {
    // A depth-first walk with its own stack (a chain of a hundred thousand nodes must not
    // overflow the call stack): a node is placed once every pending parent it names is.
    std::vector<const RelationshipInfo*> parents;
    for (const auto* rel : model.relationships())
        if (rel->direction == Direction::many_to_one && rel->target == &model)
            parents.push_back(rel);
    auto pending_parent = [&](ObjectState* s, std::size_t i) -> ObjectState* {
        const auto& m = scalar_member(s, parents[i]);
        return m.changed_ && m.target_ && m.target_->status == Status::pending ? m.target_
                                                                               : nullptr;
    };
    enum class Mark : std::uint8_t { visiting, placed };
    std::unordered_map<const ObjectState*, Mark> marks;
    std::vector<ObjectState*> out;
    out.reserve(pending.size());
    std::vector<std::pair<ObjectState*, std::size_t>> stack;  // node, next parent to look at
    for (auto* root : pending) {
        if (root->status != Status::pending || marks.count(root)) continue;
        marks[root] = Mark::visiting;
        stack.emplace_back(root, 0);
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            if (next == parents.size()) {
                marks[node] = Mark::placed;
                out.push_back(node);
                stack.pop_back();
                continue;
            }
            ObjectState* parent = pending_parent(node, next++);
            if (!parent) continue;
            const auto it = marks.find(parent);
            if (it == marks.end()) {
                marks[parent] = Mark::visiting;
                stack.emplace_back(parent, 0);  // `node` and `next` are not used after this
            } else if (it->second == Mark::visiting) {
                throw UsageError(model.name() +
                                 ": pending objects are each other's parents (a "
                                 "cycle); flush one of them without its parent first");
            }
        }
    }
    return out;
}

void Session::flush_inserts(const ModelInfo& model, detail::StoreBase& store,
                            std::vector<ObjectState*>& inserted) {
    if (store.pending.empty()) return;
    const auto& t = model.table();
    const int pk = model.primary_key();
    const int n = static_cast<int>(t.columns().size());
    const auto& d = db_->dialect();
    // PostgreSQL hands the generated key back as the INSERT's one row (RETURNING id); SQLite
    // keeps it on the connection (last_insert_id), with no statement to run.
    const std::string returning = d.returning_key(t.columns()[static_cast<std::size_t>(pk)].name);
    const bool key_in_row = !returning.empty();
    auto insert_sql = [&](bool with_pk) {
        std::vector<int> columns;
        for (int i = 0; i < n; ++i)
            if (i != pk || with_pk) columns.push_back(i);
        return t.insert_sql(d, columns) + (with_pk ? "" : returning);
    };
    Statement* with_key = nullptr;
    Statement* without_key = nullptr;
    const auto ordered =
        self_referential(model) ? parents_first(model, store.pending) : std::vector<ObjectState*>{};
    // One prepared statement per shape, reused for every row: the batch inside one transaction.
    for (ObjectState* s : ordered.empty() ? store.pending : ordered) {
        if (s->status != Status::pending) continue;
        sync_foreign_keys(s);
        const std::int64_t id = model.access(pk).get_int(s->object).value_or(0);
        const bool explicit_key = id != 0;
        Statement*& st = explicit_key ? with_key : without_key;
        if (!st) st = &conn_->prepare(insert_sql(explicit_key));
        int position = 1;
        for (int i = 0; i < n; ++i)
            if (i != pk || explicit_key) bind_column(model, i, *st, position++, s->object);
        const bool row = st->step();
        if (explicit_key) {
            s->key = id;
        } else {
            if (key_in_row && !row)
                throw Error("the INSERT gave no generated key back: " + st->describe());
            s->key = key_in_row ? st->get_int(0) : conn_->last_insert_id();
            model.access(pk).set_int(s->object, s->key);
        }
        st->reset();
        if (s->snapshot) save_snapshot(*s);  // else taken at its first use: it equals the row now
        s->loaded = epochs_.expire;
        inserted.push_back(s);
    }
}

void Session::flush_updates(const ModelInfo& model, detail::StoreBase& store) {
    if (store.dirty.empty()) return;
    const auto& t = model.table();
    const int pk = model.primary_key();
    const int n = static_cast<int>(t.columns().size());
    const auto& d = db_->dialect();
    for (ObjectState* s : store.dirty) {
        if (s->status != Status::persistent || s->doomed || !s->changed) continue;
        // Only the changed columns, as SQLAlchemy writes them; one cached statement per set.
        Statement& st = conn_->prepare(t.update_sql(d, s->changed, pk));
        int position = 1;
        for (int i = 0; i < n; ++i)
            if (s->changed >> i & 1) bind_column(model, i, st, position++, s->object);
        st.bind(position, s->key);
        st.step();
        st.reset();
        if (conn_->changes() == 0)  // SQLAlchemy: "expected to update 1 row(s); 0 were matched"
            throw StaleDataError("UPDATE of " + t.name() + " id " + std::to_string(s->key) +
                                 " matched no row: it was deleted outside this session; "
                                 "rollback() and query it again");
        if (s->changed >> pk & 1) {  // the row has a new key: so has the identity map
            const auto key = *model.access(pk).get_int(s->object);
            tx_rekeyed_.emplace_back(s, s->key);
            store.identity.erase(s->key);
            s->key = key;
            store.identity.insert(key, s);
        }
    }
}

void Session::flush_associations() {
    struct Prepared {
        const Table* table;
        bool insert;
        Statement* st;
    };
    std::vector<Prepared> prepared;
    const auto& d = db_->dialect();
    // The same pair appended twice (from either side) is one row, as in SQLAlchemy: sort a
    // list of (table, pair) once and keep the first insert of each.
    struct Pair {
        const Table* table;
        ObjectState* first;
        ObjectState* second;
        std::size_t index;
        auto operator<=>(const Pair&) const = default;
    };
    std::vector<Pair> pairs;
    for (std::size_t i = 0; i < associations_.size(); ++i) {
        const auto& a = associations_[i];
        if (!a.insert) continue;
        const bool local_first = a.rel->secondary_local < a.rel->secondary_remote;
        pairs.push_back({a.rel->secondary, local_first ? a.owner : a.target,
                         local_first ? a.target : a.owner, i});
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<bool> repeated(associations_.size());
    for (std::size_t i = 1; i < pairs.size(); ++i)
        if (pairs[i].table == pairs[i - 1].table && pairs[i].first == pairs[i - 1].first &&
            pairs[i].second == pairs[i - 1].second)
            repeated[pairs[i].index] = true;
    for (std::size_t i = 0; i < associations_.size(); ++i) {
        const auto& a = associations_[i];
        if (repeated[i]) continue;
        if (a.owner->status == Status::deleted || a.target->status == Status::deleted) continue;
        if (a.owner->key == 0 || a.target->key == 0)
            throw UsageError(a.rel->qualified_name() +
                             ": an object in this association has no row");
        const Table& sec = *a.rel->secondary;
        // Columns in table order, so both sides of the relationship share one statement.
        const bool local_first = a.rel->secondary_local < a.rel->secondary_remote;
        const int c1 = local_first ? a.rel->secondary_local : a.rel->secondary_remote;
        const int c2 = local_first ? a.rel->secondary_remote : a.rel->secondary_local;
        auto it = std::find_if(prepared.begin(), prepared.end(), [&](const Prepared& p) {
            return p.table == &sec && p.insert == a.insert;
        });
        if (it == prepared.end()) {
            std::string sql = a.insert ? sec.insert_sql(d, {c1, c2}) : sec.delete_sql(d, {c1, c2});
            prepared.push_back({&sec, a.insert, &conn_->prepare(sql)});
            it = std::prev(prepared.end());
        }
        Statement& st = *it->st;
        st.bind(1, local_first ? a.owner->key : a.target->key);
        st.bind(2, local_first ? a.target->key : a.owner->key);
        st.step();
        st.reset();
        if (!a.insert && conn_->changes() == 0)
            throw StaleDataError("DELETE from " + sec.name() +
                                 " matched no row: " + a.rel->qualified_name() +
                                 ".remove() was given an object that was not in it");
        // The pair twice in the table (written outside this session, or appended twice to a
        // dynamic relationship): one remove() must not delete both. SQLAlchemy: "expected to
        // delete 1 row(s); Only 2 were matched".
        if (!a.insert && conn_->changes() > 1)
            throw StaleDataError("DELETE from " + sec.name() + " matched " +
                                 std::to_string(conn_->changes()) + " rows for one " +
                                 a.rel->qualified_name() +
                                 ".remove(): the pair is in the table more than once");
    }
}

void Session::flush_deletes(const ModelInfo& model, detail::StoreBase& store) {
    if (store.doomed.empty()) return;
    const auto& t = model.table();
    const auto& d = db_->dialect();
    for (ObjectState* s : store.doomed) {
        if (s->status != Status::persistent) continue;
        for (const auto* rel : model.relationships()) {
            if (rel->direction == Direction::many_to_many) {
                const Table& sec = *rel->secondary;
                Statement& st = conn_->prepare(sec.delete_sql(d, {rel->secondary_local}));
                st.bind(1, s->key);
                st.step();
                st.reset();
            } else if (rel->direction == Direction::one_to_many) {
                // As SQLAlchemy does by default: children lose their parent, they are not deleted.
                const auto& tt = rel->target->table();
                Statement& st = conn_->prepare(tt.set_null_sql(d, rel->fk_column));
                st.bind(1, s->key);
                st.step();
                st.reset();
                if (rel->target->id() < stores_.size() && stores_[rel->target->id()])
                    stores_[rel->target->id()]->for_each([&](ObjectState& child) {
                        // A child deleted in this flush keeps its values, as every deleted
                        // object does (its row goes in this flush too).
                        if ((child.status != Status::persistent &&
                             child.status != Status::pending) ||
                            child.doomed)
                            return;
                        auto& m = scalar_member(&child, rel->backref);
                        auto fkv = rel->target->access(rel->fk_column).get_int(child.object);
                        if ((m.loaded_ && m.target_ == s) || (!m.loaded_ && fkv == s->key)) {
                            // Given this parent in this very flush (a new child, or one moved
                            // here): nulling its key would drop what the code just assigned.
                            // SQLAlchemy on PostgreSQL fails on the foreign key; so do we.
                            const int fk = rel->fk_column;
                            if (child.status == Status::pending ||
                                (child.dirty && (child.changed >> fk & 1)))
                                throw IntegrityError(
                                    "FOREIGN KEY: " + rel->target->name() + " " +
                                        std::to_string(child.key) + " was given " + t.name() + " " +
                                        std::to_string(s->key) +
                                        " in the flush that deletes it; delete the child too, "
                                        "or give it another parent",
                                    rel->target->name() + "." +
                                        column_name(rel->target->table(), fk),
                                    "");
                            m.target_ = nullptr;
                            m.loaded_ = true;
                            rel->target->access(rel->fk_column).set_int(child.object, std::nullopt);
                            if (child.snapshot)
                                rel->target->access(rel->fk_column)
                                    .copy(child.snapshot, child.object);
                        }
                    });
            } else if (rel->backref && rel->backref->member_kind == MemberKind::list) {
                auto& m = scalar_member(s, rel);
                if (m.loaded_ && m.target_) {
                    auto& l = list_member(m.target_, rel->backref);
                    if (l.loaded_)
                        l.items_.erase(std::remove(l.items_.begin(), l.items_.end(), s),
                                       l.items_.end());
                }
            }
        }
        Statement& st = conn_->prepare(t.delete_sql(d, {model.primary_key()}));
        st.bind(1, s->key);
        st.step();
        st.reset();
        // A row someone else deleted first is gone either way: SQLAlchemy only warns ("expected
        // to delete 1 row(s); 0 were matched") and commits the rest of the unit of work.
    }
}

}  // namespace common::db

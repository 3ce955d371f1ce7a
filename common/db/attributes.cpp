// Attributes: loading rows into objects, expiry, relationships and their backrefs, and the
// history the flush reads (snapshots, watched objects, foreign keys to sync).
#include "common/db/detail/members.hpp"
#include "common/db/session.hpp"

#include <algorithm>

namespace common::db {

using detail::column_name;
using detail::list_member;
using detail::scalar_member;

namespace {
/// Removes one occurrence; false if there was none.
bool erase_one(std::vector<ObjectState*>& v, ObjectState* x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it == v.end()) return false;
    v.erase(it);
    return true;
}

/// Whether a Dynamic<T> member of `s` keeps its appended items in memory (in_memory_): while
/// it has no row, and while its row is this transaction's own, which a rollback() takes away.
bool keeps_items(const ObjectState* s) { return s->status != Status::persistent || s->new_in_tx; }

/// SQLAlchemy: "Instance has been deleted. Use the make_transient() function ...". Linked
/// anyway, the object's DELETE would drop the new pair (or its row) without a word.
void refuse_deleted(const RelationshipInfo* rel, const ObjectState* value) {
    if (value->status == Status::deleted || value->doomed)
        throw UsageError(rel->qualified_name() + ": the " + value->model->name() + " given " +
                         (value->doomed ? "is to be deleted at the next flush; add() it again "
                                          "first to take the delete back"
                                        : "has been deleted") +
                         " (SQLAlchemy: \"Instance has been deleted\")");
}
}  // namespace

// ---- relationship members: thin forwarding into the session -------------------------------

Session& RelationBase::session() const {
    if (!owner_)
        throw UsageError(
            "this relationship belongs to an object that is not in a session (a copy, or never "
            "added): use the handle session.add() returned");
    if (!owner_->session)
        throw UsageError(
            "this relationship belongs to a detached object: its session was closed "
            "(SQLAlchemy's DetachedInstanceError); query the object again in an open session");
    return *owner_->session;
}

ObjectState* ScalarBase::get_state() const { return session().scalar_get(*this); }
void ScalarBase::set_state(ObjectState* value) { session().scalar_set(*this, value); }
const std::vector<ObjectState*>& ListBase::items() const { return session().list_items(*this); }
void ListBase::append_state(ObjectState* value) { session().collection_append(*this, value); }
void ListBase::remove_state(ObjectState* value) { session().collection_remove(*this, value); }
void DynamicBase::append_state(ObjectState* value) { session().collection_append(*this, value); }
void DynamicBase::remove_state(ObjectState* value) { session().collection_remove(*this, value); }
void ListBase::replace_states(const std::vector<ObjectState*>& values) {
    session().collection_replace(*this, values);
}
void DynamicBase::replace_states(const std::vector<ObjectState*>& values) {
    session().collection_replace(*this, values);
}

QueryBase DynamicBase::make_query() const {
    Session& s = session();  // first: it throws UsageError while detached, when rel_ is null
    QueryBase q(s, *rel_->target);
    q.parent_rel_ = rel_;
    q.parent_ = owner_;
    return q;
}

// ---- loading, snapshots and expiry --------------------------------------------------------

ObjectState* Session::load_row(const ModelInfo& model, Statement& st, int first) {
    auto& s = store(model);
    const std::int64_t key = st.get_int(first + model.primary_key());
    if (ObjectState* found = s.identity.find(key)) {  // one object per row
        // An expired object takes the row's values (no SELECT of its own later); a current
        // one keeps its own, which may hold changes not flushed yet (autoflush off).
        if (found->status == Status::persistent && found->loaded != epochs_.expire) {
            read_columns(*found, st, first);
            reset_relationships(*found);
        }
        return found;
    }
    ObjectState* state = s.emplace();
    state->model = &model;
    state->session = this;
    state->epochs = &epochs_;
    state->key = key;
    state->status = Status::persistent;
    try {
        read_columns(*state, st, first);
    } catch (...) {
        // A value that does not fit (DataError): the slot stays, but as nobody's object.
        state->status = Status::transient;
        state->key = 0;
        throw;
    }
    attach(state);
    s.identity.insert(key, state);
    return state;
}

void Session::read_columns(ObjectState& state, Statement& st, int first) {
    const auto& model = *state.model;
    const int n = static_cast<int>(model.table().columns().size());
    int i = 0;
    try {
        for (; i < n; ++i) model.access(i).read(st, first + i, state.object);
    } catch (const DataError& e) {
        throw DataError(model.name() + "." + column_name(model.table(), i) + ": " + e.what());
    }
    if (state.snapshot) save_snapshot(state);  // else taken when first needed
    state.loaded = epochs_.expire;
    state.changed = 0;
}

void Session::save_snapshot(ObjectState& state) {
    const auto& model = *state.model;
    if (!state.snapshot) {
        state.snapshot = model.make_snapshot(state);
        return;
    }
    const int n = static_cast<int>(model.table().columns().size());
    for (int i = 0; i < n; ++i) model.access(i).copy(state.snapshot, state.object);
}

void ObjectState::notice_slow() { session->notice(*this); }

void Session::notice(ObjectState& state) {
    if (state.status == Status::persistent) {
        ensure_current(&state);  // may throw ObjectDeletedError: then it is not watched
        if (!state.snapshot) save_snapshot(state);  // before the caller can change it
        watched_.push_back(&state);
    }
    state.watched = epochs_.watch;
}

void Session::ensure_current(ObjectState* state) {
    // Expired by commit() or rollback(): one SELECT by primary key, as SQLAlchemy's
    // expire_on_commit does on the first attribute access.
    if (state && state->status == Status::persistent && state->loaded != epochs_.expire)
        refresh_state(state);
}

void Session::expire_all() {
    ++epochs_.expire;
    ++epochs_.watch;
    watched_.clear();
}

void Session::set_loaded(ObjectState* owner, const RelationshipInfo* rel, ObjectState* target) {
    auto& m = scalar_member(owner, rel);
    if (!m.loaded_) {
        m.target_ = target;
        m.loaded_ = true;
    }
}

void Session::refresh_state(ObjectState* state) {
    if (!state) throw UsageError("session.refresh(None)");
    check_mine(state);
    if (state->status == Status::deleted) throw_deleted(*state);
    if (state->status != Status::persistent)
        throw UsageError("refresh(): the object has no row yet (flush or commit first)");
    const auto& model = *state->model;
    const auto& t = model.table();
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < t.columns().size(); ++i)
        sql += (i ? ", " : "") + t.name() + "." + t.columns()[i].name;
    sql += " FROM " + t.name() + " WHERE " + t.name() + "." + column_name(t, model.primary_key()) +
           " = " + db_->dialect().placeholder(1);
    Statement& st = connection().prepare(sql);
    st.bind(1, state->key);
    if (!st.step()) {
        st.reset();
        state->status = Status::deleted;
        store(model).identity.erase(state->key);
        throw_deleted(*state);
    }
    read_columns(*state, st, 0);
    st.reset();
    reset_relationships(*state);
}

void Session::reset_relationships(ObjectState& state) {
    for (const auto* rel : state.model->relationships()) {
        if (rel->member_kind == MemberKind::scalar) {
            auto& m = scalar_member(&state, rel);
            m.target_ = nullptr;
            m.loaded_ = false;
            // An assignment not flushed is discarded with the rest (rollback(), refresh()):
            // left set, the next flush would write the now empty target as a NULL key.
            m.changed_ = false;
        } else if (rel->member_kind == MemberKind::list) {
            auto& m = list_member(&state, rel);
            m.items_.clear();
            m.loaded_ = false;
        }
    }
}

// ---- relationship semantics ---------------------------------------------------------------

ObjectState* Session::scalar_get(const ScalarBase& m) {
    ensure_current(m.owner_);
    if (m.loaded_) return m.target_;
    ObjectState* owner = m.owner_;
    const auto* rel = m.rel_;
    if (owner->status == Status::deleted) throw_deleted(*owner);
    ObjectState* target = nullptr;
    if (rel->direction == Direction::many_to_one) {
        if (auto fk = owner->model->access(rel->fk_column).get_int(owner->object))
            target = get_state(*rel->target, *fk);
    } else if (owner->status == Status::persistent) {
        // one-to-one seen from the side without the foreign key: the row pointing at us
        QueryBase q(*this, *rel->target);
        q.parent_rel_ = rel;
        q.parent_ = owner;
        target = q.fetch_first();
        if (target && rel->backref) set_loaded(target, rel->backref, owner);
    }
    m.target_ = target;
    m.loaded_ = true;
    return target;
}

void Session::scalar_set(ScalarBase& m, ObjectState* value) {
    check_mine(value);
    ensure_current(m.owner_);
    ensure_current(value);
    ObjectState* owner = m.owner_;
    const auto* rel = m.rel_;
    if (owner->status == Status::deleted) throw_deleted(*owner);
    if (value) refuse_deleted(rel, value);
    if (value && value->status == Status::transient) readd(value);  // save-update cascade
    if (rel->direction == Direction::many_to_one) {
        set_many_to_one(owner, rel, value);
        return;
    }
    // One-to-one from the side without the foreign key (uselist=False): the new owner's FK
    // will point at us, the previous one's is cleared — both at flush.
    ObjectState* old = scalar_get(m);
    if (old == value) return;
    if (old) set_many_to_one(old, rel->backref, nullptr);
    if (value) set_many_to_one(value, rel->backref, owner);
    m.target_ = value;
    m.loaded_ = true;
}

void Session::set_many_to_one(ObjectState* child, const RelationshipInfo* rel,
                              ObjectState* parent) {
    ensure_current(child);  // an expired child is read first, then changed (and written)
    ScalarBase& mem = scalar_member(child, rel);
    ObjectState* old = mem.target_;
    if (!mem.loaded_) {
        // Without loading anything: the old parent matters only if this session holds it.
        auto fk = child->model->access(rel->fk_column).get_int(child->object);
        old = fk ? store(*rel->target).identity.find(*fk) : nullptr;
    }
    if (mem.loaded_ && old == parent) return;
    if (const auto* back = rel->backref) {
        if (old && old != parent) {
            auto& bm = back->member->get(old->object);
            if (back->member_kind == MemberKind::list) {
                auto& l = static_cast<ListBase&>(bm);
                if (l.loaded_)
                    l.items_.erase(std::remove(l.items_.begin(), l.items_.end(), child),
                                   l.items_.end());
            } else if (back->member_kind == MemberKind::scalar) {
                auto& s = static_cast<ScalarBase&>(bm);
                if (s.loaded_ && s.target_ == child) s.target_ = nullptr;
            } else {
                erase_one(static_cast<DynamicBase&>(bm).in_memory_, child);
            }
        }
        if (parent && old != parent) {
            auto& bm = back->member->get(parent->object);
            if (back->member_kind == MemberKind::dynamic && keeps_items(parent)) {
                // A dynamic one-to-many of a parent without a row lists its children from
                // memory, as for many-to-many (SQLAlchemy's AppenderQuery of a pending object).
                auto& items = static_cast<DynamicBase&>(bm).in_memory_;
                if (std::find(items.begin(), items.end(), child) == items.end())
                    items.push_back(child);
            } else if (back->member_kind == MemberKind::list) {
                auto& l = static_cast<ListBase&>(bm);
                // A parent without a row has no other children than those in memory.
                if (!l.loaded_ && parent->status != Status::persistent) l.loaded_ = true;
                if (l.loaded_) l.items_.push_back(child);
            } else if (back->member_kind == MemberKind::scalar) {
                // one-to-one: whoever pointed at this parent before lets go of it
                auto& s = static_cast<ScalarBase&>(bm);
                ObjectState* previous = scalar_get(s);
                if (previous && previous != child) {
                    ensure_current(previous);
                    auto& pm = scalar_member(previous, rel);
                    pm.target_ = nullptr;
                    pm.loaded_ = true;
                    pm.changed_ = true;
                    mark_dirty(previous);
                }
                s.target_ = child;
                s.loaded_ = true;
            }
        }
    }
    mem.target_ = parent;
    mem.loaded_ = true;
    mem.changed_ = true;
    mark_dirty(child);
    if (parent && parent->status == Status::transient) readd(parent);
}

const std::vector<ObjectState*>& Session::list_items(const ListBase& m) {
    ensure_current(m.owner_);
    if (m.loaded_) return m.items_;
    ObjectState* owner = m.owner_;
    const auto* rel = m.rel_;
    if (owner->status == Status::deleted) throw_deleted(*owner);
    std::vector<ObjectState*> items;
    if (owner->status == Status::persistent) {
        QueryBase q(*this, *rel->target);
        q.parent_rel_ = rel;
        q.parent_ = owner;
        items = q.fetch();
        if (rel->direction == Direction::one_to_many)
            for (auto* t : items) set_loaded(t, rel->backref, owner);
    }
    m.items_ = std::move(items);
    m.loaded_ = true;
    return m.items_;
}

namespace {
/// `list.remove(x): x not in list`, as Python says it.
[[noreturn]] void not_in_list(const RelationshipInfo* rel) {
    throw UsageError(rel->qualified_name() +
                     ".remove(x): x is not in the collection (SQLAlchemy raises ValueError: "
                     "list.remove(x): x not in list)");
}
}  // namespace

void Session::collection_append(const RelationBase& member, ObjectState* value) {
    if (!value) throw UsageError("append(None)");
    check_mine(value);
    refuse_deleted(member.rel_, value);
    ensure_current(member.owner_);
    ensure_current(value);
    if (value->status == Status::transient) readd(value);
    const auto* rel = member.rel_;
    ObjectState* owner = member.owner_;
    if (rel->member_kind == MemberKind::list)
        list_items(static_cast<const ListBase&>(member));  // as SQLAlchemy: load, then append
    if (rel->direction == Direction::one_to_many) {
        set_many_to_one(value, rel->backref, owner);  // also appends to this list
        return;
    }
    // A dynamic relationship of an object without a row keeps its items in memory, so its
    // queries can show them before the flush (autoflush off).
    auto remember = [](const RelationBase& m, ObjectState* item) {
        auto& items = static_cast<const DynamicBase&>(m).in_memory_;
        if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
    };
    // A pair already in the loaded list has its row (or its pending INSERT): appending it again
    // shows twice in memory, as a Python list does, but writes nothing (as SQLAlchemy).
    bool listed = false;
    if (rel->member_kind == MemberKind::list) {
        auto& items = static_cast<const ListBase&>(member).items_;
        listed = std::find(items.begin(), items.end(), value) != items.end();
        items.push_back(value);
    } else if (keeps_items(owner)) {
        remember(member, value);
    }
    if (const auto* back = rel->backref) {
        if (back->member_kind == MemberKind::list) {
            auto& bl = list_member(value, back);
            if (!bl.loaded_ && value->status != Status::persistent) bl.loaded_ = true;
            if (bl.loaded_) bl.items_.push_back(owner);
        } else if (back->member_kind == MemberKind::dynamic && keeps_items(value)) {
            remember(back->member->get(value->object), owner);
        }
    }
    if (!listed) record_association(rel, owner, value, true);
}

void Session::collection_remove(const RelationBase& member, ObjectState* value) {
    if (!value) throw UsageError("remove(None)");
    check_mine(value);
    ensure_current(member.owner_);
    ensure_current(value);
    const auto* rel = member.rel_;
    ObjectState* owner = member.owner_;
    if (rel->member_kind == MemberKind::list) list_items(static_cast<const ListBase&>(member));
    if (rel->direction == Direction::one_to_many) {
        if (scalar_get(scalar_member(value, rel->backref)) != owner) not_in_list(rel);
        set_many_to_one(value, rel->backref, nullptr);
        return;
    }
    if (rel->member_kind == MemberKind::list) {
        if (!erase_one(static_cast<const ListBase&>(member).items_, value)) not_in_list(rel);
    } else if (keeps_items(owner)) {
        auto& items = static_cast<DynamicBase&>(rel->member->get(owner->object)).in_memory_;
        // (With a row, a non-member shows at the flush instead: StaleDataError, as below.)
        if (!erase_one(items, value) && owner->status != Status::persistent) not_in_list(rel);
    }
    // (A dynamic relationship of a persistent object is not loaded to check: as in SQLAlchemy,
    // a non-member shows at flush, where the DELETE finds no row: StaleDataError.)
    if (const auto* back = rel->backref) {
        auto& bm = back->member->get(value->object);
        if (back->member_kind == MemberKind::list) {
            auto& bl = static_cast<ListBase&>(bm);
            if (bl.loaded_) erase_one(bl.items_, owner);
        } else if (back->member_kind == MemberKind::dynamic) {
            erase_one(static_cast<DynamicBase&>(bm).in_memory_, owner);
        }
    }
    record_association(rel, owner, value, false);
}

void Session::collection_replace(const RelationBase& member,
                                 const std::vector<ObjectState*>& values) {
    // `a->books = {b1, b2}`: SQLAlchemy loads the old collection and turns the assignment into
    // the removes and appends that lead from it to the new one; so do we, through the same
    // functions, so backrefs, foreign keys and association rows follow.
    const auto* rel = member.rel_;
    // Every new item is checked first: a refused one (another session's, a deleted one) must
    // not leave the collection half replaced.
    for (auto* x : values) {
        check_mine(x);
        refuse_deleted(rel, x);
    }
    std::vector<ObjectState*> old;
    if (rel->member_kind == MemberKind::list) {
        old = list_items(static_cast<const ListBase&>(member));
    } else if (member.owner_->status == Status::persistent) {
        // What the database holds once this session's changes are in it: flushed even with
        // autoflush off (as update() does), or unflushed appends would be missed.
        flush();
        old = static_cast<const DynamicBase&>(member).make_query().fetch();
    } else {
        old = static_cast<const DynamicBase&>(member).in_memory_;
    }
    auto has = [](const std::vector<ObjectState*>& v, ObjectState* x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    std::vector<ObjectState*> removed;  // each once, though a list may hold it twice
    for (auto* x : old)
        if (!has(values, x) && !has(removed, x)) {
            collection_remove(member, x);
            removed.push_back(x);
        }
    for (auto* x : values)
        if (!has(old, x)) collection_append(member, x);
    if (rel->member_kind == MemberKind::list)  // in the order given, as a Python list would be
        static_cast<const ListBase&>(member).items_ = values;
}

void Session::record_association(const RelationshipInfo* rel, ObjectState* owner,
                                 ObjectState* target, bool insert) {
    if (!insert) {
        // Removing what was appended since the last flush just forgets the append.
        for (auto it = associations_.rbegin(); it != associations_.rend(); ++it) {
            bool same = (it->rel == rel && it->owner == owner && it->target == target) ||
                        (it->rel == rel->backref && it->owner == target && it->target == owner);
            if (same && it->insert) {
                associations_.erase(std::next(it).base());
                return;
            }
        }
    }
    // (An append repeated before the flush is recorded twice and written once: flush drops
    // the duplicates in one sort instead of searching this list at every append.)
    associations_.push_back({rel, owner, target, insert});
    has_changes_ = true;
}

// ---- history: what changed since the last flush ------------------------------------------

void Session::sync_foreign_keys(ObjectState* state, bool assigned_only) {
    for (const auto* rel : state->model->relationships()) {
        if (rel->direction != Direction::many_to_one) continue;
        auto& m = scalar_member(state, rel);
        const auto& fk_column = state->model->access(rel->fk_column);
        if (m.changed_) {  // `u->role = r` since the last flush: the relationship decides
            std::optional<std::int64_t> fk;
            if (m.target_) {
                if (m.target_->key == 0 && m.target_->status == Status::pending &&
                    state->status == Status::persistent) {
                    // `u->role = session.add(Role{...})` on a persistent user: the role gets
                    // its key from this flush's INSERTs, and the user's key is written after
                    // them (flush() calls this again). changed_ stays set until then.
                    if (std::find(fk_after_inserts_.begin(), fk_after_inserts_.end(), state) ==
                        fk_after_inserts_.end())
                        fk_after_inserts_.push_back(state);
                    continue;
                }
                if (m.target_->key == 0)
                    throw UsageError(
                        rel->qualified_name() + " refers to a " + rel->target->name() +
                        " object that has no row (discarded by rollback()? add it again)");
                fk = m.target_->key;
            }
            fk_column.set_int(state->object, fk);
            m.changed_ = false;
            continue;
        }
        // The relationship was only loaded, not assigned: if the FK column was assigned
        // (`u->role_id = b->id`), it wins, and the loaded relationship follows it. (Not in
        // flush's second pass: the columns it compares were written by the first.)
        if (assigned_only || !m.loaded_ || state->status != Status::persistent ||
            fk_column.equal(state->object, state->snapshot))
            continue;
        ObjectState* old = m.target_;
        m.target_ = nullptr;
        m.loaded_ = false;  // reloaded from the new key on the next access
        const auto* back = rel->backref;
        if (!back) continue;
        auto forget = [&](ObjectState* parent, bool add) {
            auto& bm = back->member->get(parent->object);
            if (back->member_kind == MemberKind::list) {
                auto& l = static_cast<ListBase&>(bm);
                if (!l.loaded_) return;
                erase_one(l.items_, state);
                if (add) l.items_.push_back(state);
            } else if (back->member_kind == MemberKind::scalar) {
                static_cast<ScalarBase&>(bm).loaded_ = false;
            }
        };
        if (old) forget(old, false);
        if (auto fk = fk_column.get_int(state->object))
            if (ObjectState* now = store(*rel->target).identity.find(*fk)) forget(now, true);
    }
}

std::uint64_t Session::changed_columns(const ObjectState& s) const {
    const auto& model = *s.model;
    const int n = static_cast<int>(model.table().columns().size());
    std::uint64_t changed = 0;
    const int pk = model.primary_key();
    for (int i = 0; i < n; ++i)
        if (i != pk && !model.access(i).equal(s.object, s.snapshot))
            changed |= std::uint64_t{1} << i;
    // A new primary key value is an UPDATE of the key, as in SQLAlchemy (compared with the
    // key the identity map knows, which is what the row has).
    if (const auto key = model.access(pk).get_int(s.object); key && *key != s.key)
        changed |= std::uint64_t{1} << pk;
    return changed;
}

void Session::find_changes() {
    // Compares the objects handed out since the last flush (and those whose relationships
    // changed) with their snapshots; only they can have changed through a handle.
    auto check = [this](ObjectState* s) {
        if (s->status != Status::persistent || s->doomed || s->loaded != epochs_.expire) return;
        const auto deferred = fk_after_inserts_.size();
        sync_foreign_keys(s);
        s->changed = changed_columns(*s);
        // Dirty also when only a key waits for this flush's INSERTs (sync_foreign_keys above).
        if (s->changed || fk_after_inserts_.size() != deferred) mark_dirty(s);
    };
    // By index: check() may create a store (stores_ grows), and dirty lists stay put.
    for (std::size_t k = 0; k < stores_.size(); ++k)
        if (auto* sp = stores_[k].get())
            for (std::size_t i = 0; i < sp->dirty.size(); ++i) check(sp->dirty[i]);
    for (auto* s : watched_)
        if (!s->dirty) check(s);  // dirty ones were checked above
    watched_.clear();
    ++epochs_.watch;
}

}  // namespace common::db

#include "common/db/session.hpp"

#include <algorithm>

namespace common::db {

namespace {

ScalarBase& scalar_member(ObjectState* s, const RelationshipInfo* r) {
    return static_cast<ScalarBase&>(r->member->get(s->object));
}
ListBase& list_member(ObjectState* s, const RelationshipInfo* r) {
    return static_cast<ListBase&>(r->member->get(s->object));
}
const std::string& column_name(const Table& t, int i) {
    return t.columns()[static_cast<std::size_t>(i)].name;
}

}  // namespace

// ---- relationship members: thin forwarding into the session -------------------------------

Session& RelationBase::session() const {
    if (!owner_)
        throw UsageError(
            "this relationship belongs to an object that is not in a session (a copy, or never "
            "added): use the handle session.add() returned");
    return *owner_->session;
}

ObjectState* ScalarBase::get_state() const { return session().scalar_get(*this); }
void ScalarBase::set_state(ObjectState* value) { session().scalar_set(*this, value); }
const std::vector<ObjectState*>& ListBase::items() const { return session().list_items(*this); }
void ListBase::append_state(ObjectState* value) { session().collection_append(*this, value); }
void ListBase::remove_state(ObjectState* value) { session().collection_remove(*this, value); }
void DynamicBase::append_state(ObjectState* value) { session().collection_append(*this, value); }
void DynamicBase::remove_state(ObjectState* value) { session().collection_remove(*this, value); }

QueryBase DynamicBase::make_query() const {
    Session& s = session();  // first: it throws UsageError while detached, when rel_ is null
    QueryBase q(s, *rel_->target);
    q.parent_rel_ = rel_;
    q.parent_ = owner_;
    return q;
}

// ---- lifetime -----------------------------------------------------------------------------

Session::Session(Database& database) : db_(&database) {}

Session::~Session() {
    try {
        close();
    } catch (...) {  // a destructor must not throw; close() already did what it could
    }
}

void Session::close() {
    if (conn_ && conn_->in_transaction() && (own_tx_ || needs_rollback_))
        conn_->execute("ROLLBACK");
    release_connection();
    needs_rollback_ = has_changes_ = false;
    associations_.clear();
    tx_inserted_.clear();
    tx_deleted_.clear();
    watched_.clear();
    stores_.clear();
}

void Session::release_connection() {
    in_tx_ = own_tx_ = false;
    if (writing_.owns_lock()) writing_.unlock();
    conn_.reset();
}

// The transaction begins at the first write, not the first read, as Python's sqlite3 module
// (and so Flask-SQLAlchemy on SQLite) does: a session that reads, then writes, holds no read
// snapshot that a concurrent writer could invalidate ("database is locked" at once under load).
Connection& Session::connection() {
    check_usable();
    if (!conn_) conn_ = db_->acquire();
    return *conn_;
}

Connection& Session::write_connection() {
    connection();
    if (!in_tx_) {
        own_tx_ = !conn_->in_transaction();  // in memory, another session may have begun it
        if (own_tx_) {
            // An in-memory database is one shared connection: its sessions share one
            // transaction, so they must not wait for each other.
            if (!db_->dialect().in_memory()) {
                writing_ = std::unique_lock(db_->writer(), std::defer_lock);
                if (!writing_.try_lock_for(std::chrono::seconds(5)))
                    throw Error(
                        "database is locked: another session of this program kept a write "
                        "transaction open "
                        "for 5 s; commit, roll back or close sessions when their work is done");
            }
            conn_->execute(db_->dialect().begin_write());
        }
        in_tx_ = true;
    }
    return *conn_;
}

void Session::check_usable() const {
    if (needs_rollback_)
        throw PendingRollbackError(
            "this session's transaction was rolled back after an error during flush; call "
            "session.rollback() before using it again");
}

void Session::check_mine(const ObjectState* state) const {
    if (state && state->session != this) throw UsageError("the object belongs to another session");
}

StoreBase& Session::store(const ModelInfo& model) {
    auto id = model.id();
    if (id >= stores_.size()) stores_.resize(id + 1);
    if (!stores_[id]) {
        if (!db_->metadata().contains(model))
            throw UsageError("model " + model.name() + " is not in the metadata of " + db_->uri());
        stores_[id] = model.make_store();
    }
    return *stores_[id];
}

// ---- objects entering the session ---------------------------------------------------------

void Session::attach(ObjectState* state) {
    for (const auto* rel : state->model->relationships()) {
        auto& m = rel->member->get(state->object);
        m.owner_ = state;
        m.rel_ = rel;
    }
}

void Session::enter(ObjectState* state, const ModelInfo& model) {
    state->model = &model;
    state->session = this;
    state->epochs = &epochs_;
    state->status = Status::pending;
    attach(state);
    store(model).pending.push_back(state);
    has_changes_ = true;
}

void Session::readd(ObjectState* state) {
    if (!state) throw UsageError("session.add(None)");
    check_mine(state);
    switch (state->status) {
        case Status::transient:
            state->status = Status::pending;
            store(*state->model).pending.push_back(state);
            has_changes_ = true;
            break;
        case Status::persistent: mark_dirty(state); break;
        case Status::pending: break;
        case Status::deleted: throw_deleted(*state);
    }
}

void Session::doom(ObjectState* state) {
    if (!state) throw UsageError("session.delete_(None)");
    check_mine(state);
    auto& st = store(*state->model);
    if (state->status == Status::pending) {
        st.pending.erase(std::remove(st.pending.begin(), st.pending.end(), state),
                         st.pending.end());
        state->status = Status::transient;
    } else if (state->status == Status::persistent && !state->doomed) {
        state->doomed = true;
        st.doomed.push_back(state);
        has_changes_ = true;
    }
}

void Session::mark_dirty(ObjectState* state) {
    if (state->status == Status::persistent && !state->dirty) {
        state->dirty = true;
        store(*state->model).dirty.push_back(state);
        has_changes_ = true;
    }
}

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
    read_columns(*state, st, first);
    attach(state);
    s.identity.insert(key, state);
    return state;
}

void Session::read_columns(ObjectState& state, Statement& st, int first) {
    const auto& model = *state.model;
    const int n = static_cast<int>(model.table().columns().size());
    for (int i = 0; i < n; ++i) model.access(i).read(st, first + i, state.object);
    save_snapshot(state);
    state.loaded = epochs_.expire;
    state.changed = 0;
}

void Session::save_snapshot(ObjectState& state) {
    const auto& model = *state.model;
    const int n = static_cast<int>(model.table().columns().size());
    for (int i = 0; i < n; ++i) model.access(i).copy(state.snapshot, state.object);
}

void ObjectState::notice_slow() { session->notice(*this); }

void Session::notice(ObjectState& state) {
    if (state.status == Status::persistent) {
        ensure_current(&state);  // may throw ObjectDeletedError: then it is not watched
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

void Session::autoflush_now() {
    if (autoflush && !flushing_ && (has_changes_ || !watched_.empty())) flush();
}

ObjectState* Session::get_state(const ModelInfo& model, std::int64_t id) {
    if (ObjectState* s = store(model).identity.find(id)) return s->doomed ? nullptr : s;
    QueryBase q(*this, model);
    q.add_filter_by(column_name(model.table(), model.primary_key()), id);
    return q.fetch_first();
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
            }
        }
        if (parent && old != parent) {
            auto& bm = back->member->get(parent->object);
            if (back->member_kind == MemberKind::list) {
                auto& l = static_cast<ListBase&>(bm);
                // A parent without a row has no other children than those in memory.
                if (!l.loaded_ && parent->status != Status::persistent) l.loaded_ = true;
                if (l.loaded_) l.items_.push_back(child);
            } else if (back->member_kind == MemberKind::scalar) {
                // one-to-one: whoever pointed at this parent before lets go of it
                auto& s = static_cast<ScalarBase&>(bm);
                ObjectState* previous = scalar_get(s);
                if (previous && previous != child) {
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
/// Removes one occurrence; false if there was none.
bool erase_one(std::vector<ObjectState*>& v, ObjectState* x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it == v.end()) return false;
    v.erase(it);
    return true;
}
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
    if (rel->member_kind == MemberKind::list)
        static_cast<const ListBase&>(member).items_.push_back(value);
    else if (owner->status != Status::persistent)
        remember(member, value);
    if (const auto* back = rel->backref) {
        if (back->member_kind == MemberKind::list) {
            auto& bl = list_member(value, back);
            if (!bl.loaded_ && value->status != Status::persistent) bl.loaded_ = true;
            if (bl.loaded_) bl.items_.push_back(owner);
        } else if (back->member_kind == MemberKind::dynamic &&
                   value->status != Status::persistent) {
            remember(back->member->get(value->object), owner);
        }
    }
    record_association(rel, owner, value, true);
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
    } else if (owner->status != Status::persistent) {
        auto& items = static_cast<DynamicBase&>(rel->member->get(owner->object)).in_memory_;
        if (!erase_one(items, value)) not_in_list(rel);
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

// ---- flush --------------------------------------------------------------------------------

void Session::sync_foreign_keys(ObjectState* state) {
    for (const auto* rel : state->model->relationships()) {
        if (rel->direction != Direction::many_to_one) continue;
        auto& m = scalar_member(state, rel);
        const auto& fk_column = state->model->access(rel->fk_column);
        if (m.changed_) {  // `u->role = r` since the last flush: the relationship decides
            std::optional<std::int64_t> fk;
            if (m.target_) {
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
        // (`u->role_id = b->id`), it wins, and the loaded relationship follows it.
        if (!m.loaded_ || state->status != Status::persistent ||
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

void Session::find_changes() {
    // Compares the objects handed out since the last flush (and those whose relationships
    // changed) with their snapshots; only they can have changed through a handle.
    auto check = [this](ObjectState* s) {
        if (s->status != Status::persistent || s->doomed || s->loaded != epochs_.expire) return;
        sync_foreign_keys(s);
        const auto& model = *s->model;
        const int n = static_cast<int>(model.table().columns().size());
        std::uint64_t changed = 0;
        for (int i = 0; i < n; ++i)
            if (i != model.primary_key() && !model.access(i).equal(s->object, s->snapshot))
                changed |= std::uint64_t{1} << i;
        s->changed = changed;
        if (changed) mark_dirty(s);
    };
    for (auto& sp : stores_)
        if (sp)
            for (std::size_t i = 0; i < sp->dirty.size(); ++i) check(sp->dirty[i]);
    for (auto* s : watched_)
        if (!s->dirty) check(s);  // dirty ones were checked above
    watched_.clear();
    ++epochs_.watch;
}

void Session::flush_inserts(const ModelInfo& model, StoreBase& store,
                            std::vector<ObjectState*>& inserted) {
    if (store.pending.empty()) return;
    const auto& t = model.table();
    const int pk = model.primary_key();
    const int n = static_cast<int>(t.columns().size());
    const auto& d = db_->dialect();
    auto insert_sql = [&](bool with_pk) {
        std::string cols, marks;
        int p = 0;
        for (int i = 0; i < n; ++i) {
            if (i == pk && !with_pk) continue;
            cols += (p ? ", " : "") + column_name(t, i);
            marks += (p ? ", " : "") + d.placeholder(p + 1);
            ++p;
        }
        return "INSERT INTO " + t.name() + " (" + cols + ") VALUES (" + marks + ")";
    };
    Statement* with_key = nullptr;
    Statement* without_key = nullptr;
    // One prepared statement per shape, reused for every row: the batch inside one transaction.
    for (ObjectState* s : store.pending) {
        if (s->status != Status::pending) continue;
        sync_foreign_keys(s);
        const std::int64_t id = model.access(pk).get_int(s->object).value_or(0);
        const bool explicit_key = id != 0;
        Statement*& st = explicit_key ? with_key : without_key;
        if (!st) st = &conn_->prepare(insert_sql(explicit_key));
        int position = 1;
        for (int i = 0; i < n; ++i)
            if (i != pk || explicit_key) model.access(i).bind(*st, position++, s->object);
        st->step();
        st->reset();
        if (explicit_key) {
            s->key = id;
        } else {
            s->key = conn_->last_insert_id();
            model.access(pk).set_int(s->object, s->key);
        }
        save_snapshot(*s);
        s->loaded = epochs_.expire;
        inserted.push_back(s);
    }
}

void Session::flush_updates(const ModelInfo& model, StoreBase& store) {
    if (store.dirty.empty()) return;
    const auto& t = model.table();
    const int pk = model.primary_key();
    const int n = static_cast<int>(t.columns().size());
    const auto& d = db_->dialect();
    for (ObjectState* s : store.dirty) {
        if (s->status != Status::persistent || s->doomed || !s->changed) continue;
        // Only the changed columns, as SQLAlchemy writes them; one cached statement per set.
        std::string sql = "UPDATE " + t.name() + " SET ";
        int p = 0;
        for (int i = 0; i < n; ++i)
            if (s->changed >> i & 1) {
                sql += (p ? ", " : "") + column_name(t, i) + "=" + d.placeholder(p + 1);
                ++p;
            }
        sql += " WHERE " + t.name() + "." + column_name(t, pk) + " = " + d.placeholder(p + 1);
        Statement& st = conn_->prepare(sql);
        int position = 1;
        for (int i = 0; i < n; ++i)
            if (s->changed >> i & 1) model.access(i).bind(st, position++, s->object);
        st.bind(position, s->key);
        st.step();
        st.reset();
        if (conn_->changes() == 0)
            throw ObjectDeletedError("UPDATE of " + t.name() + " id " + std::to_string(s->key) +
                                     " matched no row: it was deleted outside this session; "
                                     "rollback() and query it again");
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
            std::string sql = a.insert ? "INSERT INTO " + sec.name() + " (" + column_name(sec, c1) +
                                             ", " + column_name(sec, c2) + ") VALUES (" +
                                             d.placeholder(1) + ", " + d.placeholder(2) + ")"
                                       : "DELETE FROM " + sec.name() + " WHERE " + sec.name() +
                                             "." + column_name(sec, c1) + " = " + d.placeholder(1) +
                                             " AND " + sec.name() + "." + column_name(sec, c2) +
                                             " = " + d.placeholder(2);
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
    }
}

void Session::flush_deletes(const ModelInfo& model, StoreBase& store) {
    if (store.doomed.empty()) return;
    const auto& t = model.table();
    const auto& d = db_->dialect();
    for (ObjectState* s : store.doomed) {
        if (s->status != Status::persistent) continue;
        for (const auto* rel : model.relationships()) {
            if (rel->direction == Direction::many_to_many) {
                const Table& sec = *rel->secondary;
                Statement& st = conn_->prepare(
                    "DELETE FROM " + sec.name() + " WHERE " + sec.name() + "." +
                    column_name(sec, rel->secondary_local) + " = " + d.placeholder(1));
                st.bind(1, s->key);
                st.step();
                st.reset();
            } else if (rel->direction == Direction::one_to_many) {
                // As SQLAlchemy does by default: children lose their parent, they are not deleted.
                const auto& tt = rel->target->table();
                const auto& fk = column_name(tt, rel->fk_column);
                Statement& st =
                    conn_->prepare("UPDATE " + tt.name() + " SET " + fk + "=NULL WHERE " +
                                   tt.name() + "." + fk + " = " + d.placeholder(1));
                st.bind(1, s->key);
                st.step();
                st.reset();
                if (rel->target->id() < stores_.size() && stores_[rel->target->id()])
                    stores_[rel->target->id()]->for_each([&](ObjectState& child) {
                        if (child.status != Status::persistent && child.status != Status::pending)
                            return;
                        auto& m = scalar_member(&child, rel->backref);
                        auto fkv = rel->target->access(rel->fk_column).get_int(child.object);
                        if ((m.loaded_ && m.target_ == s) || (!m.loaded_ && fkv == s->key)) {
                            m.target_ = nullptr;
                            m.loaded_ = true;
                            rel->target->access(rel->fk_column).set_int(child.object, std::nullopt);
                            rel->target->access(rel->fk_column).copy(child.snapshot, child.object);
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
        Statement& st =
            conn_->prepare("DELETE FROM " + t.name() + " WHERE " + t.name() + "." +
                           column_name(t, model.primary_key()) + " = " + d.placeholder(1));
        st.bind(1, s->key);
        st.step();
        st.reset();
        if (conn_->changes() == 0)
            throw ObjectDeletedError(
                "DELETE of " + t.name() + " id " + std::to_string(s->key) +
                " matched no row: it was already deleted outside this session");
    }
}

void Session::flush() {
    check_usable();
    if (flushing_) return;
    find_changes();
    if (!has_changes_) return;  // nothing to write: no write transaction either
    flushing_ = true;
    std::vector<ObjectState*> inserted;
    const auto& models = db_->metadata().models();
    auto existing = [this](const ModelInfo* m) -> StoreBase* {
        return m->id() < stores_.size() ? stores_[m->id()].get() : nullptr;
    };
    try {
        write_connection();
        for (auto* m : models)  // parents first, so children can take their keys
            if (auto* s = existing(m)) flush_inserts(*m, *s, inserted);
        for (auto* m : models)
            if (auto* s = existing(m)) flush_updates(*m, *s);
        flush_associations();
        for (auto it = models.rbegin(); it != models.rend(); ++it)
            if (auto* s = existing(*it)) flush_deletes(**it, *s);
    } catch (...) {
        // The database forgets the whole transaction. The objects keep the primary keys it
        // gave them, as in SQLAlchemy (the session forgets them at rollback()).
        for (auto* s : inserted) s->key = 0;
        try {
            if (conn_ && conn_->in_transaction()) conn_->execute("ROLLBACK");
        } catch (...) {  // the original error is the one worth reporting
        }
        in_tx_ = false;
        if (writing_.owns_lock()) writing_.unlock();
        needs_rollback_ = true;
        flushing_ = false;
        throw;
    }
    for (auto& sp : stores_) {
        if (!sp) continue;
        for (auto* p : sp->pending)
            if (p->status == Status::pending) {
                p->status = Status::persistent;
                sp->identity.insert(p->key, p);
                tx_inserted_.push_back(p);
            }
        sp->pending.clear();
        for (auto* x : sp->dirty) {
            x->dirty = false;
            if (x->changed) save_snapshot(*x);
            x->changed = 0;
        }
        sp->dirty.clear();
        for (auto* x : sp->doomed) {
            x->doomed = false;
            if (x->status != Status::persistent) continue;
            x->status = Status::deleted;
            sp->identity.erase(x->key);
            tx_deleted_.push_back(x);
        }
        sp->doomed.clear();
    }
    associations_.clear();
    has_changes_ = false;
    flushing_ = false;
}

void Session::commit() {
    flush();
    if (conn_ && in_tx_ && own_tx_ && conn_->in_transaction()) conn_->execute("COMMIT");
    tx_inserted_.clear();
    tx_deleted_.clear();
    release_connection();
    expire_all();
}

void Session::rollback() {
    if (conn_ && conn_->in_transaction() && (own_tx_ || needs_rollback_))
        conn_->execute("ROLLBACK");
    release_connection();
    needs_rollback_ = false;
    // What the rolled-back transaction inserted, and what was never flushed, leaves the
    // session (SQLAlchemy expunges it; the object keeps its primary key value).
    auto expunge = [](ObjectState* s) {
        s->status = Status::transient;
        s->key = 0;
    };
    for (auto* s : tx_inserted_) {
        if (s->status != Status::persistent) continue;
        store(*s->model).identity.erase(s->key);
        expunge(s);
    }
    for (auto& sp : stores_) {
        if (!sp) continue;
        for (auto* p : sp->pending) expunge(p);
        sp->pending.clear();
        for (auto* x : sp->dirty) {
            x->dirty = false;
            x->changed = 0;
        }
        sp->dirty.clear();
        for (auto* x : sp->doomed) x->doomed = false;
        sp->doomed.clear();
    }
    for (auto* s : tx_deleted_) {  // the rows are back
        s->status = Status::persistent;
        store(*s->model).identity.insert(s->key, s);
    }
    associations_.clear();
    tx_inserted_.clear();
    tx_deleted_.clear();
    has_changes_ = false;
    // Every persistent object is expired: its next use re-reads the row, so changes made in
    // memory or in the rolled-back transaction are gone, and loaded relationships that may
    // mention discarded objects are reloaded.
    expire_all();
}

}  // namespace common::db

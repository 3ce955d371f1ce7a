// The session's API and transactions: lifetime, connections, objects entering and leaving,
// get(), and the flush/commit/rollback that drive attributes.cpp and persistence.cpp.
#include "common/db/session.hpp"
#include "common/db/detail/members.hpp"

#include <algorithm>
#include <exception>

namespace common::db {

using detail::column_name;
using detail::dynamic_member;
using detail::list_member;
using detail::scalar_member;

// ---- lifetime -----------------------------------------------------------------------------

Session::Session(Database& database) : db_(&database) {}

Session::~Session() {
    try {
        close();
    } catch (...) {  // a destructor must not throw; close() already did what it could
    }
}

void Session::close() {
    std::exception_ptr rollback_failed;
    try {
        if (conn_ && conn_->in_transaction() && (own_tx_ || needs_rollback_))
            conn_->execute("ROLLBACK");
    } catch (...) {  // a lost connection: everything below must happen anyway
        rollback_failed = std::current_exception();
    }
    release_connection();
    needs_rollback_ = has_changes_ = false;
    associations_.clear();
    tx_inserted_.clear();
    tx_deleted_.clear();
    tx_rekeyed_.clear();
    watched_.clear();
    fk_after_inserts_.clear();
    // The objects become detached, as SQLAlchemy's close() leaves them: their values stay
    // readable, changes to them are never written, and their relationships no longer load.
    // Their storage lives until the session is destroyed, so a handle kept across close()
    // can never reach an object loaded afterwards (and write that object's row).
    for (auto& sp : stores_) {
        if (!sp) continue;
        sp->for_each([](ObjectState& state) {
            state.session = nullptr;
            state.epochs = nullptr;
        });
        closed_.push_back(std::move(sp));
    }
    stores_.clear();
    if (rollback_failed) std::rethrow_exception(rollback_failed);
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
    check_transaction_alive();
    if (!in_tx_) {
        own_tx_ = !conn_->in_transaction();  // in memory, another session may have begun it
        if (own_tx_) {
            // An in-memory database is one shared connection: its sessions share one
            // transaction, so they must not wait for each other. Only an engine with one
            // writer at a time (SQLite) needs the queue at all.
            if (db_->dialect().one_writer_at_a_time() && !db_->dialect().in_memory()) {
                writing_ = std::unique_lock(db_->writer(), std::defer_lock);
                if (!writing_.try_lock_for(std::chrono::seconds(5)))
                    throw OperationalError(
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

// A transaction this session began can end without its COMMIT: the connection broke (a
// server restart, a failover, pg_terminate_backend) or SQLite rolled it back itself after an
// I/O error. What was flushed since BEGIN is gone. Writing on would run outside any
// transaction, one statement at a time, and a quiet commit() would report the lost rows
// stored; SQLAlchemy refuses the same way ("Can't reconnect until invalid transaction is
// rolled back").
void Session::check_transaction_alive() {
    if (!conn_ || !in_tx_ || !own_tx_ || conn_->in_transaction()) return;
    in_tx_ = false;
    if (writing_.owns_lock()) writing_.unlock();
    needs_rollback_ = true;
    throw OperationalError(
        "this session's transaction ended without a COMMIT (the connection to the database was "
        "lost, or the database rolled it back after an error): nothing it flushed is stored; "
        "call session.rollback(), then run the unit of work again");
}

void Session::check_usable() const {
    if (needs_rollback_)
        throw PendingRollbackError(
            "this session's transaction was rolled back after an error during flush; call "
            "session.rollback() before using it again");
}

void Session::check_mine(const ObjectState* state) const {
    if (state && !state->session)
        throw UsageError("the object is detached: its session was closed (SQLAlchemy's "
                         "DetachedInstanceError); query it again in an open session");
    if (state && state->session != this) throw UsageError("the object belongs to another session");
}

detail::StoreBase& Session::store(const ModelInfo& model) {
    auto id = model.id();
    if (id >= stores_.size()) stores_.resize(id + 1);
    if (!stores_[id]) {
        if (!db_->metadata().contains(model))
            throw UsageError("model " + model.name() + " is not in the metadata of " +
                             uri_for_display(db_->uri()));
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
            cascade_readd(state);
            break;
        case Status::persistent:
            // add() after delete_(), before the flush, takes the delete back (SQLAlchemy's
            // add() does the same); the row stays.
            if (state->doomed) {
                auto& doomed = store(*state->model).doomed;
                doomed.erase(std::remove(doomed.begin(), doomed.end(), state), doomed.end());
                state->doomed = false;
            }
            mark_dirty(state);
            break;
        case Status::pending: break;
        case Status::deleted: throw_deleted(*state);
    }
}

void Session::cascade_readd(ObjectState* state) {
    // What rollback() discarded along with `state` comes back with it, as SQLAlchemy's
    // save-update cascade does: a user's new role, a student's new classes. Pairs of a
    // many-to-many list have no row (their owner had none), so they are written again.
    for (const auto* rel : state->model->relationships()) {
        std::vector<ObjectState*> reached;
        if (rel->member_kind == MemberKind::scalar) {
            const auto& m = scalar_member(state, rel);
            if (m.loaded_ && m.target_) reached.push_back(m.target_);
        } else if (rel->member_kind == MemberKind::list) {
            const auto& m = list_member(state, rel);
            if (m.loaded_) reached = m.items_;
        } else {
            reached = dynamic_member(state, rel).in_memory_;
        }
        for (auto* other : reached) {
            if (other->status == Status::transient) readd(other);
            if (rel->direction == Direction::many_to_many)
                record_association(rel, state, other, true);
        }
    }
}

void Session::doom(ObjectState* state) {
    if (!state) throw UsageError("session.delete_(None)");
    check_mine(state);
    switch (state->status) {
        case Status::pending:
        case Status::transient:
            // SQLAlchemy: InvalidRequestError, "Instance is not persisted".
            throw UsageError(
                "session.delete_(): this object has no row in " + state->model->name() +
                " to delete (" +
                (state->status == Status::pending
                     ? "it is pending: added but not flushed; flush first, or roll back to "
                       "discard it"
                     : "it is not in the session: never added, or discarded by rollback()") +
                ")");
        case Status::deleted: return;  // already deleted: nothing more to do, as in SQLAlchemy
        case Status::persistent:
            if (state->doomed) return;
            // Load an expired object now, so that after the DELETE its values are the row's
            // (SQLAlchemy loads them at the flush). A row someone else deleted first leaves
            // nothing to do: SQLAlchemy's flush only warns about it.
            try {
                ensure_current(state);
            } catch (const ObjectDeletedError&) {
                return;
            }
            state->doomed = true;
            store(*state->model).doomed.push_back(state);
            has_changes_ = true;
    }
}

void Session::mark_dirty(ObjectState* state) {
    if (state->status == Status::persistent && !state->dirty) {
        if (!state->snapshot) save_snapshot(*state);  // columns still as loaded here
        state->dirty = true;
        store(*state->model).dirty.push_back(state);
        has_changes_ = true;
    }
}

void Session::autoflush_now() {
    if (autoflush && !flushing_ && (has_changes_ || !watched_.empty())) flush();
}

ObjectState* Session::get_state(const ModelInfo& model, std::int64_t id) {
    // Deleted but not flushed yet: still the session's object, as SQLAlchemy's get() says.
    if (ObjectState* s = store(model).identity.find(id)) {
        // Expired by a commit: SQLAlchemy's get() reloads it, and gives None when the row was
        // deleted meanwhile by someone else (so `if (!u) abort(404)` stays a 404).
        if (s->status == Status::persistent && !s->doomed && s->loaded != epochs_.expire) {
            try {
                refresh_state(s);
            } catch (const ObjectDeletedError&) {
                return nullptr;
            }
        }
        return s;
    }
    QueryBase q(*this, model);
    q.add_filter_by(column_name(model.table(), model.primary_key()), id);
    return q.fetch_first();
}

void Session::flush() {
    check_usable();
    if (flushing_) return;
    find_changes();
    if (!has_changes_) return;  // nothing to write: no write transaction either
    flushing_ = true;
    std::vector<ObjectState*> inserted;
    const auto& models = db_->metadata().models();
    auto existing = [this](const ModelInfo* m) -> detail::StoreBase* {
        return m->id() < stores_.size() ? stores_[m->id()].get() : nullptr;
    };
    try {
        write_connection();
        for (auto* m : models)  // parents first, so children can take their keys
            if (auto* s = existing(m)) flush_inserts(*m, *s, inserted);
        if (!fk_after_inserts_.empty()) {  // persistent children of parents inserted just now
            auto children = std::move(fk_after_inserts_);
            fk_after_inserts_.clear();
            for (auto* c : children) sync_foreign_keys(c, true);
            if (!fk_after_inserts_.empty())
                throw UsageError("a relationship refers to a pending object this flush did not "
                                 "insert; add it to the session");
            for (auto* c : children) c->changed = changed_columns(*c);
        }
        for (auto* m : models)
            if (auto* s = existing(m)) flush_updates(*m, *s);
        flush_associations();
        for (auto it = models.rbegin(); it != models.rend(); ++it)
            if (auto* s = existing(*it)) flush_deletes(**it, *s);
    } catch (...) {
        // The database forgets the whole transaction. The objects keep the primary keys it
        // gave them, as in SQLAlchemy (the session forgets them at rollback()).
        for (auto* s : inserted) s->key = 0;
        fk_after_inserts_.clear();
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
                p->new_in_tx = true;
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
            x->deleted_here = true;
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
    check_transaction_alive();
    if (conn_ && in_tx_ && own_tx_) {
        try {
            conn_->execute("COMMIT");
        } catch (...) {
            // The database refused the COMMIT (a deferred constraint, a lost connection, a
            // busy SQLite file): nothing of the transaction is stored. As after a failed
            // flush, the session refuses work until rollback(), which discards what the
            // transaction added; carrying on would run later writes outside any transaction.
            try {
                if (conn_->in_transaction()) conn_->execute("ROLLBACK");
            } catch (...) {  // the original error is the one worth reporting
            }
            in_tx_ = false;
            if (writing_.owns_lock()) writing_.unlock();
            needs_rollback_ = true;
            throw;
        }
    }
    for (auto* s : tx_inserted_) {  // committed: nothing left to replay
        s->new_in_tx = false;
        for (const auto* rel : s->model->relationships())
            if (rel->member_kind == MemberKind::dynamic) dynamic_member(s, rel).in_memory_.clear();
    }
    tx_inserted_.clear();
    tx_deleted_.clear();
    tx_rekeyed_.clear();
    release_connection();
    expire_all();
}

void Session::rollback() {
    if (conn_ && conn_->in_transaction() && (own_tx_ || needs_rollback_))
        conn_->execute("ROLLBACK");
    release_connection();
    needs_rollback_ = false;
    // Keys changed in the transaction are the old ones again (newest change undone first).
    for (auto it = tx_rekeyed_.rbegin(); it != tx_rekeyed_.rend(); ++it) {
        auto& identity = store(*it->first->model).identity;
        if (identity.find(it->first->key) == it->first) identity.erase(it->first->key);
        it->first->key = it->second;
        if (it->first->status == Status::persistent) identity.insert(it->second, it->first);
    }
    tx_rekeyed_.clear();
    fk_after_inserts_.clear();
    // What the rolled-back transaction inserted, and what was never flushed, leaves the
    // session (SQLAlchemy expunges it; the object keeps its primary key value).
    auto expunge = [](ObjectState* s) {
        s->status = Status::transient;
        s->new_in_tx = false;
        s->key = 0;
        // Its foreign keys may hold keys of parents discarded with it: the relationships
        // decide them again when it is added back.
        for (const auto* rel : s->model->relationships())
            if (rel->direction == Direction::many_to_one) {
                auto& m = scalar_member(s, rel);
                if (m.loaded_ && m.target_) m.changed_ = true;
            }
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
        if (s->new_in_tx) {        // ... but not one this transaction had inserted: it has none
            s->deleted_here = false;
            expunge(s);
            continue;
        }
        s->status = Status::persistent;
        s->deleted_here = false;
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

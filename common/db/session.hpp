#pragma once
/// The unit of work (SQLAlchemy's Session): add objects, change them, commit. It keeps one
/// object per row (the identity map), writes pending changes at flush in dependency order with
/// one reused prepared statement per table, and autoflushes before queries.

#include "common/db/database.hpp"

#include "common/db/ptr.hpp"

#include <memory>
#include <type_traits>
#include <vector>

namespace common::db {

class Session {
public:
    explicit Session(Database& database);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// `db.session.add(User(name='Hyman'))`: the session takes the object and returns its
    /// handle; it is INSERTed at the next flush.
    template <class T>
    requires(!std::is_reference_v<T> && !is_ptr_v<T>) Ptr<T> add(T&& object) {
        auto& model = model_of<T>();
        auto* state = static_cast<detail::Store<T>&>(store(model)).emplace(std::move(object));
        enter(state, model);
        return Ptr<T>(state);
    }
    /// `session.add(u)` of a variable would store a copy of it: a change made to `u` afterwards
    /// would never reach the session, and adding `u` again would insert a second row (in
    /// Python `u` is the session's object). So it does not compile: write
    /// `auto u = session.add(User{...})` and change `u->name`, or `session.add(std::move(u))`.
    template <class T>
    requires(!is_ptr_v<std::remove_cv_t<T>>) Ptr<T> add(T& object)
    = delete;
    /// Adding an object the session already holds: a discarded one becomes pending again; for
    /// a persistent one nothing is needed (`u->name = "x"` is found at the next flush), but
    /// Flask code writes the line anyway, so it is accepted.
    template <class T>
    Ptr<T> add(Ptr<T> object) {
        readd(object.state());
        return object;
    }
    template <class T>
    std::vector<Ptr<T>> add_all(std::vector<T> objects) {
        std::vector<Ptr<T>> out;
        out.reserve(objects.size());
        for (auto& o : objects) out.push_back(add(std::move(o)));
        return out;
    }
    /// `db.session.delete(obj)`: DELETE at the next flush. The object keeps its values, add()
    /// before that flush takes the delete back, and a pending object (no row yet) is a
    /// UsageError, as in SQLAlchemy.
    template <class T>
    void delete_(Ptr<T> object) {
        doom(object.state());
    }
    /// `User.query.get(id)`: from the identity map if present, else one SELECT; null if none.
    template <class T>
    Ptr<T> get(std::int64_t id) {
        return Ptr<T>(get_state(model_of<T>(), id));
    }
    template <class T>
    Query<T> query() {
        return Query<T>(*this, model_of<T>());
    }
    /// Re-reads the object's row; ObjectDeletedError if the row is gone.
    template <class T>
    void refresh(Ptr<T> object) {
        refresh_state(object.state());
    }

    /// Writes pending INSERT/UPDATE/DELETE and association rows, inside the transaction. An
    /// UPDATE carries only the columns that differ from what was loaded.
    void flush();
    /// flush() then COMMIT; every object is expired (expire_on_commit): its next use reloads
    /// it, so it shows what the database holds, other connections' changes included.
    void commit();
    /// ROLLBACK. Objects added since the last commit are discarded (their handles stay valid
    /// but transient); persistent objects are expired, so they show the database's values.
    void rollback();
    /// Rolls back what is open and detaches every object, as SQLAlchemy's close(): handles
    /// still read the values they had, but changes are not written and relationships do not
    /// load (UsageError). The session can be used again; the detached objects' memory is kept
    /// until the session is destroyed.
    void close();

    /// Flush before queries and lazy loads, so they see pending changes (default on).
    bool autoflush = true;

    Database& database() { return *db_; }

private:
    friend class ScalarBase;
    friend class ListBase;
    friend class DynamicBase;
    friend class QueryBase;
    friend struct ObjectState;

    // ---- for queries and handles (session.cpp) --------------------------------------------
    /// The session's connection; reads outside a write transaction run in autocommit mode.
    Connection& connection();
    /// The connection inside the session's transaction, begun here (Dialect::begin_write).
    Connection& write_connection();
    /// Throws OperationalError (and then PendingRollbackError) when the transaction this
    /// session began has ended behind its back.
    void check_transaction_alive();
    detail::StoreBase& store(const ModelInfo& model);
    void autoflush_now();

    // ---- attributes: loading, relationships, change tracking (attributes.cpp) -------------
    ObjectState* load_row(const ModelInfo& model, Statement& st, int first_column);
    /// Fills a scalar relationship found by a joined load (unless already loaded).
    void set_loaded(ObjectState* owner, const RelationshipInfo* rel, ObjectState* target);
    /// Called by ObjectState::notice(): watch the object, reload it if expired.
    void notice(ObjectState& state);

    void enter(ObjectState* state, const ModelInfo& model);
    void attach(ObjectState* state);
    void readd(ObjectState* state);
    void doom(ObjectState* state);
    void mark_dirty(ObjectState* state);
    void check_usable() const;
    void check_mine(const ObjectState* state) const;
    ObjectState* get_state(const ModelInfo& model, std::int64_t id);
    void refresh_state(ObjectState* state);
    void reset_relationships(ObjectState& state);
    void read_columns(ObjectState& state, Statement& st, int first_column);
    void save_snapshot(ObjectState& state);
    void ensure_current(ObjectState* state);
    void find_changes();
    void expire_all();
    void release_connection();

    // relationship semantics (attributes.cpp)
    ObjectState* scalar_get(const ScalarBase& member);
    void scalar_set(ScalarBase& member, ObjectState* value);
    void set_many_to_one(ObjectState* child, const RelationshipInfo* rel, ObjectState* parent);
    const std::vector<ObjectState*>& list_items(const ListBase& member);
    void collection_append(const RelationBase& member, ObjectState* value);
    void collection_remove(const RelationBase& member, ObjectState* value);
    void collection_replace(const RelationBase& member, const std::vector<ObjectState*>& values);
    void record_association(const RelationshipInfo* rel, ObjectState* owner, ObjectState* target,
                            bool insert);

    /// Writes assigned relationships into their FK columns; with `assigned_only` false, a
    /// loaded relationship whose FK column was assigned instead follows the column.
    void sync_foreign_keys(ObjectState* state, bool assigned_only = false);
    /// The columns of a persistent object that differ from its snapshot (bit i = column i).
    std::uint64_t changed_columns(const ObjectState& state) const;
    /// Gives transient objects reachable from `state` back to the session (save-update cascade).
    void cascade_readd(ObjectState* state);

    // flush steps: the SQL of INSERT/UPDATE/DELETE (persistence.cpp)
    static std::vector<ObjectState*> parents_first(const ModelInfo& model,
                                                   const std::vector<ObjectState*>& pending);
    void flush_inserts(const ModelInfo& model, detail::StoreBase& store,
                       std::vector<ObjectState*>& inserted);
    void flush_updates(const ModelInfo& model, detail::StoreBase& store);
    void flush_associations();
    void flush_deletes(const ModelInfo& model, detail::StoreBase& store);

    struct AssociationChange {
        const RelationshipInfo* rel;
        ObjectState* owner;
        ObjectState* target;
        bool insert;
    };

    Database* db_;
    std::shared_ptr<Connection> conn_;
    std::vector<std::unique_ptr<detail::StoreBase>> stores_;  // by ModelInfo::id()
    std::vector<std::unique_ptr<detail::StoreBase>> closed_;  // detached objects, see close()
    std::vector<AssociationChange> associations_;
    std::vector<ObjectState*> tx_inserted_, tx_deleted_;
    std::vector<std::pair<ObjectState*, std::int64_t>> tx_rekeyed_;  // primary keys changed: old
    Epochs epochs_;
    std::vector<ObjectState*> watched_;           // handed out since the last flush
    std::vector<ObjectState*> fk_after_inserts_;  // persistent, with a pending new parent
    bool in_tx_ = false, own_tx_ = false;
    std::unique_lock<std::timed_mutex> writing_;  // Database::writer(), while this session writes
    bool has_changes_ = false, flushing_ = false, needs_rollback_ = false;
};

}  // namespace common::db

#pragma once
/// The type-erased core every model shares: per-object state, column accessors, relationship
/// descriptions and the ModelInfo the session works with. (Handles are in ptr.hpp, the
/// session's storage in detail/store.hpp.) Models themselves are declared with
/// db::Model<T> (model.hpp); most readers never need this header directly.

#include "common/db/errors.hpp"
#include "common/db/schema.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace common::db {

class Session;
class ModelInfo;
struct RelationshipInfo;
namespace detail {
class StoreBase;
}

enum class Status : std::uint8_t {
    transient,   ///< not (or no longer) in a session: never added, or discarded by rollback()
    pending,     ///< added, INSERT happens at the next flush
    persistent,  ///< has a row
    deleted,     ///< its row was deleted (by this session, or found missing)
};

/// Two counters of a session that handles read inline (see "Change tracking" in README.md):
/// `watch` moves on at every flush, `expire` at every commit and rollback.
struct Epochs {
    std::uint32_t watch = 1;
    std::uint32_t expire = 1;
};

/// What the session knows about one object. Lives next to the object in the session's storage.
struct ObjectState {
    void* object = nullptr;
    /// The column values as last loaded or written (an object of the same type), taken when
    /// the object is first handed out or changed: objects loaded and never used cost none.
    void* snapshot = nullptr;
    const ModelInfo* model = nullptr;
    Session* session = nullptr;
    const Epochs* epochs = nullptr;
    std::int64_t key = 0;       ///< primary key once known
    std::uint64_t changed = 0;  ///< columns that differ from the snapshot (bit i = column i)
    std::uint32_t watched = 0;  ///< == epochs->watch: handed out since the last flush
    std::uint32_t loaded = 0;   ///< == epochs->expire: column values are current
    Status status = Status::transient;
    bool dirty = false;   ///< queued for UPDATE
    bool doomed = false;  ///< queued for DELETE
    /// Deleted by this session's flush, not found missing: its column values stay readable, as
    /// a deleted object's are in SQLAlchemy (`flash(f'{post.title} deleted')` after the commit).
    bool deleted_here = false;
    /// Inserted by this session's open transaction: its Dynamic<T> members keep what was
    /// appended (in_memory_), as a pending object's do, for a rollback() and add() to replay.
    bool new_in_tx = false;

    /// Called by every handle access: the first one after a flush puts the object on the
    /// session's watch list (compared with its snapshot at the next flush); the first one
    /// after a commit or rollback reloads an expired object. Inline, it is one comparison.
    void notice() {
        if (epochs && watched != epochs->watch) [[unlikely]]
            notice_slow();
    }
    void notice_slow();
};

[[noreturn]] void throw_deleted(const ObjectState& state);

// ---- columns ------------------------------------------------------------------------------

namespace detail {
template <class M>
struct Unoptional {
    using type = M;
    static constexpr bool optional = false;
};
template <class M>
struct Unoptional<std::optional<M>> {
    using type = M;
    static constexpr bool optional = true;
};

/// How a C++ member type maps to SQL: std::int64_t/int/bool ↔ INTEGER/BOOLEAN, double ↔ FLOAT,
/// std::string ↔ VARCHAR/TEXT; std::optional<...> for nullable columns.
template <class M>
struct Field {
    using U = typename Unoptional<M>::type;
    static constexpr bool optional = Unoptional<M>::optional;
    static constexpr bool integral = std::is_integral_v<U>;
    static_assert(
        integral || std::is_same_v<U, double> || std::is_same_v<U, std::string>,
        "column members must be integers, bool, double, std::string or std::optional of them");

    static bool accepts(SqlType t) {
        if constexpr (std::is_same_v<U, bool>)
            return t == SqlType::Boolean || t == SqlType::Integer;
        else if constexpr (integral)
            return t == SqlType::Integer || t == SqlType::BigInteger;
        else if constexpr (std::is_same_v<U, double>)
            return t == SqlType::Float;
        else
            return t == SqlType::String || t == SqlType::Text;
    }
    static void bind_inner(Statement& s, int i, const U& v) {
        if constexpr (integral) {
            // SQL's INTEGER is 64-bit signed: a larger unsigned value would be stored negative.
            if constexpr (std::is_unsigned_v<U> && sizeof(U) >= sizeof(std::int64_t))
                if (v > static_cast<U>(std::numeric_limits<std::int64_t>::max()))
                    throw DataError("the value " + std::to_string(v) +
                                    " does not fit SQL's 64-bit signed INTEGER");
            s.bind(i, static_cast<std::int64_t>(v));
        } else if constexpr (std::is_same_v<U, double>)
            s.bind(i, v);
        else
            s.bind(i, std::string_view(v));
    }
    static void read_inner(Statement& s, int c, U& v) {
        if constexpr (std::is_same_v<U, bool>)
            v = s.get_int(c) != 0;
        else if constexpr (integral) {
            // A row written by other code may hold more than the member's type can: say so
            // rather than keep the low bits (2^40 in an int would read as 0).
            const std::int64_t x = s.get_int(c);
            constexpr auto lo = std::numeric_limits<U>::min();
            constexpr auto hi = std::numeric_limits<U>::max();
            if ((std::is_unsigned_v<U> ? x < 0 : x < static_cast<std::int64_t>(lo)) ||
                (x > 0 && static_cast<std::uint64_t>(x) > static_cast<std::uint64_t>(hi)))
                throw DataError("the column holds " + std::to_string(x) +
                                ", which does not fit the member's type; declare it "
                                "std::int64_t");
            v = static_cast<U>(x);
        } else if constexpr (std::is_same_v<U, double>)
            v = s.get_double(c);
        else
            v.assign(s.get_text(c));
    }
    static void bind(Statement& s, int i, const M& v) {
        if constexpr (optional) {
            if (v)
                bind_inner(s, i, *v);
            else
                s.bind_null(i);
        } else {
            bind_inner(s, i, v);
        }
    }
    static void read(Statement& s, int c, M& v) {
        if constexpr (optional) {
            if (s.is_null(c))
                v.reset();
            else
                read_inner(s, c, v.emplace());
        } else if (s.is_null(c)) {
            v = M{};
        } else {
            read_inner(s, c, v);
        }
    }
    static std::optional<std::int64_t> get_int(const M& v) {
        if constexpr (!integral)
            return std::nullopt;
        else if constexpr (optional)
            return v ? std::optional<std::int64_t>(static_cast<std::int64_t>(*v)) : std::nullopt;
        else
            return static_cast<std::int64_t>(v);
    }
    static void set_int(M& v, std::optional<std::int64_t> x) {
        if constexpr (!integral)
            throw UsageError("not an integer column");
        else if constexpr (optional) {
            if (x)
                v = static_cast<U>(*x);
            else
                v.reset();
        } else {
            v = static_cast<U>(x.value_or(0));
        }
    }
};
}  // namespace detail

/// Reads and writes one column of one model's objects without knowing the model's type.
class ColumnAccess {
public:
    virtual ~ColumnAccess() = default;
    virtual void bind(Statement& st, int position, const void* object) const = 0;
    virtual void read(Statement& st, int column, void* object) const = 0;
    virtual std::optional<std::int64_t> get_int(const void* object) const = 0;
    virtual void set_int(void* object, std::optional<std::int64_t> value) const = 0;
    virtual bool accepts(SqlType type) const = 0;
    virtual void copy(void* to, const void* from) const = 0;
    virtual bool equal(const void* a, const void* b) const = 0;
};

template <class T, class M>
class ColumnAccessImpl final : public ColumnAccess {
public:
    explicit ColumnAccessImpl(M T::*member) : member_(member) {}
    void bind(Statement& st, int position, const void* o) const override {
        detail::Field<M>::bind(st, position, static_cast<const T*>(o)->*member_);
    }
    void read(Statement& st, int column, void* o) const override {
        detail::Field<M>::read(st, column, static_cast<T*>(o)->*member_);
    }
    std::optional<std::int64_t> get_int(const void* o) const override {
        return detail::Field<M>::get_int(static_cast<const T*>(o)->*member_);
    }
    void set_int(void* o, std::optional<std::int64_t> v) const override {
        detail::Field<M>::set_int(static_cast<T*>(o)->*member_, v);
    }
    bool accepts(SqlType t) const override { return detail::Field<M>::accepts(t); }
    void copy(void* to, const void* from) const override {
        static_cast<T*>(to)->*member_ = static_cast<const T*>(from)->*member_;
    }
    bool equal(const void* a, const void* b) const override {
        return static_cast<const T*>(a)->*member_ == static_cast<const T*>(b)->*member_;
    }

private:
    M T::*member_;
};

// ---- relationships ------------------------------------------------------------------------

/// lazy='select' (load on first access), 'joined' (LEFT OUTER JOIN into the owner's query),
/// 'dynamic' (the attribute is a query; nothing is loaded until asked).
enum class Lazy { select, joined, dynamic };
namespace lazy {
inline constexpr Lazy select = Lazy::select;
inline constexpr Lazy joined = Lazy::joined;
inline constexpr Lazy dynamic = Lazy::dynamic;
}  // namespace lazy

/// Which member type holds the relationship: One<T> (scalar), Many<T> (list), Dynamic<T>.
enum class MemberKind { scalar, list, dynamic };
enum class Direction { many_to_one, one_to_many, many_to_many };

/// Base of One/Many/Dynamic: which object owns the member, and which relationship it is.
/// Copying a model struct gives detached members: relationships belong to the object the
/// session holds, not to copies of its data.
class RelationBase {
public:
    RelationBase() = default;
    RelationBase(const RelationBase&) noexcept {}
    RelationBase& operator=(const RelationBase&) noexcept { return *this; }
    /// The owning object's state (null while detached).
    ObjectState* owner() const { return owner_; }

protected:
    Session& session() const;  // throws UsageError while detached

    ObjectState* owner_ = nullptr;
    const RelationshipInfo* rel_ = nullptr;
    friend class Session;
};

class ScalarBase : public RelationBase {
public:
    ScalarBase() = default;
    ScalarBase(const ScalarBase&) noexcept : RelationBase() {}
    ScalarBase& operator=(const ScalarBase&) noexcept { return *this; }

protected:
    ObjectState* get_state() const;
    void set_state(ObjectState* value);

    mutable ObjectState* target_ = nullptr;
    mutable bool loaded_ = false;
    bool changed_ = false;  ///< assigned since the last flush: it, not the FK column, wins
    friend class Session;
};

class ListBase : public RelationBase {
public:
    ListBase() = default;
    ListBase(const ListBase&) noexcept : RelationBase() {}
    ListBase& operator=(const ListBase&) noexcept { return *this; }

protected:
    const std::vector<ObjectState*>& items() const;
    void append_state(ObjectState* value);
    void remove_state(ObjectState* value);
    void replace_states(const std::vector<ObjectState*>& values);

    mutable std::vector<ObjectState*> items_;
    mutable bool loaded_ = false;
    friend class Session;
};

class QueryBase;

class DynamicBase : public RelationBase {
public:
    DynamicBase() = default;
    DynamicBase(const DynamicBase&) noexcept : RelationBase() {}
    DynamicBase& operator=(const DynamicBase&) noexcept { return *this; }

protected:
    QueryBase make_query() const;
    void append_state(ObjectState* value);
    void remove_state(ObjectState* value);
    void replace_states(const std::vector<ObjectState*>& values);

    /// While the owner has no row: what was appended, which is what its queries show
    /// (SQLAlchemy's AppenderQuery of a pending object). Kept while its row is the open
    /// transaction's own (new_in_tx), for a rollback() and add() to replay.
    mutable std::vector<ObjectState*> in_memory_;
    friend class Session;
    friend class QueryBase;
};

/// Finds a relationship member inside an object of the owning model.
class MemberAccess {
public:
    virtual ~MemberAccess() = default;
    virtual RelationBase& get(void* object) const = 0;
};

template <class T, class R>
class MemberAccessImpl final : public MemberAccess {
public:
    explicit MemberAccessImpl(R T::*member) : member_(member) {}
    RelationBase& get(void* o) const override { return static_cast<T*>(o)->*member_; }

private:
    R T::*member_;
};

/// One direction of a relationship (a backref is a second RelationshipInfo, pointing back).
struct RelationshipInfo {
    std::string name;
    ModelInfo* parent = nullptr;  ///< the model whose member this is (set when resolved)
    ModelInfo& (*target_model)() = nullptr;
    ModelInfo* target = nullptr;  ///< set when resolved
    std::shared_ptr<const MemberAccess> member;
    MemberKind member_kind = MemberKind::scalar;
    Lazy lazy = Lazy::select;
    const Table* secondary = nullptr;
    std::string foreign_key;  ///< foreign_keys(...): the column to use, when one is named

    // As declared (only on the side that declares the relationship):
    std::string backref_name;
    std::shared_ptr<const MemberAccess> backref_member;
    MemberKind backref_kind = MemberKind::scalar;
    std::optional<Lazy> backref_lazy;
    std::unique_ptr<RelationshipInfo> owned_backref;

    // Resolved:
    RelationshipInfo* backref = nullptr;
    Direction direction = Direction::many_to_one;
    int fk_column = -1;        ///< FK column index: in parent (many_to_one) or target (one_to_many)
    int secondary_local = -1;  ///< secondary column pointing at parent's table
    int secondary_remote = -1;  ///< secondary column pointing at target's table

    /// "User.role", for messages.
    std::string qualified_name() const;
};

// ---- the model ----------------------------------------------------------------------------

class ModelInfo {
public:
    explicit ModelInfo(std::string table);
    ModelInfo(ModelInfo&&) = default;
    ModelInfo& operator=(ModelInfo&&) = delete;
    virtual ~ModelInfo() = default;

    const Table& table() const { return table_; }
    const std::string& name() const { return table_.name(); }
    /// Index of the (single, integer) primary-key column.
    int primary_key() const { return pk_; }
    const ColumnAccess& access(int column) const {
        return *access_[static_cast<std::size_t>(column)];
    }
    /// Relationships declared here plus backrefs installed by other models.
    const std::vector<RelationshipInfo*>& relationships() const { return relationships_; }
    const RelationshipInfo* relationship(std::string_view name) const;
    /// Process-wide index, used by sessions to find their store for this model.
    std::size_t id() const { return id_; }
    bool resolved() const { return resolved_; }

    virtual std::unique_ptr<detail::StoreBase> make_store() const = 0;
    /// Constructs the snapshot beside `state`'s object, a copy of it (ObjectState::snapshot).
    virtual void* make_snapshot(ObjectState& state) const = 0;

protected:
    void add_column(ColumnDef column, std::unique_ptr<ColumnAccess> access);
    void add_relationship(std::unique_ptr<RelationshipInfo> rel);

private:
    friend class Metadata;
    void resolve();

    Table table_;
    std::vector<std::unique_ptr<ColumnAccess>> access_;
    int pk_ = -1;
    std::vector<std::unique_ptr<RelationshipInfo>> declared_;
    std::vector<RelationshipInfo*> relationships_;
    std::size_t id_;
    bool resolved_ = false;
};

}  // namespace common::db

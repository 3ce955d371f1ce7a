#pragma once
/// Declaring a model: a plain struct plus one static mapping, read like the Python class body.
///
///     struct Role {
///         std::int64_t id = 0;
///         std::string name;
///         db::Many<User> users;
///         static db::Model<Role>& model();
///     };
///     db::Model<Role>& Role::model() {
///         static auto model = db::Model<Role>("roles")
///             .column("id", &Role::id, db::Integer, db::primary_key)
///             .column("name", &Role::name, db::String(64), db::unique)
///             .relationship("users", &Role::users, db::backref("role", &User::role));
///         return model;
///     }
///
/// The mapping is built once per process, never per object.

#include "common/db/detail/store.hpp"
#include "common/db/relationship.hpp"

#include <initializer_list>

namespace common::db {

template <class T>
ModelInfo& model_of() {
    return T::model();
}

// ---- relationship options -----------------------------------------------------------------

/// backref('ident') — names the member on the other model that mirrors this relationship.
template <class U, class R>
struct Backref {
    std::string name;
    R U::*member;
    std::optional<Lazy> lazy;
};
template <class U, class R>
Backref<U, R> backref(std::string name, R U::*member, std::optional<Lazy> lazy = std::nullopt) {
    return {std::move(name), member, lazy};
}

struct UseList {
    bool value;
};
/// uselist=False: one object, not a list (declare the member as One<T>).
constexpr UseList uselist(bool value) { return {value}; }

struct Secondary {
    const Table* table;
};
/// secondary=relations: the association table of a many-to-many relationship.
inline Secondary secondary(const Table& table) { return {&table}; }

struct ForeignKeys {
    std::string column;
};
/// foreign_keys=[Message.sender_id]: which foreign-key column this relationship uses, needed
/// when two columns point at the same table (SQLAlchemy's AmbiguousForeignKeysError otherwise).
inline ForeignKeys foreign_keys(std::string column) { return {std::move(column)}; }

template <class T>
class Model final : public ModelInfo {
public:
    explicit Model(std::string table) : ModelInfo(std::move(table)) {}

    /// name = db.Column(db.String(64), unique=True)
    template <class M, class... Options>
    Model&& column(std::string name, M T::*member, ColumnType type, const Options&... options) && {
        add_column(Column(std::move(name), type, options...),
                   std::make_unique<ColumnAccessImpl<T, M>>(member));
        return std::move(*this);
    }

    /// users = db.relationship('User', backref='role', lazy='dynamic')
    template <class R, class... Options>
    Model&& relationship(std::string name, R T::*member, const Options&... options) && {
        auto rel = std::make_unique<RelationshipInfo>();
        rel->name = std::move(name);
        rel->member = std::make_shared<MemberAccessImpl<T, R>>(member);
        rel->member_kind = R::kind;
        rel->lazy = R::kind == MemberKind::dynamic ? Lazy::dynamic : Lazy::select;
        rel->target_model = &model_of<typename R::target_type>;
        (apply<R>(*rel, options), ...);
        add_relationship(std::move(rel));
        return std::move(*this);
    }

    std::unique_ptr<detail::StoreBase> make_store() const override {
        return std::make_unique<detail::Store<T>>();
    }
    void* make_snapshot(ObjectState& state) const override {
        auto& slot = static_cast<detail::Slot<T>&>(state);
        return &slot.saved.emplace(slot.value);  // one copy (relationship members copy empty)
    }

private:
    template <class R, class U, class B>
    static void apply(RelationshipInfo& rel, const Backref<U, B>& b) {
        static_assert(std::is_same_v<U, typename R::target_type>,
                      "the backref member must belong to the related model");
        static_assert(std::is_same_v<typename B::target_type, T>,
                      "the backref member must point back to this model");
        rel.backref_name = b.name;
        rel.backref_member = std::make_shared<MemberAccessImpl<U, B>>(b.member);
        rel.backref_kind = B::kind;
        rel.backref_lazy = b.lazy;
    }
    template <class R>
    static void apply(RelationshipInfo& rel, UseList u) {
        if (u.value == (R::kind == MemberKind::scalar))
            throw UsageError(rel.name + ": uselist(" + (u.value ? "true" : "false") +
                             ") does not match its member type (One<T> is uselist=false, "
                             "Many/Dynamic are lists)");
    }
    template <class R>
    static void apply(RelationshipInfo& rel, const ForeignKeys& f) {
        rel.foreign_key = f.column;
    }
    template <class R>
    static void apply(RelationshipInfo& rel, Secondary s) {
        rel.secondary = s.table;
    }
    template <class R>
    static void apply(RelationshipInfo& rel, Lazy l) {
        if ((l == Lazy::dynamic) != (R::kind == MemberKind::dynamic))
            throw UsageError(rel.name +
                             ": lazy='dynamic' goes with a Dynamic<T> member, and only with it");
        if (l == Lazy::joined && R::kind != MemberKind::scalar)
            throw UsageError(rel.name + ": lazy='joined' is supported for One<T> members");
        rel.lazy = l;
    }
};

/// The models (and through them their association tables) that make up one schema, like
/// Flask-SQLAlchemy's db.Model registry. Resolves relationships and orders tables so that a
/// table comes after every table it references.
class Metadata {
public:
    explicit Metadata(std::vector<ModelInfo*> models);
    template <class... Ts>
    static Metadata of() {
        return Metadata({&model_of<Ts>()...});
    }

    /// Models, parents before children.
    const std::vector<ModelInfo*>& models() const { return models_; }
    /// Model and association tables, parents before children.
    const std::vector<const Table*>& tables() const { return tables_; }
    bool contains(const ModelInfo& model) const;

private:
    std::vector<ModelInfo*> models_;
    std::vector<const Table*> tables_;
};

}  // namespace common::db

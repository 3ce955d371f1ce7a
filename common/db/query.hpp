#pragma once
/// session.query<User>() and dynamic relationships: filter_by / filter / order_by / limit /
/// offset, then all / first / one / count (or update). Queries are values: each call returns a new query
/// (like SQLAlchemy's generative Query), so a base query can be reused.

#include "common/db/ptr.hpp"
#include "common/db/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common::db {

class QueryBase {
public:
    QueryBase(Session& session, const ModelInfo& model);

    /// SELECT count(*) for this query.
    std::int64_t count() const;

    /// query.filter(...).update({"status": "sending"}): one UPDATE of the matching rows, in the
    /// session's transaction, returning how many rows matched (SQLAlchemy's rowcount) — what a
    /// compare-and-set needs: `filter("id = ? AND status = ?", {id, "pending"}).update(...)`
    /// is 1 for exactly one of two sessions racing for the row. Pending changes are flushed
    /// first, and every object the session holds is expired after, so its next use reloads
    /// the new values. Not after limit(), offset() or order_by(), as in SQLAlchemy.
    std::int64_t update(const std::vector<std::pair<std::string, Value>>& values) const;

protected:
    std::vector<ObjectState*> fetch() const;
    ObjectState* fetch_first() const;
    ObjectState* fetch_one() const;

    void add_filter_by(std::string_view column, Value value);
    void add_filter_by_object(std::string_view relationship, const ObjectState* target);
    void add_filter(std::string_view condition, std::vector<Value> params);
    void add_order_by(std::string_view column);
    void add_joinedload(std::string_view relationship);
    void set_limit(std::int64_t n);
    void set_offset(std::int64_t n);

private:
    friend class Session;
    friend class DynamicBase;
    std::string build(bool count, std::vector<Value>& params) const;
    std::vector<ObjectState*> in_memory() const;
    std::vector<Value> filter_params() const;

    Session* session_;
    const ModelInfo* model_;
    const RelationshipInfo* parent_rel_ = nullptr;  ///< set for dynamic relationships
    ObjectState* parent_ = nullptr;
    std::string where_;
    std::vector<Value> params_;
    /// filter_by(relationship, object) with a pending object: which of params_ is its key,
    /// read when the query runs (after autoflush has given it one).
    std::vector<std::pair<std::size_t, const ObjectState*>> object_params_;
    std::string order_;
    std::int64_t limit_ = -1, offset_ = 0;
    std::vector<const RelationshipInfo*> joined_;
};

template <class T>
class Query : public QueryBase {
public:
    using QueryBase::QueryBase;
    explicit Query(QueryBase base) : QueryBase(std::move(base)) {}

    /// filter_by(name='Hyman'): column = value (IS NULL for a null value).
    Query filter_by(std::string_view column, Value value) const {
        Query q(*this);
        q.add_filter_by(column, std::move(value));
        return q;
    }
    /// filter_by(role=user_role): a many-to-one relationship compared with an object, i.e.
    /// `users.role_id = <the role's id>` (IS NULL for a null Ptr or nullptr). The key is read
    /// when the query runs, after autoflush, so a role just added to the session works.
    template <class U>
    Query filter_by(std::string_view relationship, const Ptr<U>& target) const {
        Query q(*this);
        q.add_filter_by_object(relationship, target.state());
        return q;
    }
    /// filter("users.name LIKE ?", {"H%"}): an SQL condition written by the programmer, with
    /// every value passed as a bound parameter (one ? each).
    Query filter(std::string_view condition, std::vector<Value> params = {}) const {
        Query q(*this);
        q.add_filter(condition, std::move(params));
        return q;
    }
    /// order_by("name") or order_by("name DESC"); the column must belong to the model.
    Query order_by(std::string_view column) const {
        Query q(*this);
        q.add_order_by(column);
        return q;
    }
    Query limit(std::int64_t n) const {
        Query q(*this);
        q.set_limit(n);
        return q;
    }
    Query offset(std::int64_t n) const {
        Query q(*this);
        q.set_offset(n);
        return q;
    }
    /// options(joinedload(User.role)): load a scalar relationship in the same SELECT, so that
    /// looping over the results runs no further queries.
    Query joinedload(std::string_view relationship) const {
        Query q(*this);
        q.add_joinedload(relationship);
        return q;
    }

    std::vector<Ptr<T>> all() const {
        auto states = fetch();
        std::vector<Ptr<T>> out;
        out.reserve(states.size());
        for (auto* s : states) out.emplace_back(s);
        return out;
    }
    /// The first row, or a null Ptr (None).
    Ptr<T> first() const { return Ptr<T>(fetch_first()); }
    /// Exactly one row, else NoResultFound / MultipleResultsFound.
    Ptr<T> one() const { return Ptr<T>(fetch_one()); }
};

}  // namespace common::db

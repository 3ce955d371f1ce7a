#include "common/db/query.hpp"

#include "common/db/session.hpp"

#include <algorithm>
#include <cctype>

namespace common::db {

namespace {

/// Counts the ? placeholders outside quoted literals.
std::size_t count_placeholders(std::string_view sql) {
    std::size_t n = 0;
    char quote = 0;
    for (char c : sql) {
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '?') {
            ++n;
        }
    }
    return n;
}

/// Rewrites ? into the dialect's placeholders ($1, $2, ... for PostgreSQL).
std::string translate(const std::string& sql, const Dialect& d) {
    if (d.placeholder(1) == "?") return sql;
    std::string out;
    char quote = 0;
    int n = 0;
    for (char c : sql) {
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '?') {
            out += d.placeholder(++n);
            continue;
        }
        out += c;
    }
    return out;
}

std::string column_list(const Table& t) {
    std::string s;
    for (const auto& c : t.columns()) s += (s.empty() ? "" : ", ") + c.name;
    return s;
}

}  // namespace

QueryBase::QueryBase(Session& session, const ModelInfo& model)
    : session_(&session), model_(&model) {
    if (!model.resolved()) throw UsageError(model.name() + " is not in any db::Metadata");
    for (const auto* r : model.relationships())
        if (r->lazy == Lazy::joined) joined_.push_back(r);
}

void QueryBase::add_filter_by(std::string_view column, Value value) {
    if (model_->table().find(column) < 0) {
        // filter_by(role=None) is a relationship compared with None: its key IS NULL.
        if (value.is_null() && model_->relationship(column))
            return add_filter_by_object(column, nullptr);
        if (model_->relationship(column))
            throw UsageError("filter_by(\"" + std::string(column) + "\", ...): " + model_->name() +
                             "." + std::string(column) +
                             " is a relationship; pass the object (a db::Ptr) or nullptr, or "
                             "compare its foreign-key column");
        throw UsageError("filter_by: " + model_->name() + " has no column '" + std::string(column) +
                         "' (columns: " + column_list(model_->table()) + ")");
    }
    if (!where_.empty()) where_ += " AND ";
    where_ += model_->name() + "." + std::string(column);
    if (value.is_null()) {
        where_ += " IS NULL";
    } else {
        where_ += " = ?";
        params_.push_back(std::move(value));
    }
}

void QueryBase::add_filter_by_object(std::string_view name, const ObjectState* target) {
    const RelationshipInfo* r = model_->relationship(name);
    if (!r && model_->table().find(name) >= 0)
        throw UsageError("filter_by(\"" + std::string(name) + "\", ...): " + model_->name() + "." +
                         std::string(name) +
                         " is a column: pass its value (the object's key), or name the "
                         "relationship and pass the object");
    if (!r)
        throw UsageError("filter_by: " + model_->name() + " has no column or relationship '" +
                         std::string(name) + "' (columns: " + column_list(model_->table()) + ")");
    if (r->direction != Direction::many_to_one)
        throw UsageError(
            "filter_by(\"" + std::string(name) + "\", ...): " + r->qualified_name() +
            (r->member_kind == MemberKind::scalar
                 ? " is the side without the foreign key (the other side holds it)"
                 : " is a collection (SQLAlchemy: \"Can't compare a collection to an object\")") +
            "; filter_by compares the One<T> that holds the foreign key with one object: query "
            "from the other side");
    if (target && target->model != r->target)
        throw UsageError("filter_by(\"" + std::string(name) + "\", ...): " + r->qualified_name() +
                         " holds " + r->target->name() + " objects, not " + target->model->name());
    if (!where_.empty()) where_ += " AND ";
    where_ += model_->name() + "." +
              model_->table().columns()[static_cast<std::size_t>(r->fk_column)].name;
    if (!target) {
        where_ += " IS NULL";
        return;
    }
    where_ += " = ?";
    if (target->status == Status::persistent || target->status == Status::deleted) {
        params_.emplace_back(target->key);  // known now: the query keeps no pointer to it
        return;
    }
    if (target->status == Status::pending && target->session != session_)
        throw UsageError("filter_by(\"" + std::string(name) +
                         "\", ...): the object is pending in another session");
    object_params_.emplace_back(params_.size(), target);
    params_.emplace_back();  // the key, filled in by filter_params() after autoflush
}

std::vector<Value> QueryBase::filter_params() const {
    std::vector<Value> params = params_;
    for (const auto& [at, target] : object_params_) {
        // SQLAlchemy binds None for an object without a row, warns, and matches nothing;
        // saying so is kinder than an empty list.
        if (target->status == Status::pending || target->status == Status::transient)
            throw UsageError("filter_by: the " + target->model->name() +
                             " compared with has no row yet (" +
                             (target->status == Status::pending ? "pending: flush() first"
                                                                : "transient: add() it first") +
                             "), so no foreign key can equal its key");
        params[at] = Value(target->key);
    }
    return params;
}

void QueryBase::add_filter(std::string_view condition, std::vector<Value> params) {
    if (count_placeholders(condition) != params.size())
        throw UsageError("filter(\"" + std::string(condition) +
                         "\"): " + std::to_string(count_placeholders(condition)) +
                         " placeholders but " + std::to_string(params.size()) +
                         " values; pass every value as a ? parameter");
    if (!where_.empty()) where_ += " AND ";
    where_ += "(" + std::string(condition) + ")";
    for (auto& p : params) params_.push_back(std::move(p));
}

void QueryBase::add_order_by(std::string_view spec) {
    std::string_view column = spec, direction;
    if (auto space = spec.find(' '); space != std::string_view::npos) {
        column = spec.substr(0, space);
        direction = spec.substr(space + 1);
    }
    std::string dir(direction);
    std::transform(dir.begin(), dir.end(), dir.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (model_->table().find(column) < 0 || (!dir.empty() && dir != "ASC" && dir != "DESC"))
        throw UsageError("order_by(\"" + std::string(spec) + "\"): expected a column of " +
                         model_->name() + " (" + column_list(model_->table()) +
                         "), optionally followed by ASC or DESC");
    order_ += (order_.empty() ? " ORDER BY " : ", ") + model_->name() + "." + std::string(column) +
              (dir.empty() ? "" : " " + dir);
}

void QueryBase::add_joinedload(std::string_view name) {
    const auto* r = model_->relationship(name);
    if (!r || r->member_kind != MemberKind::scalar)
        throw UsageError("joinedload(\"" + std::string(name) + "\"): " + model_->name() +
                         " has no One<T> relationship of that name");
    if (std::find(joined_.begin(), joined_.end(), r) == joined_.end()) joined_.push_back(r);
}

void QueryBase::set_limit(std::int64_t n) { limit_ = n; }
void QueryBase::set_offset(std::int64_t n) { offset_ = n; }

std::string QueryBase::build(bool count, std::vector<Value>& params) const {
    const auto& t = model_->name();
    const auto& cols = model_->table().columns();
    const std::string pk = t + "." + cols[static_cast<std::size_t>(model_->primary_key())].name;
    std::string from = t, where;
    params.clear();
    if (parent_rel_) {
        params.emplace_back(parent_->key);
        if (parent_rel_->direction == Direction::many_to_many) {
            const auto& sec = *parent_rel_->secondary;
            const auto& scol = sec.columns();
            from += ", " + sec.name();
            where = "? = " + sec.name() + "." +
                    scol[static_cast<std::size_t>(parent_rel_->secondary_local)].name + " AND " +
                    pk + " = " + sec.name() + "." +
                    scol[static_cast<std::size_t>(parent_rel_->secondary_remote)].name;
        } else {
            where = "? = " + t + "." + cols[static_cast<std::size_t>(parent_rel_->fk_column)].name;
        }
    }
    if (!where_.empty()) where += (where.empty() ? "" : " AND ") + where_;
    const auto filters = filter_params();
    params.insert(params.end(), filters.begin(), filters.end());

    std::string select = "SELECT ";
    std::string joins;
    if (count) {
        select += "count(*)";
    } else {
        for (std::size_t i = 0; i < cols.size(); ++i)
            select += (i ? ", " : "") + t + "." + cols[i].name;
        for (std::size_t j = 0; j < joined_.size(); ++j) {
            const auto* r = joined_[j];
            const auto& target = *r->target;
            std::string alias = target.name() + "_" + std::to_string(j + 1);
            for (const auto& c : target.table().columns()) select += ", " + alias + "." + c.name;
            const auto& tpk =
                target.table().columns()[static_cast<std::size_t>(target.primary_key())].name;
            if (r->direction == Direction::many_to_one)
                joins += " LEFT OUTER JOIN " + target.name() + " AS " + alias + " ON " + alias +
                         "." + tpk + " = " + t + "." +
                         cols[static_cast<std::size_t>(r->fk_column)].name;
            else
                joins += " LEFT OUTER JOIN " + target.name() + " AS " + alias + " ON " + alias +
                         "." +
                         target.table().columns()[static_cast<std::size_t>(r->fk_column)].name +
                         " = " + pk;
        }
    }
    std::string tail;
    if (!order_.empty() && !count) tail += order_;
    if (limit_ >= 0) {
        tail += " LIMIT ?";
        params.emplace_back(limit_);
    }
    if (offset_ > 0) {
        if (limit_ < 0) tail += session_->database().dialect().offset_without_limit();
        tail += " OFFSET ?";
        params.emplace_back(offset_);
    }
    std::string body = " FROM " + from + joins + (where.empty() ? "" : " WHERE " + where);
    std::string sql;
    if (count && (limit_ >= 0 || offset_ > 0))
        sql = "SELECT count(*) FROM (SELECT " + pk + body + tail + ") AS anon_1";
    else
        sql = select + body + tail;
    return translate(sql, session_->database().dialect());
}

std::vector<ObjectState*> QueryBase::fetch() const {
    session_->autoflush_now();
    std::vector<ObjectState*> out;
    if (parent_ && parent_->status != Status::persistent) return in_memory();
    std::vector<Value> params;
    std::string sql = build(false, params);
    Statement& st = session_->connection().prepare(sql);
    for (std::size_t i = 0; i < params.size(); ++i) st.bind(static_cast<int>(i + 1), params[i]);
    const int ncols = static_cast<int>(model_->table().columns().size());
    try {
        while (st.step()) {
            ObjectState* s = session_->load_row(*model_, st, 0);
            int col = ncols;
            for (const auto* r : joined_) {
                const auto& target = *r->target;
                ObjectState* t = st.is_null(col + target.primary_key())
                                     ? nullptr
                                     : session_->load_row(target, st, col);
                col += static_cast<int>(target.table().columns().size());
                session_->set_loaded(s, r, t);
            }
            out.push_back(s);
        }
    } catch (...) {
        st.reset();  // a row that cannot be read (DataError) must not leave the SELECT open
        throw;
    }
    st.reset();
    return out;
}

std::vector<ObjectState*> QueryBase::in_memory() const {
    // The owner has no row yet (autoflush off, or nothing flushed): a dynamic relationship
    // shows what was appended in memory, as SQLAlchemy's does. Only all() and count(): a
    // filter, an order or a limit needs SQL, which cannot name a row that does not exist yet
    // (SQLAlchemy: "Can't resolve value for column"), and the list unfiltered would be a
    // wrong answer.
    if (!where_.empty() || !order_.empty() || limit_ >= 0 || offset_ > 0)
        throw UsageError(parent_rel_->qualified_name() +
                         ": filter_by(), filter(), order_by(), limit(), offset() and first() need "
                         "the parent's row, and it is pending (not flushed yet); flush() first, "
                         "or use all() or count(), which show what was appended");
    if (parent_rel_->member_kind != MemberKind::dynamic) return {};
    return static_cast<const DynamicBase&>(parent_rel_->member->get(parent_->object)).in_memory_;
}

ObjectState* QueryBase::fetch_first() const {
    QueryBase q(*this);
    q.limit_ = 1;  // first() sets the limit, as SQLAlchemy's does: limit(0).first() is a row
    auto rows = q.fetch();
    return rows.empty() ? nullptr : rows.front();
}

ObjectState* QueryBase::fetch_one() const {
    QueryBase q(*this);
    q.limit_ = (limit_ >= 0 && limit_ < 2) ? limit_ : 2;  // enough to tell "one" from "many"
    auto rows = q.fetch();
    if (rows.empty()) throw NoResultFound("one(): no " + model_->name() + " row matched");
    if (rows.size() > 1)
        throw MultipleResultsFound("one(): more than one " + model_->name() + " row matched");
    return rows.front();
}

std::int64_t QueryBase::update(const std::vector<std::pair<std::string, Value>>& values) const {
    if (parent_rel_)
        throw UsageError("update(): works on session.query<T>(), not on a relationship's query");
    if (limit_ >= 0 || offset_ > 0 || !order_.empty())
        throw UsageError("update(): cannot be called after limit(), offset() or order_by()");
    if (values.empty()) throw UsageError("update(): no column to set");
    const auto& table = model_->table();
    std::string sql = "UPDATE " + model_->name() + " SET ";
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto& column = values[i].first;
        const int found = table.find(column);
        if (found < 0)
            throw UsageError("update: " + model_->name() + " has no column '" + column +
                             "' (columns: " + column_list(table) + ")");
        if (found == model_->primary_key())
            throw UsageError("update: the primary key " + model_->name() + "." + column +
                             " cannot be changed (the identity map keys objects by it)");
        sql += (i ? ", " : "") + column + " = ?";
    }
    if (!where_.empty()) sql += " WHERE " + where_;
    // Always flushed, even with autoflush off: the expiry below would drop unflushed changes.
    session_->flush();
    Connection& conn = session_->write_connection();
    Statement& st = conn.prepare(translate(sql, session_->database().dialect()));
    int n = 0;
    for (const auto& [column, value] : values) st.bind(++n, value);
    // Bound by reference (text is not copied until step()): the values must outlive it.
    const std::vector<Value> filters = filter_params();
    for (const auto& value : filters) st.bind(++n, value);
    st.step();
    const std::int64_t matched = conn.changes();
    st.reset();
    session_->expire_all();
    return matched;
}

std::int64_t QueryBase::count() const {
    session_->autoflush_now();
    if (parent_ && parent_->status != Status::persistent)
        return static_cast<std::int64_t>(in_memory().size());
    std::vector<Value> params;
    std::string sql = build(true, params);
    Statement& st = session_->connection().prepare(sql);
    for (std::size_t i = 0; i < params.size(); ++i) st.bind(static_cast<int>(i + 1), params[i]);
    std::int64_t n = st.step() ? st.get_int(0) : 0;
    st.reset();
    return n;
}

}  // namespace common::db

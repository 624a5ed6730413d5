/* store_sqlite_desk.c - the scheduler's leases, idle tickets and the desk
 * counts in the SQLite backend (core/store/store_desk.h).
 *
 * A lease is taken with one conditional UPSERT, like the mailbox lease
 * (store_sqlite_mailbox.c): the single writer makes "free, expired or
 * ours" and the take one step. The reads use (status, updated) of
 * migration 11 (store_sqlite_list.c) - number is the rowid, so the index
 * is in (status, updated, number) order and the cursor needs no sort -
 * and this file's migration's (status, queue) for the counts (covering:
 * no ticket row is read) and (status, created) for the oldest open
 * ticket (one index probe per status: min() on an index prefix). */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

const char sq_migration_desk[] =
    "CREATE TABLE leases ("
    "  name  TEXT PRIMARY KEY,"
    "  owner TEXT,"
    "  until INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX tickets_status_queue ON tickets(status, queue);"
    "CREATE INDEX tickets_status_created ON tickets(status, created);";

/* The reads, named so that tests/core/test_store_desk_plan.c checks the
 * query plans of exactly these statements. */
const char sq_desk_idle_sql[] = "SELECT number, updated FROM tickets "
                                "WHERE status = ?1 AND updated < ?2 "
                                "AND (updated, number) > (?3, ?4) "
                                "ORDER BY updated, number LIMIT ?5";
const char sq_desk_counts_sql[] = "SELECT status, queue, count(*) FROM tickets "
                                  "WHERE status IN ('new', 'open', 'pending', 'resolved') "
                                  "GROUP BY status, queue";
const char sq_desk_oldest_sql[] = "SELECT min(created) FROM tickets WHERE status = ?1";

static bool lease_acquire(struct store *st, const char *name, const char *owner, td_time now,
                          int64_t ttl_ms, struct td_err *err)
{
    if (owner == NULL || *owner == '\0' || name == NULL || *name == '\0')
        return td_fail(err, TD_INVALID, "a lease needs a name and an owner");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    /* A skipped DO UPDATE (held by someone else) counts as no change. */
    bool ok = sq_exec(s,
                      "INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3 + ?4) "
                      "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                      "until = excluded.until "
                      "WHERE owner IS NULL OR owner = excluded.owner OR until < ?3",
                      &changed, err, "ttii", name, owner, (int64_t)now, (int64_t)ttl_ms);
    if (ok && changed == 0)
        ok = td_fail(err, TD_CONFLICT, "lease %.100s is held by another process", name);
    return sq_end(s, ok, err);
}

static bool lease_release(struct store *st, const char *name, const char *owner,
                          struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT owner FROM leases WHERE name = ?1", err, "t", name);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read lease", err);
        const char *holder = r == 1 ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
        if (holder != NULL && (owner == NULL || strcmp(holder, owner) != 0))
            td_fail(err, TD_CONFLICT, "lease %.100s is not yours to release", name);
        else
            ok = r >= 0; /* ours, free or unknown: nothing to refuse */
        sq_done(stmt);
    }
    ok = ok && sq_exec(s, "UPDATE leases SET owner = NULL, until = 0 WHERE name = ?1", NULL, err,
                       "t", name);
    return sq_end(s, ok, err);
}

static bool lease_get(struct store *st, const char *name, char **owner, td_time *until,
                      struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    char *o = NULL;
    td_time u = 0;
    sqlite3_stmt *stmt = sq_query(s, "SELECT owner, until FROM leases WHERE name = ?1", err,
                                  "t", name);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read lease", err);
        if (r == 1) {
            o = sq_col_str(stmt, 0);
            u = sqlite3_column_int64(stmt, 1);
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no lease %.100s", name ? name : "");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        free(o);
        return false;
    }
    *owner = o;
    *until = u;
    return true;
}

static bool ticket_idle(struct store *st, enum td_status status, td_time before,
                        td_time after_updated, int64_t after, size_t limit,
                        struct td_idle_list *out, struct td_err *err)
{
    if (limit == 0)
        limit = 100;
    if (limit > 1000)
        limit = 1000;
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_idle_list l = { NULL, 0 };
    bool ok = false;
    /* The row value comparison is one range on the index. */
    sqlite3_stmt *stmt = sq_query(s, sq_desk_idle_sql, err, "tiiii", status_name(status), (int64_t)before,
                                  (int64_t)after_updated, (int64_t)after, (int64_t)limit);
    if (stmt != NULL) {
        int r;
        while ((r = sq_step(s, stmt, "list idle tickets", err)) == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            l.v[l.n].number = sqlite3_column_int64(stmt, 0);
            l.v[l.n].updated = sqlite3_column_int64(stmt, 1);
            l.n++;
        }
        ok = r == 0;
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        idle_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

static bool desk_counts(struct store *st, struct td_desk_counts *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_desk_counts c = { NULL, 0, 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, sq_desk_counts_sql, err, "");
    if (stmt != NULL) {
        int r;
        while ((r = sq_step(s, stmt, "count tickets", err)) == 1) {
            enum td_status stat;
            if (!status_parse((const char *)sqlite3_column_text(stmt, 0), &stat))
                continue; /* not ours to count */
            c.v = td_realloc(c.v, (c.n + 1) * sizeof *c.v);
            c.v[c.n].status = stat;
            c.v[c.n].queue = sq_col_str(stmt, 1);
            if (c.v[c.n].queue == NULL)
                c.v[c.n].queue = td_strdup("");
            c.v[c.n].n = sqlite3_column_int64(stmt, 2);
            c.n++;
        }
        ok = r == 0;
        sq_done(stmt);
    }
    static const char *const open_states[] = { "new", "open", "pending" };
    for (size_t i = 0; ok && i < 3; i++) {
        ok = false;
        stmt = sq_query(s, sq_desk_oldest_sql, err, "t", open_states[i]);
        if (stmt == NULL)
            break;
        if (sq_step(s, stmt, "oldest open ticket", err) == 1) {
            ok = true;
            if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
                td_time t = sqlite3_column_int64(stmt, 0);
                if (c.oldest_open == 0 || t < c.oldest_open)
                    c.oldest_open = t;
            }
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        desk_counts_clear(&c);
        return false;
    }
    *out = c;
    return true;
}

const struct store_desk_ops sq_desk_ops = {
    .lease_acquire = lease_acquire,
    .lease_release = lease_release,
    .lease_get = lease_get,
    .ticket_idle = ticket_idle,
    .desk_counts = desk_counts,
};

/* store_sqlite_groups.c - groups and their members in the SQLite backend
 * (store_groups.h). Two tables: groups keyed by the queue string, and
 * group_members with (group_key, user_id) as primary key, so a member is
 * listed once whatever the callers race; members come back in the order
 * they were added (rowid). Deleting a group cascades to its members. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

const char sq_migration_groups[] =
    "CREATE TABLE groups ("
    "  key     TEXT PRIMARY KEY,"
    "  name    TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE TABLE group_members ("
    "  group_key TEXT NOT NULL REFERENCES groups(key) ON DELETE CASCADE,"
    "  user_id   TEXT NOT NULL,"
    "  PRIMARY KEY (group_key, user_id)"
    ");"
    "CREATE INDEX group_members_user ON group_members(user_id);"
    /* An agent an admin restricted to their groups (core/scope.h). */
    "ALTER TABLE users ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;";

static bool members_load(struct sq_store *s, struct td_group *g, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT user_id FROM group_members WHERE group_key = ?1 "
                                     "ORDER BY rowid", err, "t", g->key);
    if (stmt == NULL)
        return false;
    int r;
    while ((r = sq_step(s, stmt, "read group members", err)) == 1)
        strv_push(&g->members, (const char *)sqlite3_column_text(stmt, 0));
    sq_done(stmt);
    return r == 0;
}

/* Rows of sql (bound to key unless NULL) with their members into l. */
static bool groups_read(struct sq_store *s, const char *sql, const char *key,
                        struct td_group_list *l, struct td_err *err)
{
    sqlite3_stmt *stmt = key ? sq_query(s, sql, err, "t", key) : sq_query(s, sql, err, "");
    if (stmt == NULL)
        return false;
    int r;
    while ((r = sq_step(s, stmt, "read groups", err)) == 1) {
        l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
        struct td_group *g = &l->v[l->n++];
        memset(g, 0, sizeof *g);
        g->key = sq_col_str(stmt, 0);
        g->name = sq_col_str(stmt, 1);
        g->created = sqlite3_column_int64(stmt, 2);
        g->updated = sqlite3_column_int64(stmt, 3);
    }
    sq_done(stmt);
    for (size_t i = 0; r == 0 && i < l->n; i++)
        if (!members_load(s, &l->v[i], err))
            r = -1;
    return r == 0;
}

static bool members_add(struct sq_store *s, const char *key, const struct strv *m,
                        struct td_err *err)
{
    bool ok = true;
    for (size_t i = 0; ok && i < m->n; i++)
        ok = sq_exec(s, "INSERT OR IGNORE INTO group_members (group_key, user_id) VALUES (?1, ?2)",
                     NULL, err, "tt", key, m->v[i]);
    return ok;
}

bool store_sqlite_group_insert(struct store *st, const struct td_group *g, struct td_err *err)
{
    if (g->key == NULL || g->key[0] == '\0')
        return td_fail(err, TD_INVALID, "a group needs a key");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO groups (key, name, created, updated) VALUES (?1, ?2, ?3, ?4)",
                      NULL, err, "ttii", g->key, g->name ? g->name : "", (int64_t)g->created,
                      (int64_t)g->updated);
    if (!ok && err && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "group %.200s exists", g->key);
    ok = ok && members_add(s, g->key, &g->members, err);
    return sq_end(s, ok, err);
}

bool store_sqlite_group_get(struct store *st, const char *key, struct td_group *out,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_group_list l = { NULL, 0 };
    bool ok = groups_read(s, "SELECT key, name, created, updated FROM groups WHERE key = ?1",
                          key ? key : "", &l, err);
    if (ok && l.n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", key ? key : "");
    if (!sq_end(s, ok, err)) {
        group_list_clear(&l);
        return false;
    }
    *out = l.v[0];
    free(l.v);
    return true;
}

bool store_sqlite_group_list(struct store *st, struct td_group_list *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_group_list l = { NULL, 0 };
    bool ok = groups_read(s, "SELECT key, name, created, updated FROM groups ORDER BY key", NULL,
                          &l, err);
    if (!sq_end(s, ok, err)) {
        group_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_group_update(struct store *st, const struct td_group *g, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s, "UPDATE groups SET name = ?2, updated = ?3 WHERE key = ?1", &changed, err,
                      "tti", g->key ? g->key : "", g->name ? g->name : "", (int64_t)g->updated);
    if (ok && changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", g->key ? g->key : "");
    return sq_end(s, ok, err);
}

bool store_sqlite_group_delete(struct store *st, const char *key, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s, "DELETE FROM groups WHERE key = ?1", &changed, err, "t", key ? key : "");
    if (ok && changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", key ? key : "");
    return sq_end(s, ok, err);
}

/* Both member changes: touch the group first (its absence is
 * TD_NOT_FOUND), then the membership row, in one write transaction. */
static bool member_change(struct store *st, const char *key, const char *user_id, td_time now,
                          bool add, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s, "UPDATE groups SET updated = ?2 WHERE key = ?1", &changed, err, "ti",
                      key ? key : "", (int64_t)now);
    if (ok && changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", key ? key : "");
    if (ok && add) {
        ok = sq_exec(s, "INSERT OR IGNORE INTO group_members (group_key, user_id) VALUES (?1, ?2)",
                     NULL, err, "tt", key, user_id ? user_id : "");
    } else if (ok) {
        ok = sq_exec(s, "DELETE FROM group_members WHERE group_key = ?1 AND user_id = ?2",
                     &changed, err, "tt", key, user_id ? user_id : "");
        if (ok && changed == 0)
            ok = td_fail(err, TD_NOT_FOUND, "%.30s is no member of group %.200s",
                         user_id ? user_id : "", key);
    }
    return sq_end(s, ok, err);
}

bool store_sqlite_group_member_add(struct store *st, const char *key, const char *user_id,
                                   td_time now, struct td_err *err)
{
    return member_change(st, key, user_id, now, true, err);
}

bool store_sqlite_group_member_remove(struct store *st, const char *key, const char *user_id,
                                      td_time now, struct td_err *err)
{
    return member_change(st, key, user_id, now, false, err);
}

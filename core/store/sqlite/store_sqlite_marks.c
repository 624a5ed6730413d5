/* store_sqlite_marks.c - how far a background job has got, kept in the
 * store (store.h: mark_get, mark_raise) in the SQLite backend. */
#include "store_sqlite_int.h"

/* Migration 17: one row per mark. */
const char sq_migration_marks[] =
    "CREATE TABLE marks ("
    "  name  TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;";

bool store_sqlite_mark_get(struct store *st, const char *name, int64_t *value,
                           struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT value FROM marks WHERE name = ?1", err, "t", name);
    int r = stmt ? sq_step(s, stmt, "mark get", err) : -1;
    if (r >= 0)
        *value = r == 1 ? sqlite3_column_int64(stmt, 0) : 0;
    if (stmt)
        sq_done(stmt);
    return sq_end(s, r >= 0, err);
}

bool store_sqlite_mark_raise(struct store *st, const char *name, int64_t value,
                             struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO marks (name, value) VALUES (?1, ?2) "
                         "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
                      NULL, err, "ti", name, value);
    return sq_end(s, ok, err);
}

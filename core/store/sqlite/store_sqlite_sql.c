/* store_sqlite_sql.c - the SQLite backend's statements: every other
 * store_sqlite_*.c reaches SQL only through these (store_sqlite_int.h),
 * so values are always bound parameters of cached prepared statements.
 * Errors, transactions and batches are in store_sqlite_tx.c; a statement
 * runs on the connection sq_begin bound to the calling thread (sq_db). */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- statements ------------------------------------------------------ */

sqlite3_stmt *sq_prepare(struct sq_store *s, const char *sql, struct td_err *err)
{
    /* Each connection has its own cache: a statement belongs to one. */
    struct sq_conn *reader = sq_reader();
    struct sq_cached **cache = reader != NULL ? &reader->cache : &s->cache;
    size_t *n_cache = reader != NULL ? &reader->n_cache : &s->n_cache;
    for (size_t i = 0; i < *n_cache; i++) {
        if ((*cache)[i].sql == sql) {
            sqlite3_stmt *stmt = (*cache)[i].stmt;
            sq_done(stmt);
            return stmt;
        }
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(sq_db(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, "prepare", err);
        return NULL;
    }
    *cache = td_realloc(*cache, (*n_cache + 1) * sizeof **cache);
    (*cache)[*n_cache].sql = sql;
    (*cache)[*n_cache].stmt = stmt;
    (*n_cache)++;
    return stmt;
}

static bool sq_vbind(struct sq_store *s, sqlite3_stmt *stmt, struct td_err *err,
                     const char *fmt, va_list ap)
{
    for (int i = 0; fmt[i] != '\0'; i++) {
        int idx = i + 1, rc;
        switch (fmt[i]) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(stmt, idx, v, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(stmt, idx);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(stmt, idx, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_int(stmt, idx, va_arg(ap, int));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            /* A NULL pointer would bind SQL NULL; an empty blob is X''. */
            rc = (p == NULL || n == 0) ? sqlite3_bind_zeroblob(stmt, idx, 0)
                                       : sqlite3_bind_blob64(stmt, idx, p, n, SQLITE_STATIC);
            break;
        }
        default:
            return td_fail(err, TD_INTERNAL, "sqlite: bad bind format '%c'", fmt[i]);
        }
        if (rc != SQLITE_OK)
            return sq_fail(s, rc, "bind", err);
    }
    return true;
}

bool sq_bind(struct sq_store *s, sqlite3_stmt *stmt, struct td_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = sq_vbind(s, stmt, err, fmt, ap);
    va_end(ap);
    return ok;
}

int sq_step(struct sq_store *s, sqlite3_stmt *stmt, const char *what, struct td_err *err)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    /* sqlite3_errmsg describes rc only until the next call on the
     * connection, so report before resetting. */
    sq_fail(s, sqlite3_extended_errcode(sq_db(s)), what, err);
    sq_done(stmt);
    return -1;
}

void sq_done(sqlite3_stmt *stmt)
{
    if (stmt == NULL)
        return;
    /* reset repeats the last step's error code, which was reported
     * already; bindings are SQLITE_STATIC and must not outlive the call. */
    (void)sqlite3_reset(stmt);
    (void)sqlite3_clear_bindings(stmt);
}

sqlite3_stmt *sq_query(struct sq_store *s, const char *sql, struct td_err *err,
                       const char *fmt, ...)
{
    sqlite3_stmt *stmt = sq_prepare(s, sql, err);
    if (stmt == NULL)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    bool ok = sq_vbind(s, stmt, err, fmt, ap);
    va_end(ap);
    if (!ok) {
        sq_done(stmt);
        return NULL;
    }
    return stmt;
}

bool sq_exec(struct sq_store *s, const char *sql, int64_t *changes, struct td_err *err,
             const char *fmt, ...)
{
    sqlite3_stmt *stmt = sq_prepare(s, sql, err);
    if (stmt == NULL)
        return false;
    va_list ap;
    va_start(ap, fmt);
    bool ok = sq_vbind(s, stmt, err, fmt, ap);
    va_end(ap);
    int r = 1;
    while (ok && r == 1)
        r = sq_step(s, stmt, "write", err);
    ok = ok && r == 0;
    if (ok && changes != NULL)
        *changes = sqlite3_changes64(sq_db(s));
    sq_done(stmt);
    return ok;
}

char *sq_col_str(sqlite3_stmt *stmt, int col)
{
    const unsigned char *v = sqlite3_column_text(stmt, col);
    if (v == NULL)
        return NULL;
    return td_strndup((const char *)v, (size_t)sqlite3_column_bytes(stmt, col));
}

void sq_col_id(sqlite3_stmt *stmt, int col, char out[TD_ID_LEN + 1])
{
    const unsigned char *v = sqlite3_column_text(stmt, col);
    size_t n = v ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    if (n > TD_ID_LEN)
        n = TD_ID_LEN;
    if (n > 0)
        memcpy(out, v, n);
    out[n] = '\0';
}

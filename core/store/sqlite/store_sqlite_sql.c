/* store_sqlite_sql.c - the SQLite backend's errors, transactions and
 * statements: every other store_sqlite_*.c reaches SQL only through these
 * (store_sqlite_int.h), so values are always bound parameters of cached
 * prepared statements. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- errors and transactions ---------------------------------------- */

bool sq_fail(struct sq_store *s, int rc, const char *what, struct td_err *err)
{
    enum td_code code = TD_INTERNAL;
    int primary = rc & 0xff;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = TD_CONFLICT;
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        code = TD_UNAVAILABLE; /* busy_timeout already waited */
    else if (primary == SQLITE_CANTOPEN)
        code = TD_UNAVAILABLE;
    return td_fail(err, code, "sqlite: %s: %s", what,
                   s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/* Runs fixed SQL text (no parameters) outside the statement cache. */
bool sq_exec_text(struct sq_store *s, const char *sql, const char *what,
                         struct td_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, what, err);
    return true;
}

bool sq_begin(struct sq_store *s, enum sq_tx kind, struct td_err *err)
{
    /* A default mutex fails only when misused (EINVAL): report, not hang. */
    int e = pthread_mutex_lock(&s->lock);
    if (e != 0)
        return td_fail(err, TD_INTERNAL, "sqlite: store lock failed (error %d)", e);
    const char *sql = kind == SQ_WRITE ? "BEGIN IMMEDIATE" : "BEGIN";
    if (!sq_exec_text(s, sql, "begin transaction", err)) {
        (void)pthread_mutex_unlock(&s->lock); /* ours, locked above */
        return false;
    }
    return true;
}

static void sq_rollback(struct sq_store *s)
{
    /* Some errors (SQLITE_FULL, IOERR, NOMEM) make SQLite roll back by
     * itself; a second ROLLBACK would only fail. Its own failure leaves
     * nothing to undo, so the original error is the one reported. */
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

bool sq_end(struct sq_store *s, bool ok, struct td_err *err)
{
    if (ok)
        ok = sq_exec_text(s, "COMMIT", "commit", err);
    if (!ok)
        sq_rollback(s);
    (void)pthread_mutex_unlock(&s->lock); /* ours, locked by sq_begin */
    return ok;
}

/* ---- statements ------------------------------------------------------ */

sqlite3_stmt *sq_prepare(struct sq_store *s, const char *sql, struct td_err *err)
{
    for (size_t i = 0; i < s->n_cache; i++) {
        if (s->cache[i].sql == sql) {
            sqlite3_stmt *stmt = s->cache[i].stmt;
            sq_done(stmt);
            return stmt;
        }
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, "prepare", err);
        return NULL;
    }
    s->cache = td_realloc(s->cache, (s->n_cache + 1) * sizeof *s->cache);
    s->cache[s->n_cache].sql = sql;
    s->cache[s->n_cache].stmt = stmt;
    s->n_cache++;
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
    sq_fail(s, sqlite3_extended_errcode(s->db), what, err);
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
        *changes = sqlite3_changes64(s->db);
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

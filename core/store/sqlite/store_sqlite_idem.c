/* store_sqlite_idem.c - Idempotency-Key records (api/idempotency.c) in
 * the SQLite backend. The primary key decides which of two concurrent
 * first requests runs. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

const char sq_migration_idem[] =
    "CREATE TABLE idempotency ("
    "  key          TEXT PRIMARY KEY,"
    "  fingerprint  TEXT NOT NULL,"
    "  status       INTEGER NOT NULL DEFAULT 0,"
    "  content_type TEXT,"
    "  body         TEXT,"
    "  location     TEXT,"
    "  etag         TEXT,"
    "  created      INTEGER NOT NULL,"
    "  expires      INTEGER NOT NULL"
    ");"
    "CREATE INDEX idempotency_expires ON idempotency(expires);";

bool store_sqlite_idem_insert(struct store *st, const struct td_idem *r, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO idempotency (key, fingerprint, status, created, expires) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      NULL, err, "ttiii", r->key, r->fingerprint, (int64_t)r->status,
                      (int64_t)r->created, (int64_t)r->expires);
    return sq_end(s, ok, err);
}

bool store_sqlite_idem_get(struct store *st, const char *key, struct td_idem *out,
                           struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_idem r;
    memset(&r, 0, sizeof r);
    int got = -1;
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT key, fingerprint, status, content_type, body, location, "
                                  "etag, created, expires FROM idempotency WHERE key = ?1",
                                  err, "t", key);
    if (stmt != NULL) {
        got = sq_step(s, stmt, "read idempotency key", err);
        if (got == 1) {
            const char *k = (const char *)sqlite3_column_text(stmt, 0);
            const char *f = (const char *)sqlite3_column_text(stmt, 1);
            if (k && strlen(k) == TD_TOKEN_HASH_LEN)
                memcpy(r.key, k, TD_TOKEN_HASH_LEN + 1);
            if (f && strlen(f) == TD_TOKEN_HASH_LEN)
                memcpy(r.fingerprint, f, TD_TOKEN_HASH_LEN + 1);
            r.status = sqlite3_column_int64(stmt, 2);
            r.content_type = sq_col_str(stmt, 3);
            r.body = sq_col_str(stmt, 4);
            r.location = sq_col_str(stmt, 5);
            r.etag = sq_col_str(stmt, 6);
            r.created = sqlite3_column_int64(stmt, 7);
            r.expires = sqlite3_column_int64(stmt, 8);
        } else if (got == 0) {
            td_fail(err, TD_NOT_FOUND, "no such idempotency key");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, got == 1, err)) {
        idem_clear(&r);
        return false;
    }
    *out = r;
    return true;
}

bool store_sqlite_idem_finish(struct store *st, const struct td_idem *r, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s,
                      "UPDATE idempotency SET status = ?2, content_type = ?3, body = ?4, "
                      "location = ?5, etag = ?6 WHERE key = ?1",
                      &n, err, "titttt", r->key, (int64_t)r->status, r->content_type,
                      r->body, r->location, r->etag);
    if (ok && n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such idempotency key");
    return sq_end(s, ok, err);
}

bool store_sqlite_idem_delete(struct store *st, const char *key, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "DELETE FROM idempotency WHERE key = ?1", NULL, err, "t", key);
    return sq_end(s, ok, err);
}

bool store_sqlite_idem_purge(struct store *st, td_time before, int64_t *deleted,
                             struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s, "DELETE FROM idempotency WHERE expires < ?1", &n, err, "i",
                      (int64_t)before);
    if (!sq_end(s, ok, err))
        return false;
    if (deleted)
        *deleted = n;
    return true;
}

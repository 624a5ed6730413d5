/* store_sqlite_pat.c - personal access tokens (core/pat.c) in the SQLite
 * backend: one row per token, looked up by the hash of its secret. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

/* The schema this file needs, as a migration store_sqlite.c runs in
 * order (its migrations[] names this array). */
const char sq_migration_pat[] =
    "CREATE TABLE api_tokens ("
    "  id            TEXT PRIMARY KEY,"
    "  hash          TEXT NOT NULL UNIQUE,"
    "  user_id       TEXT NOT NULL,"
    "  name          TEXT NOT NULL,"
    "  scopes        INTEGER NOT NULL,"
    "  token_version INTEGER NOT NULL,"
    "  created       INTEGER NOT NULL,"
    "  expires       INTEGER NOT NULL DEFAULT 0,"
    "  last_used     INTEGER NOT NULL DEFAULT 0,"
    "  last_addr     TEXT NOT NULL DEFAULT '',"
    "  revoked       INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX api_tokens_user ON api_tokens(user_id, created);";

#define PAT_COLS                                                                                   \
    "id, hash, user_id, name, scopes, token_version, created, expires, last_used, last_addr, "    \
    "revoked"

static void pat_row(sqlite3_stmt *stmt, struct td_pat *t)
{
    memset(t, 0, sizeof *t);
    sq_col_id(stmt, 0, t->id);
    const char *h = (const char *)sqlite3_column_text(stmt, 1);
    if (h != NULL && strlen(h) == TD_TOKEN_HASH_LEN)
        memcpy(t->hash, h, TD_TOKEN_HASH_LEN + 1);
    sq_col_id(stmt, 2, t->user_id);
    t->name = sq_col_str(stmt, 3);
    if (t->name == NULL)
        t->name = td_strdup("");
    t->scopes = (unsigned)sqlite3_column_int64(stmt, 4);
    t->token_version = sqlite3_column_int64(stmt, 5);
    t->created = sqlite3_column_int64(stmt, 6);
    t->expires = sqlite3_column_int64(stmt, 7);
    t->last_used = sqlite3_column_int64(stmt, 8);
    const char *a = (const char *)sqlite3_column_text(stmt, 9);
    snprintf(t->last_addr, sizeof t->last_addr, "%s", a ? a : "");
    t->revoked = sqlite3_column_int(stmt, 10) != 0;
}

bool store_sqlite_pat_insert(struct store *st, const struct td_pat *t, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO api_tokens (" PAT_COLS ") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                      NULL, err, "ttttiiiiitd", t->id, t->hash, t->user_id,
                      t->name ? t->name : "", (int64_t)t->scopes, (int64_t)t->token_version,
                      (int64_t)t->created, (int64_t)t->expires, (int64_t)t->last_used,
                      t->last_addr, (int)t->revoked);
    return sq_end(s, ok, err);
}

bool store_sqlite_pat_get_by_hash(struct store *st, const char *hash, struct td_pat *out,
                                  struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_pat t;
    memset(&t, 0, sizeof t);
    int r = -1;
    sqlite3_stmt *stmt =
        sq_query(s, "SELECT " PAT_COLS " FROM api_tokens WHERE hash = ?1", err, "t", hash);
    if (stmt != NULL) {
        r = sq_step(s, stmt, "read access token", err);
        if (r == 1)
            pat_row(stmt, &t);
        else if (r == 0)
            td_fail(err, TD_NOT_FOUND, "no such access token");
        sq_done(stmt);
    }
    if (!sq_end(s, r == 1, err)) {
        pat_clear(&t);
        return false;
    }
    *out = t;
    return true;
}

bool store_sqlite_pat_list(struct store *st, const char *user_id, struct td_pat_list *out,
                           struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_pat_list l = { NULL, 0 };
    sqlite3_stmt *stmt =
        user_id ? sq_query(s,
                           "SELECT " PAT_COLS " FROM api_tokens WHERE user_id = ?1 "
                           "ORDER BY created DESC, id DESC",
                           err, "t", user_id)
                : sq_query(s, "SELECT " PAT_COLS " FROM api_tokens ORDER BY created DESC, id DESC",
                           err, "");
    int r = stmt ? 1 : -1;
    while (r == 1) {
        r = sq_step(s, stmt, "list access tokens", err);
        if (r == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            pat_row(stmt, &l.v[l.n++]);
        }
    }
    sq_done(stmt);
    if (!sq_end(s, r == 0, err)) {
        pat_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_pat_revoke(struct store *st, const char *id, const char *user_id,
                             struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s,
                      "UPDATE api_tokens SET revoked = 1 "
                      "WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                      &n, err, "tt", id, user_id);
    if (ok && n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such access token");
    return sq_end(s, ok, err);
}

bool store_sqlite_pat_touch(struct store *st, const char *id, td_time now, const char *addr,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s,
                      "UPDATE api_tokens SET last_used = ?2, "
                      "last_addr = COALESCE(?3, last_addr) WHERE id = ?1",
                      &n, err, "tit", id, (int64_t)now, addr);
    if (ok && n == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such access token");
    return sq_end(s, ok, err);
}

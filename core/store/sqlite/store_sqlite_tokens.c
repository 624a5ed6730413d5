/* store_sqlite_tokens.c - what the REST API adds to the SQLite backend:
 * refresh tokens and the attachment -> comment lookup.
 *
 * Rotation (token_mark_used_if_unused) is one conditional UPDATE inside
 * a write transaction: "used_at = 0 AND revoked = 0" is the guard, and
 * SQLite's single writer makes the check and the write one step, so two
 * refreshes with one token cannot both see it unused. */
#include "store_sqlite_int.h"

#include <string.h>

/* The schema this file needs, as a migration store_sqlite.c runs in
 * order (its migrations[] names this array). */
const char sq_migration_api[] =
    "CREATE TABLE refresh_tokens ("
    "  hash          TEXT PRIMARY KEY,"
    "  family        TEXT NOT NULL,"
    "  user_id       TEXT NOT NULL,"
    "  token_version INTEGER NOT NULL,"
    "  created       INTEGER NOT NULL,"
    "  expires       INTEGER NOT NULL,"
    "  used_at       INTEGER NOT NULL DEFAULT 0,"
    "  revoked       INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires);"
    /* attachment_owner: attachment id -> its comment */
    "CREATE INDEX comment_attachments_attachment ON comment_attachments(attachment_id);";

#define TOKEN_COLS "hash, family, user_id, token_version, created, expires, used_at, revoked"

static void token_row(sqlite3_stmt *stmt, struct td_refresh_token *t)
{
    memset(t, 0, sizeof *t);
    const char *h = (const char *)sqlite3_column_text(stmt, 0);
    if (h != NULL && strlen(h) == TD_TOKEN_HASH_LEN)
        memcpy(t->hash, h, TD_TOKEN_HASH_LEN + 1);
    sq_col_id(stmt, 1, t->family);
    sq_col_id(stmt, 2, t->user_id);
    t->token_version = sqlite3_column_int64(stmt, 3);
    t->created = sqlite3_column_int64(stmt, 4);
    t->expires = sqlite3_column_int64(stmt, 5);
    t->used_at = sqlite3_column_int64(stmt, 6);
    t->revoked = sqlite3_column_int(stmt, 7) != 0;
}

bool store_sqlite_token_insert(struct store *st, const struct td_refresh_token *t,
                               struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO refresh_tokens (" TOKEN_COLS ") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                      NULL, err, "tttiiiid", t->hash, t->family, t->user_id,
                      (int64_t)t->token_version, (int64_t)t->created, (int64_t)t->expires,
                      (int64_t)t->used_at, (int)t->revoked);
    return sq_end(s, ok, err);
}

/* Reads the token with hash into *out inside an open transaction:
 * 1 found, 0 not there, -1 error. */
static int token_read(struct sq_store *s, const char *hash, struct td_refresh_token *out,
                      struct td_err *err)
{
    sqlite3_stmt *stmt = sq_query(s, "SELECT " TOKEN_COLS " FROM refresh_tokens WHERE hash = ?1",
                                  err, "t", hash);
    if (stmt == NULL)
        return -1;
    int r = sq_step(s, stmt, "read refresh token", err);
    if (r == 1)
        token_row(stmt, out);
    sq_done(stmt);
    return r;
}

bool store_sqlite_token_get(struct store *st, const char *hash, struct td_refresh_token *out,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_refresh_token t = { .used_at = 0 };
    int r = token_read(s, hash, &t, err);
    if (r == 0)
        td_fail(err, TD_NOT_FOUND, "no such refresh token");
    if (!sq_end(s, r == 1, err))
        return false;
    *out = t;
    return true;
}

bool store_sqlite_token_mark_used_if_unused(struct store *st, const char *hash, td_time now,
                                            struct td_refresh_token *out, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    struct td_refresh_token t = { .used_at = 0 };
    bool ok = sq_exec(s,
                      "UPDATE refresh_tokens SET used_at = ?2 "
                      "WHERE hash = ?1 AND used_at = 0 AND revoked = 0",
                      &changed, err, "ti", hash, (int64_t)now);
    if (ok) {
        int r = token_read(s, hash, &t, err);
        if (r < 0)
            ok = false;
        else if (r == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no such refresh token");
        else if (changed == 0)
            ok = td_fail(err, TD_CONFLICT, "refresh token already used or revoked");
    }
    if (!sq_end(s, ok, err))
        return false;
    *out = t;
    return true;
}

bool store_sqlite_token_revoke_family(struct store *st, const char *family, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?1", NULL, err, "t",
                      family);
    return sq_end(s, ok, err);
}

bool store_sqlite_token_purge(struct store *st, td_time before, int64_t *deleted,
                              struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t n = 0;
    bool ok = sq_exec(s, "DELETE FROM refresh_tokens WHERE expires < ?1", &n, err, "i",
                      (int64_t)before);
    if (!sq_end(s, ok, err))
        return false;
    if (deleted)
        *deleted = n;
    return true;
}

bool store_sqlite_attachment_owner(struct store *st, const char *attachment_id, int64_t *ticket,
                                   bool *internal, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    int64_t tk = 0;
    bool in = false;
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT c.ticket, c.internal FROM comment_attachments a "
                                  "JOIN comments c ON c.id = a.comment_id "
                                  "WHERE a.attachment_id = ?1 LIMIT 1",
                                  err, "t", attachment_id);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "find attachment", err);
        if (r == 1) {
            tk = sqlite3_column_int64(stmt, 0);
            in = sqlite3_column_int(stmt, 1) != 0;
            ok = true;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no such attachment");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err))
        return false;
    *ticket = tk;
    *internal = in;
    return true;
}

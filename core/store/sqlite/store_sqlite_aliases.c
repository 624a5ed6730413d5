/* store_sqlite_aliases.c - agents' extra sending addresses in the SQLite
 * backend (struct td_alias, store.h). confirm is one conditional UPDATE
 * ... RETURNING in a write transaction: the single writer makes "still
 * unconfirmed and not expired" and the change one step. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <string.h>

const char sq_migration_aliases[] =
    "CREATE TABLE aliases ("
    "  email      TEXT PRIMARY KEY COLLATE NOCASE,"
    "  user_id    TEXT NOT NULL,"
    "  confirmed  INTEGER NOT NULL DEFAULT 0,"
    "  token_hash TEXT NOT NULL DEFAULT '',"
    "  expires    INTEGER NOT NULL DEFAULT 0,"
    "  created    INTEGER NOT NULL"
    ");"
    "CREATE INDEX aliases_user ON aliases(user_id, email);"
    "CREATE INDEX aliases_token ON aliases(token_hash);";

#define ALIAS_COLS "email, user_id, confirmed, token_hash, expires, created"

static void alias_row(sqlite3_stmt *stmt, struct td_alias *a)
{
    memset(a, 0, sizeof *a);
    a->email = sq_col_str(stmt, 0);
    sq_col_id(stmt, 1, a->user_id);
    a->confirmed = sqlite3_column_int(stmt, 2) != 0;
    const char *h = (const char *)sqlite3_column_text(stmt, 3);
    if (h != NULL && strlen(h) == TD_TOKEN_HASH_LEN)
        memcpy(a->token_hash, h, TD_TOKEN_HASH_LEN + 1);
    a->expires = sqlite3_column_int64(stmt, 4);
    a->created = sqlite3_column_int64(stmt, 5);
}

bool store_sqlite_alias_insert(struct store *st, const struct td_alias *a, struct td_err *err)
{
    if (a->email == NULL || a->email[0] == '\0')
        return td_fail(err, TD_INVALID, "an alias needs an address");
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s, "INSERT INTO aliases (" ALIAS_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      NULL, err, "ttdtii", a->email, a->user_id, (int)a->confirmed, a->token_hash,
                      (int64_t)a->expires, (int64_t)a->created);
    if (!ok && err && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "%.200s is already an alias", a->email);
    return sq_end(s, ok, err);
}

/* One row of sql (bound to the text arg) into out; TD_NOT_FOUND when none. */
static bool one(struct sq_store *s, const char *sql, const char *arg, td_time now, bool write,
                struct td_alias *out, struct td_err *err)
{
    if (!sq_begin(s, write ? SQ_WRITE : SQ_READ, err))
        return false;
    bool ok = false;
    struct td_alias a;
    memset(&a, 0, sizeof a);
    sqlite3_stmt *stmt = write ? sq_query(s, sql, err, "ti", arg, (int64_t)now)
                               : sq_query(s, sql, err, "t", arg);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read alias", err);
        if (r == 1) {
            alias_row(stmt, &a);
            ok = true;
            if (write) /* RETURNING: step to the end before the commit */
                ok = sq_step(s, stmt, "confirm alias", err) == 0;
        } else if (r == 0) {
            td_fail(err, TD_NOT_FOUND, "no such alias");
        }
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        alias_clear(&a);
        return false;
    }
    *out = a;
    return true;
}

bool store_sqlite_alias_get(struct store *st, const char *email, struct td_alias *out,
                            struct td_err *err)
{
    return one(sq_of(st), "SELECT " ALIAS_COLS " FROM aliases WHERE email = ?1",
               email ? email : "", 0, false, out, err);
}

bool store_sqlite_alias_confirm(struct store *st, const char *token_hash, td_time now,
                                struct td_alias *out, struct td_err *err)
{
    if (token_hash == NULL || strlen(token_hash) != TD_TOKEN_HASH_LEN)
        return td_fail(err, TD_NOT_FOUND, "no such alias");
    return one(sq_of(st),
               "UPDATE aliases SET confirmed = 1, token_hash = '', expires = 0 "
               "WHERE token_hash = ?1 AND confirmed = 0 AND expires >= ?2 RETURNING " ALIAS_COLS,
               token_hash, now, true, out, err);
}

bool store_sqlite_alias_list(struct store *st, const char *user_id, struct td_alias_list *out,
                             struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_alias_list l = { NULL, 0 };
    int r = -1;
    sqlite3_stmt *stmt = sq_query(s, "SELECT " ALIAS_COLS " FROM aliases WHERE user_id = ?1 "
                                     "ORDER BY email", err, "t", user_id ? user_id : "");
    if (stmt != NULL) {
        while ((r = sq_step(s, stmt, "list aliases", err)) == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            alias_row(stmt, &l.v[l.n++]);
        }
        sq_done(stmt);
    }
    if (!sq_end(s, r == 0, err)) {
        alias_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool store_sqlite_alias_delete(struct store *st, const char *email, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s, "DELETE FROM aliases WHERE email = ?1", &changed, err, "t",
                      email ? email : "");
    if (ok && changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no alias %.200s", email ? email : "");
    return sq_end(s, ok, err);
}

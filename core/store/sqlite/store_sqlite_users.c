/* store_sqlite_users.c - users in the SQLite backend.
 *
 * Email uniqueness is the UNIQUE index on users.email (COLLATE NOCASE,
 * although core already lower-cases it), never a lookup before the
 * write, so two concurrent sign-ups with one address cannot both win. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#define USER_COLS \
    "id, email, name, role, pw_hash, disabled, token_version, created, updated, restricted"

/* Fills u from a row of USER_COLS; u is cleared on failure. */
static bool user_row(sqlite3_stmt *stmt, struct td_user *u, struct td_err *err)
{
    sq_col_id(stmt, 0, u->id);
    u->email = sq_col_str(stmt, 1);
    u->name = sq_col_str(stmt, 2);
    u->pw_hash = sq_col_str(stmt, 4);
    u->disabled = sqlite3_column_int(stmt, 5) != 0;
    u->token_version = sqlite3_column_int64(stmt, 6);
    u->created = sqlite3_column_int64(stmt, 7);
    u->updated = sqlite3_column_int64(stmt, 8);
    u->restricted = sqlite3_column_int(stmt, 9) != 0; /* migration 12 */
    const char *role = (const char *)sqlite3_column_text(stmt, 3);
    if (!role_parse(role, &u->role)) {
        td_fail(err, TD_INTERNAL, "sqlite: user %s has unknown role '%.32s'", u->id,
                role ? role : "");
        user_clear(u);
        return false;
    }
    return true;
}

/* A conflict from the users table is the email (or, from a buggy
 * caller, the id): say so in words a user understands. */
static void user_conflict(const struct td_user *u, struct td_err *err)
{
    if (err != NULL && err->code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "a user with email %.200s already exists",
                u->email ? u->email : "");
}

bool store_sqlite_user_insert(struct store *st, const struct td_user *u, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    bool ok = sq_exec(s,
                      "INSERT INTO users (" USER_COLS ") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                      NULL, err, "tttttdiiid", u->id, u->email, u->name, role_name(u->role),
                      u->pw_hash, (int)u->disabled, (int64_t)u->token_version,
                      (int64_t)u->created, (int64_t)u->updated, (int)u->restricted);
    if (!ok)
        user_conflict(u, err);
    return sq_end(s, ok, err);
}

bool store_sqlite_user_update(struct store *st, const struct td_user *u, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int64_t changed = 0;
    bool ok = sq_exec(s,
                      "UPDATE users SET email = ?2, name = ?3, role = ?4, pw_hash = ?5, "
                      "disabled = ?6, token_version = ?7, created = ?8, updated = ?9, "
                      "restricted = ?10 WHERE id = ?1",
                      &changed, err, "tttttdiiid", u->id, u->email, u->name, role_name(u->role),
                      u->pw_hash, (int)u->disabled, (int64_t)u->token_version,
                      (int64_t)u->created, (int64_t)u->updated, (int)u->restricted);
    if (!ok)
        user_conflict(u, err);
    else if (changed == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no user with id %s", u->id);
    return sq_end(s, ok, err);
}

/* One user by a unique column; sql selects USER_COLS with ?1 = key. */
static bool user_get_one(struct sq_store *s, const char *sql, const char *key,
                         struct td_user *out, struct td_err *err)
{
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_user u = { 0 };
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, sql, err, "t", key);
    if (stmt != NULL) {
        int r = sq_step(s, stmt, "read user", err);
        if (r == 1)
            ok = user_row(stmt, &u, err);
        else if (r == 0)
            td_fail(err, TD_NOT_FOUND, "no such user: %.200s", key ? key : "");
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        user_clear(&u);
        return false;
    }
    *out = u;
    return true;
}

bool store_sqlite_user_get(struct store *st, const char *id, struct td_user *out,
                           struct td_err *err)
{
    return user_get_one(sq_of(st), "SELECT " USER_COLS " FROM users WHERE id = ?1", id, out,
                        err);
}

bool store_sqlite_user_get_by_email(struct store *st, const char *email_lower,
                                    struct td_user *out, struct td_err *err)
{
    return user_get_one(sq_of(st), "SELECT " USER_COLS " FROM users WHERE email = ?1",
                        email_lower, out, err);
}

bool store_sqlite_user_list(struct store *st, int role, struct td_user_list *out,
                            struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    struct td_user_list l = { NULL, 0 };
    bool ok = false;
    /* ?1 NULL = every role. */
    sqlite3_stmt *stmt = sq_query(s,
                                  "SELECT " USER_COLS " FROM users "
                                  "WHERE ?1 IS NULL OR role = ?1 ORDER BY email, id",
                                  err, "t", role < 0 ? NULL : role_name((enum td_role)role));
    if (stmt != NULL) {
        int r = -1;
        ok = true;
        while (ok && (r = sq_step(s, stmt, "list users", err)) == 1) {
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            struct td_user *u = &l.v[l.n];
            *u = (struct td_user){ 0 };
            ok = user_row(stmt, u, err);
            if (ok)
                l.n++;
        }
        ok = ok && r == 0;
        sq_done(stmt);
    }
    if (!sq_end(s, ok, err)) {
        user_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

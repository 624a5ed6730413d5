/* store_sqlite.c - the embedded storage backend: open, schema
 * migrations, the shared statement/transaction helpers and the ops table.
 *
 * Why this shape:
 * - The schema is versioned with PRAGMA user_version. migrations[i]
 *   brings a database from version i to i + 1; store_sqlite_open runs the
 *   missing ones inside one BEGIN IMMEDIATE transaction, re-reading the
 *   version there, so two processes opening a fresh file at once do not
 *   both migrate it. A database newer than this binary is refused rather
 *   than misread.
 * - Every value reaches SQL through bound parameters of a cached
 *   prepared statement (sq_prepare/sq_bind); the only SQL text built at
 *   run time is "PRAGMA user_version = N" from our own constant.
 * - Enums are stored by their stable names from model.h, times as
 *   INTEGER milliseconds, ids as TEXT.
 * Locking and threads: see store_sqlite_int.h. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Version N of the schema is migrations[0..N-1]. Append, never edit: a
 * released migration may already have run on someone's database. */
static const char *const migrations[] = {
    /* 1: everything ticketd keeps. */
    "CREATE TABLE users ("
    "  id            TEXT PRIMARY KEY,"
    "  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  name          TEXT,"
    "  role          TEXT NOT NULL,"
    "  pw_hash       TEXT,"
    "  disabled      INTEGER NOT NULL DEFAULT 0,"
    "  token_version INTEGER NOT NULL DEFAULT 0,"
    "  created       INTEGER NOT NULL,"
    "  updated       INTEGER NOT NULL"
    ");"
    "CREATE INDEX users_role_email ON users(role, email);"

    /* Allocators that must never hand out a value twice. */
    "CREATE TABLE counters ("
    "  name  TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ");"
    "INSERT INTO counters(name, value) VALUES ('ticket', 0);"

    "CREATE TABLE tickets ("
    "  number       INTEGER PRIMARY KEY,"
    "  subject      TEXT NOT NULL,"
    "  status       TEXT NOT NULL,"
    "  priority     TEXT NOT NULL,"
    "  requester_id TEXT NOT NULL,"
    "  assignee_id  TEXT NOT NULL DEFAULT '',"
    "  queue        TEXT NOT NULL DEFAULT '',"
    "  created      INTEGER NOT NULL,"
    "  updated      INTEGER NOT NULL,"
    "  version      INTEGER NOT NULL"
    ");"
    "CREATE INDEX tickets_status ON tickets(status);"
    "CREATE INDEX tickets_assignee ON tickets(assignee_id);"
    "CREATE INDEX tickets_requester ON tickets(requester_id);"
    "CREATE INDEX tickets_updated ON tickets(updated);"

    /* pos keeps the caller's tag order; (ticket, tag) makes it a set. */
    "CREATE TABLE ticket_tags ("
    "  ticket INTEGER NOT NULL REFERENCES tickets(number) ON DELETE CASCADE,"
    "  pos    INTEGER NOT NULL,"
    "  tag    TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, tag)"
    ") WITHOUT ROWID;"
    "CREATE INDEX ticket_tags_tag ON ticket_tags(tag);"

    /* A Message-ID belongs to at most one thread, or threading would be
     * ambiguous; rowid order is the order they were added. */
    "CREATE TABLE ticket_msgids ("
    "  msgid  TEXT PRIMARY KEY,"
    "  ticket INTEGER NOT NULL REFERENCES tickets(number) ON DELETE CASCADE"
    ");"
    "CREATE INDEX ticket_msgids_ticket ON ticket_msgids(ticket);"

    "CREATE TABLE events ("
    "  ticket    INTEGER NOT NULL REFERENCES tickets(number) ON DELETE CASCADE,"
    "  seq       INTEGER NOT NULL,"
    "  actor_id  TEXT NOT NULL DEFAULT '',"
    "  kind      TEXT NOT NULL,"
    "  old_value TEXT,"
    "  new_value TEXT,"
    "  at        INTEGER NOT NULL,"
    "  PRIMARY KEY (ticket, seq)"
    ") WITHOUT ROWID;"

    /* message_id is UNIQUE but NULL for comments that never saw mail
     * (SQLite lets any number of NULLs through a UNIQUE index). */
    "CREATE TABLE comments ("
    "  id         TEXT PRIMARY KEY,"
    "  ticket     INTEGER NOT NULL REFERENCES tickets(number) ON DELETE CASCADE,"
    "  author_id  TEXT NOT NULL,"
    "  internal   INTEGER NOT NULL,"
    "  source     TEXT NOT NULL,"
    "  body       TEXT,"
    "  message_id TEXT UNIQUE,"
    "  created    INTEGER NOT NULL"
    ");"
    "CREATE INDEX comments_ticket ON comments(ticket, created);"

    /* The refs a comment shows; the bytes live in attachments, written
     * before the comment, so no foreign key between the two. */
    "CREATE TABLE comment_attachments ("
    "  comment_id    TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,"
    "  pos           INTEGER NOT NULL,"
    "  attachment_id TEXT NOT NULL,"
    "  name          TEXT,"
    "  content_type  TEXT,"
    "  size          INTEGER NOT NULL,"
    "  PRIMARY KEY (comment_id, pos)"
    ") WITHOUT ROWID;"

    "CREATE TABLE attachments ("
    "  id           TEXT PRIMARY KEY,"
    "  name         TEXT,"
    "  content_type TEXT,"
    "  size         INTEGER NOT NULL,"
    "  data         BLOB NOT NULL"
    ");"

    "CREATE TABLE msgid_map ("
    "  msgid  TEXT PRIMARY KEY,"
    "  ticket INTEGER NOT NULL"
    ");"

    "CREATE TABLE mailboxes ("
    "  name        TEXT PRIMARY KEY,"
    "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
    "  last_uid    INTEGER NOT NULL DEFAULT 0,"
    "  lease_owner TEXT,"
    "  lease_until INTEGER NOT NULL DEFAULT 0"
    ");"

    "CREATE TABLE outbox ("
    "  id           TEXT PRIMARY KEY,"
    "  kind         TEXT,"
    "  ticket       INTEGER NOT NULL,"
    "  recipient    TEXT,"
    "  payload      TEXT,"
    "  state        TEXT NOT NULL,"
    "  attempts     INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt INTEGER NOT NULL,"
    "  owner        TEXT,"
    "  lease_until  INTEGER NOT NULL DEFAULT 0,"
    "  last_error   TEXT,"
    "  created      INTEGER NOT NULL"
    ");"
    "CREATE INDEX outbox_due ON outbox(state, next_attempt);"
    "CREATE INDEX outbox_created ON outbox(created);",

    /* 2: the notification loop guard counts a recipient's recent mail. */
    "CREATE INDEX outbox_recipient ON outbox(recipient, created);",

    /* 3: refresh tokens and the attachment lookup of the REST API
     * (the SQL is in store_sqlite_tokens.c). */
    sq_migration_api,

    /* 4: quarantined mail of the mail gateway (the SQL is in
     * store_sqlite_quarantine.c). */
    sq_migration_quarantine,

    /* 5: an index per list filter, and the text search index (FTS5),
     * filled from the tickets and comments there are (the SQL is in
     * store_sqlite_list.c). */
    sq_migration_search,
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

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

/* ---- open, schema, close -------------------------------------------- */

static int user_version(struct sq_store *s, struct td_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, "read schema version", err);
        return -1;
    }
    int v = -1;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(stmt, 0);
    else
        sq_fail(s, rc, "read schema version", err);
    sqlite3_finalize(stmt);
    return v;
}

/* Brings the schema up to version target (N_MIGRATIONS but in tests). */
static bool migrate(struct sq_store *s, int target, struct td_err *err)
{
    if (!sq_begin(s, SQ_WRITE, err))
        return false;
    int v = user_version(s, err);
    bool ok = v >= 0;
    if (ok && v > N_MIGRATIONS)
        ok = td_fail(err, TD_INTERNAL,
                     "sqlite: database schema version %d is newer than this ticketd "
                     "understands (%d); upgrade ticketd", v, N_MIGRATIONS);
    for (int i = v; ok && i < target; i++) {
        char what[64], pragma[64];
        int n = snprintf(what, sizeof what, "schema migration %d", i + 1);
        int m = snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", i + 1);
        if (n < 0 || (size_t)n >= sizeof what || m < 0 || (size_t)m >= sizeof pragma)
            ok = td_fail(err, TD_INTERNAL, "sqlite: migration label truncated");
        else
            ok = sq_exec_text(s, migrations[i], what, err) &&
                 sq_exec_text(s, pragma, what, err);
    }
    return sq_end(s, ok, err);
}

/* journal_mode is a property of the file, and switching it needs a brief
 * exclusive lock, so it is done once and read back: "wal" is what we
 * asked for ("memory" for sqlite::memory:, which has no other readers). */
static bool set_wal(struct sq_store *s, struct td_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "set WAL journal mode", err);
    rc = sqlite3_step(stmt);
    bool ok;
    if (rc != SQLITE_ROW) {
        ok = sq_fail(s, rc, "set WAL journal mode", err);
    } else {
        const char *mode = (const char *)sqlite3_column_text(stmt, 0);
        ok = mode != NULL && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
        if (!ok)
            td_fail(err, TD_INTERNAL, "sqlite: WAL journal mode refused (got '%s')",
                    mode ? mode : "?");
    }
    sqlite3_finalize(stmt);
    return ok;
}

static void sq_close(struct store *st)
{
    struct sq_store *s = sq_of(st);
    sq_pool_close(s);
    for (size_t i = 0; i < s->n_cache; i++)
        sqlite3_finalize(s->cache[i].stmt);
    free(s->cache);
    /* Every statement is finalized, so close cannot be refused as busy;
     * close_v2 would defer it anyway rather than leak. */
    if (s->db != NULL)
        (void)sqlite3_close_v2(s->db);
    (void)pthread_mutex_destroy(&s->lock); /* unlocked: no op is running */
    free(s);
}

static bool sq_ping(struct store *st, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (!sq_begin(s, SQ_READ, err))
        return false;
    bool ok = false;
    sqlite3_stmt *stmt = sq_query(s, "SELECT 1", err, "");
    if (stmt != NULL) {
        ok = sq_step(s, stmt, "ping", err) == 1;
        sq_done(stmt);
    }
    return sq_end(s, ok, err);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .user_insert = store_sqlite_user_insert,
    .user_update = store_sqlite_user_update,
    .user_get = store_sqlite_user_get,
    .user_get_by_email = store_sqlite_user_get_by_email,
    .user_list = store_sqlite_user_list,
    .ticket_next_number = store_sqlite_ticket_next_number,
    .ticket_insert = store_sqlite_ticket_insert,
    .ticket_update = store_sqlite_ticket_update,
    .ticket_get = store_sqlite_ticket_get,
    .ticket_list = store_sqlite_ticket_list,
    .ticket_add_msgid = store_sqlite_ticket_add_msgid,
    .ticket_find_by_msgid = store_sqlite_ticket_find_by_msgid,
    .comment_insert = store_sqlite_comment_insert,
    .comment_list = store_sqlite_comment_list,
    .comment_find_by_msgid = store_sqlite_comment_find_by_msgid,
    .history_list = store_sqlite_history_list,
    .attachment_put = store_sqlite_attachment_put,
    .attachment_get = store_sqlite_attachment_get,
    .msgid_put = store_sqlite_msgid_put,
    .msgid_get = store_sqlite_msgid_get,
    .lease_acquire = store_sqlite_lease_acquire,
    .lease_release = store_sqlite_lease_release,
    .mailbox_get = store_sqlite_mailbox_get,
    .mailbox_set_uid = store_sqlite_mailbox_set_uid,
    .outbox_insert = store_sqlite_outbox_insert,
    .outbox_claim = store_sqlite_outbox_claim,
    .outbox_finish = store_sqlite_outbox_finish,
    .outbox_list = store_sqlite_outbox_list,
    .outbox_count_recent = store_sqlite_outbox_count_recent,
    .batch_begin = store_sqlite_batch_begin,
    .batch_end = store_sqlite_batch_end,
    .outbox_stats = store_sqlite_outbox_stats,
    .outbox_purge = store_sqlite_outbox_purge,
    .token_insert = store_sqlite_token_insert,
    .token_get = store_sqlite_token_get,
    .token_mark_used_if_unused = store_sqlite_token_mark_used_if_unused,
    .token_revoke_family = store_sqlite_token_revoke_family,
    .token_purge = store_sqlite_token_purge,
    .attachment_owner = store_sqlite_attachment_owner,
    /* store_sqlite_quarantine.c (mail gateway) */
    .quarantine_put = store_sqlite_quarantine_put,
    .quarantine_list = store_sqlite_quarantine_list,
    .quarantine_get = store_sqlite_quarantine_get,
    .quarantine_delete = store_sqlite_quarantine_delete,
};

bool store_sqlite_open(const char *path, struct store **out, struct td_err *err)
{
    return sq_open_at_version(path, N_MIGRATIONS, out, err);
}

bool sq_open_at_version(const char *path, int version, struct store **out, struct td_err *err)
{
    if (version < 1 || version > N_MIGRATIONS)
        return td_fail(err, TD_INVALID, "sqlite: no schema version %d", version);
    if (path == NULL || *path == '\0')
        return td_fail(err, TD_INVALID, "sqlite: empty database path");
    /* We serialise each connection ourselves, but several handles (one
     * connection each) may run in different threads: that needs a
     * library built with thread support. */
    if (!sqlite3_threadsafe())
        return td_fail(err, TD_INTERNAL, "sqlite: library built without thread support");

    struct sq_store *s = td_calloc(1, sizeof *s);
    s->base.ops = &sqlite_ops;
    int e = pthread_mutex_init(&s->lock, NULL);
    if (e != 0) {
        free(s);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the store lock (error %d)", e);
    }

    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    bool ok = rc == SQLITE_OK;
    if (!ok)
        sq_fail(s, rc, path, err);
    if (ok) {
        (void)sqlite3_extended_result_codes(s->db, 1); /* only fails on a NULL db */
        rc = sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
        ok = rc == SQLITE_OK || sq_fail(s, rc, "busy_timeout", err);
    }
    ok = ok && set_wal(s, err);
    /* Per connection, off by default: without it the ON DELETE CASCADE
     * and REFERENCES clauses are decoration. */
    ok = ok && sq_exec_text(s, "PRAGMA foreign_keys = ON", "enable foreign keys", err);
    ok = ok && migrate(s, version, err);
    ok = ok && sq_pool_open(s, path, err);
    if (!ok) {
        sq_close(&s->base);
        return false;
    }
    *out = &s->base;
    return true;
}

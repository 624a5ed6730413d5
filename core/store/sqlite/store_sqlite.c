/* store_sqlite.c - the embedded storage backend: open, schema
 * migrations and the ops table (statements and transactions:
 * store_sqlite_sql.c).
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
#include <unistd.h>

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
     * ambiguous; rowid order is the order they were added (migration 15
     * adds seq, the same order, and an index that covers it). */
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

    /* 5: the content digest of a mapped Message-ID (dedupe; the SQL is
     * in store_sqlite_mailbox.c). */
    sq_migration_msgid_digest,

    /* 6: personal access tokens of the REST API (the SQL is in
     * store_sqlite_pat.c). */
    sq_migration_pat,

    /* 7: webhook endpoints and deliveries (the SQL is in
     * store_sqlite_webhooks.c). */
    sq_migration_webhooks,

    /* 8: Idempotency-Key records of the REST API (the SQL is in
     * store_sqlite_idem.c). */
    sq_migration_idem,

    /* 9: conversations - participants, merged_into (the SQL is in
     * store_sqlite_participants.c). */
    sq_migration_participants,

    /* 10: agents' aliases (store_sqlite_aliases.c). */
    sq_migration_aliases,

    /* 11: an index per list filter, and the text search index (FTS5),
     * filled from the tickets and comments there are (the SQL is in
     * store_sqlite_list.c). */
    sq_migration_search,

    /* 12: groups and their members (store_sqlite_groups.c). */
    sq_migration_groups,

    /* 13: SLA state of tickets (store_sqlite_sla.c). */
    sq_migration_sla,
    /* 14 (issue 14; 12 and 13 are the other issue 14 work): scheduler
     * leases and the indexes of idle tickets and desk counts
     * (store_sqlite_desk.c). */
    sq_migration_desk,
    /* 15 (issue 11): a thread's Message-IDs in order from one covering
     * index (store_sqlite_tickets.c). */
    sq_migration_thread,
    /* 16 (issue 11): the outbox claim's order from its index alone
     * (store_sqlite_outbox.c). */
    sq_migration_outbox_due,
    /* 17: how far background jobs have got (store_sqlite_marks.c). */
    sq_migration_marks,
    /* 18 (issue 11): the search index filled once per commit
     * (store_sqlite_text_pending.c). */
    sq_migration_text_pending,
};
/* The first schema version whose triggers queue search documents. */
#define SQ_TEXT_PENDING_VERSION 18

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

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
        /* TD_INVALID: the wrong binary for this database, which a
         * restart cannot mend (exit 3, systemd does not loop). */
        ok = td_fail(err, TD_INVALID,
                     "sqlite: the database is at schema version %d but this ticketd knows "
                     "only up to version %d: run the newer ticketd that wrote it "
                     "(docs/upgrading.md)", v, N_MIGRATIONS);
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
    sq_checkpointer_stop(s);
    sq_pool_close(s);
    for (size_t i = 0; i < s->n_cache; i++)
        sqlite3_finalize(s->cache[i].stmt);
    free(s->cache);
    /* Every statement is finalized, so close cannot be refused as busy;
     * close_v2 would defer it anyway rather than leak. */
    if (s->db != NULL)
        (void)sqlite3_close_v2(s->db);
    if (s->lock_fd >= 0)
        (void)close(s->lock_fd); /* releases the flock: restore may run */
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
    .ticket_thread_ids = store_sqlite_ticket_thread_ids,
    .ticket_find_by_msgid = store_sqlite_ticket_find_by_msgid,
    .comment_insert = store_sqlite_comment_insert,
    .comment_list = store_sqlite_comment_list,
    .comment_find_by_msgid = store_sqlite_comment_find_by_msgid,
    .comment_get = store_sqlite_comment_get,
    .history_list = store_sqlite_history_list,
    .comment_move = store_sqlite_comment_move,
    .alias_insert = store_sqlite_alias_insert,
    .alias_get = store_sqlite_alias_get,
    .alias_list = store_sqlite_alias_list,
    .alias_delete = store_sqlite_alias_delete,
    .alias_confirm = store_sqlite_alias_confirm,
    .group_insert = store_sqlite_group_insert,
    .group_get = store_sqlite_group_get,
    .group_list = store_sqlite_group_list,
    .group_update = store_sqlite_group_update,
    .group_delete = store_sqlite_group_delete,
    .group_member_add = store_sqlite_group_member_add,
    .group_member_remove = store_sqlite_group_member_remove,
    .attachment_put = store_sqlite_attachment_put,
    .attachment_get = store_sqlite_attachment_get,
    .msgid_put = store_sqlite_msgid_put,
    .msgid_get = store_sqlite_msgid_get,
    .lease_acquire = store_sqlite_lease_acquire,
    .lease_release = store_sqlite_lease_release,
    .msgid_digest_set = store_sqlite_msgid_digest_set,
    .msgid_digest_get = store_sqlite_msgid_digest_get,
    .lease_takeover = store_sqlite_lease_takeover,
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
    .mark_get = store_sqlite_mark_get,
    .mark_raise = store_sqlite_mark_raise,
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
    /* store_sqlite_pat.c (REST API personal access tokens) */
    .pat_insert = store_sqlite_pat_insert,
    .pat_get_by_hash = store_sqlite_pat_get_by_hash,
    .pat_list = store_sqlite_pat_list,
    .pat_revoke = store_sqlite_pat_revoke,
    .pat_touch = store_sqlite_pat_touch,
    /* store_sqlite_webhooks.c (webhooks) */
    .webhook_insert = store_sqlite_webhook_insert,
    .webhook_get = store_sqlite_webhook_get,
    .webhook_list = store_sqlite_webhook_list,
    .webhook_update = store_sqlite_webhook_update,
    .webhook_delete = store_sqlite_webhook_delete,
    .webhook_result = store_sqlite_webhook_result,
    .webhook_disable = store_sqlite_webhook_disable,
    .delivery_insert = store_sqlite_delivery_insert,
    .delivery_claim = store_sqlite_delivery_claim,
    .delivery_finish = store_sqlite_delivery_finish,
    .delivery_list = store_sqlite_delivery_list,
    /* store_sqlite_idem.c (REST API Idempotency-Key) */
    .idem_insert = store_sqlite_idem_insert,
    .idem_get = store_sqlite_idem_get,
    .idem_finish = store_sqlite_idem_finish,
    .idem_delete = store_sqlite_idem_delete,
    .idem_purge = store_sqlite_idem_purge,
    /* store_sqlite_erase.c (erasure of a customer's personal data) */
    .erase_comments = store_sqlite_erase_comments,
    .attachment_delete = store_sqlite_attachment_delete,
    .outbox_erase_recipient = store_sqlite_outbox_erase_recipient,
    .desk = &sq_desk_ops, /* store_sqlite_desk.c */
};

int store_sqlite_schema_version(void)
{
    return N_MIGRATIONS;
}

/* Process-wide settings, before SQLite's first use (it refuses them
 * after, SQLITE_MISUSE, and then runs as it would have: nothing lost).
 * Memory statistics off: with them, every allocation of every
 * connection takes one process-wide mutex, which the writer, the
 * readers and the sending threads fought over (futex calls in
 * sqlite3Malloc in the POST comment's profile); ticketd never reads
 * sqlite3_memory_used() or sqlite3_status(). */
static pthread_once_t sq_library_once = PTHREAD_ONCE_INIT;

static void sq_library_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

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
    (void)pthread_once(&sq_library_once, sq_library_setup);
    /* We serialise each connection ourselves, but several handles (one
     * connection each) may run in different threads: that needs a
     * library built with thread support. */
    if (!sqlite3_threadsafe())
        return td_fail(err, TD_INTERNAL, "sqlite: library built without thread support");

    struct sq_store *s = td_calloc(1, sizeof *s);
    s->base.ops = &sqlite_ops;
    s->lock_fd = -1;
    int e = pthread_mutex_init(&s->lock, NULL);
    if (e != 0) {
        free(s);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the store lock (error %d)", e);
    }

    /* 0600, whatever the umask (store_files.c). */
    if (!store_file_precreate(path, err)) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return false;
    }
    /* The writer's log appends, one write per commit instead of two per
     * page (store_sqlite_walbuf.c). */
    bool ok = sq_walbuf_register(SQ_WALBUF_VFS, NULL, SQ_WALBUF_BYTES, err);
    int rc = SQLITE_OK;
    if (ok) {
        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             SQ_WALBUF_VFS);
        ok = rc == SQLITE_OK;
        if (!ok)
            sq_fail(s, rc, path, err);
    }
    if (ok) {
        (void)sqlite3_extended_result_codes(s->db, 1); /* only fails on a NULL db */
        rc = sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
        ok = rc == SQLITE_OK || sq_fail(s, rc, "busy_timeout", err);
    }
    if (ok) { /* after open: the file exists now */
        s->lock_fd = sq_lock_shared(path, err);
        ok = s->lock_fd != -2;
    }
    ok = ok && set_wal(s, err);
    /* Per connection, off by default: without it the ON DELETE CASCADE
     * and REFERENCES clauses are decoration. */
    ok = ok && sq_exec_text(s, "PRAGMA foreign_keys = ON", "enable foreign keys", err);
    /* The writer's statement journals in memory: every write runs in a
     * SAVEPOINT of the group's transaction, so each statement keeps a
     * journal of the pages it changes - with the search index's triggers
     * more than the 64 KiB after which SQLite moves it to a temp file,
     * which cost a POST comment ~0.1 ms of pwrite() under the writer's
     * lock. Not needed for durability (the WAL is); a statement's rollback
     * needs only this process's memory. */
    ok = ok && sq_exec_text(s, "PRAGMA temp_store = MEMORY", "writer temp store", err);
    /* The write-ahead log is copied into the database every 4 000 pages
     * (16 MiB), not SQLite's 1 000: a checkpoint copies each changed page
     * once however often it changed since the last one - the hot pages
     * (an index's last page, a busy ticket) change in every commit. POST
     * comment with mail: ~5 % less CPU per request and ~10 % more
     * requests a second in three alternating runs (docs/performance.md).
     * Set here for the migrations; then a thread of its own takes the
     * checkpoints out of the commits (store_sqlite_checkpoint.c). The
     * log file keeps its largest size on disk; a crash replays at most
     * that much. */
    ok = ok && sq_exec_text(s, "PRAGMA wal_autocheckpoint = " SQ_WAL_CHECKPOINT_PAGES_STR,
                            "checkpoint interval", err);
    ok = ok && migrate(s, version, err);
    s->text_pending = version >= SQ_TEXT_PENDING_VERSION;
    ok = ok && sq_pool_open(s, path, err);
    ok = ok && (s->n_readers == 0 || sq_checkpointer_start(s, path, err));
    if (!ok) {
        sq_close(&s->base);
        return false;
    }
    *out = &s->base;
    return true;
}

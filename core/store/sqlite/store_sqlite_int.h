/* store_sqlite_int.h - private to the store_sqlite*.c files.
 *
 * The SQLite backend is split by concept: store_sqlite.c (open, schema
 * migrations, the helpers below, the ops table), store_sqlite_users.c,
 * store_sqlite_tickets.c, store_sqlite_list.c (ticket_list),
 * store_sqlite_comments.c (comments, history, attachment bytes),
 * store_sqlite_mailbox.c (Message-ID map, poller state and lease),
 * store_sqlite_outbox.c and store_sqlite_notify.c (what core/notify.c
 * adds), store_sqlite_outbox_stats.c (gauges, retention),
 * store_sqlite_tx.c (errors, transactions, batches) and
 * store_sqlite_pool.c (the read connections), store_sqlite_group.c
 * (group commit). The sq_ prefix marks helpers shared only
 * between those files; nothing outside core/store_sqlite*.c includes
 * this header.
 *
 * Threads: one writer connection per store handle, guarded by one
 * mutex that a write operation holds for its whole transaction, plus
 * SQ_READERS read connections (store_sqlite_pool.c), each with its own
 * mutex and statement cache: a read takes whichever is free, so a slow
 * read stalls neither the writer nor the other readers (WAL lets readers
 * run beside the writer, each on its own snapshot). sq_begin binds the
 * chosen connection to the calling thread until sq_end, so the helpers
 * below (sq_prepare, sq_step, ...) need no connection argument. Several
 * handles or processes on one file coordinate through SQLite's own
 * locking: every write transaction is BEGIN IMMEDIATE (it takes the
 * write lock up front, so it never has to upgrade a read lock and fail
 * with SQLITE_BUSY_SNAPSHOT), and busy_timeout makes a blocked writer
 * wait before it reports TD_UNAVAILABLE. */
#ifndef TD_STORE_SQLITE_INT_H
#define TD_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "core/store/store.h"

/* How long a writer waits for another connection's write lock. */
#define SQ_BUSY_TIMEOUT_MS 5000
/* Pages of write-ahead log between checkpoints (store_sqlite_checkpoint.c;
 * the string: SQLite's own, until the checkpoint thread runs), and the
 * length at which a commit checkpoints itself. */
#define SQ_WAL_CHECKPOINT_PAGES 4000
#define SQ_WAL_CHECKPOINT_PAGES_STR "4000"
#define SQ_WAL_BACKSTOP_PAGES (4 * SQ_WAL_CHECKPOINT_PAGES)
#define SQ_WAL_CATCHUP_PAGES 1000

struct sq_cached {
    const char *sql; /* the key: a string with static storage */
    sqlite3_stmt *stmt;
};

/* A read connection of the pool (store_sqlite_pool.c). */
struct sq_conn {
    sqlite3 *db;
    pthread_mutex_t lock;
    struct sq_cached *cache;
    size_t n_cache;
};

/* Read connections per handle (none for ":memory:", which another
 * connection could not see), each mapping up to SQ_MMAP_BYTES of the
 * file. 0: measured, memory-mapped reads count every touched page of
 * the database in each reader's resident set (44.8 MB at 100k tickets
 * against the 40 MB target) for no gain over the page cache that
 * pread() reads from; raise it where RSS does not matter. */
#define SQ_READERS 4
#define SQ_MMAP_BYTES ((int64_t)0)
/* Page cache of each read connection, in KiB (SQLite's default is 2 MiB).
 * A reader's cache starts over whenever another connection commits, so
 * under writes it holds little more than one operation's pages; idle
 * reads keep the b-trees' upper levels, which fit many times over. The
 * four readers' caches were the last 4 MB of the bench's peak RSS (40.6
 * -> 37.0 MB with 512 KiB). */
#define SQ_READER_CACHE_KIB 1024

struct sq_store {
    struct store base; /* first: store_close() sees a struct store * */
    sqlite3 *db;       /* the writer */
    pthread_mutex_t lock;
    struct sq_cached *cache;
    size_t n_cache;
    struct sq_conn *readers; /* n_readers of them, or NULL */
    size_t n_readers;
    unsigned next_reader;    /* where the next read starts looking */
    int lock_fd; /* shared flock on the file while open, -1 if none (store_sqlite_backup.c) */
    struct sq_group *group;  /* group commit (store_sqlite_group.c), NULL without readers */
    struct sq_checkpointer *checkpointer; /* store_sqlite_checkpoint.c, NULL without readers */
    bool text_pending; /* the search index is filled at commit (migration 18 is in) */
};

/* A shared flock() on the database file, held while a handle is open so
 * that `ticketd restore` can tell nobody has it (store_sqlite_backup.c).
 * Returns the fd, -1 when there is nothing to lock, -2 (err filled) when
 * a restore holds it. */
int sq_lock_shared(const char *path, struct td_err *err);

/* store_sqlite_pool.c: opens / closes the read connections of s (whose
 * writer has migrated the schema already); takes a free one (or waits
 * for one) and gives it back. */
bool sq_pool_open(struct sq_store *s, const char *path, struct td_err *err);
void sq_pool_close(struct sq_store *s);
struct sq_conn *sq_pool_take(struct sq_store *s);
void sq_pool_give(struct sq_conn *c);
/* store_sqlite_tx.c: the connection the calling thread's current
 * operation runs on, and its read connection (NULL on the writer). */
sqlite3 *sq_db(struct sq_store *s);
struct sq_conn *sq_reader(void);
/* store_sqlite_walbuf.c: registers, once per name, a VFS that wraps
 * the VFS named wrapped (NULL: the default) and gathers appends to WAL
 * files in a buffer of cap bytes, written at the next sync, read or
 * other call on the file. The writer connection opens its database
 * with SQ_WALBUF_VFS. */
#define SQ_WALBUF_VFS "ticketd-walbuf"
/* Under 128 KiB: SQLite's unix VFS writes at most 0x1ffff bytes a call
 * (it masks the length), so a larger buffer would lose its tail. */
#define SQ_WALBUF_BYTES (120 * 1024)
#define SQ_WALBUF_MAX_BYTES 0x1ffff
bool sq_walbuf_register(const char *name, const char *wrapped, size_t cap, struct td_err *err);

/* store_sqlite_checkpoint.c: the thread that checkpoints the log,
 * started after the pool (a file-backed handle only) and stopped
 * before it; runs: checkpoints it completed (in_commits: those the
 * writer's commits did, past the backstop). */
bool sq_checkpointer_start(struct sq_store *s, const char *path, struct td_err *err);
void sq_checkpointer_stop(struct sq_store *s);
long sq_checkpointer_runs(const struct sq_store *s, bool in_commits);

/* store_sqlite_group.c: group commit of the writer's top-level write
 * operations and batches. open/close with the pool; begin takes the
 * writer (joining an open group); end, with the lock held, ends this
 * operation and returns once its group is committed (or failed);
 * active: whether the calling thread's operation is in a group. */
bool sq_group_open(struct sq_store *s, struct td_err *err);
void sq_group_close(struct sq_store *s);
bool sq_group_begin(struct sq_store *s, struct td_err *err);
bool sq_group_end(struct sq_store *s, bool ok, struct td_err *err);
bool sq_group_active(void);

static inline struct sq_store *sq_of(struct store *st)
{
    return (struct sq_store *)st;
}

/* store_sqlite_open, but migrating the schema only up to version (>= 1):
 * lets tests make a database as an older ticketd left it. */
bool sq_open_at_version(const char *path, int version, struct store **out,
                        struct td_err *err);

/* Transactions. sq_begin takes the handle's lock and opens a read
 * (deferred: one consistent snapshot for a multi-statement read) or write
 * (BEGIN IMMEDIATE) transaction; on failure it has released the lock.
 * sq_end commits when ok, else rolls back, releases the lock and returns
 * whether everything (including the commit) succeeded. Every operation
 * is exactly: sq_begin, statements, sq_end. */
enum sq_tx { SQ_READ, SQ_WRITE };
bool sq_begin(struct sq_store *s, enum sq_tx kind, struct td_err *err);
bool sq_end(struct sq_store *s, bool ok, struct td_err *err);
/* Runs sql (no parameters, no rows; may be several statements) as one
 * exec: pragmas, migrations. */
bool sq_exec_text(struct sq_store *s, const char *sql, const char *what, struct td_err *err);
/* One fixed statement without values or rows - BEGIN, COMMIT, SAVEPOINT,
 * RELEASE - run from the connection's statement cache (sq_prepare: sql
 * must be a string literal). sqlite3_exec parsed these anew several
 * times per write, ~4 % of a sending thread's CPU. */
bool sq_exec_fixed(struct sq_store *s, const char *sql, const char *what, struct td_err *err);

/* Maps an SQLite result code to the one error type: a UNIQUE or PRIMARY
 * KEY violation is TD_CONFLICT, BUSY/LOCKED (after busy_timeout) is
 * TD_UNAVAILABLE, anything else TD_INTERNAL with sqlite3_errmsg. what
 * names the operation for the message. Returns false. */
bool sq_fail(struct sq_store *s, int rc, const char *what, struct td_err *err);

/* A prepared statement for sql, cached for the life of the handle and
 * handed out reset, with fresh bindings. sql is the cache key by
 * address, so it must have static storage (a string literal), and SQL
 * is never built from input: values go through sq_bind. A statement must
 * not be used again while it is still being stepped (no nesting of the
 * same SQL). */
sqlite3_stmt *sq_prepare(struct sq_store *s, const char *sql, struct td_err *err);

/* Binds parameters ?1, ?2, ... in order, one format character each:
 *   t  const char *      (NULL binds NULL)
 *   i  int64_t           (pass int64_t exactly: it is read by va_arg)
 *   d  int
 *   b  const void *, size_t   a blob (bound, not copied: stays valid
 *                             until the statement is reset)
 * Text and blobs are bound SQLITE_STATIC: every caller resets the
 * statement (sq_done) before its arguments go away. */
bool sq_bind(struct sq_store *s, sqlite3_stmt *stmt, struct td_err *err, const char *fmt, ...);

/* Prepares, binds and runs a statement that returns no rows (or whose
 * rows are ignored). *changes (may be NULL) gets sqlite3_changes(). */
bool sq_exec(struct sq_store *s, const char *sql, int64_t *changes, struct td_err *err,
             const char *fmt, ...);

/* Prepares and binds a query; NULL (err filled) on failure. Step it with
 * sq_step and release it with sq_done. */
sqlite3_stmt *sq_query(struct sq_store *s, const char *sql, struct td_err *err,
                       const char *fmt, ...);

/* 1 = a row, 0 = done, -1 = error (err filled via sq_fail). */
int sq_step(struct sq_store *s, sqlite3_stmt *stmt, const char *what, struct td_err *err);

/* Resets the statement and drops its bindings (NULL-safe). */
void sq_done(sqlite3_stmt *stmt);

/* Column readers. sq_col_str: an owned copy, NULL for SQL NULL.
 * sq_col_id: copies at most TD_ID_LEN chars, "" for NULL. */
char *sq_col_str(sqlite3_stmt *stmt, int col);
void sq_col_id(sqlite3_stmt *stmt, int col, char out[TD_ID_LEN + 1]);

/* The one statement that appends a history event: seq is the ticket's
 * next number, decided inside the caller's write transaction.
 * ev->ticket is ignored; ticket says where it goes. */
bool sq_event_append(struct sq_store *s, int64_t ticket, const struct td_event *ev,
                     struct td_err *err);

/* Puts msgid into ticket's thread: a no-op when it is already there,
 * TD_CONFLICT when another ticket's thread holds it. */
bool sq_thread_add(struct sq_store *s, int64_t ticket, const char *msgid, struct td_err *err);

/* Loads the tags, participants and SLA state of t->number into t. */
bool sq_ticket_load_sets(struct sq_store *s, struct td_ticket *t, struct td_err *err);

/* Fills t from a row of SQ_TICKET_COLS (starting at column 0). */
bool sq_ticket_row(struct sq_store *s, sqlite3_stmt *stmt, struct td_ticket *t,
                   struct td_err *err);
#define SQ_TICKET_COLS                                                         \
    "t.number, t.subject, t.status, t.priority, t.requester_id, "             \
    "t.assignee_id, t.queue, t.created, t.updated, t.version, t.merged_into"

/* The ops, one per struct store_ops member, in the files named above. */
bool store_sqlite_user_insert(struct store *st, const struct td_user *u, struct td_err *err);
bool store_sqlite_user_update(struct store *st, const struct td_user *u, struct td_err *err);
bool store_sqlite_user_get(struct store *st, const char *id, struct td_user *out,
                           struct td_err *err);
bool store_sqlite_user_get_by_email(struct store *st, const char *email_lower,
                                    struct td_user *out, struct td_err *err);
bool store_sqlite_user_list(struct store *st, int role, struct td_user_list *out,
                            struct td_err *err);

bool store_sqlite_ticket_next_number(struct store *st, int64_t *out, struct td_err *err);
bool store_sqlite_ticket_insert(struct store *st, const struct td_ticket *t,
                                const struct td_event *created, struct td_err *err);
bool store_sqlite_ticket_update(struct store *st, const struct td_ticket *t,
                                int64_t expected_version, const struct td_event *events,
                                size_t n, struct td_err *err);
bool store_sqlite_ticket_get(struct store *st, int64_t number, struct td_ticket *out,
                             struct td_err *err);
bool store_sqlite_ticket_list(struct store *st, const struct td_ticket_filter *f,
                              struct td_ticket_list *out, struct td_err *err);
bool store_sqlite_ticket_thread_ids(struct store *st, int64_t number, size_t max,
                                    struct strv *out, struct td_err *err);
bool store_sqlite_ticket_add_msgid(struct store *st, int64_t number, const char *msgid,
                                   struct td_err *err);
bool store_sqlite_ticket_find_by_msgid(struct store *st, const char *msgid, int64_t *number,
                                       struct td_err *err);

bool store_sqlite_comment_insert(struct store *st, const struct td_comment *c,
                                 const struct td_event *ev, struct td_err *err);
bool store_sqlite_comment_list(struct store *st, int64_t ticket, bool include_internal,
                               struct td_comment_list *out, struct td_err *err);
bool store_sqlite_comment_find_by_msgid(struct store *st, const char *msgid,
                                        struct td_comment *out, struct td_err *err);
bool store_sqlite_comment_get(struct store *st, const char *id, struct td_comment *out,
                              struct td_err *err);
bool store_sqlite_history_list(struct store *st, int64_t ticket, struct td_event_list *out,
                               struct td_err *err);
bool store_sqlite_attachment_put(struct store *st, const struct td_attachment *a,
                                 struct td_err *err);
bool store_sqlite_attachment_get(struct store *st, const char *id, struct td_attachment *out,
                                 struct td_err *err);

bool store_sqlite_msgid_put(struct store *st, const char *msgid, int64_t ticket,
                            struct td_err *err);
bool store_sqlite_msgid_get(struct store *st, const char *msgid, int64_t *ticket,
                            struct td_err *err);
/* Migration 5 and the digest ops (issue 15), and the lease takeover. */
extern const char sq_migration_msgid_digest[];
bool store_sqlite_msgid_digest_set(struct store *st, const char *msgid, const char *digest,
                                   struct td_err *err);
bool store_sqlite_msgid_digest_get(struct store *st, const char *msgid, char **digest,
                                   struct td_err *err);
bool store_sqlite_lease_takeover(struct store *st, const char *mailbox, const char *dead_owner,
                                 const char *owner, td_time now, int64_t ttl_ms,
                                 struct td_err *err);
bool store_sqlite_lease_acquire(struct store *st, const char *mailbox, const char *owner,
                                td_time now, int64_t ttl_ms, struct td_err *err);
bool store_sqlite_lease_release(struct store *st, const char *mailbox, const char *owner,
                                struct td_err *err);
bool store_sqlite_mailbox_get(struct store *st, const char *mailbox,
                              struct td_mailbox_state *out, struct td_err *err);
bool store_sqlite_mailbox_set_uid(struct store *st, const char *mailbox, const char *owner,
                                  td_time now, uint32_t uidvalidity, uint32_t last_uid,
                                  struct td_err *err);

bool store_sqlite_outbox_insert(struct store *st, const struct td_outbox *o,
                                struct td_err *err);
bool store_sqlite_outbox_claim(struct store *st, const char *owner, td_time now,
                               int64_t lease_ms, struct td_outbox *out, struct td_err *err);
bool store_sqlite_outbox_finish(struct store *st, const char *id, const char *owner,
                                enum td_outbox_state state, const char *error,
                                td_time next_attempt, struct td_err *err);
bool store_sqlite_outbox_list(struct store *st, int state, size_t limit,
                              struct td_outbox_list *out, struct td_err *err);

bool store_sqlite_outbox_count_recent(struct store *st, const char *recipient, td_time since,
                                      int64_t *out, struct td_err *err);

/* Batches (store_sqlite.c): BEGIN IMMEDIATE on the writer, held by the
 * thread until batch_end; its operations are SAVEPOINTs inside it. */
bool store_sqlite_batch_begin(struct store *st, struct td_err *err);
bool store_sqlite_batch_end(struct store *st, bool commit, struct td_err *err);

/* How far background jobs have got (store_sqlite_marks.c). */
extern const char sq_migration_marks[];
bool store_sqlite_mark_get(struct store *st, const char *name, int64_t *value,
                           struct td_err *err);
bool store_sqlite_mark_raise(struct store *st, const char *name, int64_t value,
                             struct td_err *err);

/* Outbox gauges and retention (store_sqlite_outbox_stats.c). */
bool store_sqlite_outbox_stats(struct store *st, td_time now, int64_t *pending,
                               td_time *oldest_due, struct td_err *err);
bool store_sqlite_outbox_purge(struct store *st, td_time before, size_t limit, int64_t *deleted,
                               struct td_err *err);

/* REST API (store_sqlite_tokens.c): its schema migration and its ops. */
extern const char sq_migration_api[];
bool store_sqlite_token_insert(struct store *st, const struct td_refresh_token *t,
                               struct td_err *err);
bool store_sqlite_token_get(struct store *st, const char *hash, struct td_refresh_token *out,
                            struct td_err *err);
bool store_sqlite_token_mark_used_if_unused(struct store *st, const char *hash, td_time now,
                                            struct td_refresh_token *out, struct td_err *err);
bool store_sqlite_token_revoke_family(struct store *st, const char *family, struct td_err *err);
bool store_sqlite_token_purge(struct store *st, td_time before, int64_t *deleted,
                              struct td_err *err);
bool store_sqlite_attachment_owner(struct store *st, const char *attachment_id, int64_t *ticket,
                                   bool *internal, struct td_err *err);

/* Lists and text search (store_sqlite_list.c): the migration adding
 * the filter indexes and the FTS5 search index, and the query plan of a
 * list (EXPLAIN QUERY PLAN lines, for tests that no filter scans). */
extern const char sq_migration_search[];
/* store_sqlite_text_pending.c: migration 18; the pending documents into
 * the search index (before a commit, in its transaction); and COMMIT
 * after that flush - every commit of a write transaction goes through it. */
extern const char sq_migration_text_pending[];
bool sq_text_flush(struct sq_store *s, struct td_err *err);
bool sq_commit(struct sq_store *s, struct td_err *err);
struct buf;
bool sq_list_plan(struct store *st, const struct td_ticket_filter *f, struct buf *out,
                  struct td_err *err);
/* Conversations (store_sqlite_participants.c): participants and
 * merged_into, written inside the caller's transaction (they are read
 * with the ticket: SQ_TICKET_COLS, sq_ticket_load_sets); the comment
 * move of a merge. */
extern const char sq_migration_participants[];
bool sq_participants_write(struct sq_store *s, const struct td_ticket *t, struct td_err *err);
bool store_sqlite_comment_move(struct store *st, int64_t from, int64_t to, struct td_err *err);

/* SLAs (store_sqlite_sla.c): migration 13, the state of a ticket written
 * and loaded inside the caller's transaction. */
extern const char sq_migration_sla[];
/* fresh: t was just inserted, so there is no old row to delete when it
 * has no SLA state (the common case costs no statement). */
bool sq_sla_write(struct sq_store *s, const struct td_ticket *t, bool fresh, struct td_err *err);
bool sq_sla_load(struct sq_store *s, struct td_ticket *t, struct td_err *err);
/* Scheduler leases, idle tickets, desk counts (store_sqlite_desk.c). */
extern const char sq_migration_desk[];
/* Thread order from an index (store_sqlite_tickets.c): migration 15 and
 * the two reads of ticket_thread_ids (for a plan test). */
extern const char sq_migration_thread[];
extern const char sq_migration_outbox_due[];
extern const char sq_thread_oldest_sql[], sq_thread_newest_sql[];
extern const struct store_desk_ops sq_desk_ops;
extern const char sq_desk_idle_sql[], sq_desk_counts_sql[], sq_desk_oldest_sql[];
/* store_sqlite_outbox.c: the claim's probes (tests check their plans). */
extern const char sq_outbox_due_pending_sql[], sq_outbox_due_expired_sql[];

/* Agents' aliases (store_sqlite_aliases.c): its migration and ops. */
extern const char sq_migration_aliases[];
bool store_sqlite_alias_insert(struct store *st, const struct td_alias *a, struct td_err *err);
bool store_sqlite_alias_get(struct store *st, const char *email, struct td_alias *out,
                            struct td_err *err);
bool store_sqlite_alias_list(struct store *st, const char *user_id, struct td_alias_list *out,
                             struct td_err *err);
bool store_sqlite_alias_delete(struct store *st, const char *email, struct td_err *err);
bool store_sqlite_alias_confirm(struct store *st, const char *token_hash, td_time now,
                                struct td_alias *out, struct td_err *err);

/* Groups (store_sqlite_groups.c): its migration and ops. */
extern const char sq_migration_groups[];
bool store_sqlite_group_insert(struct store *st, const struct td_group *g, struct td_err *err);
bool store_sqlite_group_get(struct store *st, const char *key, struct td_group *out,
                            struct td_err *err);
bool store_sqlite_group_list(struct store *st, struct td_group_list *out, struct td_err *err);
bool store_sqlite_group_update(struct store *st, const struct td_group *g, struct td_err *err);
bool store_sqlite_group_delete(struct store *st, const char *key, struct td_err *err);
bool store_sqlite_group_member_add(struct store *st, const char *key, const char *user_id,
                                   td_time now, struct td_err *err);
bool store_sqlite_group_member_remove(struct store *st, const char *key, const char *user_id,
                                      td_time now, struct td_err *err);

/* Mail gateway (store_sqlite_quarantine.c): its schema migration and ops. */
extern const char sq_migration_quarantine[];
bool store_sqlite_quarantine_put(struct store *st, const struct td_quarantine *q,
                                 struct td_err *err);
bool store_sqlite_quarantine_list(struct store *st, size_t limit, struct td_quarantine_list *out,
                                  struct td_err *err);
bool store_sqlite_quarantine_get(struct store *st, const char *id, struct td_quarantine *out,
                                 struct td_err *err);
bool store_sqlite_quarantine_delete(struct store *st, const char *id, struct td_err *err);

/* Personal access tokens (store_sqlite_pat.c): its schema migration and ops. */
extern const char sq_migration_pat[];
bool store_sqlite_pat_insert(struct store *st, const struct td_pat *t, struct td_err *err);
bool store_sqlite_pat_get_by_hash(struct store *st, const char *hash, struct td_pat *out,
                                  struct td_err *err);
bool store_sqlite_pat_list(struct store *st, const char *user_id, struct td_pat_list *out,
                           struct td_err *err);
bool store_sqlite_pat_revoke(struct store *st, const char *id, const char *user_id,
                             struct td_err *err);
bool store_sqlite_pat_touch(struct store *st, const char *id, td_time now, const char *addr,
                            struct td_err *err);

/* Erasure of a customer's personal data (store_sqlite_erase.c). */
bool store_sqlite_erase_comments(struct store *st, const char *author_id, const char *body,
                                 struct td_erasure *out, struct td_err *err);
bool store_sqlite_attachment_delete(struct store *st, const char *id, struct td_err *err);
bool store_sqlite_outbox_erase_recipient(struct store *st, const char *recipient,
                                         const char *replacement, int64_t *n, struct td_err *err);

/* Idempotency-Key records (store_sqlite_idem.c): its migration and ops. */
extern const char sq_migration_idem[];
bool store_sqlite_idem_insert(struct store *st, const struct td_idem *r, struct td_err *err);
bool store_sqlite_idem_get(struct store *st, const char *key, struct td_idem *out,
                           struct td_err *err);
bool store_sqlite_idem_finish(struct store *st, const struct td_idem *r, struct td_err *err);
bool store_sqlite_idem_delete(struct store *st, const char *key, struct td_err *err);
bool store_sqlite_idem_purge(struct store *st, td_time before, int64_t *deleted,
                             struct td_err *err);

/* Webhooks (store_sqlite_webhooks.c): its schema migration and ops. */
extern const char sq_migration_webhooks[];
bool store_sqlite_webhook_insert(struct store *st, const struct td_webhook *w, struct td_err *err);
bool store_sqlite_webhook_get(struct store *st, const char *id, struct td_webhook *out,
                              struct td_err *err);
bool store_sqlite_webhook_list(struct store *st, struct td_webhook_list *out, struct td_err *err);
bool store_sqlite_webhook_update(struct store *st, const struct td_webhook *w, struct td_err *err);
bool store_sqlite_webhook_delete(struct store *st, const char *id, struct td_err *err);
bool store_sqlite_webhook_result(struct store *st, const char *id, bool ok, int64_t *failures,
                                 struct td_err *err);
bool store_sqlite_webhook_disable(struct store *st, const char *id, const char *reason,
                                  td_time now, bool *changed, struct td_err *err);
bool store_sqlite_delivery_insert(struct store *st, const struct td_delivery *d,
                                  struct td_err *err);
bool store_sqlite_delivery_claim(struct store *st, const char *owner, td_time now,
                                 int64_t lease_ms, struct td_delivery *out, struct td_err *err);
bool store_sqlite_delivery_finish(struct store *st, const char *id, const char *owner,
                                  enum td_delivery_state state, int64_t status, const char *error,
                                  td_time next_attempt, td_time now, struct td_err *err);
bool store_sqlite_delivery_list(struct store *st, const char *endpoint_id, size_t limit,
                                struct td_delivery_list *out, struct td_err *err);

#endif

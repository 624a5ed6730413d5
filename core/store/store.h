/* store.h - the storage interface: everything ticketd keeps.
 *
 * Like dovecot's mail storage backends: one table of operations, several
 * implementations (store_sqlite.c, store_mongo*.c), and nothing above this
 * header knows which one runs. A backend is chosen by URI in store_open():
 *   sqlite:PATH           embedded, single box (WAL, foreign keys)
 *   mongodb://...         MongoDB replica set, several ticketd processes
 *
 * Contract every backend honours (tests/core/test_store_conformance.c
 * checks it against both):
 * - A store handle may be used from several threads at once.
 * - Each operation is atomic on its own: either everything it describes
 *   is written or nothing is. Operations that write "with" something
 *   (a ticket with its history event) do so in one transaction (SQLite)
 *   or one document update (MongoDB: no multi-document transactions).
 * - Uniqueness is decided by the database, never by a read-then-write:
 *   user email (case-insensitive: core stores it lower-cased), ticket
 *   number, Message-ID map entries, comment Message-IDs. A violation is
 *   TD_CONFLICT.
 * - Out structs are filled only on success; the caller clears them.
 * - "Not there" is TD_NOT_FOUND; an unreachable server is TD_UNAVAILABLE.
 */
#ifndef TD_STORE_H
#define TD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/model.h"
#include "core/strv.h"

/* Which tickets ticket_list returns. Zero-initialised = all tickets,
 * newest first, default limit. */
struct td_ticket_filter {
    bool by_status;
    enum td_status status;
    bool by_priority;
    enum td_priority priority;
    const char *assignee_id;  /* NULL = any, "" = unassigned */
    const char *requester_id; /* NULL = any */
    const char *tag;          /* NULL = any */
    const char *queue;        /* NULL = any */
    td_time updated_since;    /* 0 = any; else updated >= this */
    const char *text;         /* NULL = any; else word-prefix search,
                                 the same on every backend (see
                                 store_text_words): the ticket matches
                                 when each word of text begins a word of
                                 its subject or of one of its comments
                                 (internal notes only when text_internal
                                 is set); the words may come from
                                 different comments. A word is a maximal
                                 run of ASCII letters and digits and of
                                 non-ASCII bytes; ASCII letters match
                                 either case, anything else only itself.
                                 Punctuation separates words and is not
                                 searched: a text without words matches
                                 every ticket. At most STORE_TEXT_MAX_WORDS
                                 words (TD_INVALID beyond). Indexed on
                                 both stores (FTS5 / multikey words). */
    bool text_internal;
    bool ascending;           /* order by number; default descending */
    int64_t after;            /* cursor: numbers strictly after this one in
                                 the chosen order; 0 = from the start */
    size_t limit;             /* 0 = 50; capped at 1000 */
};

#define STORE_TEXT_MAX_WORDS 8

/* The distinct words of s as the text search defines them (see
 * td_ticket_filter.text), ASCII letters lower-cased, in order of first
 * appearance; appended to out (the caller owns it). */
void store_text_words(const char *s, struct strv *out);

#define STORE_LIST_DEFAULT 50
#define STORE_LIST_MAX 1000

/* ---- REST API: a refresh token (api/auth_tokens.c) -------------------
 * Only a hash of the token is kept: a copy of the database yields no
 * usable token. A family is every rotation of one login; revoking it
 * ends that login's session wherever its tokens went. */
#define TD_TOKEN_HASH_LEN 64

struct td_refresh_token {
    char hash[TD_TOKEN_HASH_LEN + 1]; /* hex SHA-256 of the token: the key */
    char family[TD_ID_LEN + 1];
    char user_id[TD_ID_LEN + 1];
    int64_t token_version;            /* the user's when issued */
    td_time created;
    td_time expires;
    td_time used_at;                  /* 0 = not used (rotated) yet */
    bool revoked;
};

/* ---- Mail gateway: quarantined mail (mailgw/ingest.c) -----------------
 * A mail the gateway could not or would not ingest (malformed, hostile,
 * over a limit, rate-limited, a loop), kept with the reason an admin
 * reads in `ticketd quarantine list` and its raw bytes, so that
 * `ticketd quarantine retry` can ingest it again. The id is derived from
 * the mail (its Message-ID or content digest), so fetching the same mail
 * again finds the entry instead of adding a second one. Cleared by
 * quarantine_clear / quarantine_list_clear (core/quarantine.c). */
#define STORE_QUARANTINE_MAX_RAW ((size_t)12 * 1024 * 1024) /* fits a 16 MB BSON document */

struct td_quarantine {
    char id[TD_ID_LEN + 1];
    char *mailbox;          /* the [mailbox NAME] it came from; "" = none */
    uint32_t uidvalidity;   /* where it is on the IMAP server (0 = unknown) */
    uint32_t uid;
    char *msg_key;          /* its Message-ID, or "sha256-...@digest" */
    char *reason;           /* why it is here, for an admin */
    char *sender;           /* From as written (may be NULL) */
    char *subject;          /* decoded subject (may be NULL) */
    unsigned char *raw;     /* the mail (NULL in lists) */
    size_t raw_len;         /* bytes in raw, <= STORE_QUARANTINE_MAX_RAW */
    size_t raw_size;        /* the mail's size; > raw_len when only its head
                               was kept (the rest stays on the IMAP server) */
    int64_t attempts;       /* times it was quarantined (re-tries included) */
    td_time created;
    td_time updated;
};

struct td_quarantine_list { struct td_quarantine *v; size_t n; };

void quarantine_clear(struct td_quarantine *q);
void quarantine_list_clear(struct td_quarantine_list *l);

struct store;

struct store_ops {
    const char *name; /* "sqlite" | "mongodb" */
    void (*close)(struct store *st);
    bool (*ping)(struct store *st, struct td_err *err);

    /* Users. insert: TD_CONFLICT when the email is taken. update: by id,
     * every field; TD_NOT_FOUND, TD_CONFLICT (email taken). */
    bool (*user_insert)(struct store *st, const struct td_user *u, struct td_err *err);
    bool (*user_update)(struct store *st, const struct td_user *u, struct td_err *err);
    bool (*user_get)(struct store *st, const char *id, struct td_user *out, struct td_err *err);
    bool (*user_get_by_email)(struct store *st, const char *email_lower,
                              struct td_user *out, struct td_err *err);
    /* role < 0: every user; else only that role. Ordered by email. */
    bool (*user_list)(struct store *st, int role, struct td_user_list *out, struct td_err *err);

    /* Tickets. next_number: atomic counter, never the same number twice,
     * even across processes (gaps allowed). */
    bool (*ticket_next_number)(struct store *st, int64_t *out, struct td_err *err);
    /* Writes t (version must be 1) with its EVENT_CREATED event. The
     * Message-IDs in t->message_ids are part of the ticket (see
     * ticket_find_by_msgid). TD_CONFLICT if the number exists.
     * Clarified: TD_INVALID when t->version is not 1. A Message-ID is in
     * at most one ticket's thread: one that another ticket's thread holds
     * is TD_CONFLICT here, in ticket_add_msgid and in comment_insert
     * (nothing is written). */
    bool (*ticket_insert)(struct store *st, const struct td_ticket *t,
                          const struct td_event *created, struct td_err *err);
    /* Compare-and-set: writes subject, status, priority, assignee, queue,
     * tags, updated of t and sets version = expected_version + 1, only if
     * the stored version is expected_version, appending the n events to
     * the history in the same write. t->message_ids is ignored.
     * TD_STALE on a version mismatch, TD_NOT_FOUND if no such ticket. */
    bool (*ticket_update)(struct store *st, const struct td_ticket *t, int64_t expected_version,
                          const struct td_event *events, size_t n, struct td_err *err);
    bool (*ticket_get)(struct store *st, int64_t number, struct td_ticket *out,
                       struct td_err *err);
    bool (*ticket_list)(struct store *st, const struct td_ticket_filter *f,
                        struct td_ticket_list *out, struct td_err *err);
    /* Adds a Message-ID to a ticket's thread (idempotent). Clarified:
     * TD_NOT_FOUND if no such ticket, TD_CONFLICT if another ticket's
     * thread holds msgid. */
    bool (*ticket_add_msgid)(struct store *st, int64_t number, const char *msgid,
                             struct td_err *err);
    /* The ticket whose thread holds msgid; TD_NOT_FOUND otherwise. */
    bool (*ticket_find_by_msgid)(struct store *st, const char *msgid, int64_t *number,
                                 struct td_err *err);

    /* Comments. Writes c with its EVENT_COMMENT event, sets the ticket's
     * updated = c->created, bumps its version, and adds c->message_id (if
     * any) to the ticket's thread, all in one write. TD_CONFLICT when
     * c->message_id is already used by another comment, TD_NOT_FOUND when
     * the ticket does not exist. Ordered by creation. Clarified:
     * c->message_id already in this ticket's own thread is fine (the
     * comment of the mail that opened the ticket); comment_list orders by
     * created, then insertion. */
    bool (*comment_insert)(struct store *st, const struct td_comment *c,
                           const struct td_event *ev, struct td_err *err);
    bool (*comment_list)(struct store *st, int64_t ticket, bool include_internal,
                         struct td_comment_list *out, struct td_err *err);
    bool (*comment_find_by_msgid)(struct store *st, const char *msgid, struct td_comment *out,
                                  struct td_err *err);

    /* History of one ticket, oldest first, seq 1, 2, 3... */
    bool (*history_list)(struct store *st, int64_t ticket, struct td_event_list *out,
                         struct td_err *err);

    /* Attachment bytes (GridFS on MongoDB). TD_CONFLICT on a duplicate id. */
    bool (*attachment_put)(struct store *st, const struct td_attachment *a, struct td_err *err);
    bool (*attachment_get)(struct store *st, const char *id, struct td_attachment *out,
                           struct td_err *err);

    /* Message-ID -> ticket map, used for dedupe and threading of inbound
     * mail. put: TD_CONFLICT when msgid is already mapped. */
    bool (*msgid_put)(struct store *st, const char *msgid, int64_t ticket, struct td_err *err);
    bool (*msgid_get)(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err);

    /* Mailbox poller state and its lease. acquire: succeeds when the lease
     * is free, expired, or already owner's (then it is renewed to
     * now + ttl_ms); TD_CONFLICT when another owner holds it. The state
     * row is created on first acquire with uidvalidity = last_uid = 0.
     * Clarified: a lease is held while now <= lease_until (expired once
     * lease_until < now, as in the outbox). release: by the holder, then
     * lease_owner is NULL; a no-op success when the lease is already free;
     * TD_CONFLICT (nothing changes) when another owner holds it, expired
     * or not; TD_NOT_FOUND for an unknown mailbox. */
    bool (*lease_acquire)(struct store *st, const char *mailbox, const char *owner, td_time now,
                          int64_t ttl_ms, struct td_err *err);
    bool (*lease_release)(struct store *st, const char *mailbox, const char *owner,
                          struct td_err *err);
    bool (*mailbox_get)(struct store *st, const char *mailbox, struct td_mailbox_state *out,
                        struct td_err *err);
    /* Only by the current lease owner with an unexpired lease, else
     * TD_CONFLICT: a poller that lost its lease must not move the UID. */
    bool (*mailbox_set_uid)(struct store *st, const char *mailbox, const char *owner, td_time now,
                            uint32_t uidvalidity, uint32_t last_uid, struct td_err *err);

    /* Durable outbox. claim: atomically takes the due row (state pending
     * with next_attempt <= now, or sending with lease_until < now) with the
     * oldest next_attempt, sets it sending/owner/lease_until = now+lease_ms,
     * attempts + 1. TD_NOT_FOUND when nothing is due. Two claimers never
     * get the same row. finish: by the owner only (TD_CONFLICT otherwise);
     * state is sent, failed (permanent), or pending (retry at
     * next_attempt); error may be NULL. Clarified: finish applies to a
     * row in state sending whose owner is owner - TD_CONFLICT otherwise
     * (finished already, or taken over after its lease ran out),
     * TD_NOT_FOUND for an unknown id, TD_INVALID for any other state. */
    bool (*outbox_insert)(struct store *st, const struct td_outbox *o, struct td_err *err);
    bool (*outbox_claim)(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                         struct td_outbox *out, struct td_err *err);
    bool (*outbox_finish)(struct store *st, const char *id, const char *owner,
                          enum td_outbox_state state, const char *error, td_time next_attempt,
                          struct td_err *err);
    /* state < 0: all rows. Oldest first, at most limit (0 = 1000). */
    bool (*outbox_list)(struct store *st, int state, size_t limit, struct td_outbox_list *out,
                        struct td_err *err);

    /* ---- Notifications (core/notify.c) - implemented in
     * store_sqlite_notify.c and store_mongo_notify.c. ----
     * The loop guard's counter: rows for recipient (the exact string)
     * created at or after since, in state pending, sending or sent (failed
     * and suppressed rows do not count). May be NULL in a backend that has
     * none: the hourly cap is then not enforced. */
    bool (*outbox_count_recent)(struct store *st, const char *recipient, td_time since,
                                int64_t *out, struct td_err *err);

    /* ---- Batches (mailgw/poller.c) - store_sqlite_batch.c; MongoDB
     * has none (NULL: every write is durable on its own there). ----
     * Between batch_begin and batch_end on one thread, the operations that
     * thread makes on st share one transaction: each stays atomic on its
     * own (a failed one undoes only itself), reads see the batch's own
     * writes, and batch_end makes them all durable at once (commit) or
     * none (rollback) - one fsync for the lot. Other threads' writes wait
     * for batch_end; their reads do not. A batch begun inside another (same
 * thread, same store) is a part of it that its own batch_end keeps or
 * undoes; only the outermost batch_end commits. */
    bool (*batch_begin)(struct store *st, struct td_err *err);
    bool (*batch_end)(struct store *st, bool commit, struct td_err *err);

    /* ---- Outbox gauges and retention (api/routes_ops.c,
     * notify/sender.c) - implemented in store_sqlite_outbox_stats.c and
     * store_mongo_outbox_stats.c. ----
     * stats: *pending = rows in state pending (due or not); *oldest_due =
     * the earliest time a due row became due - a pending row's
     * next_attempt <= now, or a sending row's lease_until < now (its
     * sender is gone) - or 0 when nothing is due. Answered from indexes,
     * without reading rows: cheap at any outbox size.
     * purge: deletes up to limit (0 = 1000) rows in state sent or failed
     * created before `before`, oldest first; *deleted (may be NULL) gets
     * how many. Pending and sending rows are never purged. */
    bool (*outbox_stats)(struct store *st, td_time now, int64_t *pending, td_time *oldest_due,
                         struct td_err *err);
    bool (*outbox_purge)(struct store *st, td_time before, size_t limit, int64_t *deleted,
                         struct td_err *err);

    /* ---- REST API (api/auth_tokens.c, core/attachment.c) - implemented
     * in store_sqlite_tokens.c and store_mongo_tokens.c. ----
     * Refresh tokens by hash. insert: TD_CONFLICT on a duplicate hash.
     * get: TD_NOT_FOUND when unknown. */
    bool (*token_insert)(struct store *st, const struct td_refresh_token *t, struct td_err *err);
    bool (*token_get)(struct store *st, const char *hash, struct td_refresh_token *out,
                      struct td_err *err);
    /* Rotation, decided atomically by the database: sets used_at = now
     * only if the token is neither used nor revoked, and fills out with it
     * (used_at = now). Of any number of concurrent callers exactly one
     * succeeds; the others get TD_CONFLICT, as does any later call (a
     * replay: the caller revokes the family). TD_NOT_FOUND when unknown. */
    bool (*token_mark_used_if_unused)(struct store *st, const char *hash, td_time now,
                                      struct td_refresh_token *out, struct td_err *err);
    /* Marks every token of the family revoked. Idempotent; an unknown
     * family is no error. */
    bool (*token_revoke_family)(struct store *st, const char *family, struct td_err *err);
    /* Housekeeping: deletes tokens that expired before `before`;
     * *deleted (may be NULL) gets how many. */
    bool (*token_purge)(struct store *st, td_time before, int64_t *deleted, struct td_err *err);
    /* Attachment visibility: the ticket of the comment that references
     * the attachment, and whether that comment is an internal note.
     * TD_NOT_FOUND when no comment references it. */
    bool (*attachment_owner)(struct store *st, const char *attachment_id, int64_t *ticket,
                             bool *internal, struct td_err *err);

    /* ---- Mail gateway: quarantine (mailgw/ingest.c, cli/cmd_quarantine.c)
     * - implemented in store_sqlite_quarantine.c and
     * store_mongo_quarantine.c. See struct td_quarantine. ----
     * put: inserts q; when an entry with q->id exists, only its reason
     * (and mailbox/uid, if given) is replaced, attempts incremented and
     * updated set - the raw mail and created stay - so putting the same
     * mail twice leaves one entry. raw_len > STORE_QUARANTINE_MAX_RAW is
     * TD_INVALID. list: newest (created) first, at most limit (0 = 100,
     * capped at 1000), without the raw bytes (raw NULL, raw_len 0).
     * get: with the raw bytes; TD_NOT_FOUND when unknown. delete:
     * TD_NOT_FOUND when unknown. */
    bool (*quarantine_put)(struct store *st, const struct td_quarantine *q, struct td_err *err);
    bool (*quarantine_list)(struct store *st, size_t limit, struct td_quarantine_list *out,
                            struct td_err *err);
    bool (*quarantine_get)(struct store *st, const char *id, struct td_quarantine *out,
                           struct td_err *err);
    bool (*quarantine_delete)(struct store *st, const char *id, struct td_err *err);
};

/* Backends embed this as their first member. */
struct store {
    const struct store_ops *ops;
};

/* Begins a batch (store_ops.batch_begin) when the backend has them and
 * one can begin; true: the caller ends it with store_batch_end. false is
 * no error: the operations then run one by one, each durable alone. */
static inline bool store_batch_try(struct store *st)
{
    return st->ops->batch_begin != NULL && st->ops->batch_end != NULL &&
           st->ops->batch_begin(st, NULL);
}

/* Ends a batch store_batch_try began: commits when ok, else rolls back.
 * Returns whether everything is durable (ok and the commit succeeded). */
static inline bool store_batch_end(struct store *st, bool ok, struct td_err *err)
{
    return st->ops->batch_end(st, ok, ok ? err : NULL) && ok;
}

/* Opens (and creates or migrates the schema / indexes of) the store named
 * by uri. The caller owns *out and closes it with store_close. */
bool store_open(const char *uri, struct store **out, struct td_err *err);
void store_close(struct store *st); /* NULL-safe */

/* Backend constructors, used by store_open. */
bool store_sqlite_open(const char *path, struct store **out, struct td_err *err);
bool store_mongo_open(const char *uri, struct store **out, struct td_err *err);

#endif

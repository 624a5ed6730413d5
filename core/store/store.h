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
#include "core/store/store_desk.h"   /* store_ops.desk: leases, idle tickets, desk counts */
#include "core/store/store_filter.h" /* td_ticket_filter, the text search words */
#include "core/store/store_groups.h" /* td_group and STORE_GROUP_OPS */
#include "core/store/store_quarantine.h" /* td_quarantine: mail kept aside */

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

/* ---- REST API: personal access tokens (core/pat.c) -------------------
 * Long-lived credentials for scripts and service accounts. As with
 * refresh tokens only a hash is kept (the key of the lookup); the id is
 * what lists show and revocation names. token_version is the owner's
 * when issued: a password change or disable bumps the owner's, which
 * ends every token at once. expires 0 = never; last_used 0 = never. */
#define TD_PAT_READ 1u
#define TD_PAT_WRITE 2u
#define TD_PAT_ADMIN 4u

struct td_pat {
    char id[TD_ID_LEN + 1];
    char hash[TD_TOKEN_HASH_LEN + 1];
    char user_id[TD_ID_LEN + 1];
    char *name;
    unsigned scopes;           /* TD_PAT_* bits */
    int64_t token_version;
    td_time created;
    td_time expires;
    td_time last_used;
    char last_addr[64];
    bool revoked;
};

struct td_pat_list { struct td_pat *v; size_t n; };

void pat_clear(struct td_pat *t);
void pat_list_clear(struct td_pat_list *l);

/* ---- Webhooks (core/webhook.h, hooks/) -------------------------------
 * An endpoint an admin registered, and the deliveries planned for it
 * from the history (one per endpoint and history event, with an id
 * derived from both, so planning twice writes one row). */
struct td_webhook {
    char id[TD_ID_LEN + 1];
    char *url;
    struct strv events;        /* event types it wants; empty = all */
    char *secret;              /* HMAC-SHA256 key (the bytes of the string) */
    bool enabled;
    int64_t failures;          /* consecutive failed attempts */
    char *disabled_reason;     /* NULL while enabled */
    td_time created;
    td_time updated;
};

struct td_webhook_list { struct td_webhook *v; size_t n; };

enum td_delivery_state { DELIVERY_PENDING = 0, DELIVERY_SENDING, DELIVERY_DELIVERED, DELIVERY_FAILED };

struct td_delivery {
    char id[TD_ID_LEN + 1];
    char endpoint_id[TD_ID_LEN + 1];
    int64_t ticket;            /* 0: not about a ticket (a test event) */
    int64_t seq;               /* the history event's seq: the order per ticket */
    char *type;                /* "ticket.created", ... */
    char *payload;             /* the JSON body, fixed when planned */
    enum td_delivery_state state;
    int64_t attempts;
    td_time next_attempt;
    char *owner;               /* the claimer while SENDING */
    td_time lease_until;
    int64_t last_status;       /* HTTP status of the last attempt, 0 = none */
    char *last_error;
    td_time created;
    td_time finished;          /* delivered or failed; 0 before */
};

struct td_delivery_list { struct td_delivery *v; size_t n; };

/* ---- REST API: Idempotency-Key (api/idempotency.c) -------------------
 * The first result of a POST made with an Idempotency-Key, kept until
 * expires so a retry gets it again instead of doing the work twice.
 * status 0 = the first request is still running. */
struct td_idem {
    char key[TD_TOKEN_HASH_LEN + 1];         /* hex SHA-256 of user, method, path, key */
    char fingerprint[TD_TOKEN_HASH_LEN + 1]; /* hex SHA-256 of the request body */
    int64_t status;
    char *content_type;
    char *body;
    char *location;
    char *etag;
    td_time created;
    td_time expires;
};

void idem_clear(struct td_idem *i);

/* ---- Erasure of a customer's personal data (core/erase.c) ------------
 * What erase_comments touched: how many comments, the distinct tickets
 * they are on, and the attachments they referenced. */
struct td_erasure {
    int64_t comments;
    int64_t *tickets;
    size_t n_tickets;
    struct strv attachments;
};

void erasure_clear(struct td_erasure *e);

void webhook_clear(struct td_webhook *w);
void webhook_list_clear(struct td_webhook_list *l);
void delivery_clear(struct td_delivery *d);
void delivery_list_clear(struct td_delivery_list *l);
const char *delivery_state_name(enum td_delivery_state s);
bool delivery_state_parse(const char *s, enum td_delivery_state *out);
/* ---- Agents' extra sending addresses (core/alias.c) ------------------
 * An agent's alias is an address whose mail counts as the agent's when
 * it proves itself like the agent's own address would (a reply token
 * issued to the agent, or Authentication-Results: mailgw/trust.h). An
 * admin's alias is confirmed at once; one an agent adds waits for the
 * link mailed to it (token_hash: hex SHA-256 of the link's token). */
struct td_alias {
    char *email;                      /* lower case; the key, unique */
    char user_id[TD_ID_LEN + 1];
    bool confirmed;
    char token_hash[TD_TOKEN_HASH_LEN + 1]; /* "" once confirmed */
    td_time expires;                  /* of the confirmation; 0 once confirmed */
    td_time created;
};

struct td_alias_list { struct td_alias *v; size_t n; };

void alias_clear(struct td_alias *a);
void alias_list_clear(struct td_alias_list *l);

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
     * tags, participants, merged_into, updated of t and sets version = expected_version + 1, only if
     * the stored version is expected_version, appending the n events to
     * the history in the same write. t->message_ids is ignored.
     * TD_STALE on a version mismatch, TD_NOT_FOUND if no such ticket. */
    bool (*ticket_update)(struct store *st, const struct td_ticket *t, int64_t expected_version,
                          const struct td_event *events, size_t n, struct td_err *err);
    /* ticket_get and ticket_list leave out->message_ids empty: a thread
     * may hold thousands, and only a mail's References need some of
     * them (ticket_thread_ids). */
    bool (*ticket_get)(struct store *st, int64_t number, struct td_ticket *out,
                       struct td_err *err);
    bool (*ticket_list)(struct store *st, const struct td_ticket_filter *f,
                        struct td_ticket_list *out, struct td_err *err);
    /* The thread's first Message-ID and its most recent ones, max in all
     * (max >= 1), in the order they joined the thread, appended to out:
     * what In-Reply-To and References of a mail need, read in time that
     * does not grow with the thread. TD_NOT_FOUND if no such ticket. */
    bool (*ticket_thread_ids)(struct store *st, int64_t number, size_t max, struct strv *out,
                              struct td_err *err);
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
    /* One comment by id (internal or not), with its attachment refs;
     * TD_NOT_FOUND if there is none. Optional (NULL: use comment_list):
     * the notification planner reads the comment it mails about, not
     * every comment of the ticket. */
    bool (*comment_get)(struct store *st, const char *id, struct td_comment *out,
                        struct td_err *err);

    /* History of one ticket, oldest first, seq 1, 2, 3... */
    bool (*history_list)(struct store *st, int64_t ticket, struct td_event_list *out,
                         struct td_err *err);
    /* Merge (core/merge.c): every comment of ticket from (and so its
     * attachments) now belongs to ticket to, keeping its id, Message-ID
     * and time. Idempotent and resumable: moving again moves whatever is
     * left (nothing is no error). MongoDB: one multi-document update of
     * single-document atomic writes, no transaction. The thread
     * Message-IDs stay with from; core follows merged_into instead. */
    bool (*comment_move)(struct store *st, int64_t from, int64_t to, struct td_err *err);

    /* Attachment bytes (GridFS on MongoDB). TD_CONFLICT on a duplicate id. */
    bool (*attachment_put)(struct store *st, const struct td_attachment *a, struct td_err *err);
    bool (*attachment_get)(struct store *st, const char *id, struct td_attachment *out,
                           struct td_err *err);

    /* Message-ID -> ticket map, used for dedupe and threading of inbound
     * mail. put: TD_CONFLICT when msgid is already mapped. */
    bool (*msgid_put)(struct store *st, const char *msgid, int64_t ticket, struct td_err *err);
    bool (*msgid_get)(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err);
    /* The content digest of the mail that first carried a mapped msgid:
     * a repeat Message-ID is a duplicate only when its digest matches too.
     * set: recorded once (a later set keeps the first, success);
     * TD_NOT_FOUND when msgid is not mapped. get: *digest (caller frees);
     * TD_NOT_FOUND when msgid is not mapped or has no digest (mapped
     * before digests were kept). */
    bool (*msgid_digest_set)(struct store *st, const char *msgid, const char *digest,
                             struct td_err *err);
    bool (*msgid_digest_get)(struct store *st, const char *msgid, char **digest,
                             struct td_err *err);

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
    /* Takes the lease from dead_owner, whom the caller has proved gone (a
     * crashed process of its own host): succeeds only while dead_owner
     * still holds it, expired or not, and then owner holds it until
     * now + ttl_ms. TD_CONFLICT when anyone else holds it or it is free
     * (then lease_acquire is the way); TD_NOT_FOUND for an unknown
     * mailbox. */
    bool (*lease_takeover)(struct store *st, const char *mailbox, const char *dead_owner,
                           const char *owner, td_time now, int64_t ttl_ms, struct td_err *err);
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

    /* ---- Marks: how far a background job has got, kept across restarts
     * and shared by the processes of one store (notify/sender.c: the
     * reconciler) - store_sqlite_marks.c, store_mongo_marks.c. ----
     * get: *value = the mark's value, 0 when it was never raised.
     * raise: the mark becomes max(its value, value) - it never moves
     * back, so processes raising it at once need no coordination. */
    bool (*mark_get)(struct store *st, const char *name, int64_t *value, struct td_err *err);
    bool (*mark_raise)(struct store *st, const char *name, int64_t value, struct td_err *err);

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

    /* ---- REST API: personal access tokens (core/pat.c) - implemented in
     * store_sqlite_pat.c and store_mongo_pat.c. See struct td_pat. ----
     * insert: TD_CONFLICT on a duplicate id or hash. get_by_hash:
     * TD_NOT_FOUND when unknown (revoked ones are returned, flagged).
     * list: one user's (user_id NULL: everyone's), newest first, revoked
     * ones included. revoke: sets revoked; user_id non-NULL restricts it
     * to that owner's tokens; TD_NOT_FOUND when no such (owned) token;
     * revoking twice is no error. touch: records a use (last_used, and
     * last_addr when addr is non-NULL); TD_NOT_FOUND when unknown. */
    bool (*pat_insert)(struct store *st, const struct td_pat *t, struct td_err *err);
    bool (*pat_get_by_hash)(struct store *st, const char *hash, struct td_pat *out,
                            struct td_err *err);
    bool (*pat_list)(struct store *st, const char *user_id, struct td_pat_list *out,
                     struct td_err *err);
    bool (*pat_revoke)(struct store *st, const char *id, const char *user_id, struct td_err *err);
    bool (*pat_touch)(struct store *st, const char *id, td_time now, const char *addr,
                      struct td_err *err);

    /* ---- Webhooks (core/webhook.c, hooks/) - implemented in
     * store_sqlite_webhooks.c and store_mongo_webhooks.c. ----
     * Endpoints. insert: TD_CONFLICT on a duplicate id. get/update/delete:
     * TD_NOT_FOUND when unknown. update writes url, events, secret,
     * enabled, failures, disabled_reason and updated. list: oldest first.
     * delete also deletes the endpoint's deliveries. result: counts an
     * attempt atomically - ok resets failures to 0, else adds one - and
     * gives the count after it. disable: enabled = false with reason;
     * *changed (may be NULL) says whether it was enabled until now (so
     * exactly one caller tells the admins). */
    bool (*webhook_insert)(struct store *st, const struct td_webhook *w, struct td_err *err);
    bool (*webhook_get)(struct store *st, const char *id, struct td_webhook *out,
                        struct td_err *err);
    bool (*webhook_list)(struct store *st, struct td_webhook_list *out, struct td_err *err);
    bool (*webhook_update)(struct store *st, const struct td_webhook *w, struct td_err *err);
    bool (*webhook_delete)(struct store *st, const char *id, struct td_err *err);
    bool (*webhook_result)(struct store *st, const char *id, bool ok, int64_t *failures,
                           struct td_err *err);
    bool (*webhook_disable)(struct store *st, const char *id, const char *reason, td_time now,
                            bool *changed, struct td_err *err);
    /* Deliveries. insert: TD_CONFLICT when the id exists (planned
     * already). claim: atomically takes a due row - pending with
     * next_attempt <= now, or sending with lease_until < now - with the
     * oldest next_attempt, but for ticket > 0 only one with no pending or
     * sending row of the same endpoint and ticket with a smaller seq
     * before it (in order per ticket: a row waiting for its retry holds
     * back the later ones). Sets sending, owner, lease_until =
     * now + lease_ms, attempts + 1. TD_NOT_FOUND when nothing is due.
     * finish: by the owner only (TD_CONFLICT otherwise, TD_NOT_FOUND when
     * unknown); state is delivered, failed, or pending (retry at
     * next_attempt); records status, error (may be NULL) and, unless
     * pending, finished = now. list: one endpoint's, newest (created)
     * first, at most limit (0 = 100, capped at 1000). */
    bool (*delivery_insert)(struct store *st, const struct td_delivery *d, struct td_err *err);
    bool (*delivery_claim)(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                           struct td_delivery *out, struct td_err *err);
    bool (*delivery_finish)(struct store *st, const char *id, const char *owner,
                            enum td_delivery_state state, int64_t status, const char *error,
                            td_time next_attempt, td_time now, struct td_err *err);
    bool (*delivery_list)(struct store *st, const char *endpoint_id, size_t limit,
                          struct td_delivery_list *out, struct td_err *err);

    /* ---- REST API: Idempotency-Key (api/idempotency.c) - implemented in
     * store_sqlite_idem.c and store_mongo_idem.c. See struct td_idem. ----
     * insert: the record of a first request (status 0); TD_CONFLICT when
     * the key exists (decided by the database: of two concurrent first
     * requests exactly one inserts). get: TD_NOT_FOUND when unknown.
     * finish: stores the result (status, content_type, body, location,
     * etag of r); TD_NOT_FOUND when unknown. delete: drops a key (its
     * request failed and may be retried); no error when unknown. purge:
     * deletes records that expired before `before`; *deleted (may be
     * NULL) gets how many. */
    bool (*idem_insert)(struct store *st, const struct td_idem *r, struct td_err *err);
    bool (*idem_get)(struct store *st, const char *key, struct td_idem *out, struct td_err *err);
    bool (*idem_finish)(struct store *st, const struct td_idem *r, struct td_err *err);
    bool (*idem_delete)(struct store *st, const char *key, struct td_err *err);
    bool (*idem_purge)(struct store *st, td_time before, int64_t *deleted, struct td_err *err);

    /* ---- Erasure (core/erase.c) - implemented in store_sqlite_erase.c
     * and store_mongo_erase.c. ----
     * erase_comments: every comment by author_id gets body as its body,
     * and its attachment refs the name "erased" (content type
     * application/octet-stream, size 0); *out says what was touched.
     * attachment_delete: the bytes of an attachment are gone
     * (attachment_get: TD_NOT_FOUND); unknown ids are no error.
     * outbox_erase_recipient: every outbox row to recipient (exact
     * string) gets replacement as recipient and "{}" as payload; rows not
     * yet sent become failed ("recipient erased"); *n (may be NULL)
     * counts the rows. */
    bool (*erase_comments)(struct store *st, const char *author_id, const char *body,
                           struct td_erasure *out, struct td_err *err);
    bool (*attachment_delete)(struct store *st, const char *id, struct td_err *err);
    bool (*outbox_erase_recipient)(struct store *st, const char *recipient,
                                   const char *replacement, int64_t *n, struct td_err *err);
    /* ---- Agents' aliases (core/alias.c) - implemented in
     * store_sqlite_aliases.c and store_mongo_aliases.c. See struct
     * td_alias. insert: TD_CONFLICT when the address is taken. get:
     * TD_NOT_FOUND when unknown. list: a user's aliases ordered by email.
     * delete: TD_NOT_FOUND when unknown. confirm: atomically, the
     * unconfirmed alias with this token_hash whose expires >= now becomes
     * confirmed (hash and expiry cleared) and fills out; once only, any
     * other call is TD_NOT_FOUND. */
    bool (*alias_insert)(struct store *st, const struct td_alias *a, struct td_err *err);
    bool (*alias_get)(struct store *st, const char *email, struct td_alias *out,
                      struct td_err *err);
    bool (*alias_list)(struct store *st, const char *user_id, struct td_alias_list *out,
                       struct td_err *err);
    bool (*alias_delete)(struct store *st, const char *email, struct td_err *err);
    bool (*alias_confirm)(struct store *st, const char *token_hash, td_time now,
                          struct td_alias *out, struct td_err *err);
    STORE_GROUP_OPS /* groups (core/group.c): the contract is in store_groups.h */
    const struct store_desk_ops *desk; /* store_desk.h */
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

/* The schema version each backend's code writes and understands: a
 * database at a higher version is refused on open (naming both). For
 * `ticketd --version` and docs/upgrading.md. */
int store_sqlite_schema_version(void);
int store_mongo_schema_version(void);

/* SQLite backup and restore (store_sqlite_backup.c), for `ticketd backup`
 * and `ticketd restore`. backup: a consistent copy of the database at
 * db_path, taken with the online backup API while ticketd may be serving,
 * written whole to dest (0600) or not at all. restore: replaces db_path
 * with the backup at src after checking it; TD_CONFLICT while any ticketd
 * has db_path open. MongoDB: mongodump / mongorestore (docs/backup.md). */
bool store_sqlite_backup(const char *db_path, const char *dest, struct td_err *err);
bool store_sqlite_restore(const char *src, const char *db_path, struct td_err *err);

/* Backend constructors, used by store_open. */
bool store_sqlite_open(const char *path, struct store **out, struct td_err *err);
bool store_mongo_open(const char *uri, struct store **out, struct td_err *err);

/* ---- file modes of the embedded store (store_files.c) ---- */
/* Creates the SQLite database file 0600 if it does not exist yet (its
 * -wal/-shm then follow that mode). */
bool store_file_precreate(const char *path, struct td_err *err);
/* For a sqlite: URI, calls warn once per store file (db, -wal, -shm,
 * -journal) that group or others may access; returns how many. */
size_t store_file_modes_check(const char *uri, void (*warn)(void *arg, const char *msg), void *arg);

#endif

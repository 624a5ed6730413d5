/* store_mongo_int.h - private to the MongoDB backend (store_mongo*.c).
 *
 * The document layout, one collection per concept:
 *   users      {_id: id, email (unique), name, role, pw_hash|null, disabled,
 *               token_version, created, updated}
 *   counters   {_id: "ticket", n}                 ticket_next_number
 *   tickets    {_id: number, subject, status, priority, requester_id,
 *               assignee_id ("" = none), queue, tags[], message_ids[]
 *               (unique across tickets, sparse: absent while empty),
 *               created, updated, version, history[]}
 *   comments   {_id: id, ticket, author_id, internal, source, body,
 *               message_id (absent when none; unique, sparse),
 *               attachments[{id, name, content_type, size}], created}
 *   msgids     {_id: Message-ID, ticket, digest?}
 *   outbox     {_id: id, kind, ticket, recipient, payload, state, attempts,
 *               next_attempt, owner|null, lease_until, last_error|null,
 *               created}
 *   mailboxes  {_id: name, uidvalidity, last_uid, lease_owner|null,
 *               lease_until}
 *   attachments.files / attachments.chunks        a GridFS bucket
 *   meta       {_id: "schema", version}           store_mongo_schema.c
 *   groups     {_id: key, name, members[], created, updated}
 *
 * Why history lives inside the ticket: the contract wants a ticket change
 * and its events written together, and without multi-document
 * transactions only a single document update is atomic. An event's seq is
 * its position in the array (+1): $push appends atomically, so positions
 * never move. Readers of tickets project the array away.
 *
 * Integers are BSON int64 and times int64 milliseconds; enums are their
 * stable names from model.h. Readers accept int32/int64/double for
 * integers, because a document may have been touched by other tools. */
#ifndef TD_STORE_MONGO_INT_H
#define TD_STORE_MONGO_INT_H

#include <mongoc/mongoc.h>

#include "core/store/store.h"

#define MG_USERS "users"
#define MG_COUNTERS "counters"
#define MG_TICKETS "tickets"
#define MG_COMMENTS "comments"
#define MG_MSGIDS "msgids"
#define MG_OUTBOX "outbox"
#define MG_MAILBOXES "mailboxes"
#define MG_BUCKET "attachments"
#define MG_TOKENS "refresh_tokens" /* REST API, store_mongo_tokens.c */
#define MG_QUARANTINE "quarantine" /* mail gateway, store_mongo_quarantine.c */
#define MG_PATS "api_tokens"       /* REST API access tokens, store_mongo_pat.c */
#define MG_WEBHOOKS "webhooks"     /* webhooks, store_mongo_webhooks.c */
#define MG_DELIVERIES "webhook_deliveries"
#define MG_IDEM "idempotency"      /* REST API Idempotency-Key, store_mongo_idem.c */
#define MG_ALIASES "aliases"       /* agents' aliases, store_mongo_aliases.c */
#define MG_GROUPS "groups"         /* groups, store_mongo_groups.c */
#define MG_LEASES "leases"         /* scheduler leases, store_mongo_desk.c */

/* Largest attachment attachment_get will load into memory: the length
 * in the GridFS files document is data, and data is bounded before it is
 * trusted. Core's own limit (CORE_DEFAULT_MAX_ATTACHMENT) is far below. */
#define MG_MAX_ATTACHMENT ((int64_t)256 * 1024 * 1024)

struct mongo_store {
    struct store base;          /* first: a struct store * is one of these */
    mongoc_client_pool_t *pool; /* owned; thread-safe */
    char *db;                   /* owned database name */
};

/* --- connections (store_mongo.c) ---------------------------------------
 * One client per operation: pop it, use it, push it back. Collections
 * come from that client and must be destroyed before it is pushed. */
mongoc_client_t *mg_pop(struct store *st);
void mg_push(struct store *st, mongoc_client_t *client);
mongoc_collection_t *mg_coll(struct store *st, mongoc_client_t *client, const char *name);
mongoc_database_t *mg_db(struct store *st, mongoc_client_t *client);

/* --- errors and collection operations (store_mongo_bson.c) -------------
 * Each fills err and returns false on failure; `what` names the
 * operation for the message ("insert user"). Duplicate keys become
 * TD_CONFLICT, an unreachable server TD_UNAVAILABLE. */
bool mg_fail(struct td_err *err, const bson_error_t *e, const char *what);
bool mg_is_dup(const bson_error_t *e);
bool mg_fail_build(struct td_err *err, const char *what);
bool mg_fail_corrupt(struct td_err *err, const char *what, const char *key);

/* out is always initialised (empty when nothing matched); the caller
 * destroys it. projection may be NULL. */
bool mg_find_one(mongoc_collection_t *c, const bson_t *filter, const bson_t *projection,
                 bson_t *out, bool *found, struct td_err *err, const char *what);
bool mg_exists(mongoc_collection_t *c, const bson_t *filter, bool *found, struct td_err *err,
               const char *what);

/* Calls fn for every document; stops at the first false (fn filled err). */
typedef bool (*mg_each_fn)(const bson_t *doc, void *ctx, struct td_err *err);
bool mg_find_each(mongoc_collection_t *c, const bson_t *filter, const bson_t *opts,
                  mg_each_fn fn, void *ctx, struct td_err *err, const char *what);
/* Same over a cursor; takes ownership of it (destroys it). */
bool mg_cursor_each(mongoc_cursor_t *cur, mg_each_fn fn, void *ctx, struct td_err *err,
                    const char *what);

/* The schema version document (store_mongo_schema.c): check refuses a
 * database newer than this binary; raise records this binary's version
 * once its indexes exist. */
bool mg_schema_check(struct store *st, struct td_err *err);
bool mg_schema_raise(struct store *st, struct td_err *err);

bool mg_insert(mongoc_collection_t *c, const bson_t *doc, struct td_err *err, const char *what);
/* matched may be NULL. */
bool mg_update(mongoc_collection_t *c, const bson_t *filter, const bson_t *update, bool upsert,
               int64_t *matched, struct td_err *err, const char *what);
bool mg_delete(mongoc_collection_t *c, const bson_t *filter, struct td_err *err,
               const char *what);
/* findAndModify returning the document after the update. out is always
 * initialised; *found is false when nothing matched (and no upsert). */
bool mg_find_modify(mongoc_collection_t *c, const bson_t *query, const bson_t *sort,
                    const bson_t *update, bool upsert, bson_t *out, bool *found,
                    struct td_err *err, const char *what);

/* --- BSON helpers (store_mongo_bson.c) ---------------------------------
 * Readers return false on a wrong type. mg_iter_str takes UTF-8 or null
 * (-> NULL) and replaces *out; mg_iter_id copies at most TD_ID_LEN
 * bytes. mg_iter_utf8 returns the borrowed string or NULL. */
const char *mg_iter_utf8(const bson_iter_t *it);
bool mg_iter_str(const bson_iter_t *it, char **out);
bool mg_iter_id(const bson_iter_t *it, char out[TD_ID_LEN + 1]);
bool mg_iter_i64(const bson_iter_t *it, int64_t *out);
bool mg_iter_bool(const bson_iter_t *it, bool *out);
bool mg_iter_strv(const bson_iter_t *it, struct strv *out);

/* Writers return false only when the document outgrows BSON. */
bool mg_put_str(bson_t *b, const char *key, const char *s); /* NULL -> null */
bool mg_put_strv(bson_t *b, const char *key, const struct strv *sv);
/* {sort: {key: dir}} into find options. */
bool mg_put_sort(bson_t *opts, const char *key, int dir);
/* {key: {$regex: <literal, escaped>}}: a substring match of the literal
 * text, ignoring the case of ASCII letters. */
bool mg_put_icontains(bson_t *b, const char *key, const char *literal);

/* --- shared between concept files ------------------------------------- */
/* A history event as the document {key: {actor_id, kind, old, new, at}}. */
bool mg_put_event(bson_t *b, const char *key, const struct td_event *e);
/* A ticket's SLA state as the subdocument {sla: {...}} and back
 * (store_mongo_sla.c). */
bool mg_sla_put(bson_t *d, const struct td_sla *sla);
bool mg_sla_parse(const bson_iter_t *it, struct td_sla *out);
/* A ticket document (history ignored) into t; t is cleared on failure. */
bool mg_ticket_parse(const bson_t *doc, struct td_ticket *t, struct td_err *err);

/* --- the operations, one file per concept -------------------------------
 * Signatures are those of struct store_ops. */
bool mg_user_insert(struct store *st, const struct td_user *u, struct td_err *err);
bool mg_user_update(struct store *st, const struct td_user *u, struct td_err *err);
bool mg_user_get(struct store *st, const char *id, struct td_user *out, struct td_err *err);
bool mg_user_get_by_email(struct store *st, const char *email_lower, struct td_user *out,
                          struct td_err *err);
bool mg_user_list(struct store *st, int role, struct td_user_list *out, struct td_err *err);

bool mg_ticket_next_number(struct store *st, int64_t *out, struct td_err *err);
bool mg_ticket_insert(struct store *st, const struct td_ticket *t, const struct td_event *created,
                      struct td_err *err);
bool mg_ticket_update(struct store *st, const struct td_ticket *t, int64_t expected_version,
                      const struct td_event *events, size_t n, struct td_err *err);
bool mg_ticket_get(struct store *st, int64_t number, struct td_ticket *out, struct td_err *err);
bool mg_ticket_thread_ids(struct store *st, int64_t number, size_t max, struct strv *out,
                          struct td_err *err);
bool mg_ticket_add_msgid(struct store *st, int64_t number, const char *msgid,
                         struct td_err *err);
bool mg_ticket_find_by_msgid(struct store *st, const char *msgid, int64_t *number,
                             struct td_err *err);
bool mg_group_insert(struct store *st, const struct td_group *g, struct td_err *err);
bool mg_group_get(struct store *st, const char *key, struct td_group *out, struct td_err *err);
bool mg_group_list(struct store *st, struct td_group_list *out, struct td_err *err);
bool mg_group_update(struct store *st, const struct td_group *g, struct td_err *err);
bool mg_group_delete(struct store *st, const char *key, struct td_err *err);
bool mg_group_member_add(struct store *st, const char *key, const char *user_id, td_time now,
                         struct td_err *err);
bool mg_group_member_remove(struct store *st, const char *key, const char *user_id, td_time now,
                            struct td_err *err);
/* The keys of the groups user_id is a member of, appended to *out (for
 * ticket_list's in_groups_of). */
bool mg_group_keys_of(struct store *st, const char *user_id, struct strv *out, struct td_err *err);
extern const struct store_desk_ops mg_desk_ops; /* store_mongo_desk.c */
bool mg_alias_insert(struct store *st, const struct td_alias *a, struct td_err *err);
bool mg_alias_get(struct store *st, const char *email, struct td_alias *out, struct td_err *err);
bool mg_alias_list(struct store *st, const char *user_id, struct td_alias_list *out,
                   struct td_err *err);
bool mg_alias_delete(struct store *st, const char *email, struct td_err *err);
bool mg_alias_confirm(struct store *st, const char *token_hash, td_time now,
                      struct td_alias *out, struct td_err *err);
bool mg_comment_move(struct store *st, int64_t from, int64_t to, struct td_err *err);
bool mg_history_list(struct store *st, int64_t ticket, struct td_event_list *out,
                     struct td_err *err);

bool mg_ticket_list(struct store *st, const struct td_ticket_filter *f,
                    struct td_ticket_list *out, struct td_err *err);
/* store_mongo_list.c: projection entries leaving out what a ticket read
 * does not return (its search words, its thread's Message-IDs), and the
 * start-up pass filling the words in tickets older than them. */
bool mg_put_ticket_omit(bson_t *proj);
bool mg_words_backfill(struct store *st, struct td_err *err);
/* Recomputes one ticket's word fields from its subject and comments
 * (after a merge's comment move or an erasure). */
bool mg_words_refresh(struct store *st, int64_t number, struct td_err *err);

bool mg_comment_insert(struct store *st, const struct td_comment *c, const struct td_event *ev,
                       struct td_err *err);
bool mg_comment_list(struct store *st, int64_t ticket, bool include_internal,
                     struct td_comment_list *out, struct td_err *err);
bool mg_comment_find_by_msgid(struct store *st, const char *msgid, struct td_comment *out,
                              struct td_err *err);
bool mg_comment_get(struct store *st, const char *id, struct td_comment *out, struct td_err *err);

bool mg_attachment_put(struct store *st, const struct td_attachment *a, struct td_err *err);
bool mg_attachment_get(struct store *st, const char *id, struct td_attachment *out,
                       struct td_err *err);

bool mg_msgid_put(struct store *st, const char *msgid, int64_t ticket, struct td_err *err);
bool mg_msgid_get(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err);

bool mg_msgid_digest_set(struct store *st, const char *msgid, const char *digest,
                         struct td_err *err);
bool mg_msgid_digest_get(struct store *st, const char *msgid, char **digest, struct td_err *err);
bool mg_lease_takeover(struct store *st, const char *mailbox, const char *dead_owner,
                       const char *owner, td_time now, int64_t ttl_ms, struct td_err *err);
bool mg_lease_acquire(struct store *st, const char *mailbox, const char *owner, td_time now,
                      int64_t ttl_ms, struct td_err *err);
bool mg_lease_release(struct store *st, const char *mailbox, const char *owner,
                      struct td_err *err);
bool mg_mailbox_get(struct store *st, const char *mailbox, struct td_mailbox_state *out,
                    struct td_err *err);
bool mg_mailbox_set_uid(struct store *st, const char *mailbox, const char *owner, td_time now,
                        uint32_t uidvalidity, uint32_t last_uid, struct td_err *err);

bool mg_outbox_insert(struct store *st, const struct td_outbox *o, struct td_err *err);
bool mg_outbox_claim(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                     struct td_outbox *out, struct td_err *err);
bool mg_outbox_finish(struct store *st, const char *id, const char *owner,
                      enum td_outbox_state state, const char *error, td_time next_attempt,
                      struct td_err *err);
bool mg_outbox_list(struct store *st, int state, size_t limit, struct td_outbox_list *out,
                    struct td_err *err);
/* store_mongo_notify.c */
/* store_mongo_marks.c */
bool mg_mark_get(struct store *st, const char *name, int64_t *value, struct td_err *err);
bool mg_mark_raise(struct store *st, const char *name, int64_t value, struct td_err *err);

/* store_mongo_outbox_stats.c */
bool mg_outbox_stats(struct store *st, td_time now, int64_t *pending, td_time *oldest_due,
                     struct td_err *err);
bool mg_outbox_purge(struct store *st, td_time before, size_t limit, int64_t *deleted,
                     struct td_err *err);
bool mg_outbox_count_recent(struct store *st, const char *recipient, td_time since,
                            int64_t *out, struct td_err *err);
/* store_mongo_tokens.c (REST API) */
bool mg_token_insert(struct store *st, const struct td_refresh_token *t, struct td_err *err);
bool mg_token_get(struct store *st, const char *hash, struct td_refresh_token *out,
                  struct td_err *err);
bool mg_token_mark_used_if_unused(struct store *st, const char *hash, td_time now,
                                  struct td_refresh_token *out, struct td_err *err);
bool mg_token_revoke_family(struct store *st, const char *family, struct td_err *err);
bool mg_token_purge(struct store *st, td_time before, int64_t *deleted, struct td_err *err);
bool mg_attachment_owner(struct store *st, const char *attachment_id, int64_t *ticket,
                         bool *internal, struct td_err *err);
/* store_mongo_quarantine.c (mail gateway) */
bool mg_quarantine_put(struct store *st, const struct td_quarantine *q, struct td_err *err);
bool mg_quarantine_list(struct store *st, size_t limit, struct td_quarantine_list *out,
                        struct td_err *err);
bool mg_quarantine_get(struct store *st, const char *id, struct td_quarantine *out,
                       struct td_err *err);
bool mg_quarantine_delete(struct store *st, const char *id, struct td_err *err);
/* store_mongo_pat.c (REST API personal access tokens) */
bool mg_pat_insert(struct store *st, const struct td_pat *t, struct td_err *err);
bool mg_pat_get_by_hash(struct store *st, const char *hash, struct td_pat *out,
                        struct td_err *err);
bool mg_pat_list(struct store *st, const char *user_id, struct td_pat_list *out,
                 struct td_err *err);
bool mg_pat_revoke(struct store *st, const char *id, const char *user_id, struct td_err *err);
bool mg_pat_touch(struct store *st, const char *id, td_time now, const char *addr,
                  struct td_err *err);
/* store_mongo_erase.c (erasure of a customer's personal data) */
bool mg_erase_comments(struct store *st, const char *author_id, const char *body,
                       struct td_erasure *out, struct td_err *err);
bool mg_attachment_delete(struct store *st, const char *id, struct td_err *err);
bool mg_outbox_erase_recipient(struct store *st, const char *recipient, const char *replacement,
                               int64_t *n, struct td_err *err);
/* store_mongo_idem.c (REST API Idempotency-Key) */
bool mg_idem_insert(struct store *st, const struct td_idem *r, struct td_err *err);
bool mg_idem_get(struct store *st, const char *key, struct td_idem *out, struct td_err *err);
bool mg_idem_finish(struct store *st, const struct td_idem *r, struct td_err *err);
bool mg_idem_delete(struct store *st, const char *key, struct td_err *err);
bool mg_idem_purge(struct store *st, td_time before, int64_t *deleted, struct td_err *err);
/* store_mongo_webhooks.c (webhooks) */
bool mg_webhook_insert(struct store *st, const struct td_webhook *w, struct td_err *err);
bool mg_webhook_get(struct store *st, const char *id, struct td_webhook *out, struct td_err *err);
bool mg_webhook_list(struct store *st, struct td_webhook_list *out, struct td_err *err);
bool mg_webhook_update(struct store *st, const struct td_webhook *w, struct td_err *err);
bool mg_webhook_delete(struct store *st, const char *id, struct td_err *err);
bool mg_webhook_result(struct store *st, const char *id, bool ok, int64_t *failures,
                       struct td_err *err);
bool mg_webhook_disable(struct store *st, const char *id, const char *reason, td_time now,
                        bool *changed, struct td_err *err);
bool mg_delivery_insert(struct store *st, const struct td_delivery *d, struct td_err *err);
bool mg_delivery_claim(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                       struct td_delivery *out, struct td_err *err);
bool mg_delivery_finish(struct store *st, const char *id, const char *owner,
                        enum td_delivery_state state, int64_t status, const char *error,
                        td_time next_attempt, td_time now, struct td_err *err);
bool mg_delivery_list(struct store *st, const char *endpoint_id, size_t limit,
                      struct td_delivery_list *out, struct td_err *err);

#endif

/* store_metrics.c - see store_metrics.h.
 *
 * The copied table lives in a struct wrapped whose first member it is,
 * so st->ops leads back to the backend's original table without any
 * lookup. The histogram series of each operation are resolved once, at
 * wrap time: timing an operation costs two clock reads and two relaxed
 * atomic adds. */
#include "core/store/store_metrics.h"
#include "core/mem.h"
#include "core/stats.h"

#include <stddef.h>
#include <time.h>

/* Every operation of struct store_ops but name and close. */
#define STORE_METRICS_OPS(X)                                                                   \
    X(ping) X(user_insert) X(user_update) X(user_get) X(user_get_by_email) X(user_list)        \
    X(ticket_next_number) X(ticket_insert) X(ticket_update) X(ticket_get) X(ticket_list)       \
    X(ticket_add_msgid) X(ticket_thread_ids) X(ticket_find_by_msgid) X(comment_insert) X(comment_list)              \
    X(comment_find_by_msgid) X(comment_get) X(history_list) X(attachment_put) X(attachment_get) X(msgid_put)  \
    X(msgid_get) X(msgid_digest_set) X(msgid_digest_get) X(lease_acquire) X(lease_release)     \
    X(lease_takeover) X(mailbox_get) X(mailbox_set_uid)                                        \
    X(outbox_insert) X(outbox_claim) X(outbox_finish) X(outbox_list) X(outbox_count_recent)    \
    X(token_insert) X(token_get) X(token_mark_used_if_unused) X(token_revoke_family)           \
    X(token_purge) X(attachment_owner) X(quarantine_put) X(quarantine_list) X(quarantine_get)   \
    X(quarantine_delete) X(pat_insert) X(pat_get_by_hash) X(pat_list) X(pat_revoke)         \
    X(pat_touch) X(webhook_insert) X(webhook_get) X(webhook_list) X(webhook_update)            \
    X(webhook_delete) X(webhook_result) X(webhook_disable) X(delivery_insert) X(delivery_claim) \
    X(delivery_finish) X(delivery_list) X(idem_insert) X(idem_get) X(idem_finish)            \
    X(idem_delete) X(idem_purge) X(erase_comments) X(attachment_delete)                      \
    X(outbox_erase_recipient) \
    X(comment_move) X(alias_insert) X(alias_get) X(alias_list) X(alias_delete) X(alias_confirm) \
    X(outbox_stats) X(outbox_purge) X(mark_get) X(mark_raise) X(batch_begin) X(batch_end)      \
    X(group_insert) X(group_get) X(group_list) X(group_update) X(group_delete)                \
    X(group_member_add) X(group_member_remove)

enum {
#define X(op) OP_##op,
    STORE_METRICS_OPS(X)
#undef X
    N_OPS
};

static const char *const op_names[N_OPS] = {
#define X(op) #op,
    STORE_METRICS_OPS(X)
#undef X
};

struct wrapped {
    struct store_ops ops; /* first: st->ops points here */
    const struct store_ops *orig;
    struct metric *latency[N_OPS];
};

static const struct wrapped *wrapped_of(const struct store *st)
{
    return (const struct wrapped *)(const void *)st->ops;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void record(const struct wrapped *w, int op, int64_t t0, bool ok, const struct td_err *err)
{
    int64_t dt = now_us() - t0;
    metric_observe_us(w->latency[op], dt > 0 ? (uint64_t)dt : 0);
    if (!ok)
        stats_store_error(op_names[op], err ? err->code : TD_INTERNAL);
}

#define WRAP(op, params, args)                                                                 \
    static bool m_##op params                                                                  \
    {                                                                                          \
        const struct wrapped *w = wrapped_of(st);                                              \
        int64_t t0 = now_us();                                                                 \
        bool ok = w->orig->op args;                                                            \
        record(w, OP_##op, t0, ok, err);                                                       \
        return ok;                                                                             \
    }

WRAP(ping, (struct store *st, struct td_err *err), (st, err))
WRAP(user_insert, (struct store *st, const struct td_user *u, struct td_err *err), (st, u, err))
WRAP(user_update, (struct store *st, const struct td_user *u, struct td_err *err), (st, u, err))
WRAP(user_get, (struct store *st, const char *id, struct td_user *out, struct td_err *err),
     (st, id, out, err))
WRAP(user_get_by_email,
     (struct store *st, const char *email, struct td_user *out, struct td_err *err),
     (st, email, out, err))
WRAP(user_list, (struct store *st, int role, struct td_user_list *out, struct td_err *err),
     (st, role, out, err))
WRAP(ticket_next_number, (struct store *st, int64_t *out, struct td_err *err), (st, out, err))
WRAP(ticket_insert,
     (struct store *st, const struct td_ticket *t, const struct td_event *created,
      struct td_err *err),
     (st, t, created, err))
WRAP(ticket_update,
     (struct store *st, const struct td_ticket *t, int64_t expected_version,
      const struct td_event *events, size_t n, struct td_err *err),
     (st, t, expected_version, events, n, err))
WRAP(ticket_get, (struct store *st, int64_t number, struct td_ticket *out, struct td_err *err),
     (st, number, out, err))
WRAP(ticket_list,
     (struct store *st, const struct td_ticket_filter *f, struct td_ticket_list *out,
      struct td_err *err),
     (st, f, out, err))
WRAP(ticket_add_msgid, (struct store *st, int64_t number, const char *msgid, struct td_err *err),
     (st, number, msgid, err))
WRAP(ticket_thread_ids,
     (struct store *st, int64_t number, size_t max, struct strv *out, struct td_err *err),
     (st, number, max, out, err))
WRAP(ticket_find_by_msgid,
     (struct store *st, const char *msgid, int64_t *number, struct td_err *err),
     (st, msgid, number, err))
WRAP(comment_insert,
     (struct store *st, const struct td_comment *c, const struct td_event *ev, struct td_err *err),
     (st, c, ev, err))
WRAP(comment_list,
     (struct store *st, int64_t ticket, bool include_internal, struct td_comment_list *out,
      struct td_err *err),
     (st, ticket, include_internal, out, err))
WRAP(comment_find_by_msgid,
     (struct store *st, const char *msgid, struct td_comment *out, struct td_err *err),
     (st, msgid, out, err))
WRAP(comment_get,
     (struct store *st, const char *id, struct td_comment *out, struct td_err *err),
     (st, id, out, err))
WRAP(history_list,
     (struct store *st, int64_t ticket, struct td_event_list *out, struct td_err *err),
     (st, ticket, out, err))
WRAP(alias_insert, (struct store *st, const struct td_alias *a, struct td_err *err), (st, a, err))
WRAP(alias_get, (struct store *st, const char *email, struct td_alias *out, struct td_err *err),
     (st, email, out, err))
WRAP(alias_list,
     (struct store *st, const char *user_id, struct td_alias_list *out, struct td_err *err),
     (st, user_id, out, err))
WRAP(alias_delete, (struct store *st, const char *email, struct td_err *err), (st, email, err))
WRAP(alias_confirm,
     (struct store *st, const char *token_hash, td_time now, struct td_alias *out,
      struct td_err *err),
     (st, token_hash, now, out, err))
WRAP(group_insert, (struct store *st, const struct td_group *g, struct td_err *err), (st, g, err))
WRAP(group_get, (struct store *st, const char *key, struct td_group *out, struct td_err *err),
     (st, key, out, err))
WRAP(group_list, (struct store *st, struct td_group_list *out, struct td_err *err),
     (st, out, err))
WRAP(group_update, (struct store *st, const struct td_group *g, struct td_err *err), (st, g, err))
WRAP(group_delete, (struct store *st, const char *key, struct td_err *err), (st, key, err))
WRAP(group_member_add,
     (struct store *st, const char *key, const char *user_id, td_time now, struct td_err *err),
     (st, key, user_id, now, err))
WRAP(group_member_remove,
     (struct store *st, const char *key, const char *user_id, td_time now, struct td_err *err),
     (st, key, user_id, now, err))
WRAP(comment_move, (struct store *st, int64_t from, int64_t to, struct td_err *err),
     (st, from, to, err))
WRAP(attachment_put, (struct store *st, const struct td_attachment *a, struct td_err *err),
     (st, a, err))
WRAP(attachment_get,
     (struct store *st, const char *id, struct td_attachment *out, struct td_err *err),
     (st, id, out, err))
WRAP(msgid_put, (struct store *st, const char *msgid, int64_t ticket, struct td_err *err),
     (st, msgid, ticket, err))
WRAP(msgid_get, (struct store *st, const char *msgid, int64_t *ticket, struct td_err *err),
     (st, msgid, ticket, err))
WRAP(msgid_digest_set,
     (struct store *st, const char *msgid, const char *digest, struct td_err *err),
     (st, msgid, digest, err))
WRAP(msgid_digest_get, (struct store *st, const char *msgid, char **digest, struct td_err *err),
     (st, msgid, digest, err))
WRAP(lease_takeover,
     (struct store *st, const char *mailbox, const char *dead_owner, const char *owner,
      td_time now, int64_t ttl_ms, struct td_err *err),
     (st, mailbox, dead_owner, owner, now, ttl_ms, err))
WRAP(lease_acquire,
     (struct store *st, const char *mailbox, const char *owner, td_time now, int64_t ttl_ms,
      struct td_err *err),
     (st, mailbox, owner, now, ttl_ms, err))
WRAP(lease_release, (struct store *st, const char *mailbox, const char *owner, struct td_err *err),
     (st, mailbox, owner, err))
WRAP(mailbox_get,
     (struct store *st, const char *mailbox, struct td_mailbox_state *out, struct td_err *err),
     (st, mailbox, out, err))
WRAP(mailbox_set_uid,
     (struct store *st, const char *mailbox, const char *owner, td_time now, uint32_t uidvalidity,
      uint32_t last_uid, struct td_err *err),
     (st, mailbox, owner, now, uidvalidity, last_uid, err))
WRAP(outbox_insert, (struct store *st, const struct td_outbox *o, struct td_err *err), (st, o, err))
WRAP(outbox_claim,
     (struct store *st, const char *owner, td_time now, int64_t lease_ms, struct td_outbox *out,
      struct td_err *err),
     (st, owner, now, lease_ms, out, err))
WRAP(outbox_finish,
     (struct store *st, const char *id, const char *owner, enum td_outbox_state state,
      const char *error, td_time next_attempt, struct td_err *err),
     (st, id, owner, state, error, next_attempt, err))
WRAP(outbox_list,
     (struct store *st, int state, size_t limit, struct td_outbox_list *out, struct td_err *err),
     (st, state, limit, out, err))
WRAP(outbox_count_recent,
     (struct store *st, const char *recipient, td_time since, int64_t *out, struct td_err *err),
     (st, recipient, since, out, err))
WRAP(token_insert, (struct store *st, const struct td_refresh_token *t, struct td_err *err),
     (st, t, err))
WRAP(token_get,
     (struct store *st, const char *hash, struct td_refresh_token *out, struct td_err *err),
     (st, hash, out, err))
WRAP(token_mark_used_if_unused,
     (struct store *st, const char *hash, td_time now, struct td_refresh_token *out,
      struct td_err *err),
     (st, hash, now, out, err))
WRAP(token_revoke_family, (struct store *st, const char *family, struct td_err *err),
     (st, family, err))
WRAP(token_purge, (struct store *st, td_time before, int64_t *deleted, struct td_err *err),
     (st, before, deleted, err))
WRAP(attachment_owner,
     (struct store *st, const char *attachment_id, int64_t *ticket, bool *internal,
      struct td_err *err),
     (st, attachment_id, ticket, internal, err))

WRAP(quarantine_put, (struct store *st, const struct td_quarantine *q, struct td_err *err),
     (st, q, err))
WRAP(quarantine_list,
     (struct store *st, size_t limit, struct td_quarantine_list *out, struct td_err *err),
     (st, limit, out, err))
WRAP(quarantine_get,
     (struct store *st, const char *id, struct td_quarantine *out, struct td_err *err),
     (st, id, out, err))
WRAP(quarantine_delete, (struct store *st, const char *id, struct td_err *err), (st, id, err))
WRAP(batch_begin, (struct store *st, struct td_err *err), (st, err))
WRAP(batch_end, (struct store *st, bool commit, struct td_err *err), (st, commit, err))
WRAP(outbox_stats,
     (struct store *st, td_time now, int64_t *pending, td_time *oldest_due, struct td_err *err),
     (st, now, pending, oldest_due, err))
WRAP(outbox_purge,
     (struct store *st, td_time before, size_t limit, int64_t *deleted, struct td_err *err),
     (st, before, limit, deleted, err))

WRAP(mark_get, (struct store *st, const char *name, int64_t *value, struct td_err *err),
     (st, name, value, err))
WRAP(mark_raise, (struct store *st, const char *name, int64_t value, struct td_err *err),
     (st, name, value, err))

WRAP(pat_insert, (struct store *st, const struct td_pat *t, struct td_err *err), (st, t, err))
WRAP(pat_get_by_hash,
     (struct store *st, const char *hash, struct td_pat *out, struct td_err *err),
     (st, hash, out, err))
WRAP(pat_list,
     (struct store *st, const char *user_id, struct td_pat_list *out, struct td_err *err),
     (st, user_id, out, err))
WRAP(pat_revoke, (struct store *st, const char *id, const char *user_id, struct td_err *err),
     (st, id, user_id, err))
WRAP(pat_touch,
     (struct store *st, const char *id, td_time now, const char *addr, struct td_err *err),
     (st, id, now, addr, err))

WRAP(webhook_insert, (struct store *st, const struct td_webhook *hook, struct td_err *err),
     (st, hook, err))
WRAP(webhook_get, (struct store *st, const char *id, struct td_webhook *out, struct td_err *err),
     (st, id, out, err))
WRAP(webhook_list, (struct store *st, struct td_webhook_list *out, struct td_err *err),
     (st, out, err))
WRAP(webhook_update, (struct store *st, const struct td_webhook *hook, struct td_err *err),
     (st, hook, err))
WRAP(webhook_delete, (struct store *st, const char *id, struct td_err *err), (st, id, err))
WRAP(webhook_result,
     (struct store *st, const char *id, bool ok_, int64_t *failures, struct td_err *err),
     (st, id, ok_, failures, err))
WRAP(webhook_disable,
     (struct store *st, const char *id, const char *reason, td_time now, bool *changed,
      struct td_err *err),
     (st, id, reason, now, changed, err))
WRAP(delivery_insert, (struct store *st, const struct td_delivery *d, struct td_err *err),
     (st, d, err))
WRAP(delivery_claim,
     (struct store *st, const char *owner, td_time now, int64_t lease_ms, struct td_delivery *out,
      struct td_err *err),
     (st, owner, now, lease_ms, out, err))
WRAP(delivery_finish,
     (struct store *st, const char *id, const char *owner, enum td_delivery_state state,
      int64_t status, const char *error, td_time next_attempt, td_time now, struct td_err *err),
     (st, id, owner, state, status, error, next_attempt, now, err))
WRAP(delivery_list,
     (struct store *st, const char *endpoint_id, size_t limit, struct td_delivery_list *out,
      struct td_err *err),
     (st, endpoint_id, limit, out, err))

WRAP(idem_insert, (struct store *st, const struct td_idem *rec, struct td_err *err), (st, rec, err))
WRAP(idem_get, (struct store *st, const char *key, struct td_idem *out, struct td_err *err),
     (st, key, out, err))
WRAP(idem_finish, (struct store *st, const struct td_idem *rec, struct td_err *err), (st, rec, err))
WRAP(idem_delete, (struct store *st, const char *key, struct td_err *err), (st, key, err))
WRAP(idem_purge, (struct store *st, td_time before, int64_t *deleted, struct td_err *err),
     (st, before, deleted, err))

WRAP(erase_comments,
     (struct store *st, const char *author_id, const char *body, struct td_erasure *out,
      struct td_err *err),
     (st, author_id, body, out, err))
WRAP(attachment_delete, (struct store *st, const char *id, struct td_err *err), (st, id, err))
WRAP(outbox_erase_recipient,
     (struct store *st, const char *recipient, const char *replacement, int64_t *n,
      struct td_err *err),
     (st, recipient, replacement, n, err))

static void m_close(struct store *st)
{
    struct wrapped *w = (struct wrapped *)(void *)st->ops;
    st->ops = w->orig;
    free(w);
    st->ops->close(st);
}

/* name, close, the timed operations and the desk table (store_desk.h,
 * kept untimed: the scheduler calls it a few times a minute): the size
 * the table has when this file knows every operation. */
bool store_metrics_complete(void)
{
    return sizeof(struct store_ops) == offsetof(struct store_ops, close) +
                                           (N_OPS + 1) * sizeof(void (*)(void)) +
                                           sizeof(const struct store_desk_ops *);
}

bool store_metrics_wrapped(const struct store *st)
{
    return st != NULL && st->ops->close == m_close;
}

void store_metrics_wrap(struct store *st)
{
    if (st == NULL || store_metrics_wrapped(st))
        return;
    struct wrapped *w = td_calloc(1, sizeof *w);
    w->orig = st->ops;
    w->ops = *st->ops; /* unknown operations keep the backend's function */
    w->ops.close = m_close;
    for (int i = 0; i < N_OPS; i++)
        w->latency[i] = stats_store_op_series(op_names[i]);
    /* A backend without an optional operation (NULL) stays without it. */
#define X(op) if (w->orig->op) w->ops.op = m_##op;
    STORE_METRICS_OPS(X)
#undef X
    st->ops = &w->ops;
}

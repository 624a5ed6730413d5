/* webhook.c - webhook endpoints: validation and admin-only management,
 * the event types, the model helpers. Planning is webhook_plan.c. */
#include "webhook.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "policy.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void webhook_clear(struct td_webhook *w)
{
    if (w == NULL)
        return;
    free(w->url);
    strv_clear(&w->events);
    if (w->secret) {
        sodium_memzero(w->secret, strlen(w->secret));
        free(w->secret);
    }
    free(w->disabled_reason);
    memset(w, 0, sizeof *w);
}

void webhook_list_clear(struct td_webhook_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        webhook_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void delivery_clear(struct td_delivery *d)
{
    if (d == NULL)
        return;
    free(d->type);
    free(d->payload);
    free(d->owner);
    free(d->last_error);
    memset(d, 0, sizeof *d);
}

void delivery_list_clear(struct td_delivery_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        delivery_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const char *const state_names[] = { "pending", "sending", "delivered", "failed" };

const char *delivery_state_name(enum td_delivery_state s)
{
    return (unsigned)s < 4 ? state_names[s] : "pending";
}

bool delivery_state_parse(const char *s, enum td_delivery_state *out)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum td_delivery_state)i;
            return true;
        }
    return false;
}

/* ---- event types ---- */

const char *const webhook_event_types[] = {
    "ticket.created",         "comment.created",       "ticket.status_changed",
    "ticket.priority_changed", "ticket.assignee_changed", "ticket.tags_changed",
    "ticket.subject_changed", "ticket.participant_added", "ticket.participant_removed",
    "ticket.merged", "ticket.queue_changed", "ticket.escalated",
};
const size_t webhook_n_event_types = sizeof webhook_event_types / sizeof webhook_event_types[0];

const char *webhook_event_type(enum td_event_kind k)
{
    switch (k) {
    case EVENT_CREATED: return "ticket.created";
    case EVENT_COMMENT: return "comment.created";
    case EVENT_STATUS: return "ticket.status_changed";
    case EVENT_PRIORITY: return "ticket.priority_changed";
    case EVENT_ASSIGNEE:
    case EVENT_CLAIM: return "ticket.assignee_changed";
    case EVENT_TAG: return "ticket.tags_changed";
    case EVENT_SUBJECT: return "ticket.subject_changed";
    case EVENT_QUEUE: return "ticket.queue_changed";
    case EVENT_ESCALATED: return "ticket.escalated"; /* a due time passed (core/sla_escalate.h) */
    case EVENT_PARTICIPANT_ADDED: return "ticket.participant_added";
    case EVENT_PARTICIPANT_REMOVED: return "ticket.participant_removed";
    case EVENT_MERGED_INTO: /* each side of a merge tells its own endpoints */
    case EVENT_MERGED_FROM: return "ticket.merged";
    case EVENT_ERASED:       /* nothing personal goes out about it */
    case EVENT_RELATED_MAIL: /* a stranger's mail: only staff look at it */
    case EVENT_REMINDER:     /* the reminder mail itself is the news */
        return NULL;
    }
    return NULL; /* a kind this version does not deliver */
}

bool webhook_event_type_known(const char *type)
{
    for (size_t i = 0; i < webhook_n_event_types; i++)
        if (strcmp(type, webhook_event_types[i]) == 0)
            return true;
    return false;
}

bool webhook_wants(const struct td_webhook *w, const char *type)
{
    return w->events.n == 0 || strv_contains(&w->events, type);
}

bool webhook_url_valid(const char *url, struct td_err *err)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > WEBHOOK_MAX_URL)
        return td_fail(err, TD_INVALID, "url: 1 to %d characters", WEBHOOK_MAX_URL);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return td_fail(err, TD_INVALID, "url: printable ASCII without spaces only");
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return td_fail(err, TD_INVALID, "url: only http:// and https:// URLs");
    size_t auth = strcspn(rest, "/?#");
    if (auth == 0)
        return td_fail(err, TD_INVALID, "url: no host");
    if (memchr(rest, '@', auth) != NULL)
        return td_fail(err, TD_INVALID, "url: no user:password@ in the URL (sign with the secret)");
    if (strchr(url, '#') != NULL)
        return td_fail(err, TD_INVALID, "url: no #fragment");
    return true;
}

/* ---- management (admins) ---- */

static bool events_valid(const struct strv *ev, struct td_err *err)
{
    for (size_t i = 0; ev && i < ev->n; i++)
        if (!webhook_event_type_known(ev->v[i]))
            return td_fail(err, TD_INVALID, "events: unknown event type '%.60s'", ev->v[i]);
    return true;
}

static bool secret_valid(const char *s, struct td_err *err)
{
    size_t n = strlen(s);
    if (n < WEBHOOK_MIN_SECRET || n > WEBHOOK_MAX_SECRET)
        return td_fail(err, TD_INVALID, "secret: %d to %d characters", WEBHOOK_MIN_SECRET,
                       WEBHOOK_MAX_SECRET);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return td_fail(err, TD_INVALID, "secret: printable ASCII without spaces");
    return true;
}

bool webhook_create(struct td_core *c, const struct td_user *actor, const struct webhook_new *in,
                    struct td_webhook *out, struct td_err *err)
{
    if (!policy_manage_users(actor, err)) /* admins only, as user management */
        return false;
    if (!webhook_url_valid(in->url, err) || !events_valid(in->events, err) ||
        (in->secret && !secret_valid(in->secret, err)))
        return false;
    struct td_webhook_list all = { NULL, 0 };
    if (!c->store->ops->webhook_list(c->store, &all, err))
        return false;
    size_t n = all.n;
    webhook_list_clear(&all);
    if (n >= WEBHOOK_MAX)
        return td_fail(err, TD_CONFLICT, "at most %d webhook endpoints", WEBHOOK_MAX);
    struct td_webhook w;
    memset(&w, 0, sizeof w);
    id_new(w.id);
    w.url = td_strdup(in->url);
    for (size_t i = 0; in->events && i < in->events->n; i++)
        if (!strv_contains(&w.events, in->events->v[i]))
            strv_push(&w.events, in->events->v[i]);
    if (in->secret) {
        w.secret = td_strdup(in->secret);
    } else {
        unsigned char raw[24];
        char b64[33];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        size_t len = strlen("whsec_") + strlen(b64) + 1;
        w.secret = td_malloc(len);
        snprintf(w.secret, len, "whsec_%s", b64);
        sodium_memzero(raw, sizeof raw);
    }
    w.enabled = true;
    w.created = w.updated = td_now();
    if (!c->store->ops->webhook_insert(c->store, &w, err)) {
        webhook_clear(&w);
        return false;
    }
    log_event(LOG_INFO, "webhook_created", LF_S("webhook", w.id), LF_S("url", w.url),
              LF_S("actor", actor ? actor->id : "system"));
    *out = w;
    return true;
}

bool webhook_update_fields(struct td_core *c, const struct td_user *actor, const char *id,
                           const char *url, const struct strv *events, const char *secret,
                           bool set_enabled, bool enabled, struct td_webhook *out,
                           struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    if ((url && !webhook_url_valid(url, err)) || !events_valid(events, err) ||
        (secret && !secret_valid(secret, err)))
        return false;
    struct td_webhook w;
    if (!c->store->ops->webhook_get(c->store, id, &w, err))
        return false;
    if (url) {
        free(w.url);
        w.url = td_strdup(url);
    }
    if (events) {
        strv_clear(&w.events);
        for (size_t i = 0; i < events->n; i++)
            if (!strv_contains(&w.events, events->v[i]))
                strv_push(&w.events, events->v[i]);
    }
    if (secret) {
        sodium_memzero(w.secret, strlen(w.secret));
        free(w.secret);
        w.secret = td_strdup(secret);
    }
    if (set_enabled) {
        if (enabled && !w.enabled) {
            w.failures = 0;
            free(w.disabled_reason);
            w.disabled_reason = NULL;
        } else if (!enabled && w.enabled) {
            free(w.disabled_reason);
            w.disabled_reason = td_strdup("disabled by an admin");
        }
        w.enabled = enabled;
    }
    w.updated = td_now();
    if (!c->store->ops->webhook_update(c->store, &w, err)) {
        webhook_clear(&w);
        return false;
    }
    *out = w;
    return true;
}

bool webhook_list_all(struct td_core *c, const struct td_user *actor, struct td_webhook_list *out,
                      struct td_err *err)
{
    return policy_manage_users(actor, err) && c->store->ops->webhook_list(c->store, out, err);
}

bool webhook_get_one(struct td_core *c, const struct td_user *actor, const char *id,
                     struct td_webhook *out, struct td_err *err)
{
    return policy_manage_users(actor, err) && c->store->ops->webhook_get(c->store, id, out, err);
}

bool webhook_remove(struct td_core *c, const struct td_user *actor, const char *id,
                    struct td_err *err)
{
    if (!policy_manage_users(actor, err) || !c->store->ops->webhook_delete(c->store, id, err))
        return false;
    log_event(LOG_INFO, "webhook_deleted", LF_S("webhook", id),
              LF_S("actor", actor ? actor->id : "system"));
    return true;
}

bool webhook_deliveries(struct td_core *c, const struct td_user *actor, const char *id,
                        size_t limit, struct td_delivery_list *out, struct td_err *err)
{
    struct td_webhook w;
    if (!webhook_get_one(c, actor, id, &w, err))
        return false;
    webhook_clear(&w);
    return c->store->ops->delivery_list(c->store, id, limit, out, err);
}

void webhook_delivery_id(const char *endpoint_id, int64_t ticket, int64_t seq,
                         char out[TD_ID_LEN + 1])
{
    char in[128];
    int n = snprintf(in, sizeof in, "webhook\n%s\n%lld\n%lld", endpoint_id, (long long)ticket,
                     (long long)seq);
    unsigned char h[TD_ID_LEN / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)in, (size_t)n, NULL, 0);
    sodium_bin2hex(out, TD_ID_LEN + 1, h, sizeof h);
}

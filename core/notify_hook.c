/* notify_hook.c - the planner attached to the core: every committed
 * change is planned at once and wakes the sender; and the account mails
 * (claim) that are not about a ticket. */
#include "notify_int.h"
#include "notify_planned.h"
#include "buf.h"
#include "id.h"
#include "log.h"
#include "mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- The hook ---- */

struct notify {
    struct notify_config cfg;
    pthread_mutex_t lock; /* guards wake/wake_arg */
    void (*wake)(void *arg);
    void *wake_arg;
    struct notify_planned *planned; /* the events whose rows the hook queued */
};

void notify_wake(struct notify *nf)
{
    pthread_mutex_lock(&nf->lock);
    if (nf->wake)
        nf->wake(nf->wake_arg);
    pthread_mutex_unlock(&nf->lock);
}

bool notify_attach(struct td_config *cfg, struct td_core *c, struct td_err *err)
{
    struct notify_config nc;
    if (!notify_config_load(cfg, &nc, err))
        return false;
    if (nc.support_address[0] == '\0') {
        log_event(LOG_INFO, "notify_off", LF_S("why", "[notify] support_address is not set"));
        return true;
    }
    struct notify *n = td_calloc(1, sizeof *n);
    n->cfg = nc;
    pthread_mutex_init(&n->lock, NULL);
    n->planned = notify_planned_new();
    c->on_events = notify_on_events;
    c->on_events_arg = n;
    return true;
}

struct notify *notify_of(struct td_core *c)
{
    return c && c->on_events == notify_on_events ? c->on_events_arg : NULL;
}

void notify_detach(struct td_core *c)
{
    struct notify *n = notify_of(c);
    if (n == NULL)
        return;
    c->on_events = NULL;
    c->on_events_arg = NULL;
    pthread_mutex_destroy(&n->lock);
    notify_planned_free(n->planned);
    free(n);
}

const struct notify_config *notify_config_of(const struct notify *n)
{
    return n ? &n->cfg : NULL;
}

struct notify_planned *notify_planned_of(struct notify *n)
{
    return n ? n->planned : NULL;
}

void notify_set_wake(struct notify *n, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&n->lock);
    n->wake = fn;
    n->wake_arg = arg;
    pthread_mutex_unlock(&n->lock);
}

void notify_on_events(struct td_core *c, const struct td_user *actor, const struct td_ticket *t,
                      const struct td_event *events, size_t n)
{
    (void)actor; /* the events name their actor: the replay sees only those */
    struct notify *nf = c->on_events_arg;
    /* The assignee before the batch: walk its assignment events back from
     * the ticket as it is after them. */
    char before[TD_ID_LEN + 1];
    snprintf(before, sizeof before, "%s", t->assignee_id);
    for (size_t i = n; i-- > 0;)
        if (events[i].kind == EVENT_ASSIGNEE || events[i].kind == EVENT_CLAIM)
            snprintf(before, sizeof before, "%s", events[i].old_value ? events[i].old_value : "");
    struct td_outbox_list rows = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    size_t inserted = 0;
    bool ok = notify_plan(&nf->cfg, c->store, t, events, n, before, 0, &rows, &err) &&
              notify_enqueue(&nf->cfg, c->store, &rows, td_now(), &inserted, &err);
    outbox_list_clear(&rows);
    if (ok) /* the reconciler's passes need not plan them again */
        notify_planned_note(nf->planned, events, n, 0);
    else /* the change is committed; the reconciler will plan it again */
        log_event(LOG_WARN, "notify_plan_failed", LF_I("ticket", t->number), LF_S("error", err.msg));
    if (inserted > 0) {
        /* Called under the lock: notify_set_wake(NULL) returning means no
         * call into the old listener is still running. */
        pthread_mutex_lock(&nf->lock);
        if (nf->wake)
            nf->wake(nf->wake_arg);
        pthread_mutex_unlock(&nf->lock);
    }
}

/* ---- Account mails (see notify.h) ---- */

const char *const notify_account_kind_names[NA_COUNT] = {
    [NA_ACCOUNT_CLAIM] = "account_claim",
    [NA_PASSWORD_CHANGED] = "password_changed",
    [NA_REGISTER_EXISTS] = "register_exists",
    [NA_AGENT_UNTRUSTED] = "agent_untrusted",
    [NA_REGISTER_CONFIRM] = "register_confirm",
    [NA_PASSWORD_RESET] = "password_reset",
    [NA_WEBHOOK_DISABLED] = "webhook_disabled",
    [NA_ALIAS_CONFIRM] = "alias_confirm",
};

bool notify_account_kind_parse(const char *s, enum notify_account_kind *out)
{
    for (int i = 0; i < NA_COUNT; i++)
        if (s && strcmp(s, notify_account_kind_names[i]) == 0) {
            *out = (enum notify_account_kind)i;
            return true;
        }
    return false;
}

/* notify_account_mail to the address `to` (u's own, or an alias of u's). */
static bool account_mail_to(struct td_core *c, const struct td_user *u, const char *to,
                            enum notify_account_kind kind, json_t *extra, const char *once_key,
                            bool *queued, struct td_err *err)
{
    if (queued)
        *queued = false;
    struct notify *nf = notify_of(c);
    if (nf == NULL || (unsigned)kind >= NA_COUNT) {
        json_decref(extra);
        return td_fail(err, TD_UNAVAILABLE,
                       "outgoing mail is off ([notify] support_address is not set)");
    }
    if (notify_address_blocked(&nf->cfg, to)) {
        json_decref(extra);
        return true; /* never mail the support address or a robot */
    }
    json_t *root = json_object(), *vars = extra ? extra : json_object();
    notify_var_put(vars, "recipient", notify_display_name(u));
    notify_var_put(vars, "recipient_email", to);
    notify_var_put(vars, "support_address", nf->cfg.support_address);
    json_object_set_new(root, "recipient_id", json_string(u->id));
    json_object_set_new(root, "vars", vars);
    char *payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (payload == NULL)
        td_oom();
    struct td_outbox o;
    memset(&o, 0, sizeof o);
    if (once_key != NULL) {
        /* The id is a digest of kind and key: the store keeps one row per
         * id, so a second mail with the same key is skipped, atomically,
         * across processes. */
        unsigned char h[TD_ID_LEN / 2];
        crypto_generichash_state hs;
        crypto_generichash_init(&hs, NULL, 0, sizeof h);
        crypto_generichash_update(&hs, (const unsigned char *)notify_account_kind_names[kind],
                                  strlen(notify_account_kind_names[kind]) + 1);
        crypto_generichash_update(&hs, (const unsigned char *)once_key, strlen(once_key));
        crypto_generichash_final(&hs, h, sizeof h);
        sodium_bin2hex(o.id, sizeof o.id, h, sizeof h);
    } else {
        id_new(o.id);
    }
    o.kind = (char *)notify_account_kind_names[kind];
    o.recipient = (char *)to;
    o.payload = payload;
    o.state = OUTBOX_PENDING;
    struct td_outbox_list rows = { &o, 1 }; /* capped like a requester's mails */
    size_t inserted = 0;
    bool ok = notify_enqueue(&nf->cfg, c->store, &rows, td_now(), &inserted, err);
    sodium_memzero(payload, strlen(payload));
    free(payload);
    if (ok && inserted > 0) {
        if (queued)
            *queued = true;
        pthread_mutex_lock(&nf->lock);
        if (nf->wake)
            nf->wake(nf->wake_arg);
        pthread_mutex_unlock(&nf->lock);
    }
    return ok;
}

bool notify_account_mail(struct td_core *c, const struct td_user *u, enum notify_account_kind kind,
                         json_t *extra, const char *once_key, bool *queued, struct td_err *err)
{
    return account_mail_to(c, u, u->email, kind, extra, once_key, queued, err);
}

bool notify_account_claim(struct td_core *c, const struct td_user *u, const char *token,
                          int64_t valid_minutes, bool *queued, struct td_err *err)
{
    json_t *vars = json_object();
    char minutes[32];
    snprintf(minutes, sizeof minutes, "%lld", (long long)valid_minutes);
    notify_var_put(vars, "claim_token", token);
    /* The console's claim page; the token in the fragment never reaches
     * a server log or a Referer. */
    struct notify *nf = notify_of(c);
    struct buf link = BUF_INIT;
    if (nf && nf->cfg.console_url[0])
        buf_printf(&link, "%s#/claim/%s", nf->cfg.console_url, token);
    else
        buf_puts(&link, "(ask support for the address of the web console)");
    notify_var_put(vars, "claim_url", link.data);
    buf_free(&link);
    notify_var_put(vars, "claim_valid_minutes", minutes);
    return notify_account_mail(c, u, NA_ACCOUNT_CLAIM, vars, NULL, queued, err);
}

bool notify_password_reset(struct td_core *c, const struct td_user *u, const char *token,
                           int64_t valid_minutes, bool *queued, struct td_err *err)
{
    struct notify *nf = notify_of(c);
    json_t *vars = json_object();
    char minutes[32];
    snprintf(minutes, sizeof minutes, "%lld", (long long)valid_minutes);
    struct buf url = BUF_INIT;
    if (nf && nf->cfg.reset_url[0])
        buf_printf(&url, "%s%s", nf->cfg.reset_url, token);
    else
        buf_puts(&url, "(no link on this server: use the token below)");
    notify_var_put(vars, "reset_link", url.data);
    sodium_memzero(url.data, url.len);
    buf_free(&url);
    notify_var_put(vars, "reset_token", token);
    notify_var_put(vars, "reset_valid_minutes", minutes);
    return notify_account_mail(c, u, NA_PASSWORD_RESET, vars, NULL, queued, err);
}

bool notify_webhook_disabled(struct td_core *c, const char *webhook_id, const char *url,
                             const char *reason, size_t *queued, struct td_err *err)
{
    if (queued)
        *queued = 0;
    struct notify *nf = notify_of(c);
    if (nf == NULL)
        return true; /* no outgoing mail: the log line is all there is */
    struct td_user_list admins = { NULL, 0 };
    if (!c->store->ops->user_list(c->store, ROLE_ADMIN, &admins, err))
        return false;
    struct td_outbox_list rows = { NULL, 0 };
    for (size_t i = 0; i < admins.n; i++) {
        const struct td_user *u = &admins.v[i];
        if (u->disabled || notify_address_blocked(&nf->cfg, u->email))
            continue;
        json_t *root = json_object(), *vars = json_object();
        notify_var_put(vars, "recipient", notify_display_name(u));
        notify_var_put(vars, "recipient_email", u->email);
        notify_var_put(vars, "support_address", nf->cfg.support_address);
        notify_var_put(vars, "webhook_id", webhook_id);
        notify_var_put(vars, "webhook_url", url);
        notify_var_put(vars, "webhook_reason", reason);
        json_object_set_new(root, "recipient_id", json_string(u->id));
        json_object_set_new(root, "vars", vars);
        char *payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        if (payload == NULL)
            td_oom();
        rows.v = td_realloc(rows.v, (rows.n + 1) * sizeof *rows.v);
        struct td_outbox *o = &rows.v[rows.n++];
        memset(o, 0, sizeof *o);
        id_new(o->id);
        o->kind = td_strdup(notify_account_kind_names[NA_WEBHOOK_DISABLED]);
        o->recipient = td_strdup(u->email);
        o->payload = payload;
        o->state = OUTBOX_PENDING;
    }
    size_t inserted = 0;
    bool ok = notify_enqueue(&nf->cfg, c->store, &rows, td_now(), &inserted, err);
    outbox_list_clear(&rows);
    user_list_clear(&admins);
    if (queued)
        *queued = inserted;
    if (ok && inserted > 0) {
        pthread_mutex_lock(&nf->lock);
        if (nf->wake)
            nf->wake(nf->wake_arg);
        pthread_mutex_unlock(&nf->lock);
    }
    return ok;
}

bool notify_alias_confirm(struct td_core *c, const struct td_user *agent, const char *alias,
                          const char *token, int64_t valid_hours, bool *queued,
                          struct td_err *err)
{
    struct notify *nf = notify_of(c);
    json_t *vars = json_object();
    char hours[32];
    snprintf(hours, sizeof hours, "%lld", (long long)valid_hours);
    struct buf link = BUF_INIT;
    if (nf && nf->cfg.alias_confirm_url[0])
        buf_printf(&link, "%s%s", nf->cfg.alias_confirm_url, token);
    notify_var_put(vars, "alias", alias);
    notify_var_put(vars, "agent_email", agent->email);
    notify_var_put(vars, "confirm_token", token);
    notify_var_put(vars, "confirm_link", link.data ? link.data : "");
    notify_var_put(vars, "confirm_valid_hours", hours);
    buf_free(&link);
    return account_mail_to(c, agent, alias, NA_ALIAS_CONFIRM, vars, NULL, queued, err);
}

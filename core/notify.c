/* notify.c - see notify.h: the rules, the rows, the hook, the replay.
 *
 * Everything a row contains is decided here, when the event is planned:
 * the template values (payload, JSON) are a snapshot of the ticket, the
 * author and the comment at that moment, so a mail sent after an SMTP
 * outage still says what happened then. Only the row id must be the same
 * whenever the event is planned, and it depends on the event, the
 * recipient's user id and the template alone. */
#include "notify.h"
#include "buf.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "text.h"
#include "ticket.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOUR_MS (3600 * 1000LL)
#define RECONCILE_PAGE 200

const char *const notify_kind_names[NK_COUNT] = {
    [NK_CREATED_ACK] = "ticket_created_ack",
    [NK_CREATED_AGENTS] = "ticket_created_agents",
    [NK_REPLY_TO_REQUESTER] = "reply_to_requester",
    [NK_REPLY_TO_AGENTS] = "reply_to_agents",
    [NK_INTERNAL_NOTE] = "internal_note",
    [NK_ASSIGNED] = "assigned",
    [NK_STATUS_RESOLVED] = "status_resolved",
    [NK_STATUS_CLOSED] = "status_closed",
};

bool notify_kind_parse(const char *s, enum notify_kind *out)
{
    for (int i = 0; i < NK_COUNT; i++)
        if (s && strcmp(s, notify_kind_names[i]) == 0) {
            *out = (enum notify_kind)i;
            return true;
        }
    return false;
}

bool notify_kind_staff_only(enum notify_kind k)
{
    return k == NK_CREATED_AGENTS || k == NK_REPLY_TO_AGENTS || k == NK_INTERNAL_NOTE ||
           k == NK_ASSIGNED;
}

const char *notify_kind_auto_submitted(enum notify_kind k)
{
    switch (k) {
    case NK_CREATED_ACK: return "auto-replied";
    case NK_REPLY_TO_REQUESTER: return NULL; /* an agent wrote it */
    default: return "auto-generated";        /* notices, incl. every agent notice,
                                                so agents' vacation responders
                                                stay quiet (RFC 3834) */
    }
}

/* ---- Configuration ---- */

bool notify_config_load(struct td_config *cfg, struct notify_config *nc, struct td_err *err)
{
    memset(nc, 0, sizeof *nc);
    const char *support = config_str(cfg, "notify", "support_address", "");
    if (support[0] != '\0') {
        char *norm = NULL;
        if (!email_normalize(support, "[notify] support_address", &norm, err))
            return false;
        int n = snprintf(nc->support_address, sizeof nc->support_address, "%s", norm);
        free(norm);
        if (n < 0 || (size_t)n >= sizeof nc->support_address)
            return td_fail(err, TD_INVALID, "[notify] support_address is too long");
    }
    const char *url = config_str(cfg, "notify", "ticket_url", "");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[notify] ticket_url contains white space or a control character");
    int n = snprintf(nc->ticket_url, sizeof nc->ticket_url, "%s", url);
    if (n < 0 || (size_t)n >= sizeof nc->ticket_url)
        return td_fail(err, TD_INVALID, "[notify] ticket_url is too long");
    for (int k = 0; k < NK_COUNT; k++)
        if (!config_bool(cfg, "notify", notify_kind_names[k], true, &nc->enabled[k], err))
            return false;
    if (!config_bool(cfg, "notify", "notify_admins", true, &nc->admins_are_agents, err) ||
        !config_int(cfg, "notify", "max_per_recipient_hour", NOTIFY_DEFAULT_MAX_PER_HOUR, 0, 100000,
                    &nc->max_per_hour, err) ||
        !config_int(cfg, "notify", "max_per_agent_hour", 0, 0, 1000000, &nc->max_per_staff_hour, err))
        return false;
    return true;
}

static const char *const blocked_locals[] = {
    "mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply",
    "bounce", "bounces", "daemon", NULL,
};

bool notify_address_blocked(const struct notify_config *nc, const char *email)
{
    if (email == NULL || email[0] == '\0')
        return true;
    const char *at = strrchr(email, '@');
    if (at == NULL)
        return true;
    size_t local = (size_t)(at - email);
    /* The local part without a +tag. */
    const char *plus = memchr(email, '+', local);
    size_t base = plus ? (size_t)(plus - email) : local;
    for (size_t i = 0; blocked_locals[i]; i++)
        if (strlen(blocked_locals[i]) == base && strncasecmp(email, blocked_locals[i], base) == 0)
            return true;
    if (strncasecmp(email, "owner-", 6) == 0 || (local > 8 && strncasecmp(at - 8, "-request", 8) == 0))
        return true; /* mailing list machinery */
    const char *sup = nc->support_address;
    const char *sat = strrchr(sup, '@');
    if (sat == NULL)
        return false;
    size_t slocal = (size_t)(sat - sup);
    return strcasecmp(at, sat) == 0 && base == slocal && strncasecmp(email, sup, slocal) == 0;
}

/* ---- Row ids ---- */

static void hash_field(crypto_generichash_state *h, const char *s)
{
    /* Length-prefixed, so ("ab","c") and ("a","bc") differ; NULL != "". */
    unsigned char len[9];
    uint64_t n = s ? strlen(s) : 0;
    len[0] = s ? 1 : 0;
    for (int i = 0; i < 8; i++)
        len[1 + i] = (unsigned char)(n >> (8 * i));
    crypto_generichash_update(h, len, sizeof len);
    if (s)
        crypto_generichash_update(h, (const unsigned char *)s, n);
}

void notify_row_id(const struct td_event *ev, const char *recipient_id, enum notify_kind kind,
                   char out[TD_ID_LEN + 1])
{
    crypto_generichash_state h;
    unsigned char digest[crypto_generichash_BYTES];
    char num[64];
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    hash_field(&h, "ticketd-outbox-v1");
    snprintf(num, sizeof num, "%lld|%lld", (long long)ev->ticket, (long long)ev->at);
    hash_field(&h, num);
    hash_field(&h, event_kind_name(ev->kind));
    hash_field(&h, ev->actor_id);
    hash_field(&h, ev->old_value);
    hash_field(&h, ev->new_value);
    hash_field(&h, recipient_id);
    hash_field(&h, notify_kind_names[kind]);
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(out, TD_ID_LEN + 1, digest, TD_ID_LEN / 2);
}

/* ---- Planning ---- */

/* Users and the comment list read while planning one batch. */
struct plan_ctx {
    const struct notify_config *nc;
    struct store *st;
    const struct td_ticket *t;
    struct td_user **users;     /* cache by id; pointers stay valid */
    size_t n_users;
    struct td_user_list staff;  /* every active agent (+ admins) */
    bool staff_loaded;
    struct td_comment_list comments;
    bool comments_loaded;
    struct td_outbox_list *out;
};

/* The user with this id, or NULL (unknown, or the store failed: the
 * reconciler tries again later). */
static const struct td_user *user_by_id(struct plan_ctx *p, const char *id)
{
    if (id == NULL || !id_valid(id))
        return NULL;
    for (size_t i = 0; i < p->n_users; i++)
        if (strcmp(p->users[i]->id, id) == 0)
            return p->users[i];
    struct td_user *u = td_calloc(1, sizeof *u);
    if (!p->st->ops->user_get(p->st, id, u, NULL)) {
        free(u);
        return NULL;
    }
    p->users = td_realloc(p->users, (p->n_users + 1) * sizeof *p->users);
    p->users[p->n_users++] = u;
    return u;
}

static bool is_staff(const struct td_user *u)
{
    return u && (u->role == ROLE_AGENT || u->role == ROLE_ADMIN);
}

static bool load_staff(struct plan_ctx *p, struct td_err *err)
{
    if (p->staff_loaded)
        return true;
    struct td_user_list agents = { NULL, 0 }, admins = { NULL, 0 };
    if (!p->st->ops->user_list(p->st, ROLE_AGENT, &agents, err))
        return false;
    if (p->nc->admins_are_agents && !p->st->ops->user_list(p->st, ROLE_ADMIN, &admins, err)) {
        user_list_clear(&agents);
        return false;
    }
    struct td_user_list *l = &p->staff;
    l->v = td_calloc(agents.n + admins.n + 1, sizeof *l->v);
    l->n = 0;
    struct td_user_list *src[2] = { &agents, &admins };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < src[s]->n; i++)
            if (!src[s]->v[i].disabled)
                user_copy(&l->v[l->n++], &src[s]->v[i]);
    user_list_clear(&agents);
    user_list_clear(&admins);
    p->staff_loaded = true;
    return true;
}

static const struct td_comment *comment_by_id(struct plan_ctx *p, const char *id)
{
    if (id == NULL)
        return NULL;
    if (!p->comments_loaded) {
        if (!p->st->ops->comment_list(p->st, p->t->number, true, &p->comments, NULL))
            return NULL;
        p->comments_loaded = true;
    }
    for (size_t i = 0; i < p->comments.n; i++)
        if (strcmp(p->comments.v[i].id, id) == 0)
            return &p->comments.v[i];
    return NULL;
}

static void put(json_t *vars, const char *name, const char *value)
{
    json_t *s = json_string(value ? value : "");
    json_object_set_new(vars, name, s ? s : json_string(""));
}

static const char *display(const struct td_user *u)
{
    if (u == NULL)
        return "";
    return u->name && u->name[0] ? u->name : u->email;
}

/* One row for recipient u, unless a rule says no. */
static void add_row(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                    const struct td_user *u, const struct td_user *author, const char *body,
                    const char *assignee_id)
{
    const struct notify_config *nc = p->nc;
    if (u == NULL || u->disabled || !nc->enabled[kind])
        return;
    if (notify_kind_staff_only(kind) && !is_staff(u))
        return; /* internal content never reaches a customer */
    if (kind != NK_CREATED_ACK && strcmp(u->id, ev->actor_id) == 0)
        return; /* nobody hears about their own action */
    if (notify_address_blocked(nc, u->email))
        return;
    struct td_outbox_list *out = p->out;
    for (size_t i = 0; i < out->n; i++) /* one mail per person per event */
        if (out->v[i].ticket == ev->ticket && strcmp(out->v[i].recipient, u->email) == 0 &&
            strcmp(out->v[i].kind, notify_kind_names[kind]) == 0 && out->v[i].created == ev->at)
            return;

    const struct td_ticket *t = p->t;
    const struct td_user *req = user_by_id(p, t->requester_id);
    const struct td_user *asg = assignee_id[0] ? user_by_id(p, assignee_id) : NULL;
    json_t *root = json_object(), *vars = json_object();
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)t->number);
    put(vars, "ticket_number", num);
    put(vars, "subject", ev->kind == EVENT_CREATED && ev->new_value ? ev->new_value : t->subject);
    bool status_ev = ev->kind == EVENT_STATUS;
    put(vars, "status", status_ev && ev->new_value ? ev->new_value : status_name(t->status));
    put(vars, "old_status", status_ev ? ev->old_value : "");
    put(vars, "priority", priority_name(t->priority));
    put(vars, "queue", t->queue);
    put(vars, "author", author ? display(author) : "Support");
    put(vars, "author_email", author ? author->email : nc->support_address);
    put(vars, "body", body);
    struct buf url = BUF_INIT;
    if (nc->ticket_url[0])
        buf_printf(&url, "%s%lld", nc->ticket_url, (long long)t->number);
    put(vars, "ticket_url", url.data ? url.data : "");
    buf_free(&url);
    put(vars, "requester", display(req));
    put(vars, "requester_email", req ? req->email : "");
    put(vars, "assignee", display(asg));
    put(vars, "assignee_email", asg ? asg->email : "");
    put(vars, "recipient", display(u));
    put(vars, "recipient_email", u->email);
    put(vars, "support_address", nc->support_address);
    json_object_set_new(root, "recipient_id", json_string(u->id));
    json_object_set_new(root, "vars", vars);
    char *payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (payload == NULL)
        td_oom();

    out->v = td_realloc(out->v, (out->n + 1) * sizeof *out->v);
    struct td_outbox *o = &out->v[out->n++];
    memset(o, 0, sizeof *o);
    notify_row_id(ev, u->id, kind, o->id);
    o->kind = td_strdup(notify_kind_names[kind]);
    o->ticket = t->number;
    o->recipient = td_strdup(u->email);
    o->payload = td_strdup(payload);
    free(payload);
    o->state = OUTBOX_PENDING;
    o->created = ev->at; /* replaced by the insert time in notify_enqueue */
}

static bool to_staff(struct plan_ctx *p, const struct td_event *ev, enum notify_kind kind,
                     const struct td_user *author, const char *body, const char *assignee,
                     const char *except_id, struct td_err *err)
{
    if (!p->nc->enabled[kind])
        return true;
    if (!load_staff(p, err))
        return false;
    for (size_t i = 0; i < p->staff.n; i++)
        if (except_id == NULL || strcmp(p->staff.v[i].id, except_id) != 0)
            add_row(p, ev, kind, &p->staff.v[i], author, body, assignee);
    return true;
}

bool notify_plan(const struct notify_config *nc, struct store *st, const struct td_ticket *t,
                 const struct td_event *ev, size_t n, const char *assignee_before, td_time since,
                 struct td_outbox_list *out, struct td_err *err)
{
    if (nc->support_address[0] == '\0')
        return true;
    struct plan_ctx p = { .nc = nc, .st = st, .t = t, .out = out };
    char assignee[TD_ID_LEN + 1];
    snprintf(assignee, sizeof assignee, "%s", assignee_before ? assignee_before : "");
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const struct td_event *e = &ev[i];
        bool assign_ev = e->kind == EVENT_ASSIGNEE || e->kind == EVENT_CLAIM;
        if (assign_ev)
            snprintf(assignee, sizeof assignee, "%s", e->new_value ? e->new_value : "");
        if (e->at < since)
            continue;
        const struct td_user *actor = user_by_id(&p, e->actor_id);
        const struct td_user *req = user_by_id(&p, t->requester_id);
        switch (e->kind) {
        case EVENT_CREATED: {
            /* The description is the comment written right after. */
            const struct td_comment *d = NULL;
            if (i + 1 < n && ev[i + 1].kind == EVENT_COMMENT)
                d = comment_by_id(&p, ev[i + 1].new_value);
            const char *body = d ? d->body : "";
            const struct td_user *author = actor ? actor : req;
            bool auto_sub = e->old_value && strcmp(e->old_value, TICKET_CREATED_AUTO) == 0;
            if (!auto_sub)
                add_row(&p, e, NK_CREATED_ACK, req, author, body, assignee);
            ok = to_staff(&p, e, NK_CREATED_AGENTS, author, body, assignee, t->requester_id, err);
            break;
        }
        case EVENT_COMMENT: {
            if (i > 0 && ev[i - 1].kind == EVENT_CREATED)
                break; /* the description: part of the creation mails */
            const struct td_comment *c = comment_by_id(&p, e->new_value);
            const char *body = c ? c->body : "";
            bool internal = e->old_value && strcmp(e->old_value, "internal") == 0;
            if (internal) {
                if (assignee[0])
                    add_row(&p, e, NK_INTERNAL_NOTE, user_by_id(&p, assignee), actor, body, assignee);
            } else if (e->actor_id[0] == '\0' || is_staff(actor)) {
                add_row(&p, e, NK_REPLY_TO_REQUESTER, req, actor, body, assignee);
            } else if (assignee[0]) {
                add_row(&p, e, NK_REPLY_TO_AGENTS, user_by_id(&p, assignee), actor, body, assignee);
            } else {
                ok = to_staff(&p, e, NK_REPLY_TO_AGENTS, actor, body, assignee, NULL, err);
            }
            break;
        }
        case EVENT_ASSIGNEE:
        case EVENT_CLAIM:
            if (assignee[0])
                add_row(&p, e, NK_ASSIGNED, user_by_id(&p, assignee), actor, "", assignee);
            break;
        case EVENT_STATUS:
            if (e->new_value && strcmp(e->new_value, "resolved") == 0)
                add_row(&p, e, NK_STATUS_RESOLVED, req, actor, "", assignee);
            else if (e->new_value && strcmp(e->new_value, "closed") == 0)
                add_row(&p, e, NK_STATUS_CLOSED, req, actor, "", assignee);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < p.n_users; i++) {
        user_clear(p.users[i]);
        free(p.users[i]);
    }
    free(p.users);
    user_list_clear(&p.staff);
    comment_list_clear(&p.comments);
    return ok;
}

/* ---- Enqueueing ---- */

bool notify_enqueue(const struct notify_config *nc, struct store *st,
                    const struct td_outbox_list *rows, td_time now, size_t *inserted,
                    struct td_err *err)
{
    size_t n_new = 0;
    bool ok = true;
    for (size_t i = 0; i < rows->n; i++) {
        struct td_outbox o = rows->v[i]; /* shallow: only scalars change */
        o.created = now;
        o.next_attempt = now;
        o.attempts = 0;
        char reason[200] = "";
        enum notify_kind kind = NK_CREATED_ACK;
        (void)notify_kind_parse(o.kind, &kind);
        int64_t cap = notify_kind_staff_only(kind) ? nc->max_per_staff_hour : nc->max_per_hour;
        if (cap > 0 && st->ops->outbox_count_recent != NULL) {
            int64_t recent = 0;
            struct td_err e;
            td_err_clear(&e);
            if (!st->ops->outbox_count_recent(st, o.recipient, now - HOUR_MS, &recent, &e)) {
                ok = td_fail(err, e.code, "%s", e.msg);
                continue;
            }
            if (recent >= cap)
                snprintf(reason, sizeof reason,
                         "loop guard: %lld mails to this address within the last hour (limit %lld); not sent",
                         (long long)recent, (long long)cap);
        }
        if (reason[0]) {
            o.state = OUTBOX_FAILED;
            o.last_error = reason;
        }
        struct td_err e;
        td_err_clear(&e);
        if (st->ops->outbox_insert(st, &o, &e)) {
            if (reason[0])
                log_event(LOG_WARN, "notify_suppressed", LF_S("id", o.id), LF_I("ticket", o.ticket),
                          LF_S("kind", o.kind), LF_S("reason", reason));
            else
                n_new++;
        } else if (e.code != TD_CONFLICT) {
            ok = td_fail(err, e.code, "%s", e.msg);
        }
    }
    if (inserted)
        *inserted = n_new;
    return ok;
}

/* ---- Replay ---- */

static bool reconcile_ticket(const struct notify_config *nc, struct store *st,
                             const struct td_ticket *t, td_time since, td_time now,
                             size_t *inserted, struct td_err *err)
{
    struct td_event_list h = { NULL, 0 };
    if (!st->ops->history_list(st, t->number, &h, err))
        return false;
    struct td_outbox_list rows = { NULL, 0 };
    size_t n = 0;
    bool ok = notify_plan(nc, st, t, h.v, h.n, "", since, &rows, err) &&
              notify_enqueue(nc, st, &rows, now, &n, err);
    *inserted += n;
    outbox_list_clear(&rows);
    event_list_clear(&h);
    return ok;
}

bool notify_reconcile(const struct notify_config *nc, struct store *st, td_time since,
                      td_time now, size_t *inserted, struct td_err *err)
{
    size_t total = 0;
    int64_t after = 0;
    bool ok = true;
    if (nc->support_address[0] == '\0')
        goto done;
    for (;;) {
        struct td_ticket_filter f = { .updated_since = since, .ascending = true, .after = after,
                                      .limit = RECONCILE_PAGE };
        struct td_ticket_list l = { NULL, 0 };
        if (!st->ops->ticket_list(st, &f, &l, err)) {
            ok = false;
            break;
        }
        for (size_t i = 0; ok && i < l.n; i++) {
            ok = reconcile_ticket(nc, st, &l.v[i], since, now, &total, err);
            after = l.v[i].number;
        }
        size_t got = l.n;
        ticket_list_clear(&l);
        if (!ok || got < RECONCILE_PAGE)
            break;
    }
done:
    if (inserted)
        *inserted = total;
    return ok;
}

/* ---- The hook ---- */

struct notify {
    struct notify_config cfg;
    pthread_mutex_t lock; /* guards wake/wake_arg */
    void (*wake)(void *arg);
    void *wake_arg;
};

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
    free(n);
}

const struct notify_config *notify_config_of(const struct notify *n)
{
    return n ? &n->cfg : NULL;
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
    if (!ok) /* the change is committed; the reconciler will plan it again */
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

bool notify_account_mail(struct td_core *c, const struct td_user *u, enum notify_account_kind kind,
                         json_t *extra, const char *once_key, bool *queued, struct td_err *err)
{
    if (queued)
        *queued = false;
    struct notify *nf = notify_of(c);
    if (nf == NULL || (unsigned)kind >= NA_COUNT) {
        json_decref(extra);
        return td_fail(err, TD_UNAVAILABLE,
                       "outgoing mail is off ([notify] support_address is not set)");
    }
    if (notify_address_blocked(&nf->cfg, u->email)) {
        json_decref(extra);
        return true; /* never mail the support address or a robot */
    }
    json_t *root = json_object(), *vars = extra ? extra : json_object();
    put(vars, "recipient", display(u));
    put(vars, "recipient_email", u->email);
    put(vars, "support_address", nf->cfg.support_address);
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
    o.recipient = u->email;
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

bool notify_account_claim(struct td_core *c, const struct td_user *u, const char *token,
                          int64_t valid_minutes, bool *queued, struct td_err *err)
{
    json_t *vars = json_object();
    char minutes[32];
    snprintf(minutes, sizeof minutes, "%lld", (long long)valid_minutes);
    put(vars, "claim_token", token);
    put(vars, "claim_valid_minutes", minutes);
    return notify_account_mail(c, u, NA_ACCOUNT_CLAIM, vars, NULL, queued, err);
}

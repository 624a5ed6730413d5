/* webhook_plan.c - deliveries from the history (see webhook.h): the
 * payload of each event, the replay pass, the test event. */
#include "webhook.h"
#include "id.h"
#include "log.h"
#include "mem.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PLAN_PAGE 200
#define PLANNED_SLOTS 4096

/* ---- what this process planned already: ticket -> highest seq ---- */

struct webhook_planned {
    struct {
        int64_t ticket;
        int64_t seq;
    } slot[PLANNED_SLOTS];
};

struct webhook_planned *webhook_planned_new(void)
{
    return td_calloc(1, sizeof(struct webhook_planned));
}

void webhook_planned_free(struct webhook_planned *p)
{
    free(p);
}

/* A direct-mapped cache: a collision only forgets, which costs a replay. */
static int64_t planned_seq(const struct webhook_planned *p, int64_t ticket)
{
    if (p == NULL)
        return 0;
    size_t i = (size_t)ticket % PLANNED_SLOTS;
    return p->slot[i].ticket == ticket ? p->slot[i].seq : 0;
}

static void planned_set(struct webhook_planned *p, int64_t ticket, int64_t seq)
{
    if (p == NULL)
        return;
    size_t i = (size_t)ticket % PLANNED_SLOTS;
    p->slot[i].ticket = ticket;
    p->slot[i].seq = seq;
}

/* ---- the payload ---- */

static json_t *jtime(td_time t)
{
    time_t secs = (time_t)(t / 1000);
    int ms = (int)(t % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    char out[64];
    if (gmtime_r(&secs, &tm) == NULL)
        return json_null();
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return json_string(out);
}

static json_t *jstr_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *ticket_json(const struct td_ticket *t)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < t->tags.n; i++)
        json_array_append_new(tags, json_string(t->tags.v[i]));
    json_t *j = json_object();
    json_object_set_new(j, "number", json_integer(t->number));
    json_object_set_new(j, "subject", json_string(t->subject ? t->subject : ""));
    json_object_set_new(j, "status", json_string(status_name(t->status)));
    json_object_set_new(j, "priority", json_string(priority_name(t->priority)));
    json_object_set_new(j, "requester_id", jstr_or_null(t->requester_id));
    json_object_set_new(j, "assignee_id", jstr_or_null(t->assignee_id));
    json_object_set_new(j, "queue", json_string(t->queue ? t->queue : ""));
    json_object_set_new(j, "tags", tags);
    json_object_set_new(j, "created", jtime(t->created));
    json_object_set_new(j, "updated", jtime(t->updated));
    return j;
}

static json_t *event_json(const struct td_event *e)
{
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer(e->seq));
    json_object_set_new(j, "kind", json_string(event_kind_name(e->kind)));
    json_object_set_new(j, "actor_id", jstr_or_null(e->actor_id));
    json_object_set_new(j, "old_value", e->old_value ? json_string(e->old_value) : json_null());
    json_object_set_new(j, "new_value", e->new_value ? json_string(e->new_value) : json_null());
    json_object_set_new(j, "at", jtime(e->at));
    return j;
}

static json_t *comment_json(const struct td_comment *c)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(c->id));
    json_object_set_new(j, "author_id", jstr_or_null(c->author_id));
    json_object_set_new(j, "internal", json_boolean(c->internal));
    json_object_set_new(j, "source", json_string(source_name(c->source)));
    json_object_set_new(j, "body", json_string(c->body ? c->body : ""));
    json_object_set_new(j, "created", jtime(c->created));
    return j;
}

static char *payload(const char *id, const char *type, td_time at, const struct td_ticket *t,
                     const struct td_event *e, const struct td_comment *c)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "created", jtime(at));
    if (t)
        json_object_set_new(j, "ticket", ticket_json(t));
    if (e)
        json_object_set_new(j, "event", event_json(e));
    if (c)
        json_object_set_new(j, "comment", comment_json(c));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        td_oom();
    return s;
}

/* ---- planning ---- */

static const struct td_comment *find_comment(const struct td_comment_list *l, const char *id)
{
    for (size_t i = 0; id && i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

static bool plan_ticket(struct store *st, const struct td_webhook_list *hooks,
                        const struct td_ticket *t, td_time since, td_time now,
                        struct webhook_planned *planned, size_t *inserted, struct td_err *err)
{
    struct td_event_list h = { NULL, 0 };
    if (!st->ops->history_list(st, t->number, &h, err))
        return false;
    int64_t done = planned_seq(planned, t->number);
    struct td_comment_list comments = { NULL, 0 };
    bool have_comments = false, ok = true;
    int64_t last = done;
    for (size_t i = 0; ok && i < h.n; i++) {
        const struct td_event *e = &h.v[i];
        const char *type = webhook_event_type(e->kind);
        if (e->seq <= done || e->at < since || type == NULL)
            continue;
        if (e->kind == EVENT_COMMENT && !have_comments) {
            ok = st->ops->comment_list(st, t->number, true, &comments, err);
            have_comments = true;
        }
        for (size_t k = 0; ok && k < hooks->n; k++) {
            const struct td_webhook *w = &hooks->v[k];
            if (!w->enabled || e->at < w->created || !webhook_wants(w, type))
                continue;
            struct td_delivery d;
            memset(&d, 0, sizeof d);
            webhook_delivery_id(w->id, t->number, e->seq, d.id);
            memcpy(d.endpoint_id, w->id, sizeof d.endpoint_id);
            d.ticket = t->number;
            d.seq = e->seq;
            d.type = (char *)type;
            d.payload = payload(d.id, type, e->at, t, e,
                                e->kind == EVENT_COMMENT ? find_comment(&comments, e->new_value)
                                                         : NULL);
            d.state = DELIVERY_PENDING;
            d.next_attempt = now;
            d.created = now;
            struct td_err e2;
            td_err_clear(&e2);
            if (st->ops->delivery_insert(st, &d, &e2))
                (*inserted)++;
            else if (e2.code != TD_CONFLICT)
                ok = td_fail(err, e2.code, "%s", e2.msg);
            free(d.payload);
        }
        if (ok)
            last = e->seq;
    }
    if (ok && last > done)
        planned_set(planned, t->number, last);
    comment_list_clear(&comments);
    event_list_clear(&h);
    return ok;
}

bool webhook_plan(struct store *st, td_time since, td_time now, struct webhook_planned *planned,
                  size_t *inserted, struct td_err *err)
{
    size_t total = 0;
    struct td_webhook_list hooks = { NULL, 0 };
    if (!st->ops->webhook_list(st, &hooks, err))
        return false;
    bool any = false;
    for (size_t i = 0; i < hooks.n; i++)
        any = any || hooks.v[i].enabled;
    bool ok = true;
    int64_t after = 0;
    while (any) {
        struct td_ticket_filter f = { .updated_since = since, .ascending = true, .after = after,
                                      .limit = PLAN_PAGE };
        struct td_ticket_list l = { NULL, 0 };
        if (!st->ops->ticket_list(st, &f, &l, err)) {
            ok = false;
            break;
        }
        for (size_t i = 0; ok && i < l.n; i++) {
            ok = plan_ticket(st, &hooks, &l.v[i], since, now, planned, &total, err);
            after = l.v[i].number;
        }
        size_t got = l.n;
        ticket_list_clear(&l);
        if (!ok || got < PLAN_PAGE)
            break;
    }
    webhook_list_clear(&hooks);
    if (inserted)
        *inserted = total;
    return ok;
}

bool webhook_send_test(struct td_core *c, const struct td_user *actor, const char *id,
                       char delivery_id[TD_ID_LEN + 1], struct td_err *err)
{
    struct td_webhook w;
    if (!webhook_get_one(c, actor, id, &w, err))
        return false;
    bool enabled = w.enabled;
    webhook_clear(&w);
    if (!enabled)
        return td_fail(err, TD_CONFLICT, "the endpoint is disabled; enable it first");
    td_time now = td_now();
    struct td_delivery d;
    memset(&d, 0, sizeof d);
    id_new(d.id);
    memcpy(d.endpoint_id, id, TD_ID_LEN);
    d.type = (char *)"webhook.test";
    d.payload = payload(d.id, d.type, now, NULL, NULL, NULL);
    d.state = DELIVERY_PENDING;
    d.next_attempt = now;
    d.created = now;
    bool ok = c->store->ops->delivery_insert(c->store, &d, err);
    free(d.payload);
    if (ok)
        memcpy(delivery_id, d.id, TD_ID_LEN + 1);
    return ok;
}

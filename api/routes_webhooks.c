/* routes_webhooks.c - webhook endpoints (admins):
 *   GET/POST          /api/v1/webhooks
 *   GET/PATCH/DELETE  /api/v1/webhooks/{id}
 *   GET               /api/v1/webhooks/{id}/deliveries   the delivery log
 *   POST              /api/v1/webhooks/{id}/test         queue a webhook.test event
 * The secret is shown when an endpoint is made (or given), never listed.
 * Rules (admins only, URL and event checks) are core/webhook.c's; sending
 * is hooks/. */
#include "api_int.h"

#include "core/id.h"
#include "core/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *json_webhook(const struct td_webhook *w, bool with_secret)
{
    json_t *ev = json_array();
    for (size_t i = 0; i < w->events.n; i++)
        json_array_append_new(ev, json_string(w->events.v[i]));
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(w->id));
    json_object_set_new(j, "url", json_string(w->url ? w->url : ""));
    json_object_set_new(j, "events", ev);
    json_object_set_new(j, "enabled", json_boolean(w->enabled));
    json_object_set_new(j, "failures", json_integer(w->failures));
    json_object_set_new(j, "disabled_reason",
                        w->disabled_reason ? json_string(w->disabled_reason) : json_null());
    json_object_set_new(j, "created", json_time(w->created));
    json_object_set_new(j, "updated", json_time(w->updated));
    if (with_secret)
        json_object_set_new(j, "secret", json_string(w->secret ? w->secret : ""));
    return j;
}

static json_t *json_delivery(const struct td_delivery *d)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(d->id));
    json_object_set_new(j, "type", json_string(d->type ? d->type : ""));
    json_object_set_new(j, "ticket", d->ticket ? json_integer(d->ticket) : json_null());
    json_object_set_new(j, "state", json_string(delivery_state_name(d->state)));
    json_object_set_new(j, "attempts", json_integer(d->attempts));
    json_object_set_new(j, "last_status", d->last_status ? json_integer(d->last_status) : json_null());
    json_object_set_new(j, "last_error", d->last_error ? json_string(d->last_error) : json_null());
    json_object_set_new(j, "created", json_time(d->created));
    json_object_set_new(j, "next_attempt",
                        d->state == DELIVERY_PENDING ? json_time(d->next_attempt) : json_null());
    json_object_set_new(j, "finished", d->finished ? json_time(d->finished) : json_null());
    return j;
}

static bool param_webhook(struct api_req *r, struct api_resp *out)
{
    if (r->n_params >= 1 && id_valid(r->params[0]))
        return true;
    problem(out, 404, "not_found", "no such webhook", NULL);
    return false;
}

/* events: every element a known type. */
static void check_events(const struct strv *ev, struct field_errors *fe)
{
    for (size_t i = 0; i < ev->n; i++)
        if (!webhook_event_type_known(ev->v[i]))
            field_error(fe, "events", "'%.60s' is not an event type", ev->v[i]);
}

void h_webhooks_list(struct api_req *r, struct api_resp *out)
{
    static const char *const args[] = { NULL };
    struct field_errors fe = { .n = 0 };
    if (!query_check(r, args, &fe)) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    struct td_webhook_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!webhook_list_all(r->api->core, &r->user, &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_webhook(&l.v[i], false));
    webhook_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_webhooks_create(struct api_req *r, struct api_resp *out)
{
    const char *url = NULL, *secret = NULL;
    struct strv events = { NULL, 0 };
    const struct jf_field fields[] = {
        { "url", JF_STRING, true, &url, NULL },
        { "events", JF_STRING_ARRAY, false, &events, NULL },
        { "secret", JF_STRING, false, &secret, NULL },
    };
    json_t *doc;
    struct field_errors fe = { .n = 0 };
    if (!json_in_collect(r, fields, 3, false, &doc, &fe, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    if (url && !webhook_url_valid(url, &err))
        field_error(&fe, "url", "%s", err.msg + (strncmp(err.msg, "url: ", 5) == 0 ? 5 : 0));
    check_events(&events, &fe);
    if (secret && (strlen(secret) < WEBHOOK_MIN_SECRET || strlen(secret) > WEBHOOK_MAX_SECRET))
        field_error(&fe, "secret", "%d to %d characters", WEBHOOK_MIN_SECRET, WEBHOOK_MAX_SECRET);
    struct td_webhook w;
    bool ok = fe.n == 0;
    if (!ok) {
        problem_fields(out, "bad webhook", &fe);
    } else {
        struct webhook_new in = { url, &events, secret };
        td_err_clear(&err);
        ok = webhook_create(r->api->core, &r->user, &in, &w, &err);
        if (!ok)
            problem_from_err(out, &err);
    }
    strv_clear(&events);
    json_decref(doc);
    if (!ok)
        return;
    resp_json(out, 201, json_webhook(&w, true));
    resp_header(out, "Location", "/api/v1/webhooks/%s", w.id);
    webhook_clear(&w);
}

void h_webhook_get(struct api_req *r, struct api_resp *out)
{
    if (!param_webhook(r, out))
        return;
    struct td_webhook w;
    struct td_err err;
    td_err_clear(&err);
    if (!webhook_get_one(r->api->core, &r->user, r->params[0], &w, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 200, json_webhook(&w, false));
    webhook_clear(&w);
}

void h_webhook_patch(struct api_req *r, struct api_resp *out)
{
    if (!param_webhook(r, out))
        return;
    const char *url = NULL, *secret = NULL;
    struct strv events = { NULL, 0 };
    bool has_events = false, enabled = false, has_enabled = false;
    const struct jf_field fields[] = {
        { "url", JF_STRING, false, &url, NULL },
        { "events", JF_STRING_ARRAY, false, &events, &has_events },
        { "secret", JF_STRING, false, &secret, NULL },
        { "enabled", JF_BOOL, false, &enabled, &has_enabled },
    };
    json_t *doc;
    struct field_errors fe = { .n = 0 };
    if (!json_in_collect(r, fields, 4, false, &doc, &fe, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    if (url && !webhook_url_valid(url, &err))
        field_error(&fe, "url", "%s", err.msg + (strncmp(err.msg, "url: ", 5) == 0 ? 5 : 0));
    check_events(&events, &fe);
    if (!url && !secret && !has_events && !has_enabled && fe.n == 0)
        field_error(&fe, "body", "give at least one of url, events, secret, enabled");
    struct td_webhook w;
    bool ok = fe.n == 0;
    if (!ok) {
        problem_fields(out, "bad webhook change", &fe);
    } else {
        td_err_clear(&err);
        ok = webhook_update_fields(r->api->core, &r->user, r->params[0], url,
                                   has_events ? &events : NULL, secret, has_enabled, enabled, &w,
                                   &err);
        if (!ok)
            problem_from_err(out, &err);
    }
    strv_clear(&events);
    json_decref(doc);
    if (!ok)
        return;
    resp_json(out, 200, json_webhook(&w, false));
    webhook_clear(&w);
}

void h_webhook_delete(struct api_req *r, struct api_resp *out)
{
    if (!param_webhook(r, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    if (!webhook_remove(r->api->core, &r->user, r->params[0], &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

void h_webhook_deliveries(struct api_req *r, struct api_resp *out)
{
    if (!param_webhook(r, out))
        return;
    static const char *const args[] = { "limit", NULL };
    struct field_errors fe = { .n = 0 };
    (void)query_check(r, args, &fe);
    long limit = 100;
    const char *v = req_query(r, "limit");
    if (v) {
        char *end = NULL;
        limit = strtol(v, &end, 10);
        if (end == v || *end != '\0' || limit < 1 || limit > 1000)
            field_error(&fe, "limit", "1 to 1000");
    }
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    struct td_delivery_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!webhook_deliveries(r->api->core, &r->user, r->params[0], (size_t)limit, &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_delivery(&l.v[i]));
    delivery_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_webhook_test(struct api_req *r, struct api_resp *out)
{
    if (!param_webhook(r, out))
        return;
    char id[TD_ID_LEN + 1];
    struct td_err err;
    td_err_clear(&err);
    if (!webhook_send_test(r->api->core, &r->user, r->params[0], id, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 202, json_pack("{s:s,s:s}", "delivery_id", id, "type", "webhook.test"));
}

/* routes_quarantine.c - the mail the gateway kept back, for admins:
 * GET /api/v1/quarantine, GET /api/v1/quarantine/{id},
 * GET /api/v1/quarantine/{id}/raw, POST /api/v1/quarantine/{id}/retry,
 * DELETE /api/v1/quarantine/{id} - what `ticketd quarantine` does, over
 * HTTP (the web console's admin page).
 *
 * Admins only (core policy_manage_users). Retry is the mail gateway's
 * (app->quarantine_retry, filled in by cli/; api/ never includes
 * mailgw/): 503 in a binary without it. The mail itself is untrusted:
 * the JSON carries its head as text with every byte outside printable
 * ASCII, tab and newline shown as '?', and /raw serves the bytes as a
 * download (message/rfc822, attachment, sandboxed), never as a page. */
#include "api_int.h"

#include "core/id.h"
#include "core/policy.h"

#include <stdio.h>
#include <string.h>

#define HEAD_MAX 16384 /* bytes of the mail shown in the JSON */

static bool admin_only(struct api_req *r, struct api_resp *out)
{
    struct td_err err;
    td_err_clear(&err);
    if (policy_manage_users(&r->user, &err))
        return true;
    problem_from_err(out, &err);
    return false;
}

static bool param_id(struct api_req *r, struct api_resp *out)
{
    if (r->n_params >= 1 && id_valid(r->params[0]))
        return true;
    struct field_errors fe = { .n = 0 };
    field_error(&fe, "id", "a quarantine id is 24 lower-case hex characters");
    problem_fields(out, "bad quarantine id in the path", &fe);
    return false;
}

static json_t *jopt(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Text from mail for JSON: printable ASCII, tab and newline only. */
static json_t *safe_text(const unsigned char *p, size_t n)
{
    char *t = malloc(n + 1);
    if (t == NULL)
        return json_null();
    for (size_t i = 0; i < n; i++)
        t[i] = (p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\t' ? (char)p[i]
               : p[i] == '\r' ? '\r' : '?';
    t[n] = '\0';
    json_t *j = json_stringn(t, n);
    free(t);
    return j ? j : json_null();
}

static json_t *json_quarantine(const struct td_quarantine *q)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(q->id));
    json_object_set_new(j, "reason", jopt(q->reason));
    /* sender and subject came from the mail: make them safe text too */
    json_object_set_new(j, "sender", q->sender ? safe_text((const unsigned char *)q->sender,
                                                           strlen(q->sender)) : json_null());
    json_object_set_new(j, "subject", q->subject ? safe_text((const unsigned char *)q->subject,
                                                             strlen(q->subject)) : json_null());
    json_object_set_new(j, "mailbox", jopt(q->mailbox && q->mailbox[0] ? q->mailbox : NULL));
    json_object_set_new(j, "size", json_integer((json_int_t)q->raw_size));
    json_object_set_new(j, "attempts", json_integer((json_int_t)q->attempts));
    json_object_set_new(j, "created", json_time(q->created));
    json_object_set_new(j, "updated", json_time(q->updated));
    return j;
}

void h_quarantine_list(struct api_req *r, struct api_resp *out)
{
    int64_t offset, limit;
    if (!admin_only(r, out) || !query_page(r, &offset, &limit, out))
        return;
    struct td_quarantine_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    struct store *st = r->api->app->store;
    if (!st->ops->quarantine_list(st, (size_t)(offset + limit), &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < l.n; i++)
        json_array_append_new(items, json_quarantine(&l.v[i]));
    /* One more than asked would tell; the store lists newest first up to
     * a limit, so a full page means there may be more. */
    json_t *next = l.n == (size_t)(offset + limit) ? query_page_next(offset, limit, l.n + 1)
                                                   : json_null();
    quarantine_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

static bool load(struct api_req *r, struct api_resp *out, struct td_quarantine *q)
{
    if (!admin_only(r, out) || !param_id(r, out))
        return false;
    struct td_err err;
    td_err_clear(&err);
    struct store *st = r->api->app->store;
    if (st->ops->quarantine_get(st, r->params[0], q, &err))
        return true;
    problem_from_err(out, &err);
    return false;
}

void h_quarantine_get(struct api_req *r, struct api_resp *out)
{
    struct td_quarantine q;
    if (!load(r, out, &q))
        return;
    json_t *j = json_quarantine(&q);
    size_t n = q.raw_len < HEAD_MAX ? q.raw_len : HEAD_MAX;
    json_object_set_new(j, "head", safe_text(q.raw ? q.raw : (const unsigned char *)"", n));
    json_object_set_new(j, "head_truncated", json_boolean(n < q.raw_size));
    json_object_set_new(j, "message_key", jopt(q.msg_key));
    quarantine_clear(&q);
    resp_json(out, 200, j);
}

void h_quarantine_raw(struct api_req *r, struct api_resp *out)
{
    struct td_quarantine q;
    if (!load(r, out, &q))
        return;
    resp_header(out, "Content-Disposition", "attachment; filename=\"quarantine-%s.eml\"", q.id);
    resp_header(out, "Content-Security-Policy", "default-src 'none'; sandbox");
    resp_bytes(out, 200, "message/rfc822", q.raw, q.raw_len);
    q.raw = NULL; /* now the response's */
    quarantine_clear(&q);
}

void h_quarantine_retry(struct api_req *r, struct api_resp *out)
{
    if (!admin_only(r, out) || !param_id(r, out))
        return;
    json_t *doc;
    if (!json_in_parse(r, NULL, 0, true, &doc, out))
        return;
    json_decref(doc);
    struct td_app *app = r->api->app;
    struct td_err err;
    td_err_clear(&err);
    if (app->quarantine_retry == NULL) {
        td_fail(&err, TD_UNAVAILABLE, "this ticketd has no mail gateway to ingest the mail again");
        problem_from_err(out, &err);
        return;
    }
    struct app_retry_outcome o;
    if (!app->quarantine_retry(app, r->params[0], &o, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *j = json_pack("{s:s, s:o, s:s}", "result", o.result, "ticket",
                          o.ticket > 0 ? json_integer(o.ticket) : json_null(), "why", o.why);
    resp_json(out, 200, j);
}

void h_quarantine_delete(struct api_req *r, struct api_resp *out)
{
    if (!admin_only(r, out) || !param_id(r, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    struct store *st = r->api->app->store;
    if (!st->ops->quarantine_delete(st, r->params[0], &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

/* routes_tickets.c - tickets: list, open, read, change, claim, assign,
 * history.
 *
 * Concurrency: a ticket's ETag is its version ("7"). PATCH with
 * If-Match: "7" is core's if_version: a stale version is TD_STALE, 412,
 * and nothing is written. If-Match: * or no If-Match applies the change
 * to the current version (core retries internally). An If-Match that
 * cannot name a version (weak or malformed) never matches: 412.
 *
 * Lists: ?status, priority, assignee (id | me | none), requester (id |
 * me), tag, queue, updated_since (RFC 3339), q (text in subject and
 * comments), sort (-number newest first, the default | number), limit,
 * cursor. Customers see only their own tickets whatever they ask for:
 * core narrows the filter. */
#include "api_int.h"

#include "core/id.h"
#include "core/strv.h"
#include "core/ticket.h"

#include <stdio.h>
#include <string.h>

static void set_etag(struct api_resp *out, const struct td_ticket *t)
{
    resp_header(out, "ETag", "\"%lld\"", (long long)t->version);
}

static void ticket_reply(struct api_resp *out, unsigned status, const struct td_ticket *t)
{
    resp_json(out, status, json_ticket(t));
    set_etag(out, t);
}

static const char *const list_args[] = { "status", "priority", "assignee", "requester", "tag",
                                         "queue", "updated_since", "q", "sort", "limit", "cursor",
                                         NULL };

void h_tickets_list(struct api_req *r, struct api_resp *out)
{
    struct field_errors fe = { .n = 0 };
    if (!query_check(r, list_args, &fe)) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    const char *v;
    if ((v = req_query(r, "status")) != NULL) {
        f.by_status = true;
        if (!status_parse(v, &f.status))
            field_error(&fe, "status", "must be one of new, open, pending, resolved, closed");
    }
    if ((v = req_query(r, "priority")) != NULL) {
        f.by_priority = true;
        if (!priority_parse(v, &f.priority))
            field_error(&fe, "priority", "must be one of low, normal, high, urgent");
    }
    if ((v = req_query(r, "assignee")) != NULL) {
        if (strcmp(v, "me") == 0)
            f.assignee_id = r->user.id;
        else if (strcmp(v, "none") == 0)
            f.assignee_id = "";
        else if (id_valid(v))
            f.assignee_id = v;
        else
            field_error(&fe, "assignee", "must be a user id, 'me' or 'none'");
    }
    if ((v = req_query(r, "requester")) != NULL) {
        if (strcmp(v, "me") == 0)
            f.requester_id = r->user.id;
        else if (id_valid(v))
            f.requester_id = v;
        else
            field_error(&fe, "requester", "must be a user id or 'me'");
    }
    if ((v = req_query(r, "tag")) != NULL) {
        if (v[0] == '\0' || strlen(v) > 50)
            field_error(&fe, "tag", "must be 1 to 50 characters");
        f.tag = v;
    }
    if ((v = req_query(r, "queue")) != NULL) {
        if (strlen(v) > 64)
            field_error(&fe, "queue", "must be at most 64 characters");
        f.queue = v;
    }
    if ((v = req_query(r, "updated_since")) != NULL && !time_parse_rfc3339(v, &f.updated_since))
        field_error(&fe, "updated_since", "must be an RFC 3339 time such as 2026-01-31T12:00:00Z");
    if ((v = req_query(r, "q")) != NULL) {
        if (v[0] == '\0' || strlen(v) > 200)
            field_error(&fe, "q", "must be 1 to 200 characters");
        f.text = v;
        f.text_internal = true; /* core drops it for customers */
    }
    if ((v = req_query(r, "sort")) != NULL) {
        if (strcmp(v, "number") == 0 || strcmp(v, "created") == 0)
            f.ascending = true;
        else if (strcmp(v, "-number") != 0 && strcmp(v, "-created") != 0)
            field_error(&fe, "sort", "must be -number (newest first), number, -created or created");
    }
    int64_t limit = r->api->set.page_default;
    if ((v = req_query(r, "limit")) != NULL &&
        (!parse_number(v, &limit) || limit > (int64_t)r->api->set.page_max))
        field_error(&fe, "limit", "must be an integer from 1 to %u", r->api->set.page_max);
    if ((v = req_query(r, "cursor")) != NULL) {
        bool asc = false;
        if (!cursor_decode(v, &f.after, &asc))
            field_error(&fe, "cursor", "is not a cursor this server returned");
        else if (asc != f.ascending)
            field_error(&fe, "cursor", "belongs to the other sort order");
    }
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    f.limit = (size_t)limit + 1; /* one more tells whether a next page exists */
    struct td_ticket_list list = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_list(r->api->core, &r->user, &f, &list, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    size_t shown = list.n > (size_t)limit ? (size_t)limit : list.n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, json_ticket(&list.v[i]));
    json_t *next = json_null();
    char cur[80] = "";
    if (list.n > (size_t)limit && shown > 0) {
        cursor_encode(list.v[shown - 1].number, f.ascending, cur, sizeof cur);
        json_decref(next);
        next = json_string(cur);
    }
    ticket_list_clear(&list);
    resp_json(out, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
    if (cur[0]) /* next is the body's now */
        link_next(r, out, cur);
}

void h_tickets_create(struct api_req *r, struct api_resp *out)
{
    const char *subject = NULL, *body = NULL, *priority = NULL, *queue = NULL,
               *requester = NULL;
    struct strv tags = STRV_INIT;
    bool has_tags = false;
    const struct jf_field fields[] = {
        { "subject", JF_STRING, true, &subject, NULL },
        { "body", JF_STRING, true, &body, NULL },
        { "priority", JF_STRING, false, &priority, NULL },
        { "tags", JF_STRING_ARRAY, false, &tags, &has_tags },
        { "queue", JF_STRING, false, &queue, NULL },
        { "requester_id", JF_STRING, false, &requester, NULL },
    };
    json_t *doc;
    struct field_errors fe = { .n = 0 };
    if (!json_in_collect(r, fields, sizeof fields / sizeof fields[0], false, &doc, &fe, out))
        return;
    struct ticket_new in;
    memset(&in, 0, sizeof in);
    in.subject = subject;
    in.body = body;
    in.queue = queue;
    in.requester_id = requester;
    in.tags = has_tags ? &tags : NULL;
    in.source = SOURCE_API;
    if (priority != NULL) {
        in.has_priority = true;
        if (!priority_parse(priority, &in.priority))
            field_error(&fe, "priority", "must be one of low, normal, high, urgent");
    }
    if (fe.n > 0) { /* every problem of the body at once */
        problem_fields(out, "bad ticket", &fe);
        goto done;
    }
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_open(r->api->core, &r->user, &in, &t, &err)) {
        problem_from_err(out, &err);
        goto done;
    }
    ticket_reply(out, 201, &t);
    resp_header(out, "Location", "/api/v1/tickets/%lld", (long long)t.number);
    ticket_clear(&t);
done:
    strv_clear(&tags);
    json_decref(doc);
}

void h_ticket_get(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_get(r->api->core, &r->user, number, &t, &err)) {
        problem_from_err(out, &err);
        return;
    }
    ticket_reply(out, 200, &t);
    ticket_clear(&t);
}

/* If-Match -> core's if_version (0 = any). False: it can never match. */
static bool if_match_version(const char *h, int64_t *version)
{
    *version = 0;
    if (h == NULL)
        return true;
    while (*h == ' ')
        h++;
    if (strcmp(h, "*") == 0)
        return true;
    size_t len = strlen(h);
    while (len > 0 && h[len - 1] == ' ')
        len--;
    if (len < 3 || h[0] != '"' || h[len - 1] != '"' || len - 2 > 18)
        return false; /* weak (W/"..") or malformed tags never match If-Match */
    char digits[20];
    memcpy(digits, h + 1, len - 2);
    digits[len - 2] = '\0';
    return parse_number(digits, version);
}

void h_ticket_patch(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    int64_t if_version;
    if (!if_match_version(req_header(r, "If-Match"), &if_version)) {
        problem(out, 412, "stale",
                "If-Match must be the ETag of the ticket as returned by GET (a quoted version)", NULL);
        return;
    }
    const char *subject = NULL, *status = NULL, *priority = NULL;
    struct strv tags = STRV_INIT;
    bool has_tags = false;
    const struct jf_field fields[] = {
        { "subject", JF_STRING, false, &subject, NULL },
        { "status", JF_STRING, false, &status, NULL },
        { "priority", JF_STRING, false, &priority, NULL },
        { "tags", JF_STRING_ARRAY, false, &tags, &has_tags },
    };
    json_t *doc;
    struct field_errors fe = { .n = 0 };
    if (!json_in_collect(r, fields, sizeof fields / sizeof fields[0], false, &doc, &fe, out))
        return;
    struct ticket_patch p;
    memset(&p, 0, sizeof p);
    p.subject = subject;
    if (status != NULL) {
        p.has_status = true;
        if (!status_parse(status, &p.status))
            field_error(&fe, "status", "must be one of new, open, pending, resolved, closed");
    }
    if (priority != NULL) {
        p.has_priority = true;
        if (!priority_parse(priority, &p.priority))
            field_error(&fe, "priority", "must be one of low, normal, high, urgent");
    }
    p.tags = has_tags ? &tags : NULL;
    if (subject == NULL && status == NULL && priority == NULL && !has_tags && fe.n == 0)
        field_error(&fe, "body", "give at least one of subject, status, priority, tags");
    if (fe.n > 0) {
        problem_fields(out, "bad ticket change", &fe);
        goto done;
    }
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_update(r->api->core, &r->user, number, &p, if_version, &t, &err)) {
        problem_from_err(out, &err);
        goto done;
    }
    ticket_reply(out, 200, &t);
    ticket_clear(&t);
done:
    strv_clear(&tags);
    json_decref(doc);
}

void h_ticket_claim(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    json_t *doc; /* no members; an empty body or {} */
    if (!json_in_parse(r, NULL, 0, true, &doc, out))
        return;
    json_decref(doc);
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_claim(r->api->core, &r->user, number, &t, &err)) {
        problem_from_err(out, &err);
        return;
    }
    ticket_reply(out, 200, &t);
    ticket_clear(&t);
}

void h_ticket_assign(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    const char *assignee = NULL;
    const struct jf_field fields[] = {
        { "assignee_id", JF_STRING_NULL, true, &assignee, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    bool ok = ticket_assign(r->api->core, &r->user, number, assignee, &t, &err);
    json_decref(doc);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    ticket_reply(out, 200, &t);
    ticket_clear(&t);
}

void h_ticket_history(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    struct td_event_list list = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_history(r->api->core, &r->user, number, &list, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(items, json_event(&list.v[i]));
    event_list_clear(&list);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

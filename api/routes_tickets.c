/* routes_tickets.c - tickets: list, open, read, change, claim, assign,
 * history.
 *
 * PATCH takes subject, status, priority, tags and queue (staff move a
 * ticket to another queue; the history records it as kind "queue").
 *
 * Concurrency: a ticket's ETag is its version ("7"). PATCH with
 * If-Match: "7" is core's if_version: a stale version is TD_STALE, 412,
 * and nothing is written. If-Match: * or no If-Match applies the change
 * to the current version (core retries internally). An If-Match that
 * cannot name a version (weak or malformed) never matches: 412.
 *
 * Lists: ?status (one, or several: status=new,open), priority, assignee (id | me | none), requester (id |
 * me), tag, queue, updated_since (RFC 3339), overdue=true and due_before
 * (RFC 3339: an SLA due time not met, clock running, before it; see
 * core/sla.h), q (text in subject and
 * comments), sort (-number newest first, the default | number), limit,
 * sort=-updated (last changed first; not with q), cursor, include=users (embed requester and assignee), count=true (a
 * total, exact up to STORE_LIST_MAX). Customers see only their own tickets whatever they ask for:
 * core narrows the filter. */
#include "api_int.h"

#include "core/group.h"

#include "core/id.h"
#include "core/strv.h"
#include "core/ticket.h"

#include <stdio.h>
#include <string.h>

static void set_etag(struct api_resp *out, const struct td_ticket *t)
{
    resp_header(out, "ETag", "\"%lld\"", (long long)t->version);
}

static void ticket_reply(const struct api_req *r, struct api_resp *out, unsigned status,
                         const struct td_ticket *t)
{
    resp_json(out, status, json_ticket(t, r->user.role));
    set_etag(out, t);
}

static const char *const list_args[] = { "status", "priority", "assignee", "requester", "tag",
                                         "queue", "updated_since", "q", "sort", "limit", "cursor",
                                         "include", "count", "overdue", "due_before", NULL };

/* "new,open": distinct statuses, at most one of each. */
static bool status_list_parse(const char *v, enum td_status *out, size_t *n)
{
    *n = 0;
    char one[16];
    for (const char *p = v;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof one)
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        enum td_status st;
        if (!status_parse(one, &st))
            return false;
        bool dup = false;
        for (size_t i = 0; i < *n; i++)
            dup = dup || out[i] == st;
        if (!dup) {
            if (*n == 5)
                return false;
            out[(*n)++] = st;
        }
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = (*(const struct td_ticket *const *)a)->number;
    int64_t y = (*(const struct td_ticket *const *)b)->number;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_asc(const void *a, const void *b)
{
    return -cmp_desc(a, b);
}

static int cmp_updated(const void *a, const void *b)
{
    const struct td_ticket *x = *(const struct td_ticket *const *)a;
    const struct td_ticket *y = *(const struct td_ticket *const *)b;
    if (x->updated != y->updated)
        return x->updated < y->updated ? 1 : -1;
    return cmp_desc(a, b);
}

/* The first f->limit tickets of the filter, several statuses merged: one
 * query per status, each at most f->limit long, merged by number - the
 * cursor (a number bound) means the same in every one. page[] points
 * into lists[] (cleared by the caller: one per status, or lists[0]). */
static bool list_merged(struct api_req *r, struct td_ticket_filter *f,
                        const enum td_status *statuses, size_t n_status,
                        struct td_ticket_list lists[5], const struct td_ticket **page, size_t *n_page,
                        struct td_err *err)
{
    size_t runs = n_status ? n_status : 1;
    memset(lists, 0, 5 * sizeof lists[0]);
    *n_page = 0;
    for (size_t i = 0; i < runs; i++) {
        if (n_status)
            f->status = statuses[i];
        if (!ticket_list(r->api->core, &r->user, f, &lists[i], err)) {
            for (size_t k = 0; k < i; k++)
                ticket_list_clear(&lists[k]);
            return false;
        }
        for (size_t k = 0; k < lists[i].n && *n_page < STORE_LIST_MAX; k++)
            page[(*n_page)++] = &lists[i].v[k];
    }
    if (runs > 1)
        qsort(page, *n_page, sizeof page[0],
              f->by_updated ? cmp_updated : f->ascending ? cmp_asc : cmp_desc);
    if (*n_page > f->limit)
        *n_page = f->limit;
    return true;
}

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
    enum td_status statuses[5];
    size_t n_status = 0;
    if ((v = req_query(r, "status")) != NULL) {
        f.by_status = true;
        if (!status_list_parse(v, statuses, &n_status))
            field_error(&fe, "status", "must be new, open, pending, resolved or closed, or several "
                        "of them separated by commas");
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
    /* SLA filters are the desk's: a customer's own tickets carry no SLA
     * state for them (json_ticket), so neither do their filters. */
    if (r->user.role == ROLE_CUSTOMER) {
        if (req_query(r, "due_before") != NULL)
            field_error(&fe, "due_before", "is for staff only");
        if (req_query(r, "overdue") != NULL)
            field_error(&fe, "overdue", "is for staff only");
    } else if ((v = req_query(r, "due_before")) != NULL && !time_parse_rfc3339(v, &f.due_before))
        field_error(&fe, "due_before", "must be an RFC 3339 time such as 2026-01-31T12:00:00Z");
    if (r->user.role != ROLE_CUSTOMER && (v = req_query(r, "overdue")) != NULL) {
        /* Overdue: due at or before now, so before now + 1 ms. */
        td_time now = td_now() + 1;
        if (strcmp(v, "true") != 0)
            field_error(&fe, "overdue", "must be true (leave it out for every ticket)");
        else if (f.due_before == 0 || now < f.due_before)
            f.due_before = now;
    }
    if ((v = req_query(r, "q")) != NULL) {
        if (v[0] == '\0' || strlen(v) > 200)
            field_error(&fe, "q", "must be 1 to 200 characters");
        f.text = v;
        f.text_internal = true; /* core drops it for customers */
    }
    if ((v = req_query(r, "sort")) != NULL) {
        if (strcmp(v, "number") == 0 || strcmp(v, "created") == 0)
            f.ascending = true;
        else if (strcmp(v, "-updated") == 0)
            f.by_updated = true;
        else if (strcmp(v, "-number") != 0 && strcmp(v, "-created") != 0)
            field_error(&fe, "sort", "must be -number (newest first), number, -created, created or "
                        "-updated (last changed first)");
        if (f.by_updated && f.text != NULL)
            field_error(&fe, "sort", "-updated cannot be combined with q (search results are in "
                        "number order)");
    }
    int64_t limit = r->api->set.page_default;
    if ((v = req_query(r, "limit")) != NULL &&
        (!parse_number(v, &limit) || limit > (int64_t)r->api->set.page_max))
        field_error(&fe, "limit", "must be an integer from 1 to %u", r->api->set.page_max);
    if ((v = req_query(r, "cursor")) != NULL && f.by_updated) {
        if (!cursor_decode_updated(v, &f.after_updated, &f.after))
            field_error(&fe, "cursor", "is not a cursor of sort=-updated");
    } else if (v != NULL) {
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
    bool embed = embed_users_wanted(r, &fe);
    bool count = false;
    if ((v = req_query(r, "count")) != NULL) {
        count = strcmp(v, "true") == 0;
        if (!count && strcmp(v, "false") != 0)
            field_error(&fe, "count", "must be true or false");
    }
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    f.limit = (size_t)limit + 1; /* one more tells whether a next page exists */
    struct td_ticket_list lists[5];
    const struct td_ticket *page[STORE_LIST_MAX];
    size_t n_page = 0;
    struct td_err err;
    td_err_clear(&err);
    if (!list_merged(r, &f, statuses, n_status, lists, page, &n_page, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    size_t shown = n_page > (size_t)limit ? (size_t)limit : n_page;
    struct embed_users *eu = embed ? embed_users_new() : NULL;
    for (size_t i = 0; i < shown; i++) {
        json_t *j = json_ticket(page[i], r->user.role);
        if (eu)
            embed_users_ticket(r, eu, j, page[i]);
        json_array_append_new(items, j);
    }
    embed_users_free(eu);
    json_t *next = json_null();
    char cur[120] = "";
    if (n_page > (size_t)limit && shown > 0) {
        if (f.by_updated)
            cursor_encode_updated(page[shown - 1]->updated, page[shown - 1]->number, cur, sizeof cur);
        else
            cursor_encode(page[shown - 1]->number, f.ascending, cur, sizeof cur);
        json_decref(next);
        next = json_string(cur);
    }
    for (size_t i = 0; i < (n_status ? n_status : 1); i++)
        ticket_list_clear(&lists[i]);
    json_t *res = json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
    if (count) {
        /* The whole selection counted, up to STORE_LIST_MAX; beyond that
         * the total is a lower bound (total_capped). */
        f.after = 0;
        f.after_updated = 0;
        f.limit = STORE_LIST_MAX;
        size_t total = 0;
        if (!list_merged(r, &f, statuses, n_status, lists, page, &total, &err)) {
            json_decref(res);
            problem_from_err(out, &err);
            return;
        }
        for (size_t i = 0; i < (n_status ? n_status : 1); i++)
            ticket_list_clear(&lists[i]);
        json_object_set_new(res, "total", json_integer((json_int_t)total));
        json_object_set_new(res, "total_capped", json_boolean(total >= STORE_LIST_MAX));
    }
    resp_json(out, 200, res);
    if (cur[0]) /* next_cursor, as a header too */
        link_next(r, out, cur);
}

/* core's error for a ticket written with a queue: well-formed, but no
 * such group (once groups exist) is 422; the rest as always. */
static void problem_ticket(struct api_resp *out, const struct td_err *err)
{
    if (err->code == TD_INVALID && strncmp(err->msg, GROUP_UNKNOWN_MSG, strlen(GROUP_UNKNOWN_MSG)) == 0)
        problem(out, 422, "unknown_group", err->msg, NULL);
    else
        problem_from_err(out, err);
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
        problem_ticket(out, &err);
        goto done;
    }
    ticket_reply(r, out, 201, &t);
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
    static const char *const args[] = { "include", NULL };
    struct field_errors fe = { .n = 0 };
    bool embed = query_check(r, args, &fe) && embed_users_wanted(r, &fe);
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_get(r->api->core, &r->user, number, &t, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *j = json_ticket(&t, r->user.role);
    if (embed) {
        struct embed_users *eu = embed_users_new();
        embed_users_ticket(r, eu, j, &t);
        embed_users_free(eu);
    }
    resp_json(out, 200, j);
    set_etag(out, &t);
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
    const char *subject = NULL, *status = NULL, *priority = NULL, *queue = NULL;
    struct strv tags = STRV_INIT;
    bool has_tags = false;
    const struct jf_field fields[] = {
        { "subject", JF_STRING, false, &subject, NULL },
        { "status", JF_STRING, false, &status, NULL },
        { "priority", JF_STRING, false, &priority, NULL },
        { "tags", JF_STRING_ARRAY, false, &tags, &has_tags },
        { "queue", JF_STRING, false, &queue, NULL },
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
    p.queue = queue;
    if (subject == NULL && status == NULL && priority == NULL && !has_tags && queue == NULL && fe.n == 0)
        field_error(&fe, "body", "give at least one of subject, status, priority, tags, queue");
    if (fe.n > 0) {
        problem_fields(out, "bad ticket change", &fe);
        goto done;
    }
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_update(r->api->core, &r->user, number, &p, if_version, &t, &err)) {
        problem_ticket(out, &err);
        goto done;
    }
    ticket_reply(r, out, 200, &t);
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
    ticket_reply(r, out, 200, &t);
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
    ticket_reply(r, out, 200, &t);
    ticket_clear(&t);
}

void h_ticket_history(struct api_req *r, struct api_resp *out)
{
    int64_t number, offset, limit;
    if (!param_ticket(r, &number, out) || !query_page(r, &offset, &limit, out))
        return;
    struct td_event_list list = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_history(r->api->core, &r->user, number, &list, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array(); /* oldest first, append-only: offset paging */
    for (size_t i = (size_t)offset; i < list.n && i < (size_t)(offset + limit); i++)
        json_array_append_new(items, json_event(&list.v[i]));
    json_t *next = query_page_next(offset, limit, list.n);
    size_t total = list.n;
    event_list_clear(&list);
    resp_json(out, 200, json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor", next, "total",
                                  (json_int_t)total));
}

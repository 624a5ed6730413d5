/* routes_merge.c - POST /tickets/{n}/merge {"into": M}: agents merge
 * ticket n into ticket M (core/merge.h). The answer is the target.
 * Retrying a merge that failed half-way (the store went away) finishes
 * it; merging again what is already merged answers the target too. */
#include "api_int.h"

#include "core/merge.h"

void h_ticket_merge(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    int64_t into = 0;
    const struct jf_field fields[] = {
        { "into", JF_INT, true, &into, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    json_decref(doc);
    if (into <= 0) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "into", "a ticket number");
        problem_fields(out, "bad target", &fe);
        return;
    }
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_merge(r->api->core, &r->user, number, into, &t, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 200, json_ticket(&t, r->user.role));
    resp_header(out, "ETag", "\"%lld\"", (long long)t.version);
    ticket_clear(&t);
}

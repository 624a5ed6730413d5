/* routes_participants.c - who takes part in a ticket's conversation
 * (core/participant.h):
 *   GET    /tickets/{n}/participants            the users, in join order
 *   POST   /tickets/{n}/participants            {"emails": [...]} and/or
 *                                               {"user_ids": [...]}: adds
 *   DELETE /tickets/{n}/participants/{user_id}  removes one
 * Adding and removing: agents and the requester (a participant may
 * remove themselves); reading: whoever may read the ticket. Each change
 * is a history event. A comment may also add people: "cc" in
 * POST /tickets/{n}/comments (routes_comments.c). */
#include "api_int.h"

#include "core/id.h"
#include "core/participant.h"

#include <string.h>

static void list_reply(struct api_req *r, struct api_resp *out, int64_t number, unsigned status)
{
    struct td_user_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!participant_list(r->api->core, &r->user, number, &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_user(&l.v[i]));
    user_list_clear(&l);
    resp_json(out, status, json_pack("{s:o}", "items", items));
}

void h_participants_list(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (param_ticket(r, &number, out))
        list_reply(r, out, number, 200);
}

void h_participants_add(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    struct strv emails = STRV_INIT, ids = STRV_INIT;
    bool has_emails = false, has_ids = false;
    const struct jf_field fields[] = {
        { "emails", JF_STRING_ARRAY, false, &emails, &has_emails },
        { "user_ids", JF_STRING_ARRAY, false, &ids, &has_ids },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 2, false, &doc, out)) {
        strv_clear(&emails);
        strv_clear(&ids);
        return;
    }
    json_decref(doc);
    struct td_err err;
    td_err_clear(&err);
    bool ok = true;
    if (!has_emails && !has_ids) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "emails", "give emails or user_ids");
        problem_fields(out, "nobody to add", &fe);
        ok = false;
    }
    if (ok && ids.n > 0)
        ok = participant_add(r->api->core, &r->user, number, &ids, NULL, &err);
    if (ok && emails.n > 0)
        ok = participant_add_emails(r->api->core, &r->user, number, &emails, NULL, &err);
    strv_clear(&emails);
    strv_clear(&ids);
    if (!ok) {
        if (err.code != TD_OK)
            problem_from_err(out, &err);
        return;
    }
    list_reply(r, out, number, 200);
}

void h_participants_remove(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    if (r->n_params < 2 || !id_valid(r->params[1])) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "user_id", "a user id is 24 lower-case hex characters");
        problem_fields(out, "bad user id in the path", &fe);
        return;
    }
    struct td_err err;
    td_err_clear(&err);
    if (!participant_remove(r->api->core, &r->user, number, r->params[1], NULL, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

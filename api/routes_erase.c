/* routes_erase.c - POST /api/v1/users/{id}/erase: an admin erases a
 * customer's personal data (core/erase.h); the tickets stay. */
#include "api_int.h"

#include "core/erase.h"
#include "core/id.h"
#include "core/user.h"

void h_user_erase(struct api_req *r, struct api_resp *out)
{
    if (r->n_params < 1 || !id_valid(r->params[0])) {
        problem(out, 404, "not_found", "no such user", NULL);
        return;
    }
    json_t *doc; /* no members: an empty body or {} */
    if (!json_in_parse(r, NULL, 0, true, &doc, out))
        return;
    json_decref(doc);
    struct erase_report rep;
    struct td_err err;
    td_err_clear(&err);
    struct td_user u;
    if (!user_erase(r->api->core, &r->user, r->params[0], &rep, &err) ||
        !user_get(r->api->core, r->params[0], &u, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 200,
              json_pack("{s:o, s:I, s:I, s:I, s:I}", "user", json_user(&u), "comments",
                        (json_int_t)rep.comments, "attachments", (json_int_t)rep.attachments,
                        "outbox_rows", (json_int_t)rep.outbox_rows, "tickets",
                        (json_int_t)rep.tickets));
    user_clear(&u);
}

/* routes_followers.c - agents follow a ticket (core/follower.h):
 *   POST   /tickets/{n}/followers/{user_id}    follow (user_id or "me")
 *   DELETE /tickets/{n}/followers/{user_id}    stop following
 * Followers are the ticket's staff participants, so both answer the
 * participant list (as GET /tickets/{n}/participants does); DELETE 204. */
#include "api_int.h"

#include "core/follower.h"
#include "core/participant.h"

#include <string.h>

/* {user_id} or "me": the caller. */
static const char *target(struct api_req *r)
{
    return strcmp(r->params[1], "me") == 0 ? r->user.id : r->params[1];
}

void h_followers_add(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    struct td_user_list l = { NULL, 0 };
    if (!follower_add(r->api->core, &r->user, number, target(r), NULL, &err) ||
        !participant_list(r->api->core, &r->user, number, &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_user(&l.v[i]));
    user_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_followers_remove(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    if (!follower_remove(r->api->core, &r->user, number, target(r), NULL, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

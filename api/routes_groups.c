/* routes_groups.c - groups, the first-class queues (core/group.h):
 *   GET    /groups                              staff: every group
 *   POST   /groups {key, name?}                 admins
 *   GET    /groups/{key}                        staff
 *   PATCH  /groups/{key} {name}                 admins
 *   DELETE /groups/{key}                        admins; tickets keep their queue
 *   POST   /groups/{key}/members/{user_id}      admins: an agent joins (idempotent)
 *   DELETE /groups/{key}/members/{user_id}      admins: an agent leaves
 * A group is {key, name, members: [user ids], created, updated}. */
#include "api_int.h"

#include "core/group.h"

#include <string.h>

static json_t *json_group(const struct td_group *g)
{
    json_t *members = json_array();
    for (size_t i = 0; i < g->members.n; i++)
        json_array_append_new(members, json_string(g->members.v[i]));
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "key", g->key ? g->key : "", "name",
                     g->name ? g->name : "", "members", members, "created", json_time(g->created),
                     "updated", json_time(g->updated));
}

/* The answer of a call that yields the group (or its error). */
static void group_reply(struct api_resp *out, bool ok, unsigned status, struct td_group *g,
                        const struct td_err *err)
{
    if (!ok) {
        problem_from_err(out, err);
        return;
    }
    resp_json(out, status, json_group(g));
    group_clear(g);
}

void h_groups_list(struct api_req *r, struct api_resp *out)
{
    struct td_group_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!group_list(r->api->core, &r->user, &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_group(&l.v[i]));
    group_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_groups_create(struct api_req *r, struct api_resp *out)
{
    const char *key = NULL, *name = NULL;
    const struct jf_field fields[] = {
        { "key", JF_STRING, true, &key, NULL },
        { "name", JF_STRING, false, &name, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 2, false, &doc, out))
        return;
    struct td_group g;
    struct td_err err;
    td_err_clear(&err);
    bool ok = group_create(r->api->core, &r->user, key, name, &g, &err);
    json_decref(doc);
    group_reply(out, ok, 201, &g, &err);
}

void h_group_get(struct api_req *r, struct api_resp *out)
{
    struct td_group g;
    struct td_err err;
    td_err_clear(&err);
    bool ok = group_get(r->api->core, &r->user, r->params[0], &g, &err);
    group_reply(out, ok, 200, &g, &err);
}

void h_group_patch(struct api_req *r, struct api_resp *out)
{
    const char *name = NULL;
    const struct jf_field fields[] = { { "name", JF_STRING, true, &name, NULL } };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    struct td_group g;
    struct td_err err;
    td_err_clear(&err);
    bool ok = group_rename(r->api->core, &r->user, r->params[0], name, &g, &err);
    json_decref(doc);
    group_reply(out, ok, 200, &g, &err);
}

void h_group_delete(struct api_req *r, struct api_resp *out)
{
    struct td_err err;
    td_err_clear(&err);
    if (!group_delete(r->api->core, &r->user, r->params[0], &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

void h_group_member_put(struct api_req *r, struct api_resp *out)
{
    struct td_group g;
    struct td_err err;
    td_err_clear(&err);
    bool ok = group_add_member(r->api->core, &r->user, r->params[0], r->params[1], &g, &err);
    group_reply(out, ok, 200, &g, &err);
}

void h_group_member_delete(struct api_req *r, struct api_resp *out)
{
    struct td_group g;
    struct td_err err;
    td_err_clear(&err);
    bool ok = group_remove_member(r->api->core, &r->user, r->params[0], r->params[1], &g, &err);
    group_reply(out, ok, 200, &g, &err);
}

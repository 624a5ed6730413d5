/* embed_users.c - ?include=users: tickets carry their requester and
 * assignee ({id, name, email, role}) so a list needs no request per row.
 *
 * What is embedded follows what the actor may read of users
 * (core policy_read_user): staff see both in full (brief), a customer
 * sees themself and of the assignee only id, name and role - never an
 * agent's address. Users are looked up once per request (a small cache:
 * a page of tickets has few distinct people). */
#include "api_int.h"

#include "core/mem.h"
#include "core/policy.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>

#define EMBED_CACHE 64

struct embed_users {
    struct td_user v[EMBED_CACHE];
    bool found[EMBED_CACHE];
    size_t n;
};

struct embed_users *embed_users_new(void)
{
    return td_calloc(1, sizeof(struct embed_users));
}

void embed_users_free(struct embed_users *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++)
        user_clear(&e->v[i]);
    free(e);
}

static json_t *lookup(struct api_req *r, struct embed_users *e, const char *id)
{
    if (id[0] == '\0')
        return json_null();
    size_t i;
    for (i = 0; i < e->n; i++)
        if (strcmp(e->v[i].id, id) == 0)
            break;
    if (i == e->n) {
        if (e->n == EMBED_CACHE) { /* full: start over; a miss costs a lookup */
            for (size_t k = 0; k < e->n; k++)
                user_clear(&e->v[k]);
            e->n = 0;
        }
        struct td_err err;
        td_err_clear(&err);
        i = e->n++;
        e->found[i] = user_get(r->api->core, id, &e->v[i], &err);
        if (!e->found[i]) {
            memset(&e->v[i], 0, sizeof e->v[i]);
            snprintf(e->v[i].id, sizeof e->v[i].id, "%s", id);
        }
    }
    if (!e->found[i])
        return json_null();
    json_t *j = json_user_brief(&e->v[i]);
    struct td_err err;
    td_err_clear(&err);
    if (!policy_read_user(&r->user, id, &err))
        json_object_del(j, "email"); /* a customer's view of their agent */
    return j;
}

void embed_users_ticket(struct api_req *r, struct embed_users *e, json_t *ticket,
                        const struct td_ticket *t)
{
    json_object_set_new(ticket, "requester", lookup(r, e, t->requester_id));
    json_object_set_new(ticket, "assignee", lookup(r, e, t->assignee_id));
}

bool embed_users_wanted(struct api_req *r, struct field_errors *fe)
{
    const char *v = req_query(r, "include");
    if (v == NULL)
        return false;
    if (strcmp(v, "users") != 0)
        field_error(fe, "include", "must be 'users'");
    return strcmp(v, "users") == 0;
}

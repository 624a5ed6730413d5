/* routes_aliases.c - an agent's extra sending addresses (core/alias.h):
 *   GET    /users/{id}/aliases           admins, or the agent
 *   POST   /users/{id}/aliases {email}   admin: confirmed at once; the
 *                                        agent: a confirmation link is
 *                                        mailed to that address
 *   DELETE /users/{id}/aliases/{email}
 *   GET    /auth/aliases/confirm?token=...    public: the mailed link (the
 *                                        token is the proof)
 * A pending alias whose mail cannot be queued is removed again, so it
 * never waits for a link nobody got. */
#include "api_int.h"

#include "core/alias.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/user.h"

#include <sodium.h>
#include <string.h>

static json_t *json_alias(const struct td_alias *a)
{
    return json_pack("{s:s, s:s, s:b, s:o}", "email", a->email ? a->email : "", "user_id",
                     a->user_id, "confirmed", a->confirmed, "created", json_time(a->created));
}

static bool param_user(struct api_req *r, struct api_resp *out)
{
    if (r->n_params >= 1 && strlen(r->params[0]) == TD_ID_LEN)
        return true;
    struct field_errors fe = { .n = 0 };
    field_error(&fe, "id", "a user id is 24 lower-case hex characters");
    problem_fields(out, "bad user id in the path", &fe);
    return false;
}

void h_aliases_list(struct api_req *r, struct api_resp *out)
{
    if (!param_user(r, out))
        return;
    struct td_alias_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!alias_list_of(r->api->core, &r->user, r->params[0], &l, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_alias(&l.v[i]));
    alias_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_aliases_add(struct api_req *r, struct api_resp *out)
{
    if (!param_user(r, out))
        return;
    const char *email = NULL;
    const struct jf_field fields[] = { { "email", JF_STRING, true, &email, NULL } };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    char token[ALIAS_TOKEN_LEN + 1];
    struct td_alias a;
    struct td_err err;
    td_err_clear(&err);
    bool ok = alias_add(r->api->core, &r->user, r->params[0], email, token, &a, &err);
    json_decref(doc);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    if (!a.confirmed) {
        bool queued = false;
        struct td_user agent;
        ok = r->api->core->store->ops->user_get(r->api->core->store, a.user_id, &agent, &err);
        if (ok) {
            ok = notify_alias_confirm(r->api->core, &agent, a.email, token,
                                      ALIAS_CONFIRM_TTL_MS / 3600000, &queued, &err);
            user_clear(&agent);
        }
        if (ok && !queued)
            ok = td_fail(&err, TD_UNAVAILABLE, "the confirmation mail to %s could not be sent",
                         a.email);
        if (!ok) {
            struct td_err e2;
            (void)r->api->core->store->ops->alias_delete(r->api->core->store, a.email, &e2);
            sodium_memzero(token, sizeof token);
            alias_clear(&a);
            problem_from_err(out, &err);
            return;
        }
        log_event(LOG_INFO, "alias_confirm_sent", LF_S("user", a.user_id), LF_S("alias", a.email));
    }
    sodium_memzero(token, sizeof token);
    resp_json(out, 201, json_alias(&a));
    alias_clear(&a);
}

void h_aliases_remove(struct api_req *r, struct api_resp *out)
{
    if (!param_user(r, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    if (r->n_params < 2 ||
        !alias_remove(r->api->core, &r->user, r->params[0], r->params[1], &err)) {
        if (r->n_params < 2)
            td_fail(&err, TD_NOT_FOUND, "no such alias");
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

void h_alias_confirm(struct api_req *r, struct api_resp *out)
{
    const char *token = req_query(r, "token");
    struct td_alias a;
    struct td_err err;
    td_err_clear(&err);
    if (!alias_confirm(r->api->core, token, &a, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 200, json_alias(&a));
    alias_clear(&a);
}

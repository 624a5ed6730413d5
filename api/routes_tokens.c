/* routes_tokens.c - personal access tokens over the API:
 *   GET    /api/v1/tokens            one's own (admins: ?user_id= or ?all=true)
 *   POST   /api/v1/tokens            issue one (password session only); the
 *                                    secret is in this response and nowhere else
 *   DELETE /api/v1/tokens/{id}       revoke (one's own; admins any)
 * Who may do what is core/pat.c's. */
#include "api_int.h"

#include "core/id.h"
#include "core/pat.h"

#include <sodium.h>

#include <stdio.h>
#include <string.h>

static json_t *json_pat(const struct td_pat *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(t->id));
    json_object_set_new(j, "name", json_string(t->name ? t->name : ""));
    json_object_set_new(j, "user_id", json_string(t->user_id));
    json_t *sc = json_array();
    static const struct { unsigned bit; const char *name; } names[] = {
        { TD_PAT_READ, "read" }, { TD_PAT_WRITE, "write" }, { TD_PAT_ADMIN, "admin" } };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (t->scopes & names[i].bit)
            json_array_append_new(sc, json_string(names[i].name));
    json_object_set_new(j, "scopes", sc);
    json_object_set_new(j, "created", json_time(t->created));
    json_object_set_new(j, "expires_at", t->expires ? json_time(t->expires) : json_null());
    json_object_set_new(j, "last_used_at", t->last_used ? json_time(t->last_used) : json_null());
    json_object_set_new(j, "last_used_addr",
                        t->last_addr[0] ? json_string(t->last_addr) : json_null());
    json_object_set_new(j, "revoked", json_boolean(t->revoked));
    return j;
}

void h_tokens_list(struct api_req *r, struct api_resp *out)
{
    static const char *const args[] = { "user_id", "all", NULL };
    struct field_errors fe = { .n = 0 };
    (void)query_check(r, args, &fe);
    const char *uid = req_query(r, "user_id");
    const char *all = req_query(r, "all");
    if (uid != NULL && !id_valid(uid))
        field_error(&fe, "user_id", "a user id is 24 lower-case hex characters");
    if (all != NULL && strcmp(all, "true") != 0 && strcmp(all, "false") != 0)
        field_error(&fe, "all", "must be true or false");
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    struct td_pat_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!pat_list_tokens(r->api->core, &r->user, uid, all && strcmp(all, "true") == 0, &l,
                         &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, json_pat(&l.v[i]));
    pat_list_clear(&l);
    resp_json(out, 200, json_pack("{s:o}", "items", items));
}

void h_tokens_create(struct api_req *r, struct api_resp *out)
{
    const char *name = NULL, *expires = NULL, *uid = NULL;
    struct strv scopes = { NULL, 0 };
    const struct jf_field fields[] = {
        { "name", JF_STRING, true, &name, NULL },
        { "scopes", JF_STRING_ARRAY, true, &scopes, NULL },
        { "expires_at", JF_STRING, false, &expires, NULL },
        { "user_id", JF_STRING, false, &uid, NULL },
    };
    json_t *doc;
    struct field_errors fe = { .n = 0 };
    if (!json_in_collect(r, fields, 4, false, &doc, &fe, out))
        return;
    struct pat_new in = { uid, name, 0, 0 };
    for (size_t i = 0; i < scopes.n; i++) {
        unsigned bit = 0;
        if (!pat_scopes_parse(scopes.v[i], &bit) || strchr(scopes.v[i], ',') != NULL)
            field_error(&fe, "scopes", "'%.40s' is not a scope (read, write, admin)", scopes.v[i]);
        in.scopes |= bit;
    }
    if (scopes.n == 0 && fe.n == 0)
        field_error(&fe, "scopes", "give at least one of read, write, admin");
    if (expires != NULL && !time_parse_rfc3339(expires, &in.expires))
        field_error(&fe, "expires_at", "an RFC 3339 date-time");
    if (uid != NULL && !id_valid(uid))
        field_error(&fe, "user_id", "a user id is 24 lower-case hex characters");
    if (fe.n > 0) {
        problem_fields(out, "bad token request", &fe);
        strv_clear(&scopes);
        json_decref(doc);
        return;
    }
    char secret[PAT_SECRET_LEN + 1];
    struct td_pat t;
    struct td_err err;
    td_err_clear(&err);
    bool ok = pat_create(r->api->core, &r->user, &in, secret, &t, &err);
    strv_clear(&scopes);
    json_decref(doc);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    json_t *j = json_pat(&t);
    json_object_set_new(j, "token", json_string(secret));
    sodium_memzero(secret, sizeof secret);
    resp_json(out, 201, j);
    pat_clear(&t);
}

void h_token_revoke(struct api_req *r, struct api_resp *out)
{
    struct td_err err;
    td_err_clear(&err);
    if (!pat_revoke(r->api->core, &r->user, r->n_params ? r->params[0] : NULL, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

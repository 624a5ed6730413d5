/* routes_users.c - user administration (admins), and a password change
 * for oneself (PATCH /users/{own id} {password, current_password}).
 *
 * Changing one's own password needs the current one too: an access token
 * alone (stolen from a log, a shared machine) must not be enough to take
 * the account over. A wrong current password counts as a failed login for
 * the account and the address (ratelimit.c). Any password change bumps the
 * account's token version (core), which ends every session and refresh
 * family at once - the caller's too: they log in with the new password -
 * and mails the account's owner (password_changed), so a change they did
 * not make does not go unnoticed.
 *
 * Who may do what is core's: user_create, user_list, user_set_role,
 * user_set_disabled and user_set_password check the actor themselves;
 * reading one user: admins see the whole record, agents the brief one
 * (id, name, email, role: policy_read_user), customers only themselves;
 * listing: admins all (paged, q searches email and name), agents the
 * staff (the assignee picker).
 * A PATCH with several members applies them one by one (password, role,
 * disabled) after validating all of them; each is its own write. */
#include "api_int.h"
#include "auth.h"

#include "core/scope.h"

#include "core/id.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/policy.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>

static bool param_user(struct api_req *r, struct api_resp *out)
{
    if (r->n_params >= 1 && id_valid(r->params[0]))
        return true;
    struct field_errors fe = { .n = 0 };
    field_error(&fe, "id", "a user id is 24 lower-case hex characters");
    problem_fields(out, "bad user id in the path", &fe);
    return false;
}

/* A page of list (offset paging: users are few and the list is read
 * whole), filtered by q (case-insensitive, in email or name) and, for
 * non-admins, to staff; brief entries for non-admins. */
static void users_page(struct api_req *r, struct api_resp *out, const struct td_user_list *list,
                       bool staff_only, bool brief, const char *q, int64_t offset, int64_t limit)
{
    json_t *items = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < list->n; i++) {
        const struct td_user *u = &list->v[i];
        if (staff_only && u->role == ROLE_CUSTOMER)
            continue;
        if (q && strcasestr(u->email, q) == NULL && (u->name == NULL || strcasestr(u->name, q) == NULL))
            continue;
        if (total >= offset && total < offset + limit)
            json_array_append_new(items, brief ? json_user_brief(u) : json_user(u));
        total++;
    }
    json_t *next = json_null();
    if (offset + limit < total) {
        char cur[80];
        cursor_encode(offset + limit, true, cur, sizeof cur);
        json_decref(next);
        next = json_string(cur);
    }
    (void)r;
    resp_json(out, 200, json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor", next, "total",
                                  (json_int_t)total));
}

void h_users_list(struct api_req *r, struct api_resp *out)
{
    static const char *const args[] = { "role", "q", "limit", "cursor", NULL };
    struct field_errors fe = { .n = 0 };
    if (!query_check(r, args, &fe)) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    int role = -1;
    const char *v = req_query(r, "role");
    if (v != NULL) {
        enum td_role rl;
        if (!role_parse(v, &rl))
            field_error(&fe, "role", "must be admin, agent or customer");
        role = (int)rl;
    }
    const char *q = req_query(r, "q");
    if (q != NULL && (q[0] == '\0' || strlen(q) > 200))
        field_error(&fe, "q", "must be 1 to 200 characters");
    int64_t limit = r->api->set.page_max, offset = 0;
    if ((v = req_query(r, "limit")) != NULL &&
        (!parse_number(v, &limit) || limit > (int64_t)r->api->set.page_max))
        field_error(&fe, "limit", "must be an integer from 1 to %u", r->api->set.page_max);
    bool asc = true;
    if ((v = req_query(r, "cursor")) != NULL && (!cursor_decode(v, &offset, &asc) || !asc))
        field_error(&fe, "cursor", "is not a cursor this server returned");
    if (fe.n > 0) {
        problem_fields(out, "bad query arguments", &fe);
        return;
    }
    /* Admins see every account in full; other staff a directory of staff
     * (id, name, email, role) for the assignee picker; customers nothing. */
    bool admin = r->user.role == ROLE_ADMIN;
    struct td_err err;
    td_err_clear(&err);
    if (!admin && !policy_list_staff(&r->user, &err)) {
        problem_from_err(out, &err);
        return;
    }
    if (!admin && role == (int)ROLE_CUSTOMER) {
        td_fail(&err, TD_FORBIDDEN, "only admins can list customers");
        problem_from_err(out, &err);
        return;
    }
    struct td_user_list list = { NULL, 0 };
    if (!user_list(r->api->core, admin ? &r->user : NULL, role, &list, &err)) {
        problem_from_err(out, &err);
        return;
    }
    users_page(r, out, &list, !admin, !admin, q, offset, limit);
    user_list_clear(&list);
}

void h_users_create(struct api_req *r, struct api_resp *out)
{
    const char *email = NULL, *name = NULL, *role = NULL, *password = NULL;
    const struct jf_field fields[] = {
        { "email", JF_STRING, true, &email, NULL },
        { "name", JF_STRING, false, &name, NULL },
        { "role", JF_STRING, true, &role, NULL },
        { "password", JF_STRING, false, &password, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 4, false, &doc, out))
        return;
    struct user_new in = { email, name, ROLE_CUSTOMER, password };
    if (!role_parse(role, &in.role)) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "role", "must be admin, agent or customer");
        problem_fields(out, "bad role", &fe);
        json_decref(doc);
        return;
    }
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    bool ok = user_create(r->api->core, &r->user, &in, &u, &err);
    json_decref(doc);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 201, json_user(&u));
    resp_header(out, "Location", "/api/v1/users/%s", u.id);
    user_clear(&u);
}

void h_user_get(struct api_req *r, struct api_resp *out)
{
    if (!param_user(r, out))
        return;
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    if (!policy_read_user(&r->user, r->params[0], &err) ||
        !user_get(r->api->core, r->params[0], &u, &err)) {
        problem_from_err(out, &err);
        return;
    }
    /* Admins and the user themself: the whole record; agents: the brief one. */
    bool whole = r->user.role == ROLE_ADMIN || strcmp(r->user.id, u.id) == 0;
    resp_json(out, 200, whole ? json_user(&u) : json_user_brief(&u));
    user_clear(&u);
}

/* Own password: the current one must be given and right. False with the
 * answer in out. */
static bool current_password_ok(struct api_req *r, const char *current, struct api_resp *out)
{
    if (current == NULL) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "current_password", "is required to change your own password");
        problem_fields(out, "changing your password needs the current one", &fe);
        return false;
    }
    char acct_key[320], addr_key[96];
    auth_rl_key(acct_key, sizeof acct_key, "acct", r->user.email);
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0;
    if (!login_throttle_allowed(r->api, acct_key, addr_key, now, &retry)) {
        problem_rate_limited(out, "too many wrong passwords; wait before trying again (see Retry-After)",
                             retry);
        return false;
    }
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    if (!hashgate_enter(r->api)) {
        hashgate_busy(out);
        return false;
    }
    bool ok = user_authenticate(r->api->core, r->user.email, current, &u, &err);
    hashgate_leave(r->api);
    if (!ok) {
        if (err.code != TD_UNAUTHORIZED) {
            problem_from_err(out, &err);
            return false;
        }
        login_throttle_failure(r->api, acct_key, addr_key, now);
        problem(out, 403, "forbidden", "the current password is wrong", NULL);
        return false;
    }
    user_clear(&u);
    return true;
}

/* The owner hears of every password change; failures only logged. */
static void mail_password_changed(struct api_req *r, const struct td_user *u)
{
    if (notify_of(r->api->core) == NULL)
        return;
    struct td_err err;
    td_err_clear(&err);
    if (!notify_account_mail(r->api->core, u, NA_PASSWORD_CHANGED, NULL, NULL, NULL, &err))
        log_event(LOG_ERROR, "password_changed_mail_failed", LF_S("user", u->id),
                  LF_S("request_id", api_current_request_id), LF_S("msg", err.msg));
}

void h_user_patch(struct api_req *r, struct api_resp *out)
{
    if (!param_user(r, out))
        return;
    const char *id = r->params[0];
    const char *role = NULL, *password = NULL, *current = NULL;
    bool disabled = false, has_disabled = false, restricted = false, has_restricted = false;
    const struct jf_field fields[] = {
        { "role", JF_STRING, false, &role, NULL },
        { "disabled", JF_BOOL, false, &disabled, &has_disabled },
        { "password", JF_STRING, false, &password, NULL },
        { "current_password", JF_STRING, false, &current, NULL },
        { "restricted", JF_BOOL, false, &restricted, &has_restricted },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 5, false, &doc, out))
        return;
    struct field_errors fe = { .n = 0 };
    enum td_role new_role = ROLE_CUSTOMER;
    if (role != NULL && !role_parse(role, &new_role))
        field_error(&fe, "role", "must be admin, agent or customer");
    if (role == NULL && password == NULL && !has_disabled && !has_restricted)
        field_error(&fe, "body", "give at least one of role, disabled, restricted, password");
    if (fe.n > 0) {
        problem_fields(out, "bad user change", &fe);
        json_decref(doc);
        return;
    }
    if (password != NULL && strcmp(r->user.id, id) == 0 && !current_password_ok(r, current, out)) {
        json_decref(doc);
        return;
    }
    struct td_err err;
    td_err_clear(&err);
    struct td_core *c = r->api->core;
    if (password != NULL && !hashgate_enter(r->api)) {
        json_decref(doc);
        hashgate_busy(out);
        return;
    }
    bool pw_ok = password == NULL || user_set_password(c, &r->user, id, password, &err);
    if (password != NULL)
        hashgate_leave(r->api);
    bool ok = pw_ok &&
              (role == NULL || user_set_role(c, &r->user, id, new_role, &err)) &&
              (!has_disabled || user_set_disabled(c, &r->user, id, disabled, &err)) &&
              (!has_restricted || scope_set_restricted(c, &r->user, id, restricted, &err));
    json_decref(doc);
    struct td_user u;
    if (!ok || !user_get(c, id, &u, &err)) {
        problem_from_err(out, &err);
        return;
    }
    if (password != NULL) {
        log_event(LOG_INFO, "password_changed", LF_S("user", u.id), LF_S("by", r->user.id),
                  LF_S("request_id", api_current_request_id));
        mail_password_changed(r, &u);
    }
    resp_json(out, 200, json_user(&u));
    user_clear(&u);
}

/* routes_auth.c - register, login, refresh, logout, me.
 *
 * Self-registration makes a customer with a password. With outgoing mail
 * on it answers the same 202 for every address (routes_register.c: the
 * new account waits for its confirmation mail, a taken address's owner is
 * told). Without mail it is immediate, and an address that already has an
 * account - including a password-less customer the mail gateway created
 * from an inbound mail - gets 409 (enumerable; README-api says so):
 * knowing an address must not be enough to take over the tickets written
 * from it. Such customers claim the account by proving they read its mail
 * (routes_claim.c), or an admin sets a password for them.
 *
 * Login failures slow down further tries per account and per client
 * address with growing delays (login_throttle.c): 429 with Retry-After,
 * before the password is even checked.
 *
 * Register and claim cost an argon2id hash (or a mail) each: they are
 * limited per client address and globally per register_window (every
 * request counts; 429 with Retry-After), and every hash goes through the
 * hash gate (hashgate.c: 503 when all slots are busy). */
#include "api_int.h"
#include "auth.h"

#include "core/id.h"
#include "core/notify.h"
#include "core/text.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void auth_rl_key(char *out, size_t len, const char *kind, const char *value)
{
    snprintf(out, len, "%s:%s", kind, value);
}

/* {token_type, access_token, expires_in, refresh_token, ...} for u. */
void auth_token_response(struct api_req *r, struct api_resp *out, unsigned status,
                         const struct td_user *u, const char *refresh)
{
    struct td_err err;
    td_err_clear(&err);
    char *access = NULL;
    if (!jwt_issue(&r->api->set, u, (int64_t)time(NULL), &access, &err)) {
        problem_from_err(out, &err);
        return;
    }
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:I, s:o}", "token_type", "Bearer", "access_token",
                          access, "expires_in", (json_int_t)r->api->set.access_ttl_s,
                          "refresh_token", refresh, "refresh_expires_in",
                          (json_int_t)r->api->set.refresh_ttl_s, "user", json_user(u));
    free(access);
    resp_json(out, status, j);
}

bool auth_signup_allowed(struct api_req *r, struct api_resp *out)
{
    char addr_key[96];
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0, retry2 = 0;
    bool addr_ok = ratelimit_allowed(r->api->rl_reg_addr, addr_key, now, &retry);
    bool all_ok = ratelimit_allowed(r->api->rl_reg_global, "all", now, &retry2);
    if (!addr_ok || !all_ok) {
        problem_rate_limited(out,
                             addr_ok ? "too many sign-ups on this server right now; wait (see Retry-After)"
                                     : "too many sign-ups from this address; wait (see Retry-After)",
                             retry > retry2 ? retry : retry2);
        return false;
    }
    ratelimit_failure(r->api->rl_reg_addr, addr_key, now);
    ratelimit_failure(r->api->rl_reg_global, "all", now);
    return true;
}

void h_register(struct api_req *r, struct api_resp *out)
{
    const char *email = NULL, *password = NULL, *name = NULL;
    const struct jf_field fields[] = {
        { "email", JF_STRING, true, &email, NULL },
        { "password", JF_STRING, true, &password, NULL },
        { "name", JF_STRING, false, &name, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 3, false, &doc, out))
        return;
    if (!auth_signup_allowed(r, out)) {
        json_decref(doc);
        return;
    }
    if (notify_of(r->api->core) != NULL) { /* the same answer for every address */
        register_by_mail(r, out, email, name, password);
        json_decref(doc);
        return;
    }
    /* Without outgoing mail nobody can confirm an address: the immediate
     * registration below, which does tell a taken address (README-api). */
    if (!hashgate_enter(r->api)) {
        json_decref(doc);
        hashgate_busy(out);
        return;
    }
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    bool registered = user_register(r->api->core, email, name, password, &u, &err);
    hashgate_leave(r->api);
    if (!registered) {
        if (err.code == TD_CONFLICT) {
            td_fail(&err, TD_CONFLICT,
                    "an account with this email already exists. Log in; if you have only written "
                    "to support by email so far, claim it: POST /api/v1/auth/claim");
        }
        problem_from_err(out, &err);
        json_decref(doc);
        return;
    }
    json_decref(doc);
    char refresh[REFRESH_TOKEN_LEN + 1];
    if (!tokens_issue(r->api, &u, NULL, refresh, &err)) {
        problem_from_err(out, &err);
    } else {
        auth_token_response(r, out, 201, &u, refresh);
        resp_header(out, "Location", "/api/v1/me");
    }
    memset(refresh, 0, sizeof refresh);
    user_clear(&u);
}

void h_login(struct api_req *r, struct api_resp *out)
{
    const char *email = NULL, *password = NULL;
    const struct jf_field fields[] = {
        { "email", JF_STRING, true, &email, NULL },
        { "password", JF_STRING, true, &password, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 2, false, &doc, out))
        return;
    char acct_key[320], addr_key[96];
    char *norm = NULL;
    auth_rl_key(acct_key, sizeof acct_key, "acct",
           email_normalize(email, "email", &norm, NULL) ? norm : email);
    free(norm);
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0;
    if (!login_throttle_allowed(r->api, acct_key, addr_key, now, &retry)) {
        problem_rate_limited(out, "too many failed logins; wait before trying again (see Retry-After)", retry);
        json_decref(doc);
        return;
    }
    if (!hashgate_enter(r->api)) {
        json_decref(doc);
        hashgate_busy(out);
        return;
    }
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    bool ok = user_authenticate(r->api->core, email, password, &u, &err);
    hashgate_leave(r->api);
    json_decref(doc);
    if (!ok) {
        if (err.code == TD_UNAUTHORIZED)
            login_throttle_failure(r->api, acct_key, addr_key, td_now());
        problem_from_err(out, &err);
        return;
    }
    /* No reset of the account's failures on success: the owner logging
     * in from a clean address must not wipe the delays of whoever is
     * guessing (they fade after login_window without failures). */
    tokens_purge_expired(r->api);
    char refresh[REFRESH_TOKEN_LEN + 1];
    if (!tokens_issue(r->api, &u, NULL, refresh, &err))
        problem_from_err(out, &err);
    else
        auth_token_response(r, out, 200, &u, refresh);
    memset(refresh, 0, sizeof refresh);
    user_clear(&u);
}

void h_refresh(struct api_req *r, struct api_resp *out)
{
    const char *token = NULL;
    const struct jf_field fields[] = {
        { "refresh_token", JF_STRING, true, &token, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    char fresh[REFRESH_TOKEN_LEN + 1];
    bool ok = tokens_rotate(r->api, token, &u, fresh, &err);
    json_decref(doc);
    if (!ok) {
        if (err.code == TD_UNAUTHORIZED)
            problem_unauthorized(out, err.msg);
        else
            problem_from_err(out, &err);
        return;
    }
    auth_token_response(r, out, 200, &u, fresh);
    memset(fresh, 0, sizeof fresh);
    user_clear(&u);
}

void h_logout(struct api_req *r, struct api_resp *out)
{
    const char *token = NULL;
    const struct jf_field fields[] = {
        { "refresh_token", JF_STRING, true, &token, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    bool ok = tokens_revoke(r->api, token, &err);
    json_decref(doc);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    resp_empty(out, 204);
}

void h_me(struct api_req *r, struct api_resp *out)
{
    resp_json(out, 200, json_user(&r->user));
}

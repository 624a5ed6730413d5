/* routes_register.c - self-registration when outgoing mail is on:
 * POST /api/v1/auth/register answers the same 202 whether or not the
 * address has an account, and /auth/register/confirm finishes it.
 *
 * Why: "an account with this email already exists" told anyone which
 * addresses are customers. Now, for every well-formed request:
 *
 *   unknown address   the customer is created with the password but
 *                     disabled, and a one-time confirm token (32 random
 *                     bytes; stored hashed under a domain of its own, like
 *                     claim tokens, CLAIM_TTL_S) is mailed to it
 *                     (register_confirm). Until confirmed the account
 *                     cannot log in - otherwise logging in right after
 *                     registering would tell a new address from a taken one.
 *   existing address  nothing changes; the owner is mailed that someone
 *                     tried (register_exists, at most once an hour).
 *
 * Both paths hash the password (argon2id, through the hash gate), then
 * the answer is held until REGISTER_FLOOR_MS after the hash, so neither
 * the body nor the time tells them apart. confirm {"token"} consumes the
 * token once (410 when used or expired, or when the account changed since:
 * its token_version), enables the account and answers like login.
 *
 * Without outgoing mail there is nobody to confirm to: routes_auth.c then
 * keeps the immediate registration (201 with tokens, 409 for a taken
 * address), which is enumerable; api/README-api.md says so. */
#include "api_int.h"
#include "auth.h"

#include "core/id.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/password.h"
#include "core/text.h"
#include "core/user.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REGISTER_DOMAIN "ticketd-register-v1"
#define REGISTER_FLOOR_MS 120

static const char register_accepted[] =
    "check your mail: if this address can be registered, a mail with a confirmation token is on "
    "its way to it (if it already has an account, its owner is told instead)";

static void register_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)REGISTER_DOMAIN, sizeof REGISTER_DOMAIN);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, h, sizeof h);
}

/* A new, disabled customer with the password hash computed already
 * (pw_hash, taken), and its confirm mail. Failures are logged only. */
static void register_new(struct api *api, const char *email, const char *name, char *pw_hash)
{
    /* Created without a password (no login possible), then hash and
     * "disabled until confirmed" land in one write: the account never
     * has a usable password before its address is confirmed. */
    struct user_new in = { email, name, ROLE_CUSTOMER, NULL };
    struct td_user u;
    struct td_err err;
    td_err_clear(&err);
    if (!user_create(api->core, NULL, &in, &u, &err)) {
        free(pw_hash);
        log_event(LOG_ERROR, "register_failed", LF_S("request_id", api_current_request_id),
                  LF_S("msg", err.msg));
        return;
    }
    u.pw_hash = pw_hash;
    u.disabled = true;
    u.updated = td_now();
    struct store *st = api->core->store;
    if (!st->ops->user_update(st, &u, &err)) {
        log_event(LOG_ERROR, "register_failed", LF_S("user", u.id), LF_S("msg", err.msg));
        user_clear(&u);
        return;
    }
    user_generation_bump(); /* cached copies (api/user_cache.c) go */
    char token[REFRESH_TOKEN_LEN + 1];
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, sizeof token, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    struct td_refresh_token t;
    memset(&t, 0, sizeof t);
    register_token_hash(token, t.hash);
    id_new(t.family);
    memcpy(t.user_id, u.id, sizeof t.user_id);
    t.token_version = u.token_version;
    t.created = td_now();
    t.expires = t.created + CLAIM_TTL_S * 1000;
    json_t *vars = json_object();
    char minutes[32];
    snprintf(minutes, sizeof minutes, "%d", CLAIM_TTL_S / 60);
    json_object_set_new(vars, "confirm_token", json_string(token));
    json_object_set_new(vars, "claim_valid_minutes", json_string(minutes));
    if (!st->ops->token_insert(st, &t, &err)) {
        json_decref(vars);
        log_event(LOG_ERROR, "register_failed", LF_S("user", u.id), LF_S("msg", err.msg));
    } else if (!notify_account_mail(api->core, &u, NA_REGISTER_CONFIRM, vars, NULL, NULL, &err)) {
        log_event(LOG_ERROR, "register_failed", LF_S("user", u.id), LF_S("msg", err.msg));
    } else {
        log_event(LOG_INFO, "register_pending", LF_S("user", u.id),
                  LF_S("request_id", api_current_request_id));
    }
    sodium_memzero(token, sizeof token);
    user_clear(&u);
}

/* The owner of a taken address hears of the attempt, once an hour. */
static void register_taken(struct api *api, const struct td_user *u)
{
    char once[TD_ID_LEN + 32];
    snprintf(once, sizeof once, "%s:%lld", u->id, (long long)(td_now() / 3600000));
    struct td_err err;
    td_err_clear(&err);
    if (!notify_account_mail(api->core, u, NA_REGISTER_EXISTS, NULL, once, NULL, &err))
        log_event(LOG_ERROR, "register_exists_mail_failed", LF_S("user", u->id),
                  LF_S("msg", err.msg));
}

/* The password rules of core/password.c, checked without hashing. */
static bool password_rules_ok(const char *password, struct td_err *err)
{
    size_t len = strlen(password);
    if (!utf8_valid(password, len) || utf8_length(password, len) < PASSWORD_MIN_LEN ||
        len > PASSWORD_MAX_LEN)
        return td_fail(err, TD_INVALID, "password must be %d to %d characters of UTF-8",
                       PASSWORD_MIN_LEN, PASSWORD_MAX_LEN);
    return true;
}

void register_by_mail(struct api_req *r, struct api_resp *out, const char *email,
                      const char *name, const char *password)
{
    /* Input rules first, alike for every address. */
    struct td_err err;
    td_err_clear(&err);
    char *norm = NULL;
    if (!email_normalize(email, "email", &norm, &err) || !password_rules_ok(password, &err)) {
        free(norm);
        problem_from_err(out, &err);
        return;
    }
    if (!hashgate_enter(r->api)) {
        free(norm);
        hashgate_busy(out);
        return;
    }
    struct td_user u;
    struct store *st = r->api->core->store;
    bool found = st->ops->user_get_by_email(st, norm, &u, &err);
    bool lookup_failed = !found && err.code != TD_NOT_FOUND;
    if (lookup_failed)
        log_event(LOG_ERROR, "register_failed", LF_S("request_id", api_current_request_id),
                  LF_S("msg", err.msg));
    /* Every path hashes the password once, at the accounts' cost; the
     * rest (a mail, or an account, a token and a mail) is padded. */
    char *h = NULL;
    if (!password_hash(password, r->api->core->pw_cost, &h, &err))
        h = NULL;
    int64_t hashed_at = mono_us();
    hashgate_leave(r->api);
    if (found) {
        register_taken(r->api, &u);
        user_clear(&u);
        free(h);
    } else if (!lookup_failed && h != NULL) {
        register_new(r->api, norm, name, h); /* takes h */
    } else {
        free(h);
    }
    free(norm);
    sleep_until_us(hashed_at + (int64_t)REGISTER_FLOOR_MS * 1000);
    resp_json(out, 202, json_pack("{s:s}", "detail", register_accepted));
}

void h_register_confirm(struct api_req *r, struct api_resp *out)
{
    const char *token = NULL;
    const struct jf_field fields[] = {
        { "token", JF_STRING, true, &token, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    char addr_key[96];
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0;
    if (!ratelimit_allowed(r->api->rl_addr, addr_key, now, &retry)) {
        json_decref(doc);
        problem_rate_limited(out, "too many bad tokens from this address (see Retry-After)", retry);
        return;
    }
    bool well_formed = tokens_well_formed(token);
    char hash[TD_TOKEN_HASH_LEN + 1];
    if (well_formed)
        register_token_hash(token, hash);
    json_decref(doc);
    if (!well_formed) {
        ratelimit_failure(r->api->rl_addr, addr_key, now);
        problem(out, 400, "invalid_confirm_token", "this is not a confirmation token", NULL);
        return;
    }
    struct store *st = r->api->core->store;
    struct td_refresh_token t;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->token_mark_used_if_unused(st, hash, now, &t, &err)) {
        if (err.code == TD_NOT_FOUND) {
            ratelimit_failure(r->api->rl_addr, addr_key, now);
            problem(out, 400, "invalid_confirm_token", "unknown confirmation token", NULL);
        } else if (err.code == TD_CONFLICT) {
            problem(out, 410, "confirm_token_gone", "this confirmation token was already used", NULL);
        } else {
            problem_from_err(out, &err);
        }
        return;
    }
    struct td_user u;
    if (t.expires <= now || t.revoked || !user_get(r->api->core, t.user_id, &u, &err)) {
        problem(out, 410, "confirm_token_gone",
                "this confirmation token has expired; register again", NULL);
        return;
    }
    bool pending = u.disabled && u.role == ROLE_CUSTOMER && u.token_version == t.token_version;
    user_clear(&u);
    if (!pending) {
        problem(out, 410, "confirm_token_gone",
                "the account changed since this token was sent; register again or log in", NULL);
        return;
    }
    if (!user_set_disabled(r->api->core, NULL, t.user_id, false, &err) ||
        !user_get(r->api->core, t.user_id, &u, &err)) {
        problem_from_err(out, &err);
        return;
    }
    log_event(LOG_INFO, "register_confirmed", LF_S("user", u.id),
              LF_S("request_id", api_current_request_id));
    char refresh[REFRESH_TOKEN_LEN + 1];
    if (!tokens_issue(r->api, &u, NULL, refresh, &err))
        problem_from_err(out, &err);
    else
        auth_token_response(r, out, 200, &u, refresh);
    memset(refresh, 0, sizeof refresh);
    user_clear(&u);
}

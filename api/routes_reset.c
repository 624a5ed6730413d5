/* routes_reset.c - a user who forgot the password resets it by a mailed
 * one-time link: POST /api/v1/auth/reset, then /auth/reset/confirm.
 *
 *   reset {"email"}    always 202 with the same body, whether or not the
 *                      address has an account, and after the same time:
 *                      the answer is held back until RESET_FLOOR_MS after
 *                      the request began, so the extra work of a real
 *                      account (a token row, an outbox row) does not show
 *                      as a slower answer. Only for an active account with
 *                      a password (a customer without one claims it,
 *                      routes_claim.c) a token (32 random bytes, base64url)
 *                      is stored hashed with an expiry (RESET_TTL_S) and
 *                      the password_reset mail queued through the durable
 *                      outbox. Every request counts against the client
 *                      address and the address asked for (the login rate
 *                      limiters, keys "reset:"), so few mails go out.
 *   confirm {"token","password"}   consumes the token - exactly once,
 *                      decided by the store (token_mark_used_if_unused): a
 *                      link used twice is 410 - sets the password through
 *                      core (actor NULL: the token is the authority), which
 *                      bumps token_version and so ends every other session
 *                      (access tokens and refresh families), and answers
 *                      like login.
 *
 * Tokens live with refresh and claim tokens under a hash of their own
 * domain ("ticketd-reset-v1"): none is ever found as another kind. Its
 * token_version is the user's when sent: a password, role or status
 * change since then makes it useless. */
#include "api_int.h"
#include "auth.h"

#include "core/id.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/password.h"
#include "core/store/store.h"
#include "core/text.h"
#include "core/user.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RESET_DOMAIN "ticketd-reset-v1"
#define RESET_TTL_S 1800   /* a reset link works for 30 minutes */
#define RESET_FLOOR_MS 400 /* every /auth/reset answer takes at least this */

static const char reset_accepted[] =
    "if this address belongs to an account with a password, a mail with a reset link is on "
    "its way to it";

static void reset_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)RESET_DOMAIN, sizeof RESET_DOMAIN);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, h, sizeof h);
}

static bool resettable(const struct td_user *u)
{
    return u->pw_hash != NULL && !u->disabled;
}

/* Failures are logged only: the answer must not tell them apart. */
static void send_reset(struct api *api, const struct td_user *u)
{
    char token[REFRESH_TOKEN_LEN + 1];
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, sizeof token, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    struct td_refresh_token t;
    memset(&t, 0, sizeof t);
    reset_token_hash(token, t.hash);
    id_new(t.family);
    memcpy(t.user_id, u->id, sizeof t.user_id);
    t.token_version = u->token_version;
    t.created = td_now();
    t.expires = t.created + RESET_TTL_S * 1000;
    struct store *st = api->core->store;
    struct td_err err;
    td_err_clear(&err);
    bool queued = false;
    if (!st->ops->token_insert(st, &t, &err) ||
        !notify_password_reset(api->core, u, token, RESET_TTL_S / 60, &queued, &err))
        log_event(LOG_ERROR, "password_reset_failed", LF_S("user", u->id),
                  LF_S("request_id", api_current_request_id), LF_S("msg", err.msg));
    else
        log_event(LOG_INFO, queued ? "password_reset_sent" : "password_reset_suppressed",
                  LF_S("user", u->id), LF_S("request_id", api_current_request_id));
    sodium_memzero(token, sizeof token);
}


void h_reset(struct api_req *r, struct api_resp *out)
{
    int64_t began_us = mono_us();
    const char *email = NULL;
    const struct jf_field fields[] = {
        { "email", JF_STRING, true, &email, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 1, false, &doc, out))
        return;
    struct td_err err;
    td_err_clear(&err);
    char *norm = NULL;
    if (!email_normalize(email, "email", &norm, &err)) {
        json_decref(doc);
        problem_from_err(out, &err);
        return;
    }
    json_decref(doc);
    if (notify_of(r->api->core) == NULL) {
        free(norm);
        problem(out, 503, "unavailable",
                "resetting a password needs outgoing mail, which is off on this server "
                "([notify] support_address); ask an admin (ticketd user passwd)", NULL);
        return;
    }
    char acct_key[320], addr_key[96];
    auth_rl_key(acct_key, sizeof acct_key, "reset", norm);
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0, retry2 = 0;
    bool acct_ok = ratelimit_allowed(r->api->rl_account, acct_key, now, &retry);
    bool addr_ok = ratelimit_allowed(r->api->rl_addr, addr_key, now, &retry2);
    if (!acct_ok || !addr_ok) {
        free(norm);
        problem_rate_limited(out, TOO_MANY_ATTEMPTS, retry > retry2 ? retry : retry2);
        return;
    }
    ratelimit_failure(r->api->rl_account, acct_key, now);
    ratelimit_failure(r->api->rl_addr, addr_key, now);

    struct td_user u;
    struct store *st = r->api->core->store;
    if (st->ops->user_get_by_email(st, norm, &u, &err)) {
        if (resettable(&u))
            send_reset(r->api, &u);
        user_clear(&u);
    } else if (err.code != TD_NOT_FOUND) {
        log_event(LOG_ERROR, "password_reset_failed", LF_S("request_id", api_current_request_id),
                  LF_S("msg", err.msg));
    }
    free(norm);
    sleep_until_us(began_us + (int64_t)RESET_FLOOR_MS * 1000);
    resp_json(out, 202, json_pack("{s:s}", "detail", reset_accepted));
}

static void gone(struct api_resp *out, const char *detail)
{
    problem(out, 410, "reset_token_gone", detail, NULL);
}

static const struct onetime_kind reset_kind = {
    .hash = reset_token_hash,
    .invalid_type = "invalid_reset_token",
    .gone_type = "reset_token_gone",
    .not_a_token = "this is not a reset token",
    .unknown = "unknown reset token; ask for a new one at /api/v1/auth/reset",
    .used = "this reset link was already used; ask for a new one at /api/v1/auth/reset",
    .expired = "this reset link has expired; ask for a new one at /api/v1/auth/reset",
};

/* The hash slot is taken before the token is spent, as for claims: a
 * busy server must not use up the link, and a flood of resets hashes no
 * more passwords at once than [api] hash_concurrency allows. */
static void reset_confirm(struct api_req *r, struct api_resp *out)
{
    json_t *doc;
    const char *password;
    struct td_refresh_token t;
    if (!onetime_take(r, out, &reset_kind, &doc, &password, &t))
        return;
    struct td_err err;
    td_err_clear(&err);
    struct td_user u;
    if (!user_get(r->api->core, t.user_id, &u, &err)) {
        json_decref(doc);
        if (err.code == TD_NOT_FOUND)
            gone(out, "the account of this reset link no longer exists");
        else
            problem_from_err(out, &err);
        return;
    }
    if (!resettable(&u) || u.token_version != t.token_version) {
        user_clear(&u);
        json_decref(doc);
        gone(out, "the account changed since this reset link was sent; ask for a new one");
        return;
    }
    bool ok = user_set_password(r->api->core, NULL, u.id, password, &err);
    json_decref(doc);
    user_clear(&u);
    if (ok) /* the stored user now has the new token_version */
        ok = user_get(r->api->core, t.user_id, &u, &err);
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    log_event(LOG_INFO, "password_reset_done", LF_S("user", u.id),
              LF_S("request_id", api_current_request_id));
    char refresh[REFRESH_TOKEN_LEN + 1];
    if (!tokens_issue(r->api, &u, NULL, refresh, &err))
        problem_from_err(out, &err);
    else
        auth_token_response(r, out, 200, &u, refresh);
    memset(refresh, 0, sizeof refresh);
    user_clear(&u);
}

void h_reset_confirm(struct api_req *r, struct api_resp *out)
{
    if (!hashgate_enter(r->api)) {
        hashgate_busy(out);
        return;
    }
    reset_confirm(r, out);
    hashgate_leave(r->api);
}

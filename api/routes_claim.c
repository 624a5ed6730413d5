/* routes_claim.c - a customer first created from a mail claims the
 * account: POST /api/v1/auth/claim, then /auth/claim/confirm.
 *
 * Registration refuses an address that has an account (routes_auth.c),
 * because knowing an address is no proof of owning it. The proof here is
 * reading its mail:
 *
 *   claim {"email"}     always 202 with the same body, whatever the address
 *                       (no account enumeration). Only when the address is
 *                       an active customer without a password: a one-time
 *                       claim token (32 random bytes, base64url) is stored
 *                       hashed with an expiry (CLAIM_TTL_S) and the
 *                       account_claim mail carrying it is queued through the
 *                       durable outbox (core notify_account_claim). Every
 *                       request counts against the client address and the
 *                       claimed address in the login rate limiters, so the
 *                       endpoint sends at most a few mails per window.
 *   confirm {"token","password"}   consumes the token - exactly once, decided
 *                       by the store (token_mark_used_if_unused) - sets the
 *                       password through core (user_set_password, actor
 *                       NULL: the token is the authority) and answers like
 *                       login. A used or expired token is 410.
 *
 * Storage: claim tokens live with the refresh tokens (store.h
 * td_refresh_token) under a hash of their own domain ("ticketd-claim-v1"
 * before the token), so a claim token is never found as a refresh token
 * (refresh, logout) nor a refresh token as a claim token; expired ones go
 * with token_purge. Its family is a fresh id (nothing to revoke), its
 * token_version the user's when sent: a password, role or status change
 * since then makes it useless.
 *
 * Equal time: the claimable path writes a token and an outbox row, the
 * others write nothing, which showed (4.2 ms vs 2.7 ms). Every 202 is
 * therefore sent no earlier than CLAIM_FLOOR_MS after the request began
 * - longer than either path takes on a healthy store - so the answer's
 * timing says nothing about the address. The floor holds a server thread;
 * the sign-up rate limits bound how often anyone can make it.
 *
 * Outgoing mail must be on ([notify] support_address), else claim is 503
 * for every address alike. Whether an address is claimable shows in no
 * response; a store error on that path is logged and still answered 202
 * (the customer asks again). */
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

#define CLAIM_DOMAIN "ticketd-claim-v1"
#define CLAIM_FLOOR_MS 150

static const char claim_accepted[] =
    "if this address belongs to an account that was created from e-mail and has no password "
    "yet, a mail with a claim token is on its way to it";

void claim_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    /* With its NUL: no token can make the domain longer. */
    crypto_hash_sha256_update(&st, (const unsigned char *)CLAIM_DOMAIN, sizeof CLAIM_DOMAIN);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, h, sizeof h);
}

/* An active customer without a password: the only kind of account a
 * claim may set a password for. */
static bool claimable(const struct td_user *u)
{
    return u->role == ROLE_CUSTOMER && u->pw_hash == NULL && !u->disabled;
}

/* Stores a claim token for u and queues its mail. Failures are logged
 * only: the response must not tell this path from the others. */
static void send_claim(struct api *api, const struct td_user *u)
{
    char token[REFRESH_TOKEN_LEN + 1];
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, sizeof token, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    struct td_refresh_token t;
    memset(&t, 0, sizeof t);
    claim_token_hash(token, t.hash);
    id_new(t.family);
    memcpy(t.user_id, u->id, sizeof t.user_id);
    t.token_version = u->token_version;
    t.created = td_now();
    t.expires = t.created + CLAIM_TTL_S * 1000;
    struct store *st = api->core->store;
    struct td_err err;
    td_err_clear(&err);
    bool queued = false;
    if (!st->ops->token_insert(st, &t, &err) ||
        !notify_account_claim(api->core, u, token, CLAIM_TTL_S / 60, &queued, &err))
        log_event(LOG_ERROR, "account_claim_failed", LF_S("user", u->id),
                  LF_S("request_id", api_current_request_id), LF_S("msg", err.msg));
    else
        log_event(LOG_INFO, queued ? "account_claim_sent" : "account_claim_suppressed",
                  LF_S("user", u->id), LF_S("request_id", api_current_request_id));
    sodium_memzero(token, sizeof token);
}

void h_claim(struct api_req *r, struct api_resp *out)
{
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
                "claiming an account needs outgoing mail, which is off on this server "
                "([notify] support_address); ask support to enable web access for you",
                NULL);
        return;
    }
    /* Every request counts, as each may send a mail: per claimed address
     * (growing delays after login_max_failures_per_account, under a key
     * of its own kind, "claim:", so claims never slow the account's
     * login), and per client address and globally like registration. */
    char acct_key[320];
    auth_rl_key(acct_key, sizeof acct_key, "claim", norm);
    int64_t now = td_now(), retry = 0;
    if (!ratelimit_allowed(r->api->rl_account, acct_key, now, &retry)) {
        free(norm);
        problem_rate_limited(out, TOO_MANY_ATTEMPTS, retry);
        return;
    }
    if (!auth_signup_allowed(r, out)) {
        free(norm);
        return;
    }
    ratelimit_failure(r->api->rl_account, acct_key, now);

    struct td_user u;
    struct store *st = r->api->core->store;
    if (st->ops->user_get_by_email(st, norm, &u, &err)) {
        if (claimable(&u))
            send_claim(r->api, &u);
        user_clear(&u);
    } else if (err.code != TD_NOT_FOUND) {
        log_event(LOG_ERROR, "account_claim_failed", LF_S("request_id", api_current_request_id),
                  LF_S("msg", err.msg));
    }
    free(norm);
    sleep_until_us(r->start_us + (int64_t)CLAIM_FLOOR_MS * 1000);
    resp_json(out, 202, json_pack("{s:s}", "detail", claim_accepted));
}

/* 410 for a token that was good once. */
static void gone(struct api_resp *out, const char *detail)
{
    problem(out, 410, "claim_token_gone", detail, NULL);
}

static const struct onetime_kind claim_kind = {
    .hash = claim_token_hash,
    .invalid_type = "invalid_claim_token",
    .gone_type = "claim_token_gone",
    .not_a_token = "this is not a claim token",
    .unknown = "unknown claim token; ask for a new one at /api/v1/auth/claim",
    .used = "this claim token was already used; log in, or ask for a new one at /api/v1/auth/claim",
    .expired = "this claim token has expired; ask for a new one at /api/v1/auth/claim",
};

static void claim_confirm(struct api_req *r, struct api_resp *out)
{
    json_t *doc;
    const char *password;
    struct td_refresh_token t;
    if (!onetime_take(r, out, &claim_kind, &doc, &password, &t))
        return;
    struct td_err err;
    td_err_clear(&err);
    struct td_user u;
    if (!user_get(r->api->core, t.user_id, &u, &err)) {
        json_decref(doc);
        if (err.code == TD_NOT_FOUND)
            gone(out, "the account of this claim token no longer exists");
        else
            problem_from_err(out, &err);
        return;
    }
    if (!claimable(&u) || u.token_version != t.token_version) {
        bool has_password = u.pw_hash != NULL;
        user_clear(&u);
        json_decref(doc);
        if (has_password)
            problem(out, 409, "conflict", "this account already has a password; log in", NULL);
        else
            gone(out, "the account changed since this claim token was sent; ask for a new one");
        return;
    }
    bool ok = user_set_password(r->api->core, NULL, u.id, password, &err);
    json_decref(doc);
    if (ok) {
        /* Set: the stored user now has a new token_version. */
        user_clear(&u);
        ok = user_get(r->api->core, t.user_id, &u, &err);
        if (ok)
            log_event(LOG_INFO, "account_claimed", LF_S("user", u.id),
                      LF_S("request_id", api_current_request_id));
    } else {
        user_clear(&u);
    }
    if (!ok) {
        problem_from_err(out, &err);
        return;
    }
    char refresh[REFRESH_TOKEN_LEN + 1];
    if (!tokens_issue(r->api, &u, NULL, refresh, &err))
        problem_from_err(out, &err);
    else
        auth_token_response(r, out, 200, &u, refresh);
    memset(refresh, 0, sizeof refresh);
    user_clear(&u);
}

/* The hash slot is taken before the token is spent: a busy server must
 * not use up a customer's token. */
void h_claim_confirm(struct api_req *r, struct api_resp *out)
{
    if (!hashgate_enter(r->api)) {
        hashgate_busy(out);
        return;
    }
    claim_confirm(r, out);
    hashgate_leave(r->api);
}

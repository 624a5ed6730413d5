/* auth_tokens.c - refresh tokens: opaque, stored hashed, rotated on
 * every use, revoked by family.
 *
 * A refresh token is 32 random bytes (libsodium), base64url: 43
 * characters. The store keeps only its SHA-256 (a database dump yields
 * no usable token; no salt is needed for 256 random bits). Each login
 * starts a family; every refresh consumes the presented token - exactly
 * once, decided atomically by the store (token_mark_used_if_unused) -
 * and issues the next one in the same family. Presenting a consumed
 * token means it was copied (or a client retried badly): the whole
 * family is revoked, so a thief and the victim are both logged out and
 * the thief's stolen chain ends. Logout revokes the family too.
 *
 * A refresh also checks the user as the access path does: disabled, or a
 * token_version other than the one the family was issued under
 * (password, role or disable changed since), ends the family. */
#include "api_int.h"
#include "auth.h"

#include "core/id.h"
#include "core/log.h"
#include "core/store/store.h"
#include "core/user.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, h, sizeof h);
}

bool tokens_well_formed(const char *token)
{
    if (token == NULL || strlen(token) != REFRESH_TOKEN_LEN)
        return false;
    for (const char *p = token; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

bool tokens_issue(struct api *api, const struct td_user *u, const char *family,
                  char token[REFRESH_TOKEN_LEN + 1], struct td_err *err)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, REFRESH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    struct td_refresh_token t;
    memset(&t, 0, sizeof t);
    token_hash(token, t.hash);
    if (family)
        snprintf(t.family, sizeof t.family, "%s", family);
    else
        id_new(t.family);
    memcpy(t.user_id, u->id, sizeof t.user_id);
    t.token_version = u->token_version;
    t.created = td_now();
    t.expires = t.created + api->set.refresh_ttl_s * 1000;
    struct store *st = api->core->store;
    return st->ops->token_insert(st, &t, err);
}

/* Revokes a family; a failure is logged, not returned: the caller is
 * already refusing the request. */
static void revoke_family(struct store *st, const char *family)
{
    struct td_err e;
    td_err_clear(&e);
    if (!st->ops->token_revoke_family(st, family, &e))
        log_event(LOG_ERROR, "refresh_family_revoke_failed", LF_S("family", family),
                  LF_S("msg", e.msg));
}

bool tokens_rotate(struct api *api, const char *token, struct td_user *u,
                   char fresh[REFRESH_TOKEN_LEN + 1], struct td_err *err)
{
    if (!tokens_well_formed(token))
        return td_fail(err, TD_UNAUTHORIZED, "malformed refresh token");
    struct store *st = api->core->store;
    char hash[TD_TOKEN_HASH_LEN + 1];
    token_hash(token, hash);
    td_time now = td_now();
    struct td_refresh_token t;
    struct td_err e;
    td_err_clear(&e);
    if (!st->ops->token_mark_used_if_unused(st, hash, now, &t, &e)) {
        if (e.code == TD_NOT_FOUND)
            return td_fail(err, TD_UNAUTHORIZED, "unknown refresh token");
        if (e.code != TD_CONFLICT) {
            if (err)
                *err = e;
            return false;
        }
        struct td_refresh_token old;
        if (st->ops->token_get(st, hash, &old, NULL)) {
            if (old.used_at != 0)
                log_event(LOG_WARN, "refresh_token_reuse", LF_S("user", old.user_id),
                          LF_S("family", old.family), LF_S("request_id", api_current_request_id));
            revoke_family(st, old.family);
        }
        return td_fail(err, TD_UNAUTHORIZED,
                       "refresh token already used or revoked; every session of this login is "
                       "now ended - log in again");
    }
    if (t.expires <= now || t.revoked)
        return td_fail(err, TD_UNAUTHORIZED, "refresh token expired; log in again");
    if (!user_get(api->core, t.user_id, u, &e)) {
        if (e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            return false;
        }
        revoke_family(st, t.family);
        return td_fail(err, TD_UNAUTHORIZED, "the account of this token no longer exists");
    }
    if (u->disabled || u->token_version != t.token_version) {
        revoke_family(st, t.family);
        bool disabled = u->disabled;
        user_clear(u);
        return td_fail(err, TD_UNAUTHORIZED,
                       disabled ? "this account is disabled"
                                : "the account changed (password, role or status); log in again");
    }
    if (!tokens_issue(api, u, t.family, fresh, err)) {
        user_clear(u);
        return false;
    }
    return true;
}

bool tokens_revoke(struct api *api, const char *token, struct td_err *err)
{
    if (!tokens_well_formed(token))
        return true; /* nothing it could name */
    struct store *st = api->core->store;
    char hash[TD_TOKEN_HASH_LEN + 1];
    token_hash(token, hash);
    struct td_refresh_token t;
    struct td_err e;
    td_err_clear(&e);
    if (!st->ops->token_get(st, hash, &t, &e)) {
        if (e.code == TD_NOT_FOUND)
            return true;
        if (err)
            *err = e;
        return false;
    }
    return st->ops->token_revoke_family(st, t.family, err);
}

void tokens_purge_expired(struct api *api)
{
    int64_t now = td_now(), last = atomic_load(&api->last_purge_ms);
    if (now - last < 3600 * 1000 || !atomic_compare_exchange_strong(&api->last_purge_ms, &last, now))
        return; /* recently done, or another thread is doing it */
    struct store *st = api->core->store;
    struct td_err e;
    td_err_clear(&e);
    int64_t n = 0;
    if (!st->ops->token_purge(st, now, &n, &e))
        log_event(LOG_WARN, "refresh_token_purge_failed", LF_S("msg", e.msg));
    else if (n > 0)
        log_event(LOG_INFO, "refresh_tokens_purged", LF_I("count", n));
}

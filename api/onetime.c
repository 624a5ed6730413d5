/* onetime.c - the first half of confirming a mailed one-time link
 * (account claim, password reset): both take {token, password}, are
 * limited per address, check the password's rules before the token is
 * spent (a typo must not cost a new mail), and spend the token atomically
 * (token_mark_used_if_unused: exactly one request wins). What follows -
 * which account may take the password - is each route's own. */
#include "api_int.h"
#include "auth.h"
#include "core/id.h"
#include "core/text.h"
#include "core/password.h"

#include <string.h>

bool onetime_take(struct api_req *r, struct api_resp *out, const struct onetime_kind *k,
                  json_t **doc, const char **password, struct td_refresh_token *t)
{
    const char *token = NULL;
    *password = NULL;
    const struct jf_field fields[] = {
        { "token", JF_STRING, true, &token, NULL },
        { "password", JF_STRING, true, password, NULL },
    };
    if (!json_in_parse(r, fields, 2, false, doc, out))
        return false;
    char addr_key[96];
    auth_rl_key(addr_key, sizeof addr_key, "addr", r->client_addr);
    int64_t now = td_now(), retry = 0;
    if (!ratelimit_allowed(r->api->rl_addr, addr_key, now, &retry)) {
        problem_rate_limited(out, TOO_MANY_ATTEMPTS, retry);
        goto fail;
    }
    size_t plen = strlen(*password);
    if (plen < PASSWORD_MIN_LEN || plen > PASSWORD_MAX_LEN || !utf8_valid(*password, plen)) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "password", "must be %d to %d characters of UTF-8", PASSWORD_MIN_LEN,
                    PASSWORD_MAX_LEN);
        problem_fields(out, "the password does not meet the rules", &fe);
        goto fail;
    }
    if (!tokens_well_formed(token)) {
        ratelimit_failure(r->api->rl_addr, addr_key, now);
        problem(out, 400, k->invalid_type, k->not_a_token, NULL);
        goto fail;
    }
    char hash[TD_TOKEN_HASH_LEN + 1];
    k->hash(token, hash);
    struct store *st = r->api->core->store;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->token_mark_used_if_unused(st, hash, now, t, &err)) {
        if (err.code == TD_NOT_FOUND) {
            ratelimit_failure(r->api->rl_addr, addr_key, now);
            problem(out, 400, k->invalid_type, k->unknown, NULL);
        } else if (err.code == TD_CONFLICT) {
            problem(out, 410, k->gone_type, k->used, NULL);
        } else {
            problem_from_err(out, &err);
        }
        goto fail;
    }
    if (t->expires <= now || t->revoked) {
        problem(out, 410, k->gone_type, k->expired, NULL);
        goto fail;
    }
    return true;
fail:
    json_decref(*doc);
    *doc = NULL;
    *password = NULL;
    return false;
}

/* alias.c - see alias.h. */
#include "alias.h"
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "text.h"

#include <sodium.h>
#include <string.h>

void alias_clear(struct td_alias *a)
{
    if (a == NULL)
        return;
    free(a->email);
    memset(a, 0, sizeof *a);
}

void alias_list_clear(struct td_alias_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        alias_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void alias_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1])
{
    static const char domain[] = "ticketd-alias-v1";
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)domain, sizeof domain - 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, TD_TOKEN_HASH_LEN + 1, h, sizeof h);
}

/* Admins (and the system) manage anyone's aliases; an agent their own. */
static bool may_manage(const struct td_user *actor, const char *user_id, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (actor == NULL || actor->role == ROLE_ADMIN)
        return true;
    if (policy_is_staff(actor) && strcmp(actor->id, user_id) == 0)
        return true;
    return td_fail(err, TD_FORBIDDEN, "only admins and the agent themselves manage an agent's aliases");
}

bool alias_add(struct td_core *c, const struct td_user *actor, const char *user_id,
               const char *email, char *token, struct td_alias *out, struct td_err *err)
{
    if (token)
        token[0] = '\0';
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    if (!may_manage(actor, user_id, err))
        return false;
    struct td_user u;
    if (!c->store->ops->user_get(c->store, user_id, &u, err))
        return false;
    bool staff = u.role != ROLE_CUSTOMER && !u.disabled;
    user_clear(&u);
    if (!staff)
        return td_fail(err, TD_INVALID, "only active agents and admins have aliases");
    struct td_alias a;
    memset(&a, 0, sizeof a);
    if (!email_normalize(email, "email", &a.email, err))
        return false;
    struct td_err e;
    td_err_clear(&e);
    if (c->store->ops->user_get_by_email(c->store, a.email, &u, &e)) {
        user_clear(&u);
        alias_clear(&a);
        return td_fail(err, TD_INVALID, "%s is the address of an account, not an alias", email);
    }
    if (e.code != TD_NOT_FOUND) {
        alias_clear(&a);
        if (err)
            *err = e;
        return false;
    }
    memcpy(a.user_id, user_id, sizeof a.user_id);
    a.created = td_now();
    a.confirmed = actor == NULL || actor->role == ROLE_ADMIN;
    char tok[ALIAS_TOKEN_LEN + 1] = "";
    if (!a.confirmed) {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(tok, sizeof tok, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        alias_token_hash(tok, a.token_hash);
        a.expires = a.created + ALIAS_CONFIRM_TTL_MS;
    }
    bool ok = c->store->ops->alias_insert(c->store, &a, err);
    if (ok && token)
        memcpy(token, tok, sizeof tok);
    sodium_memzero(tok, sizeof tok);
    if (ok && out)
        *out = a;
    else
        alias_clear(&a);
    return ok;
}

bool alias_confirm(struct td_core *c, const char *token, struct td_alias *out,
                   struct td_err *err)
{
    if (token == NULL || strlen(token) != ALIAS_TOKEN_LEN)
        return td_fail(err, TD_NOT_FOUND, "unknown or expired confirmation");
    char h[TD_TOKEN_HASH_LEN + 1];
    alias_token_hash(token, h);
    struct td_alias a;
    if (!c->store->ops->alias_confirm(c->store, h, td_now(), &a, err)) {
        if (err && err->code == TD_NOT_FOUND)
            td_fail(err, TD_NOT_FOUND, "unknown or expired confirmation");
        return false;
    }
    if (out)
        *out = a;
    else
        alias_clear(&a);
    return true;
}

bool alias_remove(struct td_core *c, const struct td_user *actor, const char *user_id,
                  const char *email, struct td_err *err)
{
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    if (!may_manage(actor, user_id, err))
        return false;
    char *norm = NULL;
    if (!email_normalize(email, "email", &norm, err))
        return false;
    struct td_alias a;
    bool ok = c->store->ops->alias_get(c->store, norm, &a, err);
    if (ok && strcmp(a.user_id, user_id) != 0) /* someone else's: not there for this user */
        ok = td_fail(err, TD_NOT_FOUND, "no alias %s", norm);
    if (ok)
        alias_clear(&a);
    ok = ok && c->store->ops->alias_delete(c->store, norm, err);
    free(norm);
    return ok;
}

bool alias_list_of(struct td_core *c, const struct td_user *actor, const char *user_id,
                   struct td_alias_list *out, struct td_err *err)
{
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    if (!may_manage(actor, user_id, err))
        return false;
    return c->store->ops->alias_list(c->store, user_id, out, err);
}

bool alias_owner(struct store *st, const char *email, struct td_user *out, struct td_err *err)
{
    struct td_alias a;
    if (!st->ops->alias_get(st, email, &a, err))
        return false;
    bool confirmed = a.confirmed;
    struct td_user u;
    bool ok = confirmed && st->ops->user_get(st, a.user_id, &u, err);
    alias_clear(&a);
    if (!ok)
        return confirmed ? false : td_fail(err, TD_NOT_FOUND, "alias %s is not confirmed", email);
    if (u.disabled || u.role == ROLE_CUSTOMER) {
        user_clear(&u);
        return td_fail(err, TD_NOT_FOUND, "alias %s belongs to no active agent", email);
    }
    *out = u;
    return true;
}

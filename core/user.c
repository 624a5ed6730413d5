/* user.c - see user.h. */
#include "user.h"

#include <stdatomic.h>
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "text.h"

#include <stdatomic.h>
#include <string.h>

/* Validates in, builds the record in u (owned), nothing written yet. */
static bool user_build(struct td_core *c, const struct user_new *in, struct td_user *u,
                       struct td_err *err)
{
    memset(u, 0, sizeof *u);
    if ((unsigned)in->role > ROLE_ADMIN)
        return td_fail(err, TD_INVALID, "unknown role");
    if (!email_normalize(in->email, "email", &u->email, err))
        goto fail;
    if (in->name != NULL && in->name[0] != '\0') {
        if (!text_line(in->name, "name", CORE_MAX_NAME, false, &u->name, err))
            goto fail;
    } else {
        u->name = td_strndup(u->email, (size_t)(strchr(u->email, '@') - u->email));
    }
    if (in->password != NULL && !password_hash(in->password, c->pw_cost, &u->pw_hash, err))
        goto fail;
    id_new(u->id);
    u->role = in->role;
    u->token_version = 1;
    u->created = u->updated = td_now();
    return true;
fail:
    user_clear(u);
    return false;
}

static bool user_insert_new(struct td_core *c, const struct user_new *in, struct td_user *out,
                            struct td_err *err)
{
    struct td_user u;
    if (!user_build(c, in, &u, err))
        return false;
    if (!c->store->ops->user_insert(c->store, &u, err)) {
        if (err && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "a user with email %s already exists", u.email);
        user_clear(&u);
        return false;
    }
    if (out)
        *out = u;
    else
        user_clear(&u);
    return true;
}

bool user_create(struct td_core *c, const struct td_user *actor, const struct user_new *in,
                 struct td_user *out, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    return user_insert_new(c, in, out, err);
}

bool user_register(struct td_core *c, const char *email, const char *name, const char *password,
                   struct td_user *out, struct td_err *err)
{
    if (password == NULL)
        return td_fail(err, TD_INVALID, "password is missing");
    struct user_new in = { email, name, ROLE_CUSTOMER, password };
    return user_insert_new(c, &in, out, err);
}

bool user_ensure_customer(struct td_core *c, const char *email, const char *name,
                          struct td_user *out, struct td_err *err)
{
    char *norm = NULL;
    if (!email_normalize(email, "sender address", &norm, err))
        return false;
    /* Two mails from a new sender may be ingested at once: try the lookup,
     * then the insert, and on a lost race the lookup again. */
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        struct td_err e;
        td_err_clear(&e);
        if (c->store->ops->user_get_by_email(c->store, norm, out, &e)) {
            ok = true;
            break;
        }
        if (e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            break;
        }
        /* A display name from a mail header may be anything: fall back to
         * the address rather than refuse the mail. */
        struct user_new in = { norm, name, ROLE_CUSTOMER, NULL };
        if (name != NULL) {
            char *clean = NULL;
            if (!text_line(name, "name", CORE_MAX_NAME, true, &clean, NULL))
                in.name = NULL;
            free(clean);
        }
        if (user_insert_new(c, &in, out, &e)) {
            ok = true;
            break;
        }
        if (e.code != TD_CONFLICT) {
            if (err)
                *err = e;
            break;
        }
    }
    if (!ok && err && err->code == TD_OK)
        td_fail(err, TD_UNAVAILABLE, "could not create the customer %s", norm);
    free(norm);
    return ok;
}

bool user_get(struct td_core *c, const char *id, struct td_user *out, struct td_err *err)
{
    if (!id_valid(id))
        return td_fail(err, TD_NOT_FOUND, "user not found");
    if (!c->store->ops->user_get(c->store, id, out, err)) {
        if (err && err->code == TD_NOT_FOUND)
            td_fail(err, TD_NOT_FOUND, "user %s not found", id);
        return false;
    }
    return true;
}

bool user_find_by_email(struct td_core *c, const char *email, struct td_user *out,
                        struct td_err *err)
{
    char *norm = NULL;
    if (!email_normalize(email, "email", &norm, err))
        return false;
    bool ok = c->store->ops->user_get_by_email(c->store, norm, out, err);
    if (!ok && err && err->code == TD_NOT_FOUND)
        td_fail(err, TD_NOT_FOUND, "no user with email %s", norm);
    free(norm);
    return ok;
}

bool user_authenticate(struct td_core *c, const char *email, const char *password,
                       struct td_user *out, struct td_err *err)
{
    struct td_user u;
    memset(&u, 0, sizeof u);
    char *norm = NULL;
    bool found = false;
    if (email_normalize(email, "email", &norm, NULL)) {
        struct td_err e;
        found = c->store->ops->user_get_by_email(c->store, norm, &u, &e);
        if (!found && e.code != TD_NOT_FOUND) {
            free(norm);
            if (err)
                *err = e;
            return false;
        }
    }
    free(norm);
    /* Always verify (against a dummy when there is no hash): equal time. */
    bool match = password_verify(found ? u.pw_hash : NULL, password);
    if (!found || !match || u.disabled) {
        user_clear(&u);
        return td_fail(err, TD_UNAUTHORIZED, "email or password is wrong, or the account is disabled");
    }
    *out = u;
    return true;
}

/* Bumped after every user change this process makes: readers that keep
 * users for a moment (api/user_cache.c) drop what they had. */
static _Atomic uint64_t user_gen;

uint64_t user_generation(void)
{
    return atomic_load_explicit(&user_gen, memory_order_acquire);
}

void user_generation_bump(void)
{
    atomic_fetch_add_explicit(&user_gen, 1, memory_order_release);
}

/* Reads the target, lets change() modify it, writes it back. */
static bool user_modify(struct td_core *c, const char *id, bool bump_tokens,
                        bool (*change)(struct td_core *, struct td_user *, const void *,
                                       struct td_err *),
                        const void *arg, struct td_err *err)
{
    struct td_user u;
    if (!user_get(c, id, &u, err))
        return false;
    bool ok = change(c, &u, arg, err);
    if (ok) {
        u.updated = td_now();
        if (bump_tokens)
            u.token_version++;
        ok = c->store->ops->user_update(c->store, &u, err);
        if (ok)
            atomic_fetch_add_explicit(&user_gen, 1, memory_order_release);
    }
    user_clear(&u);
    return ok;
}

static bool change_password(struct td_core *c, struct td_user *u, const void *arg,
                            struct td_err *err)
{
    char *hash = NULL;
    if (!password_hash(arg, c->pw_cost, &hash, err))
        return false;
    free(u->pw_hash);
    u->pw_hash = hash;
    return true;
}

static bool change_role(struct td_core *c, struct td_user *u, const void *arg, struct td_err *err)
{
    (void)c;
    (void)err;
    u->role = *(const enum td_role *)arg;
    return true;
}

static bool change_disabled(struct td_core *c, struct td_user *u, const void *arg,
                            struct td_err *err)
{
    (void)c;
    (void)err;
    u->disabled = *(const bool *)arg;
    return true;
}

bool user_set_password(struct td_core *c, const struct td_user *actor, const char *id,
                       const char *password, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (actor != NULL && strcmp(actor->id, id) != 0 && !policy_manage_users(actor, err))
        return false;
    /* A new password also ends every session made with the old one. */
    return user_modify(c, id, true, change_password, password, err);
}

bool user_set_role(struct td_core *c, const struct td_user *actor, const char *id,
                   enum td_role role, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    if ((unsigned)role > ROLE_ADMIN)
        return td_fail(err, TD_INVALID, "unknown role");
    if (actor != NULL && strcmp(actor->id, id) == 0 && role != ROLE_ADMIN)
        return td_fail(err, TD_FORBIDDEN, "admins cannot demote themselves; ask another admin");
    return user_modify(c, id, true, change_role, &role, err);
}

bool user_set_disabled(struct td_core *c, const struct td_user *actor, const char *id,
                       bool disabled, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    if (actor != NULL && strcmp(actor->id, id) == 0 && disabled)
        return td_fail(err, TD_FORBIDDEN, "admins cannot disable themselves; ask another admin");
    return user_modify(c, id, true, change_disabled, &disabled, err);
}

bool user_list(struct td_core *c, const struct td_user *actor, int role,
               struct td_user_list *out, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    return c->store->ops->user_list(c->store, role, out, err);
}

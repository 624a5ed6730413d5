/* scope.c - see scope.h. */
#include "scope.h"
#include "group.h"
#include "id.h"
#include "policy.h"
#include "user.h"

#include <string.h>

bool scope_restricted(const struct td_user *actor)
{
    return actor != NULL && actor->role == ROLE_AGENT && actor->restricted;
}

bool scope_groups(struct store *st, const char *user_id, struct strv *out, struct td_err *err)
{
    return group_keys_of(st, user_id, out, err);
}

/* in scope, or not (with *failed when the store could not tell). */
static bool in_scope(struct store *st, const struct td_user *actor, const struct td_ticket *t,
                     bool *failed, struct td_err *err)
{
    *failed = false;
    if (!scope_restricted(actor) || strcmp(t->assignee_id, actor->id) == 0)
        return true;
    struct strv members = STRV_INIT;
    bool found = false;
    if (!group_members_of(st, t->queue, &members, &found, err)) {
        *failed = true;
        return false;
    }
    bool ok = strv_contains(&members, actor->id);
    strv_clear(&members);
    return ok;
}

bool scope_check(struct store *st, const struct td_user *actor, const struct td_ticket *t,
                 struct td_err *err)
{
    bool failed;
    if (in_scope(st, actor, t, &failed, err))
        return true;
    if (failed)
        return false;
    /* Not "forbidden": the agent must not learn the ticket exists. */
    return td_fail(err, TD_NOT_FOUND, "ticket #%lld not found", (long long)t->number);
}

bool scope_allows(struct store *st, const struct td_user *actor, const struct td_ticket *t)
{
    bool failed;
    return in_scope(st, actor, t, &failed, NULL);
}

bool scope_set_restricted(struct td_core *c, const struct td_user *actor, const char *user_id,
                          bool restricted, struct td_err *err)
{
    if (!policy_manage_users(actor, err))
        return false;
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    struct td_user u;
    if (!c->store->ops->user_get(c->store, user_id, &u, err))
        return false;
    bool ok = true;
    if (u.role != ROLE_AGENT)
        ok = td_fail(err, TD_INVALID, "restricted: only agents can be restricted to their groups");
    else if (u.restricted != restricted) {
        u.restricted = restricted;
        u.updated = td_now();
        ok = c->store->ops->user_update(c->store, &u, err);
        if (ok)
            user_generation_bump(); /* cached copies (api/user_cache.c) go */
    }
    user_clear(&u);
    return ok;
}

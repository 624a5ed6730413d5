/* follower.c - see follower.h. */
#include "follower.h"
#include "id.h"
#include "participant.h"
#include "policy.h"

#include <string.h>

static bool may_follow(struct td_core *c, const struct td_user *actor, const char *user_id,
                       struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (!policy_is_staff(actor))
        return td_fail(err, TD_FORBIDDEN, "only agents follow tickets");
    if (user_id == NULL || !id_valid(user_id))
        return td_fail(err, TD_NOT_FOUND, "no such user");
    struct td_user u;
    if (!c->store->ops->user_get(c->store, user_id, &u, err))
        return false;
    bool staff = u.role != ROLE_CUSTOMER && !u.disabled;
    user_clear(&u);
    if (!staff)
        return td_fail(err, TD_INVALID, "user_id: only active agents and admins follow tickets");
    return true;
}

bool follower_add(struct td_core *c, const struct td_user *actor, int64_t number,
                  const char *user_id, struct td_ticket *out, struct td_err *err)
{
    if (!may_follow(c, actor, user_id, err))
        return false;
    struct strv ids = STRV_INIT;
    strv_push(&ids, user_id);
    bool ok = participant_add(c, actor, number, &ids, out, err);
    strv_clear(&ids);
    return ok;
}

bool follower_remove(struct td_core *c, const struct td_user *actor, int64_t number,
                     const char *user_id, struct td_ticket *out, struct td_err *err)
{
    if (!may_follow(c, actor, user_id, err))
        return false;
    return participant_remove(c, actor, number, user_id, out, err);
}

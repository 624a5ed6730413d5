/* policy.c - see policy.h. */
#include "policy.h"

#include <string.h>

bool policy_is_staff(const struct td_user *actor)
{
    return actor == NULL || actor->role == ROLE_AGENT || actor->role == ROLE_ADMIN;
}

bool policy_active(const struct td_user *actor, struct td_err *err)
{
    if (actor != NULL && actor->disabled)
        return td_fail(err, TD_UNAUTHORIZED, "this account is disabled");
    return true;
}

bool policy_in_conversation(const struct td_user *actor, const struct td_ticket *t)
{
    return actor != NULL &&
           (strcmp(actor->id, t->requester_id) == 0 || strv_contains(&t->participants, actor->id));
}

bool policy_view_ticket(const struct td_user *actor, const struct td_ticket *t,
                        struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    /* Participants (a colleague on Cc) read and answer the conversation
     * like the requester; internal notes stay hidden from all of them. */
    if (policy_is_staff(actor) || policy_in_conversation(actor, t))
        return true;
    /* Not "forbidden": a customer must not learn that ticket exists. */
    return td_fail(err, TD_NOT_FOUND, "ticket #%lld not found", (long long)t->number);
}

bool policy_open_ticket(const struct td_user *actor, const char *requester_id,
                        struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (policy_is_staff(actor) || requester_id == NULL || requester_id[0] == '\0' ||
        strcmp(actor->id, requester_id) == 0)
        return true;
    return td_fail(err, TD_FORBIDDEN, "customers can only open tickets for themselves");
}

bool policy_comment(const struct td_user *actor, const struct td_ticket *t, bool internal,
                    struct td_err *err)
{
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (internal && !policy_is_staff(actor))
        return td_fail(err, TD_FORBIDDEN, "only agents can write internal notes");
    return true;
}

bool policy_set_status(const struct td_user *actor, const struct td_ticket *t,
                       enum td_status to, struct td_err *err)
{
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    /* A customer may close their own ticket, or reopen it. */
    if (to == STATUS_CLOSED || to == STATUS_OPEN)
        return true;
    return td_fail(err, TD_FORBIDDEN, "customers can only close or reopen their tickets, not set '%s'",
                   status_name(to));
}

bool policy_edit_ticket(const struct td_user *actor, const struct td_ticket *t,
                        const char *what, struct td_err *err)
{
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    return td_fail(err, TD_FORBIDDEN, "only agents can change the %s", what);
}

bool policy_assign(const struct td_user *actor, const struct td_ticket *t, struct td_err *err)
{
    return policy_edit_ticket(actor, t, "assignee", err);
}

bool policy_manage_users(const struct td_user *actor, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (actor == NULL || actor->role == ROLE_ADMIN)
        return true;
    return td_fail(err, TD_FORBIDDEN, "only admins can manage users");
}

bool policy_manage_participants(const struct td_user *actor, const struct td_ticket *t,
                                struct td_err *err)
{
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (policy_is_staff(actor) || strcmp(actor->id, t->requester_id) == 0)
        return true;
    return td_fail(err, TD_FORBIDDEN, "only the requester and agents can change who takes part");
}

bool policy_merge(const struct td_user *actor, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    return td_fail(err, TD_FORBIDDEN, "only agents can merge tickets");
}

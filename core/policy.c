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

bool policy_status_allowed(enum td_role role, enum td_status from, enum td_status to)
{
    if ((unsigned)from > STATUS_CLOSED || (unsigned)to > STATUS_CLOSED || from == to)
        return false;
    if (role == ROLE_AGENT || role == ROLE_ADMIN)
        return true; /* the workflow (workflow.c) still decides the edge */
    if (role != ROLE_CUSTOMER)
        return false;
    /* A customer may close their ticket, or reopen one that was resolved
     * or closed - nothing else: "open" on a new or pending ticket would
     * push it past triage, which is staff's call. */
    if (to == STATUS_CLOSED)
        return true;
    return to == STATUS_OPEN && (from == STATUS_RESOLVED || from == STATUS_CLOSED);
}

bool policy_set_status(const struct td_user *actor, const struct td_ticket *t,
                       enum td_status to, struct td_err *err)
{
    if (!policy_view_ticket(actor, t, err))
        return false;
    if (policy_is_staff(actor) || policy_status_allowed(actor->role, t->status, to))
        return true;
    if (to == STATUS_OPEN)
        return td_fail(err, TD_FORBIDDEN,
                       "customers can only reopen a resolved or closed ticket, not a '%s' one",
                       status_name(t->status));
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

bool policy_read_user(const struct td_user *actor, const char *user_id, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (actor == NULL || policy_is_staff(actor) || strcmp(actor->id, user_id) == 0)
        return true;
    return td_fail(err, TD_NOT_FOUND, "no such user");
}

bool policy_list_staff(const struct td_user *actor, struct td_err *err)
{
    if (!policy_active(actor, err))
        return false;
    if (policy_is_staff(actor))
        return true;
    return td_fail(err, TD_FORBIDDEN, "only staff can list agents");
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

/* policy.h - role rules: who may see and do what. The only place such
 * decisions are made, so mail and HTTP cannot disagree.
 *
 * Each check returns true or fails with TD_NOT_FOUND when the actor may
 * not even know the ticket exists (a customer asking for someone else's
 * ticket), TD_FORBIDDEN when they may see it but not do this, and
 * TD_UNAUTHORIZED for a disabled actor. A NULL actor is the system
 * (command line, internal jobs) and may do everything.
 *
 * A customer sees a ticket they requested or take part in (participants,
 * core/participant.h): its public comments and history, not its
 * internal notes. */
#ifndef TD_POLICY_H
#define TD_POLICY_H

#include <stdbool.h>

#include "err.h"
#include "model.h"

bool policy_is_staff(const struct td_user *actor); /* agent or admin (or system) */
bool policy_active(const struct td_user *actor, struct td_err *err);
bool policy_view_ticket(const struct td_user *actor, const struct td_ticket *t,
                        struct td_err *err);
bool policy_open_ticket(const struct td_user *actor, const char *requester_id,
                        struct td_err *err);
bool policy_comment(const struct td_user *actor, const struct td_ticket *t, bool internal,
                    struct td_err *err);
/* The role rule for a status change from -> to, whatever the workflow
 * says (both must allow it): staff any, a customer only to closed, or
 * to open from resolved or closed (a reopen). from == to: false. */
bool policy_status_allowed(enum td_role role, enum td_status from, enum td_status to);
bool policy_set_status(const struct td_user *actor, const struct td_ticket *t,
                       enum td_status to, struct td_err *err);
/* Priority, subject, tags: staff only. */
bool policy_edit_ticket(const struct td_user *actor, const struct td_ticket *t,
                        const char *what, struct td_err *err);
bool policy_assign(const struct td_user *actor, const struct td_ticket *t, struct td_err *err);
bool policy_manage_users(const struct td_user *actor, struct td_err *err);
/* Another user's id, name, email and role (the staff directory, e.g. an
 * assignee picker): staff see everyone's, a customer only their own
 * (others are TD_NOT_FOUND: not even whether they exist). */
bool policy_read_user(const struct td_user *actor, const char *user_id, struct td_err *err);
/* Listing staff (agents and admins): staff only. */
bool policy_list_staff(const struct td_user *actor, struct td_err *err);
/* The requester or a participant of t (never NULL, the system). */
bool policy_in_conversation(const struct td_user *actor, const struct td_ticket *t);
/* Adding and removing participants: staff and the requester;
 * participants may see the list (policy_view_ticket). */
bool policy_manage_participants(const struct td_user *actor, const struct td_ticket *t,
                                struct td_err *err);
bool policy_merge(const struct td_user *actor, struct td_err *err);

#endif

/* scope.h - what an agent an admin restricted may see (issue 14).
 *
 * Agents see every group's tickets unless an admin sets their
 * `restricted` flag (td_user.restricted, PATCH /users/{id}, `ticketd user
 * restrict`). A restricted agent sees, lists, searches, changes, answers
 * and hears of only the tickets in groups they are a member of
 * (core/group.h), plus the tickets assigned to them. Everyone else -
 * customers (policy.h decides for them), unrestricted agents, admins and
 * the system - is out of this file's scope.
 *
 * A ticket out of scope is TD_NOT_FOUND, like a customer asking for
 * someone else's: the agent does not learn that it exists. The checks
 * live in core (ticket_get, ticket_mutate, ticket_list, the planner), so
 * every adapter - HTTP, the event stream, mail - gets them. */
#ifndef TD_SCOPE_H
#define TD_SCOPE_H

#include <stdbool.h>

#include "core.h"
#include "err.h"
#include "model.h"
#include "store/store.h"

/* A restricted agent (not an admin, not disabled-ness: policy.h). */
bool scope_restricted(const struct td_user *actor);

/* True when actor may see t as far as groups go; TD_NOT_FOUND else. */
bool scope_check(struct store *st, const struct td_user *actor, const struct td_ticket *t,
                 struct td_err *err);

/* The same, without an error: for filters (the event stream, lists). */
bool scope_allows(struct store *st, const struct td_user *actor, const struct td_ticket *t);

/* Admins (and the system) restrict an agent or lift it; TD_INVALID for
 * a user who is no agent (admins see everything, customers their own). */
bool scope_set_restricted(struct td_core *c, const struct td_user *actor, const char *user_id,
                          bool restricted, struct td_err *err);

/* The keys of the groups user_id is a member of, appended to *out. */
bool scope_groups(struct store *st, const char *user_id, struct strv *out, struct td_err *err);

#endif

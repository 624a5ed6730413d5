/* follower.h - agents who follow a ticket (issue 14).
 *
 * A follower is a participant (core/participant.h) with a staff role:
 * participants already get a ticket's updates, and the planner sends a
 * staff participant the agents' notices (notify_plan.c), so following
 * is a participant entry, not a second list. These calls only add the
 * rules of following: staff follow (themselves or, for another agent,
 * any staff member may add them), customers cannot, and only agents and
 * admins can be followers. Each change is a participant history event. */
#ifndef TD_FOLLOWER_H
#define TD_FOLLOWER_H

#include <stdbool.h>

#include "core.h"
#include "model.h"

/* TD_FORBIDDEN for a customer actor; TD_INVALID when user_id is not an
 * active agent or admin. Following twice is no error. */
bool follower_add(struct td_core *c, const struct td_user *actor, int64_t number,
                  const char *user_id, struct td_ticket *out, struct td_err *err);
/* TD_NOT_FOUND when user_id does not follow the ticket. */
bool follower_remove(struct td_core *c, const struct td_user *actor, int64_t number,
                     const char *user_id, struct td_ticket *out, struct td_err *err);

#endif

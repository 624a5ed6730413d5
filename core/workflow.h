/* workflow.h - the ticket status workflow, written down in one place. */
#ifndef TD_WORKFLOW_H
#define TD_WORKFLOW_H

#include <stdbool.h>

#include "err.h"
#include "model.h"

/* True if a ticket may move from -> to (from == to is not a transition). */
bool workflow_allowed(enum td_status from, enum td_status to);
/* Same, but explains a refusal in err (TD_INVALID). */
bool workflow_check(enum td_status from, enum td_status to, struct td_err *err);

/* Automatic moves caused by a public reply (internal notes move nothing):
 * returns the status the ticket should take, or `current` for none. */
enum td_status workflow_after_reply(enum td_status current, bool by_staff);

#endif

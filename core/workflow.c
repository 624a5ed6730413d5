/* workflow.c - ticket status transitions.
 *
 *            +--------> pending <--------+
 *            |             |             |
 *   new ---> open <--------+             |
 *    |        |  ^                       |
 *    |        v  |                       |
 *    +----> resolved ----> closed -------+ (reopen goes to open)
 *
 * Every status may be closed directly. resolved and closed can be
 * reopened (-> open); nothing goes back to new. */
#include "workflow.h"

#define S(x) (1u << (x))

/* allowed[from] is the set of statuses reachable from `from`. */
static const unsigned allowed[] = {
    [STATUS_NEW] = S(STATUS_OPEN) | S(STATUS_PENDING) | S(STATUS_RESOLVED) | S(STATUS_CLOSED),
    [STATUS_OPEN] = S(STATUS_PENDING) | S(STATUS_RESOLVED) | S(STATUS_CLOSED),
    [STATUS_PENDING] = S(STATUS_OPEN) | S(STATUS_RESOLVED) | S(STATUS_CLOSED),
    [STATUS_RESOLVED] = S(STATUS_OPEN) | S(STATUS_CLOSED),
    [STATUS_CLOSED] = S(STATUS_OPEN),
};

bool workflow_allowed(enum td_status from, enum td_status to)
{
    if ((unsigned)from > STATUS_CLOSED || (unsigned)to > STATUS_CLOSED)
        return false;
    return (allowed[from] & S(to)) != 0;
}

bool workflow_check(enum td_status from, enum td_status to, struct td_err *err)
{
    if (workflow_allowed(from, to))
        return true;
    return td_fail(err, TD_INVALID, "a ticket cannot go from status '%s' to '%s'", status_name(from),
                   status_name(to));
}

enum td_status workflow_after_reply(enum td_status current, bool by_staff)
{
    if (by_staff)
        /* The first answer opens a new ticket; otherwise staff replies
         * leave the status to the agent. */
        return current == STATUS_NEW ? STATUS_OPEN : current;
    /* A customer writing again means the ticket needs attention. */
    if (current == STATUS_PENDING || current == STATUS_RESOLVED || current == STATUS_CLOSED)
        return STATUS_OPEN;
    return current;
}

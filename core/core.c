/* core.c - see core.h. */
#include "core.h"

#include <sodium.h>
#include <string.h>

bool core_init(struct td_err *err)
{
    if (sodium_init() < 0)
        return td_fail(err, TD_INTERNAL, "libsodium failed to initialise");
    return true;
}

void core_emit(struct td_core *c, const struct td_user *actor, const struct td_ticket *t,
               const struct td_event *events, size_t n)
{
    if (c->on_events)
        c->on_events(c, actor, t, events, n);
    if (c->observe)
        c->observe(c, actor, t, events, n);
}

void core_defaults(struct td_core *c, struct store *st)
{
    memset(c, 0, sizeof *c);
    c->store = st;
    c->max_body = CORE_DEFAULT_MAX_BODY;
    c->max_attachment = CORE_DEFAULT_MAX_ATTACHMENT;
    c->pw_cost = PASSWORD_COST_INTERACTIVE;
    c->agents_may_reclaim = false;
}

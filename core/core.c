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

void core_defaults(struct td_core *c, struct store *st)
{
    memset(c, 0, sizeof *c);
    c->store = st;
    c->max_body = CORE_DEFAULT_MAX_BODY;
    c->max_attachment = CORE_DEFAULT_MAX_ATTACHMENT;
    c->pw_cost = PASSWORD_COST_INTERACTIVE;
    c->agents_may_reclaim = false;
}

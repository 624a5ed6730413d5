/* agent_guard.h - what becomes of mail that names an agent in From
 * without proof (agent_guard.c). */
#ifndef MGW_AGENT_GUARD_H
#define MGW_AGENT_GUARD_H

#include "core/model.h"

struct job;

/* Quarantines j with reason "untrusted_agent" and queues the agent (its
 * account's address, not the mail's) the how-to-reply notice, at most
 * once an hour per agent. */
void agent_guard_untrusted(struct job *j, const struct td_user *agent);

#endif

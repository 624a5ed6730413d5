/* agent_guard.c - a mail whose From names an agent but that proves
 * nothing (no valid reply token, no pass in the Authentication-Results
 * of a trusted authserv-id; trust.h).
 *
 * Anyone can write an agent's address into From. Such a mail used to be
 * taken as a customer's - with the agent's account as the requester, so
 * a forger could open tickets in the agent's name (and learn from the
 * acknowledgement what the agent's tickets look like). Now it becomes
 * nothing: it goes to the quarantine with the reason "untrusted_agent",
 * where an admin can read it, and the agent is told once an hour at most
 * how to write so that their mail counts (reply to a notification: its
 * signed Reply-To is the proof). The notice goes to the address of the
 * agent's account in the store - never to the suspicious mail's From or
 * Reply-To, which the forger chose - through the durable outbox, as an
 * account mail (no ticket, no reply token). The once-an-hour limit is the
 * outbox row's id, derived from the agent and the hour (notify.h
 * notify_account_mail once_key), so it holds across processes. */
#include "agent_guard.h"
#include "ingest_int.h"

#include "core/id.h"
#include "core/log.h"
#include "core/notify.h"

#include <jansson.h>
#include <stdio.h>

void agent_guard_untrusted(struct job *j, const struct td_user *agent)
{
    log_event(LOG_WARN, "mail_untrusted_agent", LF_S("sender", j->sender), LF_S("key", j->key),
              LF_S("agent", agent->id));
    ingest_quarantine(j,
                      "untrusted_agent: From names the agent %s, but the mail has no valid reply "
                      "token and no trusted Authentication-Results",
                      agent->email);
    if (j->src->retry || notify_of(j->c->core) == NULL)
        return; /* an admin's retry was told already; no mail without a support address */
    char once[TD_ID_LEN + 48];
    snprintf(once, sizeof once, "%s:%lld", agent->id, (long long)(td_now() / 3600000));
    json_t *vars = json_object();
    json_object_set_new(vars, "mail_subject",
                        json_string(j->parsed && j->m.subject ? j->m.subject : "(no subject)"));
    struct td_err e;
    td_err_clear(&e);
    bool queued = false;
    if (!notify_account_mail(j->c->core, agent, NA_AGENT_UNTRUSTED, vars, once, &queued, &e))
        log_event(LOG_ERROR, "agent_notice_failed", LF_S("agent", agent->id), LF_S("msg", e.msg));
    else if (queued)
        log_event(LOG_INFO, "agent_notice_sent", LF_S("agent", agent->id));
}

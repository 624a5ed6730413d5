/* sla_escalate.h - acting on a due time that passed (core/sla.h).
 *
 * For each ticket whose first response or resolution is due at or
 * before now, not met, with its clock running, and not yet escalated for
 * that due time: record an 'escalated' history event (new_value
 * "first_response" or "resolution", old_value the due time), raise the
 * priority one step when the policy says raise_priority (keeping the due
 * times: one escalation per due time, not a cascade through the
 * stricter policies), and mail the policy's escalate_to - the members of
 * the policy's group, else of the ticket's ("group": core/group.h; every
 * active agent and admin when there is no such group or it has no
 * members) or a lead's address - the sla_escalated template.
 *
 * Exactly once: the escalation mark (sla.escalated_*) is written in the
 * ticket's own compare-and-set on its version, with the history event,
 * so of two runs at once - two threads, two processes on one MongoDB -
 * one writes and the other, retrying on the new version, finds the mark
 * and does nothing. A run repeated later finds nothing due. A due time
 * that moves (priority, queue, pending) is a new due time and may be
 * escalated again once it passes. A mail the outbox cannot take at that
 * moment (sla_escalation_mail_failed in the log): on a store with
 * batches (SQLite) the escalation is undone with it, in one transaction,
 * and the next run escalates and mails again; on MongoDB the escalation
 * stays written without the mail (the history event and the
 * ticket.escalated webhook remain).
 *
 * The caller is the scheduler (every N seconds, with its clock's now);
 * tests call it with chosen instants. */
#ifndef TD_SLA_ESCALATE_H
#define TD_SLA_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "model.h"

/* Escalates everything due by now. *escalated (may be NULL) counts the
 * escalation events written by this call. False on a store failure (what
 * was escalated before it stays escalated). */
bool sla_escalate_run(struct td_core *c, td_time now, size_t *escalated, struct td_err *err);
bool sla_escalate_due(struct td_core *c, td_time now, struct td_err *err);

/* Formats a time (ms) as RFC 3339 UTC, "2026-12-07T11:00:00Z". */
void sla_time_format(td_time t, char out[32]);

#endif

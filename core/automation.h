/* automation.h - what ticketd does by itself as time passes (issue 14),
 * as jobs of the scheduler (core/scheduler.h):
 *
 *   reminder    a ticket pending (waiting on the customer) and unchanged
 *               for pending_reminder_days gets a reminder: an
 *               EVENT_REMINDER in its history by the system, which the
 *               notification planner turns into the pending_reminder mail
 *               to the requester. The reminder changes the ticket, so the
 *               next one comes pending_reminder_days later, up to
 *               pending_reminder_max reminders since the ticket last
 *               became pending (counted from its history).
 *   auto-close  a ticket resolved and unchanged for autoclose_days
 *               becomes closed by the system (EVENT_STATUS; the planner
 *               sends status_closed).
 *
 * "Unchanged" is the ticket's updated time: a comment or any change on
 * a pending or resolved ticket starts its wait again.
 *
 * Idempotent across restarts and processes: each change is a
 * compare-and-set on the ticket's version (ticket_mutate), re-checked on
 * the current ticket - still in that status, still unchanged since before
 * the deadline, still under the reminder count - so two processes or a
 * re-run never close twice or remind twice. Candidates come from the
 * store's ticket_idle (an index on (status, updated) on both stores), at
 * most AUTOMATION_BATCH per run; a cursor carries on from there at the
 * next run, so tickets that stay candidates (reminded M times already)
 * never hold back the others. */
#ifndef TD_AUTOMATION_H
#define TD_AUTOMATION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core.h"
#include "model.h"

#define AUTOMATION_DAY_MS ((td_time)86400000)
#define AUTOMATION_BATCH 200

struct automation_config {
    int64_t pending_reminder_days; /* 0 = no reminders */
    int64_t pending_reminder_max;
    int64_t autoclose_days;        /* 0 = no auto-close */
    int64_t tick_ms;               /* the scheduler's tick and these jobs' period */
    int64_t lease_ms;              /* the scheduler lease (> tick_ms) */
};

/* [automation] pending_reminder_days (default 3), pending_reminder_max
 * (2), autoclose_days (7), tick_ms (60000), lease_ms (3 * tick_ms). */
bool automation_config_load(struct td_config *cfg, struct automation_config *out,
                            struct td_err *err);

/* The jobs' state: the config (copied) and their cursors. */
struct automation;
struct automation *automation_new(const struct automation_config *ac);
void automation_free(struct automation *a); /* NULL-safe */

/* The jobs, for the scheduler (ctx = the struct automation). Each
 * returns false only when the store fails; *done counts (may be NULL). */
bool automation_remind(void *ctx, struct td_core *c, td_time now, struct td_err *err);
bool automation_autoclose(void *ctx, struct td_core *c, td_time now, struct td_err *err);

/* Totals since automation_new (tests, logs). */
int64_t automation_reminded(const struct automation *a);
int64_t automation_closed(const struct automation *a);

struct sched;
/* Adds the enabled jobs ("pending_reminder", "autoclose", leased) to s. */
bool automation_schedule(struct automation *a, struct sched *s, struct td_err *err);

#endif

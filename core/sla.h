/* sla.h - service level agreements: policies from the config, and the
 * due times they give a ticket (struct td_sla in model.h).
 *
 *   [calendar office]                 [sla urgent-support]
 *   timezone = Europe/Berlin          priority = urgent
 *   mon = 09:00-17:00                 group = support        ; optional
 *   ...                               first_response = 1h
 *   holidays = 2026-12-25, 2026-12-26 resolution = 1d
 *                                     calendar = office      ; optional
 *                                     escalate_to = group    ; or an address
 *                                     raise_priority = true
 *
 * A ticket gets the policy of its priority and queue (the group is the
 * queue's key): one naming the queue wins over one for every queue.
 * Targets are business time of the policy's calendar (round the clock
 * in UTC without one); a day ("d") is the calendar's average working day
 * (8h for Monday to Friday 09:00-17:00, 24h round the clock), so "2d"
 * means two working days.
 *
 * The clock of a ticket (core/sla.c, called by ticket.c on every change):
 * - opening sets the due times from the creation time;
 * - a change of priority or queue recomputes them from the creation time
 *   with the new policy (no policy: none);
 * - the first public reply by staff meets the first response;
 * - pending (waiting for the customer) stops the clock: leaving pending
 *   pushes both due times by the business time spent pending;
 * - resolved or closed meets the resolution (reopening runs it again).
 * Escalation (core/sla_escalate.h) acts on a due time that passed. */
#ifndef TD_SLA_H
#define TD_SLA_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"
#include "err.h"
#include "model.h"
#include "strv.h"

struct store;

struct sla_policy {
    char *name;                  /* of its [sla NAME] section */
    enum td_priority priority;
    char *group;                 /* a queue key; NULL = every queue */
    int64_t first_response_ms;   /* business ms; 0 = no target */
    int64_t resolution_ms;
    const struct calendar *cal;  /* borrowed from the table; NULL = round the clock */
    char *escalate_to;           /* "group", an address, or NULL = history only */
    bool raise_priority;
};

/* Appends the user ids of the members of the group keyed queue to *out
 * (*found: whether such a group exists): group_members_of (core/group.h)
 * unless sla_set_members replaced it (tests). */
typedef bool (*sla_members_fn)(struct store *st, const char *queue, struct strv *out,
                               bool *found, struct td_err *err);

struct sla_table;

/* Reads every [calendar NAME] and [sla NAME] section. No [sla] section:
 * *out is an empty table (no ticket gets due times). TD_INVALID naming
 * the section and key on anything wrong: a bad duration, time, date or
 * zone, an unknown calendar, two policies for the same priority and
 * group. The caller owns *out (sla_table_free). */
bool sla_config_load(struct td_config *cfg, struct sla_table **out, struct td_err *err);
/* A table from a config text (tests). */
bool sla_config_load_string(const char *text, struct sla_table **out, struct td_err *err);
void sla_table_free(struct sla_table *tab); /* NULL-safe */
size_t sla_table_count(const struct sla_table *tab);
void sla_set_members(struct sla_table *tab, sla_members_fn fn);
sla_members_fn sla_members(const struct sla_table *tab);

/* The policy for a ticket of this priority in this queue, or NULL. */
const struct sla_policy *sla_policy_for(const struct sla_table *tab, enum td_priority priority,
                                        const char *queue);

/* Parses "4h", "30m", "2d", "1d4h", "90s" (business time) into ms and
 * whole days apart (a day's length is the calendar's). False when
 * malformed, zero or over a year. */
bool sla_duration_parse(const char *s, int64_t *ms, int64_t *days);

/* ---- the clock (tab may be NULL: no SLAs, nothing changes) ---- */

/* A new ticket (t->created, priority, queue set): its due times. */
void sla_open(const struct sla_table *tab, struct td_ticket *t);

/* What a ticket was before a change, for sla_track. */
struct sla_before {
    enum td_priority priority;
    enum td_status status;
    char *queue; /* owned; sla_before_clear */
};
void sla_before_take(struct sla_before *b, const struct td_ticket *t);
void sla_before_clear(struct sla_before *b);

/* After a change made at now: recomputes, pauses, resumes, meets the
 * resolution. keep_dues: a change of priority or queue keeps the due
 * times (an escalation raising the priority must not make the ticket
 * due at once under the stricter policy, and escalate again: one step
 * per due time). Returns whether t->sla changed. */
bool sla_track(const struct sla_table *tab, const struct sla_before *b, struct td_ticket *t,
               td_time now, bool keep_dues);

/* A public reply by staff at now: meets the first response (once).
 * Returns whether t->sla changed. */
bool sla_first_reply(struct td_ticket *t, td_time now);

/* Sets next_due and next_escalation from the rest of t->sla and the
 * status (see model.h). */
void sla_refresh(struct td_ticket *t);

#endif

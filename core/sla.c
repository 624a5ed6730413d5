/* sla.c - a ticket's SLA clock (sla.h; policies in sla_config.c).
 *
 * Due times are always derived from the creation time, the policy's
 * targets and the business time spent pending so far (paused_ms):
 *   due = created + target + paused_ms   (in business time)
 * so recomputing after a change of priority or queue, and resuming after
 * pending, are the same computation, and adding business time is
 * additive, which makes "push by the time spent pending" exact. */
#include "sla.h"
#include "mem.h"

#include <string.h>

static td_time due_after(const struct sla_policy *p, td_time start, int64_t ms)
{
    if (ms <= 0)
        return 0;
    if (p->cal == NULL)
        return start + ms;
    td_time out = 0;
    struct td_err e;
    /* Fails only for a calendar without hours, which loading refused. */
    return calendar_add(p->cal, start, ms, &out, &e) ? out : 0;
}

static int64_t spent(const struct sla_policy *p, td_time from, td_time to)
{
    if (to <= from)
        return 0;
    if (p == NULL || p->cal == NULL)
        return to - from;
    return calendar_between(p->cal, from, to);
}

static void compute_dues(const struct sla_table *tab, struct td_ticket *t)
{
    const struct sla_policy *p = sla_policy_for(tab, t->priority, t->queue);
    struct td_sla *s = &t->sla;
    if (p == NULL) {
        s->first_response_due = s->resolution_due = 0;
        return;
    }
    s->first_response_due = p->first_response_ms ? due_after(p, t->created,
                                                             p->first_response_ms + s->paused_ms)
                                                 : 0;
    s->resolution_due = p->resolution_ms ? due_after(p, t->created,
                                                     p->resolution_ms + s->paused_ms)
                                         : 0;
}

static bool finished(enum td_status st)
{
    return st == STATUS_RESOLVED || st == STATUS_CLOSED;
}

static td_time earliest(td_time a, td_time b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

void sla_refresh(struct td_ticket *t)
{
    struct td_sla *s = &t->sla;
    s->next_due = s->next_escalation = 0;
    /* A pending ticket waits for its customer (also one that was pending
     * before SLAs were configured, so paused_since is 0). */
    if (t->status == STATUS_PENDING || s->paused_since != 0 || finished(t->status) ||
        t->merged_into > 0)
        return;
    td_time fr = s->first_responded == 0 ? s->first_response_due : 0;
    td_time res = s->resolution_due;
    s->next_due = earliest(fr, res);
    s->next_escalation = earliest(fr != s->escalated_first_response ? fr : 0,
                                  res != s->escalated_resolution ? res : 0);
}

void sla_open(const struct sla_table *tab, struct td_ticket *t)
{
    memset(&t->sla, 0, sizeof t->sla);
    compute_dues(tab, t);
    if (t->status == STATUS_PENDING)
        t->sla.paused_since = t->created;
    sla_refresh(t);
}

void sla_before_take(struct sla_before *b, const struct td_ticket *t)
{
    b->priority = t->priority;
    b->status = t->status;
    b->queue = td_strdup(t->queue ? t->queue : "");
}

void sla_before_clear(struct sla_before *b)
{
    free(b->queue);
    b->queue = NULL;
}

bool sla_track(const struct sla_table *tab, const struct sla_before *b, struct td_ticket *t,
               td_time now, bool keep_dues)
{
    struct td_sla old = t->sla;
    struct td_sla *s = &t->sla;
    bool recompute = !keep_dues && (b->priority != t->priority ||
                                    strcmp(b->queue, t->queue ? t->queue : "") != 0);
    if (t->status == STATUS_PENDING && b->status != STATUS_PENDING && s->paused_since == 0)
        s->paused_since = now;
    if (t->status != STATUS_PENDING && s->paused_since != 0) {
        const struct sla_policy *p = sla_policy_for(tab, t->priority, t->queue);
        s->paused_ms += spent(p, s->paused_since, now);
        s->paused_since = 0;
        recompute = true;
    }
    if (finished(t->status) && s->resolved == 0)
        s->resolved = now;
    else if (!finished(t->status))
        s->resolved = 0;
    if (recompute && tab != NULL)
        compute_dues(tab, t);
    sla_refresh(t);
    return memcmp(&old, s, sizeof old) != 0;
}

bool sla_first_reply(struct td_ticket *t, td_time now)
{
    if (t->sla.first_responded != 0)
        return false;
    t->sla.first_responded = now;
    sla_refresh(t);
    return true;
}

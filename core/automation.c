/* automation.c - see automation.h. */
#include "automation.h"
#include "desk_metrics.h"
#include "log.h"
#include "mem.h"
#include "scheduler.h"
#include "ticket.h"

#include <stdio.h>
#include <string.h>

struct cursor { td_time updated; int64_t number; };

struct automation {
    struct automation_config cfg;
    struct cursor remind_at, close_at; /* where the next run carries on */
    int64_t reminded, closed;
};

bool automation_config_load(struct td_config *cfg, struct automation_config *out,
                            struct td_err *err)
{
    struct automation_config a;
    memset(&a, 0, sizeof a);
    if (!config_int(cfg, "automation", "pending_reminder_days", 3, 0, 3650,
                    &a.pending_reminder_days, err) ||
        !config_int(cfg, "automation", "pending_reminder_max", 2, 1, 100, &a.pending_reminder_max,
                    err) ||
        !config_int(cfg, "automation", "autoclose_days", 7, 0, 3650, &a.autoclose_days, err) ||
        !config_int(cfg, "automation", "tick_ms", 60000, 100, 3600000, &a.tick_ms, err) ||
        !config_int(cfg, "automation", "lease_ms", 0, 0, 86400000, &a.lease_ms, err))
        return false;
    if (a.lease_ms == 0)
        a.lease_ms = 3 * a.tick_ms;
    if (a.lease_ms <= a.tick_ms)
        return td_fail(err, TD_INVALID,
                       "[automation] lease_ms (%lld) must be longer than tick_ms (%lld)",
                       (long long)a.lease_ms, (long long)a.tick_ms);
    *out = a;
    return true;
}

struct automation *automation_new(const struct automation_config *ac)
{
    struct automation *a = td_calloc(1, sizeof *a);
    a->cfg = *ac;
    return a;
}

void automation_free(struct automation *a)
{
    free(a);
}

int64_t automation_reminded(const struct automation *a) { return a->reminded; }
int64_t automation_closed(const struct automation *a) { return a->closed; }

/* What a change is conditional on, checked on the current ticket inside
 * ticket_mutate (so again after a concurrent write). */
struct cond {
    enum td_status status;
    td_time before;    /* updated must still be before this */
    td_time now;
    int64_t max;       /* reminders: at most this many */
};

#define AUTOMATION_SKIP "automation: no longer due"

static bool still_due(const struct td_ticket *t, const struct cond *k, struct td_err *err)
{
    if (t->status != k->status || t->updated >= k->before || t->merged_into != 0)
        return td_fail(err, TD_CONFLICT, AUTOMATION_SKIP);
    return true;
}

/* Reminders since the ticket last changed status (or was created). */
static bool reminders_so_far(struct td_core *c, int64_t number, int64_t *n, struct td_err *err)
{
    struct td_event_list h = { NULL, 0 };
    if (!c->store->ops->history_list(c->store, number, &h, err))
        return false;
    *n = 0;
    for (size_t i = h.n; i-- > 0;) {
        if (h.v[i].kind == EVENT_STATUS || h.v[i].kind == EVENT_CREATED)
            break;
        if (h.v[i].kind == EVENT_REMINDER)
            (*n)++;
    }
    event_list_clear(&h);
    return true;
}

static bool apply_remind(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                         struct ticket_change *ch, const void *arg, struct td_err *err)
{
    const struct cond *k = arg;
    int64_t n = 0;
    if (!still_due(t, k, err) || !reminders_so_far(c, t->number, &n, err))
        return false;
    if (n >= k->max)
        return td_fail(err, TD_CONFLICT, AUTOMATION_SKIP);
    char which[24];
    snprintf(which, sizeof which, "%lld", (long long)(n + 1));
    ticket_change_add(ch, actor, t->number, EVENT_REMINDER, NULL, which);
    ch->ev[ch->n - 1].at = k->now;
    return true;
}

static bool apply_close(struct td_core *c, const struct td_user *actor, struct td_ticket *t,
                        struct ticket_change *ch, const void *arg, struct td_err *err)
{
    (void)c;
    const struct cond *k = arg;
    if (!still_due(t, k, err))
        return false;
    ticket_change_add(ch, actor, t->number, EVENT_STATUS, status_name(t->status),
                      status_name(STATUS_CLOSED));
    ch->ev[ch->n - 1].at = k->now;
    t->status = STATUS_CLOSED;
    return true;
}

/* One pass over the candidates from the cursor on: up to
 * AUTOMATION_BATCH tickets; the cursor goes back to the start once the
 * candidates run out. A ticket that is no longer due (changed meanwhile,
 * done by another process) is skipped; any other failure stops the run. */
static bool run_job(struct td_core *c, struct cursor *cur, const struct cond *k,
                    ticket_change_fn fn, int64_t *done, const char *job, struct td_err *err)
{
    struct store *st = c->store;
    if (st->ops->desk == NULL)
        return td_fail(err, TD_INTERNAL, "%s: the %s store cannot list idle tickets", job,
                       st->ops->name);
    struct td_idle_list l = { NULL, 0 };
    if (!st->ops->desk->ticket_idle(st, k->status, k->before, cur->updated, cur->number,
                                    AUTOMATION_BATCH, &l, err))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < l.n; i++) {
        struct td_err e;
        td_err_clear(&e);
        cur->updated = l.v[i].updated;
        cur->number = l.v[i].number;
        if (ticket_mutate_at(c, NULL, l.v[i].number, 0, k->now, fn, k, NULL, &e)) {
            (*done)++;
            desk_metrics_automation(job, 1);
            log_event(LOG_INFO, "automation", LF_S("job", job), LF_I("ticket", l.v[i].number));
        } else if (e.code != TD_CONFLICT && e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            ok = false;
        }
    }
    if (l.n < AUTOMATION_BATCH) /* ran out: start over next time */
        cur->updated = cur->number = 0;
    idle_list_clear(&l);
    return ok;
}

bool automation_remind(void *ctx, struct td_core *c, td_time now, struct td_err *err)
{
    struct automation *a = ctx;
    if (a->cfg.pending_reminder_days <= 0)
        return true;
    struct cond k = { STATUS_PENDING, now - a->cfg.pending_reminder_days * AUTOMATION_DAY_MS, now,
                      a->cfg.pending_reminder_max };
    return run_job(c, &a->remind_at, &k, apply_remind, &a->reminded, "pending_reminder", err);
}

bool automation_autoclose(void *ctx, struct td_core *c, td_time now, struct td_err *err)
{
    struct automation *a = ctx;
    if (a->cfg.autoclose_days <= 0)
        return true;
    struct cond k = { STATUS_RESOLVED, now - a->cfg.autoclose_days * AUTOMATION_DAY_MS, now, 0 };
    return run_job(c, &a->close_at, &k, apply_close, &a->closed, "autoclose", err);
}

bool automation_schedule(struct automation *a, struct sched *s, struct td_err *err)
{
    if (a->cfg.pending_reminder_days > 0) {
        struct sched_job j = { "pending_reminder", a->cfg.tick_ms, true, NULL, automation_remind,
                               a };
        if (!sched_add(s, &j, err))
            return false;
    }
    if (a->cfg.autoclose_days > 0) {
        struct sched_job j = { "autoclose", a->cfg.tick_ms, true, NULL, automation_autoclose, a };
        if (!sched_add(s, &j, err))
            return false;
    }
    return true;
}

/* scheduler.c - see scheduler.h.
 *
 * The last run of each job is kept in this process only: after a
 * takeover the new holder runs every job at once, which is right (the old
 * holder may have died just before) and harmless (jobs are idempotent). */
#include "scheduler.h"
#include "id.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

struct sched {
    struct td_core *core;
    char owner[128];
    td_time lease_ms;
    sched_clock_fn clock;
    void *clock_ctx;
    struct sched_job jobs[SCHED_MAX_JOBS];
    td_time last_run[SCHED_MAX_JOBS]; /* 0 = never in this process */
    size_t n;
    bool holding;                     /* held the lease at the last ask */
};

static td_time default_clock(void *ctx)
{
    (void)ctx;
    return td_now();
}

struct sched *sched_new(struct td_core *c, const char *owner, td_time lease_ms,
                        sched_clock_fn clock, void *clock_ctx)
{
    struct sched *s = td_calloc(1, sizeof *s);
    s->core = c;
    snprintf(s->owner, sizeof s->owner, "%s", owner ? owner : "");
    s->lease_ms = lease_ms > 0 ? lease_ms : 60000;
    s->clock = clock ? clock : default_clock;
    s->clock_ctx = clock_ctx;
    return s;
}

void sched_free(struct sched *s)
{
    if (s == NULL)
        return;
    struct store *st = s->core->store;
    if (s->holding && st->ops->desk != NULL) {
        /* Let another process take over now rather than after the TTL. */
        struct td_err err;
        td_err_clear(&err);
        if (!st->ops->desk->lease_release(st, SCHED_LEASE_NAME, s->owner, &err))
            log_event(LOG_WARN, "scheduler_release_failed", LF_S("error", err.msg));
    }
    free(s);
}

bool sched_add(struct sched *s, const struct sched_job *job, struct td_err *err)
{
    if (s->n >= SCHED_MAX_JOBS)
        return td_fail(err, TD_INVALID, "scheduler: at most %d jobs", SCHED_MAX_JOBS);
    if (job->name == NULL || job->every_ms <= 0 || (job->run == NULL) == (job->run_ctx == NULL))
        return td_fail(err, TD_INVALID, "scheduler: job %s is malformed",
                       job->name ? job->name : "(unnamed)");
    s->jobs[s->n] = *job;
    s->last_run[s->n] = 0;
    s->n++;
    return true;
}

td_time sched_now(const struct sched *s)
{
    return s->clock(s->clock_ctx);
}

/* Takes or renews the lease at now. False only when the store did not
 * answer (err filled); *held says whether this process holds it. */
static bool ask_lease(struct sched *s, td_time now, bool *held, struct td_err *err)
{
    struct store *st = s->core->store;
    *held = false;
    if (st->ops->desk == NULL)
        return td_fail(err, TD_INTERNAL, "scheduler: the %s store has no leases",
                       st->ops->name);
    struct td_err e;
    td_err_clear(&e);
    if (st->ops->desk->lease_acquire(st, SCHED_LEASE_NAME, s->owner, now, s->lease_ms, &e)) {
        if (!s->holding)
            log_event(LOG_INFO, "scheduler_lease_taken", LF_S("owner", s->owner));
        *held = s->holding = true;
        return true;
    }
    if (e.code == TD_CONFLICT) {
        if (s->holding)
            log_event(LOG_WARN, "scheduler_lease_lost", LF_S("owner", s->owner));
        s->holding = false;
        return true;
    }
    s->holding = false;
    if (err)
        *err = e;
    return false;
}

static bool due(const struct sched *s, size_t i, td_time now)
{
    return s->last_run[i] == 0 || now - s->last_run[i] >= s->jobs[i].every_ms;
}

bool sched_tick(struct sched *s, struct sched_tick_result *out, struct td_err *err)
{
    struct sched_tick_result r = { false, 0, 0 };
    td_time now = sched_now(s);
    bool held = false;
    bool reachable = ask_lease(s, now, &held, err);
    r.leader = held;
    for (size_t i = 0; i < s->n; i++) {
        const struct sched_job *j = &s->jobs[i];
        now = sched_now(s);
        if (!due(s, i, now))
            continue;
        if (j->leased) {
            /* Renewed before each job: a long job before this one may
             * have outlived the lease, and then another process runs it. */
            if (!held || !ask_lease(s, now, &held, err) || !held)
                continue;
        }
        struct td_err e;
        td_err_clear(&e);
        bool ok = j->run ? j->run(s->core, now, &e) : j->run_ctx(j->ctx, s->core, now, &e);
        s->last_run[i] = now;
        r.ran++;
        if (!ok) {
            r.failed++;
            log_event(LOG_WARN, "scheduler_job_failed", LF_S("job", j->name),
                      LF_S("code", td_code_name(e.code)), LF_S("error", e.msg));
            if (err)
                *err = e;
        }
    }
    if (out)
        *out = r;
    return reachable;
}

/* scheduler.h - ticketd's in-process scheduler: a table of periodic jobs
 * and one tick function that runs the ones that are due.
 *
 * Whoever drives it (the "scheduler" module in serve, a test) calls
 * sched_tick() now and then; the scheduler never sleeps and never reads
 * the wall clock itself: "now" comes from an injectable clock (default
 * td_now()), so a test runs days of automations in milliseconds.
 *
 * Several ticketd processes may share one MongoDB store: a leased job
 * runs only in the process that holds the store lease "scheduler"
 * (store_desk.h). Each tick takes or renews it for lease_ms, and again
 * before each job, so a process that stalls longer than its lease stops
 * running jobs and another takes over once the lease has expired. Jobs
 * are written to be idempotent (conditional updates), so a takeover
 * while a job is still finishing elsewhere does no harm twice. A job
 * that is not leased (desk gauges: each process serves its own /metrics)
 * runs in every process.
 *
 * A scheduler is used by one thread at a time. */
#ifndef TD_SCHEDULER_H
#define TD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "model.h"

#define SCHED_LEASE_NAME "scheduler"
#define SCHED_MAX_JOBS 16

/* One periodic job. Exactly one of run and run_ctx is set; run_ctx gets
 * ctx (the job's own settings). A job returns false with err filled on
 * failure; it is tried again at its next period. */
struct sched_job {
    const char *name;       /* static: logs and metrics */
    td_time every_ms;       /* period (> 0) */
    bool leased;            /* only the lease holder runs it */
    bool (*run)(struct td_core *c, td_time now, struct td_err *err);
    bool (*run_ctx)(void *ctx, struct td_core *c, td_time now, struct td_err *err);
    void *ctx;              /* borrowed */
};

typedef td_time (*sched_clock_fn)(void *ctx);

struct sched;

/* A scheduler over core c (borrowed) for process owner (copied; unique
 * per process, e.g. "host:pid:random"). clock NULL = td_now(). */
struct sched *sched_new(struct td_core *c, const char *owner, td_time lease_ms,
                        sched_clock_fn clock, void *clock_ctx);
/* Releases the lease if held, frees. NULL-safe. */
void sched_free(struct sched *s);

/* Adds a job (copied; its strings and ctx are borrowed). TD_INVALID when
 * the table is full or the job is malformed. */
bool sched_add(struct sched *s, const struct sched_job *job, struct td_err *err);

/* What one tick did. */
struct sched_tick_result {
    bool leader;        /* held the lease at the start of the tick */
    size_t ran;         /* jobs run */
    size_t failed;      /* of which failed (the last error in err) */
};

/* Runs every due job: a job is due when it never ran in this process or
 * its period has passed since its last run here. Returns false only when
 * the store could not be asked for the lease (then no leased job ran);
 * job failures are counted in out (may be NULL) and the last one is
 * in err. */
bool sched_tick(struct sched *s, struct sched_tick_result *out, struct td_err *err);

/* The scheduler's clock (for jobs run outside a tick, e.g. tests). */
td_time sched_now(const struct sched *s);

#endif

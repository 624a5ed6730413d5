/* sched_module.c - see sched_module.h. The thread waits on a condition
 * variable (CLOCK_MONOTONIC) between ticks, so stop wakes it at once. */
#include "sched_module.h"
#include "automation.h"
#include "desk_metrics.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "scheduler.h"
#include "sla_escalate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sched_module {
    struct automation_config cfg;
    struct automation *auto_jobs;
    struct sched *sched;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
};

bool sched_module_check(struct td_app *app, struct td_err *err)
{
    struct automation_config ac;
    return automation_config_load(app->cfg, &ac, err);
}

static void *run(void *arg)
{
    struct sched_module *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        pthread_mutex_unlock(&m->lock);
        struct td_err err;
        td_err_clear(&err);
        if (!sched_tick(m->sched, NULL, &err))
            log_event(LOG_WARN, "scheduler_tick_failed", LF_S("error", err.msg));
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += m->cfg.tick_ms / 1000;
        ts.tv_nsec += (m->cfg.tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&m->lock);
        while (!m->stopping)
            if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

bool sched_module_start(struct td_app *app, void **handle, struct td_err *err)
{
    *handle = NULL;
    struct automation_config ac;
    if (!automation_config_load(app->cfg, &ac, err))
        return false;
    struct sched_module *m = td_calloc(1, sizeof *m);
    m->cfg = ac;
    char host[64] = "host", rnd[TD_ID_LEN + 1], owner[128];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    id_new(rnd);
    snprintf(owner, sizeof owner, "%.60s:%ld:%.8s:scheduler", host, (long)getpid(), rnd);
    m->sched = sched_new(&app->core, owner, ac.lease_ms, NULL, NULL);
    m->auto_jobs = automation_new(&ac);
    struct sched_job gauges = { "desk_gauges", ac.tick_ms, false, desk_metrics_refresh, NULL,
                                NULL };
    /* Leased: one process escalates; sla_escalate_due is idempotent
     * anyway (a claim per ticket and due time), the lease saves the
     * duplicate scans. */
    struct sched_job escalate = { "sla_escalate", ac.tick_ms, true, sla_escalate_due, NULL,
                                  NULL };
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* The jobs: the desk gauges in every process, then the leased ones. */
    if (!sched_add(m->sched, &gauges, err) || !sched_add(m->sched, &escalate, err) ||
        !automation_schedule(m->auto_jobs, m->sched, err)) {
        sched_module_stop(m);
        return false;
    }
    int rc = pthread_create(&m->thread, NULL, run, m);
    if (rc != 0) {
        sched_module_stop(m);
        return td_fail(err, TD_INTERNAL, "cannot start the scheduler thread: %s", strerror(rc));
    }
    (void)pthread_setname_np(m->thread, "td-sched");
    m->running = true;
    log_event(LOG_INFO, "scheduler_started", LF_S("owner", owner), LF_I("tick_ms", ac.tick_ms),
              LF_I("pending_reminder_days", ac.pending_reminder_days),
              LF_I("autoclose_days", ac.autoclose_days));
    *handle = m;
    return true;
}

void sched_module_stop(void *handle)
{
    struct sched_module *m = handle;
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (m->running)
        pthread_join(m->thread, NULL); /* a tick in flight ends with its store calls */
    sched_free(m->sched); /* releases the lease: another process takes over now */
    automation_free(m->auto_jobs);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

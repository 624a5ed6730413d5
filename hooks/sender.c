/* sender.c - the webhook thread: plan from history, then send what is
 * due (see hooks.h). */
#include "hooks/hooks_int.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PLAN_OVERLAP_MS 60000 /* events are stamped before they commit */

struct hooks {
    struct hooks_config cfg;
    struct td_app *app;
    char owner[128];
    struct webhook_planned *planned;
    td_time plan_since;
    td_time next_plan;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
};

bool hooks_config_load(struct td_config *cfg, struct hooks_config *hc, struct td_err *err)
{
    memset(hc, 0, sizeof *hc);
    if (!config_bool(cfg, "webhooks", "enabled", true, &hc->enabled, err) ||
        !config_bool(cfg, "webhooks", "allow_private_addresses", false, &hc->allow_private, err) ||
        !config_int(cfg, "webhooks", "poll_ms", 1000, 10, 600000, &hc->poll_ms, err) ||
        !config_int(cfg, "webhooks", "plan_interval_ms", 1000, 10, 600000, &hc->plan_interval_ms, err) ||
        !config_int(cfg, "webhooks", "plan_window_ms", 86400000, 1000, 30 * 86400000LL,
                    &hc->plan_window_ms, err) ||
        !config_int(cfg, "webhooks", "timeout_ms", 10000, 100, 600000, &hc->timeout_ms, err) ||
        !config_int(cfg, "webhooks", "connect_timeout_ms", 5000, 100, 600000,
                    &hc->connect_timeout_ms, err) ||
        !config_int(cfg, "webhooks", "retry_base_ms", 10000, 1, 86400000, &hc->retry_base_ms, err) ||
        !config_int(cfg, "webhooks", "retry_max_ms", 3600000, 1, 7 * 86400000LL, &hc->retry_max_ms, err) ||
        !config_int(cfg, "webhooks", "max_failures", 20, 1, 100000, &hc->max_failures, err) ||
        !config_int(cfg, "webhooks", "lease_ms", 60000, 100, 86400000, &hc->lease_ms, err))
        return false;
    if (hc->lease_ms <= hc->timeout_ms + hc->connect_timeout_ms)
        return td_fail(err, TD_INVALID,
                       "[webhooks] lease_ms (%lld) must exceed timeout_ms + connect_timeout_ms, "
                       "or a slow delivery could be claimed and sent twice",
                       (long long)hc->lease_ms);
    return true;
}

/* The endpoint is done with: disable it (once) and tell the admins. */
static void disable(struct hooks *h, const struct td_webhook *w, const char *reason)
{
    struct store *st = h->app->store;
    struct td_err err;
    td_err_clear(&err);
    bool changed = false;
    if (!st->ops->webhook_disable(st, w->id, reason, td_now(), &changed, &err)) {
        log_event(LOG_ERROR, "webhook_disable_failed", LF_S("webhook", w->id), LF_S("error", err.msg));
        return;
    }
    if (!changed)
        return;
    log_event(LOG_ERROR, "webhook_disabled", LF_S("webhook", w->id), LF_S("url", w->url),
              LF_S("reason", reason));
    size_t queued = 0;
    if (!notify_webhook_disabled(&h->app->core, w->id, w->url, reason, &queued, &err))
        log_event(LOG_ERROR, "webhook_disabled_mail_failed", LF_S("webhook", w->id),
                  LF_S("error", err.msg));
}

static void finish(struct hooks *h, const struct td_delivery *d, enum td_delivery_state state,
                   long status, const char *error, td_time next)
{
    struct store *st = h->app->store;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->delivery_finish(st, d->id, h->owner, state, status, error, next, td_now(), &err))
        log_event(LOG_WARN, "webhook_finish_failed", LF_S("delivery", d->id), LF_S("error", err.msg));
}

/* Handles one claimed delivery to the end. */
static void deliver(struct hooks *h, struct td_delivery *d)
{
    struct store *st = h->app->store;
    struct td_webhook w;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->webhook_get(st, d->endpoint_id, &w, &err)) {
        finish(h, d, DELIVERY_FAILED, 0,
               err.code == TD_NOT_FOUND ? "the endpoint was deleted" : err.msg, 0);
        return;
    }
    if (!w.enabled) {
        finish(h, d, DELIVERY_FAILED, 0, "the endpoint is disabled", 0);
        webhook_clear(&w);
        return;
    }
    struct hook_result res;
    hooks_post(&h->cfg, &w, d, &res);
    int64_t failures = 0;
    if (!st->ops->webhook_result(st, w.id, res.delivered, &failures, &err))
        log_event(LOG_WARN, "webhook_result_failed", LF_S("webhook", w.id), LF_S("error", err.msg));
    if (res.delivered) {
        finish(h, d, DELIVERY_DELIVERED, res.status, NULL, 0);
        log_event(LOG_INFO, "webhook_delivered", LF_S("delivery", d->id), LF_S("webhook", w.id),
                  LF_I("ticket", d->ticket), LF_I("status", res.status));
    } else if (res.gone) {
        finish(h, d, DELIVERY_FAILED, res.status, res.error, 0);
        disable(h, &w, "the receiver answered 410 Gone");
    } else {
        int64_t shift = d->attempts > 1 ? d->attempts - 1 : 0;
        int64_t delay = h->cfg.retry_base_ms;
        for (int64_t i = 0; i < shift && delay < h->cfg.retry_max_ms; i++)
            delay *= 2;
        if (delay > h->cfg.retry_max_ms)
            delay = h->cfg.retry_max_ms;
        log_event(LOG_WARN, "webhook_failed", LF_S("delivery", d->id), LF_S("webhook", w.id),
                  LF_I("attempt", d->attempts), LF_S("error", res.error),
                  LF_I("retry_in_ms", delay));
        finish(h, d, DELIVERY_PENDING, res.status, res.error, td_now() + delay);
        if (failures >= h->cfg.max_failures) {
            char reason[200];
            snprintf(reason, sizeof reason, "%lld failed deliveries in a row (last: %.100s)",
                     (long long)failures, res.error);
            disable(h, &w, reason);
        }
    }
    webhook_clear(&w);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc;
static void curl_init_once(void)
{
    curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT); /* refcounted: notify/ may too */
}

static bool curl_global_ready_for_hooks(struct td_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_rc != CURLE_OK)
        return td_fail(err, TD_INTERNAL, "libcurl failed to initialise: %s",
                       curl_easy_strerror(curl_rc));
    return true;
}

static bool stopping(struct hooks *h)
{
    pthread_mutex_lock(&h->lock);
    bool s = h->stopping;
    pthread_mutex_unlock(&h->lock);
    return s;
}

/* One round: a planning pass when due, then every due delivery. */
static void round_once(struct hooks *h)
{
    struct store *st = h->app->store;
    td_time now = td_now();
    if (now >= h->next_plan) {
        size_t n = 0;
        struct td_err err;
        td_err_clear(&err);
        if (webhook_plan(st, h->plan_since, now, h->planned, &n, &err)) {
            h->plan_since = now - PLAN_OVERLAP_MS;
            if (n > 0)
                log_event(LOG_DEBUG, "webhook_planned", LF_I("deliveries", (long long)n));
        } else {
            log_event(LOG_WARN, "webhook_plan_failed", LF_S("error", err.msg));
        }
        h->next_plan = now + h->cfg.plan_interval_ms;
    }
    while (!stopping(h)) {
        struct td_delivery d;
        struct td_err err;
        td_err_clear(&err);
        if (!st->ops->delivery_claim(st, h->owner, td_now(), h->cfg.lease_ms, &d, &err)) {
            if (err.code != TD_NOT_FOUND)
                log_event(LOG_WARN, "webhook_claim_failed", LF_S("error", err.msg));
            return;
        }
        deliver(h, &d);
        delivery_clear(&d);
    }
}

static void *run(void *arg)
{
    struct hooks *h = arg;
    while (!stopping(h)) {
        round_once(h);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ms = h->cfg.poll_ms < h->cfg.plan_interval_ms ? h->cfg.poll_ms : h->cfg.plan_interval_ms;
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&h->lock);
        while (!h->stopping)
            if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&h->lock);
    }
    return NULL;
}

bool hooks_module_check(struct td_app *app, struct td_err *err)
{
    struct hooks_config hc;
    return hooks_config_load(app->cfg, &hc, err);
}

bool hooks_module_start(struct td_app *app, void **handle, struct td_err *err)
{
    *handle = NULL;
    struct hooks_config hc;
    if (!hooks_config_load(app->cfg, &hc, err))
        return false;
    if (!hc.enabled) {
        log_event(LOG_INFO, "webhooks_off", LF_S("why", "[webhooks] enabled = no"));
        return true;
    }
    if (curl_global_ready_for_hooks(err) == false)
        return false;
    struct hooks *h = td_calloc(1, sizeof *h);
    h->cfg = hc;
    h->app = app;
    char host[64] = "host", rnd[TD_ID_LEN + 1];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    id_new(rnd);
    snprintf(h->owner, sizeof h->owner, "%.60s:%ld:%.8s:hooks", host, (long)getpid(), rnd);
    h->planned = webhook_planned_new();
    h->plan_since = td_now() - hc.plan_window_ms;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&h->thread, NULL, run, h);
    if (rc != 0) {
        hooks_module_stop(h);
        return td_fail(err, TD_INTERNAL, "cannot start the webhook thread: %s", strerror(rc));
    }
    h->running = true;
    *handle = h;
    return true;
}

void hooks_module_stop(void *handle)
{
    struct hooks *h = handle;
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (h->running)
        pthread_join(h->thread, NULL); /* a POST in flight ends within its timeout */
    webhook_planned_free(h->planned);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* routes_ops.c - what operators and their tools read: GET /metrics
 * (Prometheus text format, core/stats.h) and GET /readyz (may this
 * process take traffic?). /healthz (alive) is in routes_meta.c.
 *
 * /readyz checks, each reported by name:
 *   store     the store answers a ping
 *   outbox    no outbox mail has been due for longer than
 *             [api] readyz_outbox_max_age seconds (default 600; 0 = not
 *             checked): due mail that nobody claims means no sender runs
 *             or every sender is wedged. Mail waiting for a retry after
 *             an SMTP failure is not due, so an SMTP outage alone does
 *             not make the API unready.
 *   mailbox:NAME  some poller (in any process) holds NAME's lease, or
 *             held it until at most [api] readyz_lease_grace seconds ago
 *             (default 60). Which mailboxes: [api] readyz_mailboxes
 *             (comma-separated), by default every [mailbox NAME] section.
 * 200 application/json when all pass; 503 application/problem+json
 * (type urn:ticketd:problem:not_ready) with the same "checks" otherwise.
 *
 * Both are public, like /healthz: expose the API port to the monitoring
 * network only, or filter /metrics at the proxy. */
#include "api_int.h"
#include "write_pool.h"

#include "core/app.h"
#include "core/config.h"
#include "core/desk_metrics.h"
#include "core/stats.h"
#include "core/strv.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S "api"

static bool add_mailbox_section(struct td_config *cfg, const char *section, const char *name,
                                void *arg, struct td_err *err)
{
    (void)cfg;
    (void)section;
    (void)err;
    strv_push(arg, name);
    return true;
}

bool ops_settings_load(struct td_config *cfg, struct ops_settings *o, struct td_err *err)
{
    memset(o, 0, sizeof *o);
    if (!config_int(cfg, S, "readyz_outbox_max_age", 600, 0, 30 * 86400, &o->outbox_max_age_s, err) ||
        !config_int(cfg, S, "readyz_lease_grace", 60, 0, 86400, &o->lease_grace_s, err))
        return false;
    const char *list = config_str(cfg, S, "readyz_mailboxes", NULL);
    if (list == NULL)
        return config_each_section(cfg, "mailbox ", add_mailbox_section, &o->mailboxes, err);
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        size_t end = len;
        while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        if (end > 0) {
            char name[128];
            if (end >= sizeof name) {
                ops_settings_free(o);
                return td_fail(err, TD_INVALID, "[api] readyz_mailboxes: a name is longer than %zu bytes",
                               sizeof name - 1);
            }
            memcpy(name, p, end);
            name[end] = '\0';
            strv_push(&o->mailboxes, name);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return true;
}

void ops_settings_free(struct ops_settings *o)
{
    strv_clear(&o->mailboxes);
}

#define DESK_SCRAPE_MAX_AGE_MS 120000

static td_time now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (td_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pending outbox rows, and how long the oldest due one (pending, or
 * sending with its lease run out) has waited (0: none due). The store
 * answers from its indexes (outbox_stats): as cheap with a million rows
 * sent as with none. */
static bool outbox_probe(struct store *st, td_time now, int64_t *pending, int64_t *oldest_ms,
                         struct td_err *err)
{
    td_time oldest_due = 0;
    if (!st->ops->outbox_stats(st, now, pending, &oldest_due, err))
        return false;
    *oldest_ms = oldest_due != 0 && oldest_due <= now ? now - oldest_due : 0;
    return true;
}

void h_metrics(struct api_req *r, struct api_resp *out)
{
    struct store *st = r->api->core->store;
    struct td_err err;
    td_err_clear(&err);
    int64_t pending = 0, oldest_ms = 0;
    stats_set_build_info(TICKETD_VERSION, st->ops->name);
    /* The outbox gauges are read from the store (shared by every
     * process); when it does not answer they keep their last value and
     * the store error counter says why. */
    if (outbox_probe(st, now_ms(), &pending, &oldest_ms, &err))
        stats_set_outbox(pending, oldest_ms / 1000);
    /* The desk gauges are the scheduler's (core/desk_metrics.h): read
     * here only when no scheduler in this process has for two minutes. */
    td_err_clear(&err);
    (void)desk_metrics_refresh_if_older(r->api->core, now_ms(), DESK_SCRAPE_MAX_AGE_MS, &err);
    /* Writes waiting for a write thread or their commit: what a too
     * small [api] write_threads, or a slow store, looks like. */
    stats_set_http_writes_waiting(r->api->writes ? (int64_t)write_pool_pending(r->api->writes) : 0);
    struct buf b = BUF_INIT;
    stats_render(&b);
    size_t len = b.len;
    resp_bytes(out, 200, "text/plain; version=0.0.4; charset=utf-8",
               (unsigned char *)buf_steal(&b), len);
}

static void check(json_t *checks, bool *ready, const char *name, bool ok, const char *detail)
{
    json_t *c = json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok, "detail", detail);
    if (c == NULL) /* a name or message that is not UTF-8 */
        c = json_pack("{s:s, s:b, s:s}", "name", "(unprintable)", "ok", ok, "detail", "(unprintable)");
    json_array_append_new(checks, c);
    if (!ok)
        *ready = false;
}

static void check_mailbox(struct store *st, const struct ops_settings *o, const char *name,
                          td_time now, json_t *checks, bool *ready)
{
    char label[160], detail[320];
    snprintf(label, sizeof label, "mailbox:%s", name);
    struct td_mailbox_state m;
    memset(&m, 0, sizeof m);
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->mailbox_get(st, name, &m, &err)) {
        if (err.code == TD_NOT_FOUND)
            snprintf(detail, sizeof detail, "no poller has held this mailbox yet");
        else
            snprintf(detail, sizeof detail, "%s", err.msg);
        check(checks, ready, label, false, detail);
        return;
    }
    td_time late = now - m.lease_until;
    bool ok = m.lease_owner != NULL && late <= o->lease_grace_s * 1000;
    if (m.lease_owner == NULL)
        snprintf(detail, sizeof detail, "no poller holds the lease (released)");
    else if (!ok)
        snprintf(detail, sizeof detail, "the lease of %.60s expired %lld s ago", m.lease_owner,
                 (long long)(late / 1000));
    else
        snprintf(detail, sizeof detail, "held by %.60s", m.lease_owner);
    check(checks, ready, label, ok, detail);
    mailbox_state_clear(&m);
}

void h_readyz(struct api_req *r, struct api_resp *out)
{
    struct store *st = r->api->core->store;
    const struct ops_settings *o = &r->api->ops;
    json_t *checks = json_array();
    bool ready = true;
    char detail[300];
    struct td_err err;
    td_err_clear(&err);
    td_time now = now_ms();

    bool store_ok = st->ops->ping(st, &err);
    check(checks, &ready, "store", store_ok, store_ok ? st->ops->name : err.msg);
    if (store_ok && o->outbox_max_age_s > 0) {
        int64_t pending = 0, oldest_ms = 0;
        td_err_clear(&err);
        if (!outbox_probe(st, now, &pending, &oldest_ms, &err)) {
            check(checks, &ready, "outbox", false, err.msg);
        } else {
            bool ok = oldest_ms <= o->outbox_max_age_s * 1000;
            snprintf(detail, sizeof detail, "%lld pending; the oldest due mail waits %lld s (limit %lld s)",
                     (long long)pending, (long long)(oldest_ms / 1000), (long long)o->outbox_max_age_s);
            check(checks, &ready, "outbox", ok, detail);
        }
    }
    for (size_t i = 0; store_ok && i < o->mailboxes.n; i++)
        check_mailbox(st, o, o->mailboxes.v[i], now, checks, &ready);

    if (ready) {
        resp_json(out, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
        return;
    }
    struct buf failed = BUF_INIT;
    size_t n = json_array_size(checks);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(checks, i);
        if (!json_is_true(json_object_get(c, "ok")))
            buf_printf(&failed, "%s%s", failed.len ? ", " : "",
                       json_string_value(json_object_get(c, "name")));
    }
    snprintf(detail, sizeof detail, "not ready: %s", failed.data ? failed.data : "");
    buf_free(&failed);
    resp_json(out, 503,
              json_pack("{s:s, s:s, s:i, s:s, s:o}", "type", "urn:ticketd:problem:not_ready", "title",
                        "Service Unavailable", "status", 503, "detail", detail, "checks", checks));
    out->content_type = "application/problem+json";
}

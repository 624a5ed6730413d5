/* sender.c - see sender.h: configuration, threads, reload, reconciler.
 * The handling of one row is deliver.c. */
#include "notify/message.h"
#include "notify/sender_int.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECONCILE_OVERLAP_MS (10 * 60 * 1000LL)
/* The store's mark (store.h: mark_get) of where the next pass may start:
 * the last completed pass's start less the overlap, whichever process
 * ran it. */
#define RECONCILE_MARK "notify_reconciled"

/* ---- Configuration ---- */

/* "Name <addr>" or "addr" -> name and addr (trimmed, validated). */
static bool parse_from(const char *in, char *name, size_t nlen, char *addr, size_t alen,
                       struct td_err *err)
{
    const char *lt = strrchr(in, '<');
    const char *a = in, *ae = in + strlen(in);
    name[0] = '\0';
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (gt == NULL || gt[1] != '\0')
            return td_fail(err, TD_INVALID, "[smtp] from: expected 'Name <address>'");
        size_t n = (size_t)(lt - in);
        while (n > 0 && in[n - 1] == ' ')
            n--;
        const char *ns = in;
        while (*ns == ' ' && ns < in + n)
            ns++, n--;
        if (n >= 2 && ns[0] == '"' && ns[n - 1] == '"')
            ns++, n -= 2;
        if (n >= nlen)
            return td_fail(err, TD_INVALID, "[smtp] from: name too long");
        memcpy(name, ns, n);
        name[n] = '\0';
        a = lt + 1;
        ae = gt;
    }
    while (a < ae && *a == ' ')
        a++;
    while (ae > a && ae[-1] == ' ')
        ae--;
    if ((size_t)(ae - a) >= alen)
        return td_fail(err, TD_INVALID, "[smtp] from: address too long");
    memcpy(addr, a, (size_t)(ae - a));
    addr[ae - a] = '\0';
    if (!message_addr_safe(addr))
        return td_fail(err, TD_INVALID, "[smtp] from: '%.100s' is not an address", addr);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20)
            return td_fail(err, TD_INVALID, "[smtp] from: control character in the name");
    return true;
}

static bool copy_str(char *dst, size_t len, const char *src, const char *what, struct td_err *err)
{
    int n = snprintf(dst, len, "%s", src);
    if (n < 0 || (size_t)n >= len)
        return td_fail(err, TD_INVALID, "%s is too long", what);
    return true;
}

bool sender_config_load(struct td_config *cfg, struct sender_config *sc, struct td_err *err)
{
    memset(sc, 0, sizeof *sc);
    if (!notify_config_load(cfg, &sc->notify, err))
        return false;
    if (sc->notify.support_address[0] == '\0')
        return td_fail(err, TD_INVALID, "[notify] support_address is required to send mail");
    if (!smtp_config_load(cfg, &sc->smtp, err) || !reply_keys_from_config(cfg, &sc->keys, err))
        return false;
    const char *from = config_str(cfg, "smtp", "from", "");
    if (from[0]) {
        if (!parse_from(from, sc->from_name, sizeof sc->from_name, sc->from_addr,
                        sizeof sc->from_addr, err))
            return false;
    } else {
        snprintf(sc->from_name, sizeof sc->from_name, "Support");
        snprintf(sc->from_addr, sizeof sc->from_addr, "%s", sc->notify.support_address);
    }
    const char *env = config_str(cfg, "smtp", "envelope_from", sc->from_addr);
    if (!message_addr_safe(env))
        return td_fail(err, TD_INVALID, "[smtp] envelope_from: '%.100s' is not an address", env);
    int64_t threads;
    char share[PATH_MAX]; /* an installed ticketd: PREFIX/share/ticketd/templates */
    paths_share("templates", "templates", share, sizeof share);
    if (!copy_str(sc->envelope_from, sizeof sc->envelope_from, env, "[smtp] envelope_from", err) ||
        !copy_str(sc->templates_dir, sizeof sc->templates_dir,
                  config_str(cfg, "notify", "templates_dir", ""), "[notify] templates_dir", err) ||
        !copy_str(sc->builtin_templates, sizeof sc->builtin_templates,
                  config_str(cfg, "notify", "builtin_templates_dir", share),
                  "[notify] builtin_templates_dir", err) ||
        !config_int(cfg, "notify", "threads", 2, 1, SENDER_MAX_THREADS, &threads, err) ||
        !config_int(cfg, "notify", "poll_ms", 2000, 10, 600000, &sc->poll_ms, err) ||
        !config_int(cfg, "notify", "lease_ms", 120000, 100, 86400000, &sc->lease_ms, err) ||
        !config_int(cfg, "notify", "retry_base_ms", 30000, 1, 86400000, &sc->retry_base_ms, err) ||
        !config_int(cfg, "notify", "retry_max_ms", 3600000, 1, 7 * 86400000LL, &sc->retry_max_ms, err) ||
        !config_int(cfg, "notify", "give_up_after_ms", 3 * 86400000LL, 1000, 365 * 86400000LL,
                    &sc->give_up_after_ms, err) ||
        !config_int(cfg, "notify", "reconcile_interval_ms", 60000, 0, 86400000,
                    &sc->reconcile_interval_ms, err) ||
        !config_int(cfg, "notify", "reconcile_window_ms", 86400000, 1000, 30 * 86400000LL,
                    &sc->reconcile_window_ms, err) ||
        !config_int(cfg, "notify", "outbox_retention_ms", 7 * 86400000LL, 0, 3650 * 86400000LL,
                    &sc->outbox_retention_ms, err) ||
        !config_int(cfg, "notify", "attachments_max_bytes", 10LL * 1024 * 1024, 0,
                    100LL * 1024 * 1024, &sc->attachments_max_bytes, err) ||
        !copy_str(sc->from_via, sizeof sc->from_via,
                  config_str(cfg, "smtp", "from_via", "{agent} via {support}"), "[smtp] from_via",
                  err))
        return false;
    if (sc->outbox_retention_ms != 0 && sc->outbox_retention_ms <= sc->reconcile_window_ms)
        return td_fail(err, TD_INVALID,
                       "[notify] outbox_retention_ms (%lld) must exceed reconcile_window_ms (%lld), "
                       "or the reconciler would plan purged mails again",
                       (long long)sc->outbox_retention_ms, (long long)sc->reconcile_window_ms);
    sc->threads = (int)threads;
    if (sc->lease_ms <= sc->smtp.timeout_ms + sc->smtp.connect_timeout_ms)
        return td_fail(err, TD_INVALID,
                       "[notify] lease_ms (%lld) must exceed [smtp] timeout_ms + connect_timeout_ms, "
                       "or a slow mail could be claimed and sent twice",
                       (long long)sc->lease_ms);
    return true;
}

/* ---- Message-IDs ---- */

void sender_row_msgid(const char *domain, const char *row_id, char *out, size_t len)
{
    snprintf(out, len, "<ticketd.%s@%s>", row_id, domain);
}

void sender_ticket_msgid(const char *domain, int64_t ticket, char *out, size_t len)
{
    snprintf(out, len, "<ticketd.ticket.%lld@%s>", (long long)ticket, domain);
}

/* ---- Lifecycle ---- */

static bool load_templates(const struct sender_config *c, struct template_set **out,
                           struct td_err *err)
{
    const char *dirs[2] = { c->templates_dir, c->builtin_templates };
    /* The planner's kinds, then the account mails' (notify.h). */
    const char *kinds[NK_COUNT + NA_COUNT];
    for (int i = 0; i < NK_COUNT; i++)
        kinds[i] = notify_kind_names[i];
    for (int i = 0; i < NA_COUNT; i++)
        kinds[NK_COUNT + i] = notify_account_kind_names[i];
    return template_set_load(dirs, 2, kinds, NK_COUNT + NA_COUNT, out, err);
}

bool sender_new(const struct sender_config *sc, struct store *st, struct sender **out,
                struct td_err *err)
{
    if (!smtp_global_init(err))
        return false;
    struct sender *s = td_calloc(1, sizeof *s);
    s->cfg = *sc;
    s->st = st;
    const char *at = strrchr(sc->notify.support_address, '@');
    snprintf(s->domain, sizeof s->domain, "%s", at ? at + 1 : "localhost");
    char host[64] = "host";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    char rnd[TD_ID_LEN + 1];
    id_new(rnd);
    snprintf(s->owner, sizeof s->owner, "%.60s:%ld:%.8s", host, (long)getpid(), rnd);
    if (!load_templates(sc, &s->tpl, err)) {
        reply_keys_wipe(&s->cfg.keys);
        free(s);
        return false;
    }
    pthread_rwlock_init(&s->tpl_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_cond_init(&s->work_cond, &ca);
    pthread_condattr_destroy(&ca);
    *out = s;
    return true;
}

bool sender_reload(struct sender *s, struct td_err *err)
{
    struct template_set *fresh = NULL;
    if (!load_templates(&s->cfg, &fresh, err)) {
        log_event(LOG_ERROR, "templates_reload_failed", LF_S("error", err ? err->msg : ""));
        return false;
    }
    pthread_rwlock_wrlock(&s->tpl_lock);
    struct template_set *old = s->tpl;
    s->tpl = fresh;
    pthread_rwlock_unlock(&s->tpl_lock);
    template_set_free(old);
    log_event(LOG_INFO, "templates_reloaded");
    return true;
}

/* One sleeping thread, not all: a comment queues a mail or two, and
 * every woken thread takes the writer to look for due rows - with four
 * threads and a broadcast, ~0.46 claims per mail found nothing. A
 * thread that claims a full batch wakes the next (sender_round_run), and a
 * busy thread looks again before it sleeps (wake_seq), so no mail
 * waits for the poll. */
void sender_wake(void *arg)
{
    struct sender *s = arg;
    pthread_mutex_lock(&s->lock);
    s->wake_seq++;
    pthread_cond_signal(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
}

bool sender_stopping(struct sender *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Sleeps up to ms unless woken (or stopping) after seen. Returns the
 * wake sequence now. */
static uint64_t wait_for(struct sender *s, uint64_t seen, int64_t ms)
{
    struct timespec ts = deadline_in(ms);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && s->wake_seq == seen)
        if (pthread_cond_timedwait(&s->work_cond, &s->lock, &ts) == ETIMEDOUT)
            break;
    uint64_t now = s->wake_seq;
    pthread_mutex_unlock(&s->lock);
    return now;
}

/* A thread that found the queue empty, or emptied it, waits this long
 * before it claims again, whatever wakes it but a stop: mails queued
 * meanwhile share one claim and one record. Claiming each comment's
 * mail as it came cost two write transactions a mail (1.3 claims a
 * mail under the bench's POST comment load); sending waits at most
 * this much longer, which a mail does not notice. */
#define GATHER_MS 5

static void gather(struct sender *s)
{
    struct timespec ts = deadline_in(GATHER_MS);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping)
        if (pthread_cond_timedwait(&s->work_cond, &s->lock, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
}

bool sender_run_once(struct sender *s, bool *handled, struct td_err *err)
{
    struct smtp_client *smtp = smtp_client_new(&s->cfg.smtp);
    char owner[160];
    snprintf(owner, sizeof owner, "%s:once", s->owner);
    struct sender_round r = { .n = 0 };
    size_t n = 0;
    bool ok = sender_round_run(s, smtp, owner, 1, &r, &n, err);
    ok = sender_round_flush(s, owner, &r, ok ? err : NULL) && ok;
    *handled = n > 0;
    smtp_client_free(smtp);
    return ok;
}

struct worker_arg {
    struct sender *s;
    int index;
};

static void *worker(void *arg)
{
    struct worker_arg wa = *(struct worker_arg *)arg;
    free(arg);
    struct sender *s = wa.s;
    char owner[160];
    snprintf(owner, sizeof owner, "%s:%d", s->owner, wa.index);
    struct smtp_client *smtp = smtp_client_new(&s->cfg.smtp);
    uint64_t seen = 0;
    int64_t store_backoff = 0;
    struct sender_round round = { .n = 0 }; /* sent, to record with the next claim */
    while (!sender_stopping(s)) {
        pthread_mutex_lock(&s->lock);
        seen = s->wake_seq;
        pthread_mutex_unlock(&s->lock);
        size_t handled = 0;
        struct td_err err;
        td_err_clear(&err);
        if (!sender_round_run(s, smtp, owner, SENDER_CLAIM_BATCH, &round, &handled, &err)) {
            /* The store is away: back off (bounded), then try again. */
            store_backoff = store_backoff ? store_backoff * 2 : 200;
            if (store_backoff > s->cfg.poll_ms * 5)
                store_backoff = s->cfg.poll_ms * 5;
            log_event(LOG_WARN, "outbox_claim_failed", LF_S("error", err.msg),
                      LF_I("retry_in_ms", store_backoff));
            wait_for(s, seen, store_backoff);
            continue;
        }
        store_backoff = 0;
        if (handled == 0)
            wait_for(s, seen, s->cfg.poll_ms);
        if (handled < SENDER_CLAIM_BATCH)
            gather(s);
    }
    (void)sender_round_flush(s, owner, &round, NULL); /* a failure is logged */
    smtp_client_free(smtp);
    return NULL;
}

void sender_set_planned(struct sender *s, struct notify_planned *planned)
{
    s->planned = planned;
}

bool sender_reconcile_once(struct sender *s, td_time since, size_t *inserted, struct td_err *err)
{
    return notify_reconcile(&s->cfg.notify, s->st, s->planned, since, td_now(), inserted, err);
}

/* Rows per purge transaction, and transactions per pass (so a first
 * pass over a long outbox does not hold the thread for minutes). */
#define PURGE_BATCH 1000
#define PURGE_ROUNDS 100

bool sender_purge_once(struct sender *s, td_time now, int64_t *deleted, struct td_err *err)
{
    int64_t total = 0;
    bool ok = true;
    if (s->cfg.outbox_retention_ms > 0) {
        for (int i = 0; ok && i < PURGE_ROUNDS && !sender_stopping(s); i++) {
            int64_t n = 0;
            ok = s->st->ops->outbox_purge(s->st, now - s->cfg.outbox_retention_ms, PURGE_BATCH,
                                          &n, err);
            total += n;
            if (n < PURGE_BATCH)
                break;
        }
    }
    if (deleted != NULL)
        *deleted = total;
    return ok;
}

/* Where the first pass after a start begins: the store's mark, so a
 * restart does not plan the whole window again (a million-ticket store
 * with 86 400 tickets changed that day spent seconds of CPU on it at
 * every start), but never further back than the window. Whatever a pass
 * covered was planned then; what came after it is at or past the mark. */
static td_time first_since(struct sender *s)
{
    td_time since = td_now() - s->cfg.reconcile_window_ms;
    int64_t mark = 0;
    struct td_err err;
    td_err_clear(&err);
    if (s->st->ops->mark_get == NULL)
        return since;
    if (!s->st->ops->mark_get(s->st, RECONCILE_MARK, &mark, &err))
        log_event(LOG_WARN, "notify_reconcile_mark_unread", LF_S("error", err.msg));
    return mark > since ? mark : since;
}

/* After a completed pass: the next start may begin at since. A failure
 * only costs the next start a longer first pass. */
static void raise_mark(struct sender *s, td_time since)
{
    struct td_err err;
    td_err_clear(&err);
    if (s->st->ops->mark_raise != NULL && !s->st->ops->mark_raise(s->st, RECONCILE_MARK, since, &err))
        log_event(LOG_WARN, "notify_reconcile_mark_failed", LF_S("error", err.msg));
}

static void *reconciler(void *arg)
{
    struct sender *s = arg;
    td_time since = first_since(s);
    while (!sender_stopping(s)) {
        td_time started = td_now();
        size_t inserted = 0;
        struct td_err err;
        td_err_clear(&err);
        int64_t purged = 0;
        if (!sender_purge_once(s, started, &purged, &err))
            log_event(LOG_WARN, "notify_purge_failed", LF_S("error", err.msg));
        else if (purged > 0)
            log_event(LOG_INFO, "notify_purged", LF_I("rows", (long long)purged));
        td_err_clear(&err);
        if (!sender_reconcile_once(s, since, &inserted, &err)) {
            log_event(LOG_WARN, "notify_reconcile_failed", LF_S("error", err.msg));
        } else {
            /* Events are stamped before their write commits: overlap. */
            since = started - RECONCILE_OVERLAP_MS;
            raise_mark(s, since);
            if (inserted > 0) {
                log_event(LOG_WARN, "notify_reconciled", LF_I("rows", (long long)inserted));
                sender_wake(s);
            }
        }
        /* Interruptible sleep: only the stop flag ends it early. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ms = s->cfg.reconcile_interval_ms;
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping)
            if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static void stop_threads(struct sender *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
    if (s->reconciler_running)
        pthread_join(s->reconciler, NULL);
    s->reconciler_running = false;
}

bool sender_start(struct sender *s, struct td_err *err)
{
    for (int i = 0; i < s->cfg.threads; i++) {
        struct worker_arg *wa = td_malloc(sizeof *wa);
        *wa = (struct worker_arg){ s, i };
        int rc = pthread_create(&s->workers[i], NULL, worker, wa);
        if (rc != 0) {
            free(wa);
            stop_threads(s);
            return td_fail(err, TD_INTERNAL, "cannot start a sender thread: %s", strerror(rc));
        }
        (void)pthread_setname_np(s->workers[i], "td-send");
        s->n_workers++;
    }
    if (s->cfg.reconcile_interval_ms > 0) {
        int rc = pthread_create(&s->reconciler, NULL, reconciler, s);
        if (rc != 0) {
            stop_threads(s);
            return td_fail(err, TD_INTERNAL, "cannot start the reconciler: %s", strerror(rc));
        }
        (void)pthread_setname_np(s->reconciler, "td-reconcile");
        s->reconciler_running = true;
    }
    return true;
}

void sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    stop_threads(s);
    template_set_free(s->tpl);
    pthread_rwlock_destroy(&s->tpl_lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->work_cond);
    pthread_mutex_destroy(&s->lock);
    reply_keys_wipe(&s->cfg.keys);
    explicit_bzero(s->cfg.smtp.password, sizeof s->cfg.smtp.password);
    free(s);
}

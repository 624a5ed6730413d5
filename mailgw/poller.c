/* poller.c - see poller.h. */
#include "poller.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/id.h" /* td_now */
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"
#include "imap.h"
#include "ingest.h"
#include "lease_owner.h"

#define HEAD_BYTES (256 * 1024) /* kept of a mail over max_mail_bytes */

struct run {
    struct poller *p;
    struct imap *imap;
    uint32_t uidvalidity;
    td_time lease_at;            /* when the lease was last renewed */
    uint32_t retry_uid;          /* the mail that keeps failing, and how often */
    int retry_count;
    int backoff_step;
    bool connected_once;         /* a later connect is a reconnect */
};

/* ---- waiting ------------------------------------------------------------ */

static void drain(int fd)
{
    char b[64];
    while (read(fd, b, sizeof b) > 0) {
    }
}

enum nap { NAP_STOP = 0, NAP_TIMEOUT, NAP_POKED };

/* Sleeps up to ms unless stopped or poked. */
static enum nap nap(struct poller *p, int64_t ms)
{
    if (atomic_load(&p->stop))
        return NAP_STOP;
    struct pollfd f = { p->wake[0], POLLIN, 0 };
    int n = poll(&f, 1, (int)(ms > 0x7fffffff ? 0x7fffffff : ms));
    if (n > 0)
        drain(p->wake[0]);
    if (atomic_load(&p->stop))
        return NAP_STOP;
    return n > 0 ? NAP_POKED : NAP_TIMEOUT;
}

static int64_t backoff_ms(struct run *r)
{
    const struct mailgw_settings *set = r->p->set;
    int64_t ms = set->backoff_min_ms;
    for (int i = 0; i < r->backoff_step && ms < set->backoff_max_ms; i++)
        ms *= 2;
    if (ms > set->backoff_max_ms)
        ms = set->backoff_max_ms;
    if (r->backoff_step < 30)
        r->backoff_step++;
    /* +-25% jitter, so pollers of one failed server do not return in step */
    int64_t jitter = ms / 4;
    if (jitter > 0)
        ms += (int64_t)randombytes_uniform((uint32_t)(2 * jitter + 1)) - jitter;
    return ms;
}

static void disconnect(struct run *r)
{
    imap_close(r->imap);
    r->imap = NULL;
}

/* Logs why and sleeps before the next attempt. */
static void fail(struct run *r, const char *what, const struct td_err *e)
{
    struct poller *p = r->p;
    atomic_fetch_add(&p->failures, 1);
    int64_t ms = backoff_ms(r);
    log_event(LOG_WARN, "mailbox_failure", LF_S("mailbox", p->box->name), LF_S("what", what),
              LF_S("code", td_code_name(e->code)), LF_S("reason", e->msg), LF_I("retry_in_ms", ms));
    disconnect(r);
    (void)nap(p, ms);
}

/* ---- the lease ------------------------------------------------------------ */

/* The lease is held by someone else: when the holder is provably gone
 * (a crashed ticketd of this host, lease_owner.h), take it over now
 * instead of waiting out its lease; the store's compare-and-set on the
 * holder makes two restarting processes agree on one winner. */
static bool take_over_dead(struct poller *p, td_time now)
{
    struct store *st = p->core->store;
    struct td_mailbox_state ms;
    struct td_err e;
    memset(&ms, 0, sizeof ms);
    td_err_clear(&e);
    if (!st->ops->mailbox_get(st, p->box->name, &ms, &e))
        return false;
    bool ok = ms.lease_owner != NULL && strcmp(ms.lease_owner, p->owner) != 0 &&
              lease_owner_gone(ms.lease_owner) &&
              st->ops->lease_takeover(st, p->box->name, ms.lease_owner, p->owner, now,
                                      p->set->lease_ttl_ms, &e);
    if (ok)
        log_event(LOG_INFO, "mailbox_lease_taken_over", LF_S("mailbox", p->box->name),
                  LF_S("from", ms.lease_owner), LF_S("owner", p->owner),
                  LF_I("lease_left_ms", ms.lease_until - now));
    mailbox_state_clear(&ms);
    return ok;
}

/* 1 = ours, 0 = someone else's, -1 = store failure (e filled). */
static int lease(struct run *r, struct td_err *e)
{
    struct poller *p = r->p;
    td_time now = td_now();
    td_err_clear(e);
    if (p->core->store->ops->lease_acquire(p->core->store, p->box->name, p->owner, now,
                                           p->set->lease_ttl_ms, e) ||
        (e->code == TD_CONFLICT && !atomic_load(&p->owning) && take_over_dead(p, now))) {
        if (!atomic_load(&p->owning))
            log_event(LOG_INFO, "mailbox_lease_acquired", LF_S("mailbox", p->box->name),
                      LF_S("owner", p->owner));
        atomic_store(&p->owning, true);
        r->lease_at = now;
        return 1;
    }
    if (atomic_load(&p->owning))
        log_event(LOG_WARN, "mailbox_lease_lost", LF_S("mailbox", p->box->name),
                  LF_S("reason", e->msg));
    atomic_store(&p->owning, false);
    return e->code == TD_CONFLICT ? 0 : -1;
}

static bool lease_due(struct run *r)
{
    return td_now() - r->lease_at >= r->p->set->lease_ttl_ms / 3;
}

/* ---- one batch of mail ------------------------------------------------------ */

/* A batch: up to BATCH_MAILS mails (or the first past BATCH_BYTES) are
 * fetched (two UID FETCH commands for the lot: sizes, then bodies), then
 * ingested inside one store batch (one transaction, one fsync on SQLite
 * instead of ~8 per mail), committed, and only then flagged (one UID
 * STORE) or moved on the server, after which the UID moves past them.
 * Exactly once, whatever dies when: killed before the commit, nothing
 * was written and the mails are fetched again; after it, they are
 * fetched again and found done (ingest dedupes them); the UID never
 * moves past a mail that is not committed. */
#define BATCH_MAILS 64
#define BATCH_BYTES ((size_t)32 * 1024 * 1024)

enum step { STEP_NEXT, STEP_RETRY, STEP_FAIL, STEP_LOST };

struct fetched {
    uint32_t uid;
    char *raw;
    size_t len, size;
    bool gone;                 /* expunged meanwhile: nothing to do */
    struct ingest_outcome o;
};

static void count_outcome(struct poller *p, const struct ingest_outcome *o)
{
    const char *box = p->box->name;
    switch (o->result) {
    case INGEST_RETRY:
        break;
    case INGEST_TICKET:
    case INGEST_COMMENT:
        atomic_fetch_add(&p->ingested, 1);
        stats_mail_ingested(box, o->result == INGEST_TICKET ? "ticket" : "comment");
        break;
    case INGEST_DUPLICATE:
        atomic_fetch_add(&p->duplicates, 1);
        stats_mail_ingested(box, "duplicate");
        break;
    case INGEST_QUARANTINED:
        atomic_fetch_add(&p->quarantined, 1);
        stats_mail_quarantined(box);
        break;
    }
}

/* Ingests f[0..n) in one store batch; *handled = how many are committed
 * (all but a mail that asked to be retried, and those after it). */
static enum step ingest_fetched(struct run *r, struct fetched *f, size_t n, size_t *handled,
                                struct td_err *e)
{
    struct poller *p = r->p;
    struct store *st = p->core->store;
    bool batch = st->ops->batch_begin != NULL && st->ops->batch_end != NULL;
    td_err_clear(e);
    if (batch && !st->ops->batch_begin(st, e))
        return STEP_FAIL;
    enum step step = STEP_NEXT;
    size_t k = 0;
    for (; k < n; k++) {
        if (f[k].gone)
            continue;
        struct ingest_ctx ic = { p->core, p->set };
        struct ingest_src src = {
            .mailbox = p->box->name,
            .queue = p->box->queue,
            .uidvalidity = r->uidvalidity,
            .uid = f[k].uid,
            .full_size = f[k].size > f[k].len ? f[k].size : 0,
            .attempts = r->retry_uid == f[k].uid ? r->retry_count : 0,
        };
        ingest_mail(&ic, &src, f[k].raw, f[k].len, &f[k].o);
        if (f[k].o.result == INGEST_RETRY) {
            if (r->retry_uid != f[k].uid) {
                r->retry_uid = f[k].uid;
                r->retry_count = 0;
            }
            r->retry_count++;
            atomic_fetch_add(&p->retries, 1);
            step = STEP_RETRY;
            break;
        }
    }
    if (batch && !st->ops->batch_end(st, true, e))
        return STEP_FAIL; /* nothing of it is there: all fetched again */
    if (step == STEP_RETRY)
        td_fail(e, TD_UNAVAILABLE, "mail UID %u: %.200s", f[k].uid, f[k].o.why);
    *handled = k;
    return step;
}

/* Fetches, ingests and finishes the first mails of uids[0..n); *done
 * says how many are finished (the UID is past them). */
static enum step one_batch(struct run *r, const uint32_t *uids, size_t n, size_t *done,
                           struct td_err *e)
{
    struct poller *p = r->p;
    const struct mailbox_settings *box = p->box;
    size_t cap = n < BATCH_MAILS ? n : BATCH_MAILS, nf = 0;
    struct fetched *f = td_calloc(cap, sizeof *f);
    struct imap_mail *im = td_calloc(cap, sizeof *im);
    enum step step = STEP_NEXT;
    *done = 0;
    if (!imap_fetch_batch(r->imap, uids, cap, p->set->limits.max_bytes, HEAD_BYTES, BATCH_BYTES,
                          im, &nf, e))
        step = STEP_FAIL;
    for (size_t i = 0; i < nf; i++) {
        f[i] = (struct fetched){ .uid = im[i].uid, .raw = im[i].raw, .len = im[i].len,
                                 .size = im[i].size, .gone = im[i].gone };
        if (!f[i].gone)
            stats_mail_fetched(box->name);
    }
    free(im);
    size_t handled = 0;
    if (step == STEP_NEXT)
        step = ingest_fetched(r, f, nf, &handled, e);
    /* Committed: now the server side. A lost connection here loses
     * nothing (the mails are fetched again and found done); a refusal
     * (no such folder, no permission) must not hold the mailbox up
     * forever: it is logged and the UID moves on. */
    struct td_err fe;
    td_err_clear(&fe);
    size_t finished = 0;
    if (!box->processed_folder[0] && handled > 0) { /* one UID STORE for the batch */
        uint32_t *seen = td_calloc(handled, sizeof *seen);
        size_t ns = 0;
        for (size_t i = 0; i < handled; i++)
            if (!f[i].gone)
                seen[ns++] = f[i].uid;
        bool ok = imap_mark_seen_many(r->imap, seen, ns, &fe);
        free(seen);
        if (ok || fe.code == TD_INVALID) {
            if (!ok)
                log_event(LOG_WARN, "mailbox_flag_or_move_failed", LF_S("mailbox", box->name),
                          LF_I("uid", f[0].uid), LF_S("reason", fe.msg));
            td_err_clear(&fe);
            for (size_t i = 0; i < handled; i++)
                if (!f[i].gone)
                    count_outcome(p, &f[i].o);
            finished = handled;
        }
    }
    for (; finished < handled; finished++) {
        struct fetched *m = &f[finished];
        if (m->gone)
            continue;
        count_outcome(p, &m->o);
        bool ok = imap_mark_seen(r->imap, m->uid, &fe);
        if (ok && box->processed_folder[0] && !m->o.keep_on_server)
            ok = imap_move(r->imap, m->uid, box->processed_folder, &fe);
        if (!ok) {
            if (fe.code != TD_INVALID)
                break;
            log_event(LOG_WARN, "mailbox_flag_or_move_failed", LF_S("mailbox", box->name),
                      LF_I("uid", m->uid), LF_S("reason", fe.msg));
            td_err_clear(&fe);
        }
    }
    if (finished < handled) { /* the connection failed while flagging */
        *e = fe;
        step = STEP_FAIL;
    }
    if (finished > 0) {
        if (step != STEP_RETRY) { /* a retried mail is never among the finished */
            r->retry_uid = 0;
            r->retry_count = 0;
        }
        struct td_err ue;
        td_err_clear(&ue);
        if (!p->core->store->ops->mailbox_set_uid(p->core->store, box->name, p->owner, td_now(),
                                                  r->uidvalidity, f[finished - 1].uid, &ue)) {
            *e = ue;
            step = ue.code == TD_CONFLICT ? STEP_LOST : STEP_FAIL;
        } else {
            *done = finished;
        }
    }
    for (size_t i = 0; i < nf; i++)
        free(f[i].raw);
    free(f);
    if (step == STEP_NEXT)
        td_err_clear(e);
    return step;
}

/* ---- one session ------------------------------------------------------------ */

static bool ingest_batch(struct run *r, const uint32_t *uids, size_t n, bool *lost, bool *again,
                         struct td_err *e);

/* Fetches and ingests everything new. false: this round ends early -
 * *lost (the lease is gone), *again (a mail asked to be tried again:
 * the connection is fine), else a failure in e. */
static bool catch_up(struct run *r, bool *lost, bool *again, struct td_err *e)
{
    struct poller *p = r->p;
    struct td_mailbox_state ms;
    memset(&ms, 0, sizeof ms);
    td_err_clear(e);
    if (!p->core->store->ops->mailbox_get(p->core->store, p->box->name, &ms, e))
        return false;
    uint32_t last = ms.last_uid;
    if (ms.uidvalidity != r->uidvalidity) {
        if (ms.uidvalidity != 0)
            log_event(LOG_WARN, "mailbox_uidvalidity_changed", LF_S("mailbox", p->box->name),
                      LF_I("old", ms.uidvalidity), LF_I("new", r->uidvalidity));
        last = 0; /* read everything again; dedupe keeps it single */
        td_err_clear(e);
        if (!p->core->store->ops->mailbox_set_uid(p->core->store, p->box->name, p->owner, td_now(),
                                                  r->uidvalidity, 0, e)) {
            mailbox_state_clear(&ms);
            *lost = e->code == TD_CONFLICT;
            return false;
        }
    }
    mailbox_state_clear(&ms);
    /* Search again after every non-empty batch, until a search finds
     * nothing: a mail that arrived while we fetched or stored was
     * announced (EXISTS) in the answer to that command, and the server
     * will not announce it again once IDLE starts. Without this it would
     * wait for the next mailbox change or IDLE restart (minutes). */
    bool ok = true;
    for (;;) {
        uint32_t *uids = NULL;
        size_t n = 0;
        if (!imap_search_after(r->imap, last, &uids, &n, e))
            return false;
        atomic_fetch_add(&p->cycles, 1);
        if (n == 0) {
            free(uids);
            return true;
        }
        ok = ingest_batch(r, uids, n, lost, again, e);
        last = uids[n - 1] > last ? uids[n - 1] : last;
        free(uids);
        if (!ok || atomic_load(&p->stop))
            return ok;
    }
}

/* Ingests the mails uids[0..n) in order, a batch at a time; false ends
 * the round early, as catch_up says. */
static bool ingest_batch(struct run *r, const uint32_t *uids, size_t n, bool *lost, bool *again,
                         struct td_err *e)
{
    struct poller *p = r->p;
    bool ok = true;
    size_t i = 0;
    while (i < n && ok) {
        if (atomic_load(&p->stop))
            break;
        if (lease_due(r)) {
            int l = lease(r, e);
            if (l != 1) {
                *lost = l == 0;
                ok = false;
                break;
            }
        }
        size_t done = 0;
        switch (one_batch(r, uids + i, n - i, &done, e)) {
        case STEP_NEXT:
            r->backoff_step = 0;
            break;
        case STEP_LOST:
            *lost = true;
            ok = false;
            break;
        case STEP_RETRY:
            *again = true;
            ok = false;
            break;
        case STEP_FAIL:
            ok = false;
            break;
        }
        i += done;
        if (ok && done == 0)
            break; /* nothing moved on: do not spin (one_batch always moves with n > 0) */
    }
    return ok;
}

/* Waits for new mail (IDLE or a poll interval), renewing the lease.
 * false: the session failed (e filled) or we are stopping. */
static bool wait_for_mail(struct run *r, bool *lost, struct td_err *e)
{
    struct poller *p = r->p;
    const struct mailgw_settings *set = p->set;
    int64_t slice = set->lease_ttl_ms / 3;
    bool idle = p->box->idle && imap_has_idle(r->imap);
    int64_t total = idle ? set->idle_restart_ms : p->box->poll_interval_ms;
    int64_t waited = 0;
    while (waited < total && !atomic_load(&p->stop)) {
        int64_t chunk = total - waited < slice ? total - waited : slice;
        if (idle) {
            bool activity = false;
            if (!imap_idle(r->imap, p->wake[0], chunk, &activity, e))
                return false;
            if (activity)
                return true;
        } else {
            enum nap n = nap(p, chunk);
            if (n == NAP_STOP)
                return false;
            if (n == NAP_POKED)
                return true;
            if (!imap_noop(r->imap, e))
                return false;
        }
        waited += chunk;
        /* poked? */
        struct pollfd f = { p->wake[0], POLLIN, 0 };
        if (poll(&f, 1, 0) > 0) {
            drain(p->wake[0]);
            return !atomic_load(&p->stop);
        }
        int l = lease(r, e);
        if (l != 1) {
            *lost = l == 0;
            return false;
        }
    }
    return !atomic_load(&p->stop);
}

static void *poller_main(void *arg)
{
    struct poller *p = arg;
    struct run r = { .p = p };
    struct td_err e;
    log_event(LOG_INFO, "mailbox_started", LF_S("mailbox", p->box->name), LF_S("host", p->box->host),
              LF_S("folder", p->box->folder), LF_S("owner", p->owner));
    while (!atomic_load(&p->stop)) {
        int l = lease(&r, &e);
        if (l == 0) {
            /* Someone else owns it: no connection, look again later. */
            disconnect(&r);
            (void)nap(p, p->set->lease_ttl_ms / 3);
            continue;
        }
        if (l < 0) {
            fail(&r, "lease", &e);
            continue;
        }
        if (r.imap == NULL) {
            if (r.connected_once)
                stats_imap_reconnect(p->box->name);
            td_err_clear(&e);
            if (!imap_open(p->box, &r.imap, &e) ||
                !imap_select(r.imap, p->box->folder, &r.uidvalidity, &e)) {
                fail(&r, "connect", &e);
                continue;
            }
            r.connected_once = true;
            log_event(LOG_INFO, "mailbox_connected", LF_S("mailbox", p->box->name),
                      LF_I("uidvalidity", r.uidvalidity), LF_I("idle", imap_has_idle(r.imap)),
                      LF_I("move", imap_has_move(r.imap)));
        }
        bool lost = false, again = false;
        td_err_clear(&e);
        if (!catch_up(&r, &lost, &again, &e)) {
            if (lost)
                continue; /* the lease loop decides what next */
            if (atomic_load(&p->stop))
                break;
            if (again) {
                /* A mail asked to be tried again: back off without
                 * dropping a healthy connection. */
                atomic_fetch_add(&p->failures, 1);
                int64_t ms = backoff_ms(&r);
                log_event(LOG_WARN, "mailbox_retry", LF_S("mailbox", p->box->name),
                          LF_S("reason", e.msg), LF_I("retry_in_ms", ms));
                (void)nap(p, ms);
                continue;
            }
            fail(&r, "fetch", &e);
            continue;
        }
        td_err_clear(&e);
        if (!wait_for_mail(&r, &lost, &e) && !atomic_load(&p->stop) && !lost)
            fail(&r, "wait", &e);
    }
    disconnect(&r);
    if (atomic_load(&p->owning))
        (void)p->core->store->ops->lease_release(p->core->store, p->box->name, p->owner, NULL);
    atomic_store(&p->owning, false);
    log_event(LOG_INFO, "mailbox_stopped", LF_S("mailbox", p->box->name));
    return NULL;
}

bool poller_start(struct poller *p, struct td_core *core, const struct mailgw_settings *set,
                  const struct mailbox_settings *box, struct td_err *err)
{
    p->core = core;
    p->set = set;
    p->box = box;
    atomic_store(&p->stop, false);
    atomic_store(&p->owning, false);
    if (p->owner[0] == '\0')
        lease_owner_make(p->owner, sizeof p->owner);
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        return td_fail(err, TD_INTERNAL, "mailgw: pipe: %s", strerror(errno));
    if (pthread_create(&p->thread, NULL, poller_main, p) != 0) {
        close(p->wake[0]);
        close(p->wake[1]);
        return td_fail(err, TD_INTERNAL, "mailgw: cannot start the thread for mailbox %s",
                       box->name);
    }
    (void)pthread_setname_np(p->thread, "td-imap");
    p->running = true;
    return true;
}

void poller_poke(struct poller *p)
{
    if (p->running)
        (void)!write(p->wake[1], "x", 1);
}

void poller_stop(struct poller *p)
{
    if (!p->running)
        return;
    atomic_store(&p->stop, true);
    poller_poke(p);
    pthread_join(p->thread, NULL);
    close(p->wake[0]);
    close(p->wake[1]);
    p->running = false;
}

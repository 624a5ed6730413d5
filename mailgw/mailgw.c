/* mailgw.c - see mailgw.h: settings, one poller per mailbox, the
 * quarantine retry. */
#include "mailgw.h"

#include <pthread.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "poller.h"
#include "core/reply_token.h"
#include "settings.h"

struct mailgw {
    struct mailgw_settings set;
    struct reply_keys keys;
    struct reply_verifier rv; /* core's verifier over keys */
    struct poller *pollers;
    size_t n;
};

static pthread_mutex_t verifier_lock = PTHREAD_MUTEX_INITIALIZER;
static trust_verify_fn custom_verify;
static void *custom_ctx;

void mailgw_set_verifier(trust_verify_fn fn, void *ctx)
{
    pthread_mutex_lock(&verifier_lock);
    custom_verify = fn;
    custom_ctx = ctx;
    pthread_mutex_unlock(&verifier_lock);
}

/* Settings plus the verifier; g->rv must stay where it is. */
static bool configure(struct td_app *env, struct mailgw *g, struct td_err *err)
{
    if (!settings_load(env->cfg, &g->set, err))
        return false;
    if (!reply_keys_from_config(env->cfg, &g->keys, err)) {
        settings_clear(&g->set);
        return false;
    }
    bool enabled = reply_keys_enabled(&g->keys);
    g->rv.keys = &g->keys;
    g->rv.st = env->store;
    pthread_mutex_lock(&verifier_lock);
    if (custom_verify) {
        g->set.verify = custom_verify;
        g->set.verify_ctx = custom_ctx;
    } else if (enabled) {
        g->set.verify = reply_token_verify_sender;
        g->set.verify_ctx = &g->rv;
    }
    pthread_mutex_unlock(&verifier_lock);
    return true;
}

static void unconfigure(struct mailgw *g)
{
    settings_clear(&g->set);
    reply_keys_wipe(&g->keys);
}

bool mailgw_start(struct td_app *env, void **handle, struct td_err *err)
{
    struct mailgw *g = td_calloc(1, sizeof *g);
    if (!configure(env, g, err)) {
        free(g);
        return false;
    }
    if (g->set.n_boxes == 0)
        log_event(LOG_WARN, "mailgw_idle", LF_S("why", "no [mailbox NAME] section configured"));
    if (g->set.own.n == 0)
        log_event(LOG_WARN, "mailgw_no_support_address",
                  LF_S("why", "set [mailgw] support_addresses: mail from ourselves cannot be recognised"));
    g->pollers = td_calloc(g->set.n_boxes ? g->set.n_boxes : 1, sizeof *g->pollers);
    for (size_t i = 0; i < g->set.n_boxes; i++) {
        if (!poller_start(&g->pollers[i], &env->core, &g->set, &g->set.boxes[i], err)) {
            mailgw_stop(g);
            return false;
        }
        g->n++;
    }
    *handle = g;
    return true;
}

void mailgw_stop(void *handle)
{
    struct mailgw *g = handle;
    if (g == NULL)
        return;
    /* Ask all first, then wait: they stop in parallel. */
    for (size_t i = 0; i < g->n; i++) {
        atomic_store(&g->pollers[i].stop, true);
        poller_poke(&g->pollers[i]);
    }
    for (size_t i = 0; i < g->n; i++)
        poller_stop(&g->pollers[i]);
    free(g->pollers);
    unconfigure(g);
    free(g);
}

void mailgw_reload(void *handle)
{
    struct mailgw *g = handle;
    for (size_t i = 0; g && i < g->n; i++)
        poller_poke(&g->pollers[i]);
}

bool mailgw_check(struct td_app *env, struct td_err *err)
{
    struct mailgw g;
    memset(&g, 0, sizeof g);
    if (!configure(env, &g, err))
        return false;
    unconfigure(&g);
    return true;
}

bool mailgw_quarantine_retry(struct td_app *env, const char *id, struct ingest_outcome *out,
                             struct td_err *err)
{
    struct store *st = env->store;
    struct td_quarantine q;
    if (!st->ops->quarantine_get(st, id, &q, err))
        return false;
    if (q.raw_len < q.raw_size) {
        td_fail(err, TD_INVALID,
                "only the first %zu of %zu bytes of this mail were kept; it is still in mailbox "
                "'%.60s' (UID %u): move it back into the folder to have it fetched again",
                q.raw_len, q.raw_size, q.mailbox ? q.mailbox : "", q.uid);
        quarantine_clear(&q);
        return false;
    }
    struct mailgw *g = td_calloc(1, sizeof *g);
    if (!configure(env, g, err)) {
        free(g);
        quarantine_clear(&q);
        return false;
    }
    const char *queue = "";
    for (size_t i = 0; i < g->set.n_boxes; i++)
        if (q.mailbox && strcmp(g->set.boxes[i].name, q.mailbox) == 0)
            queue = g->set.boxes[i].queue;
    struct ingest_ctx ic = { &env->core, &g->set };
    struct ingest_src src = { .mailbox = q.mailbox ? q.mailbox : "", .queue = queue,
                              .uidvalidity = q.uidvalidity, .uid = q.uid, .retry = true };
    ingest_mail(&ic, &src, (const char *)q.raw, q.raw_len, out);
    bool ok = true;
    switch (out->result) {
    case INGEST_TICKET:
    case INGEST_COMMENT:
    case INGEST_DUPLICATE: {
        struct td_err e;
        td_err_clear(&e);
        if (!st->ops->quarantine_delete(st, id, &e) && e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            ok = false;
        }
        break;
    }
    case INGEST_QUARANTINED:
        break;
    case INGEST_RETRY:
        ok = td_fail(err, TD_UNAVAILABLE, "%s", out->why);
        break;
    }
    unconfigure(g);
    free(g);
    quarantine_clear(&q);
    return ok;
}

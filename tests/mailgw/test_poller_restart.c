/* test_poller_restart.c - issue 15: after a crash, a restarted ticketd
 * reads mail at once instead of waiting out the dead process's 60 s
 * mailbox lease, and only when it can prove that process is gone (this
 * host, this boot, this pid namespace, the pid no longer exists). Any
 * other holder is waited for, as before. A real Dovecot (harness); on
 * SQLite and on the MongoDB test server; every wait bounded. */
#include "mail_fixture.h"
#include "imap_fixture.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/id.h"
#include "mailgw/lease_owner.h"
#include "mailgw/poller.h"

#define LEASE_MS 60000 /* the production default: a wait for it fails the test */
#define QUICK_MS 10000 /* "well before the lease" */

static struct harness_server dovecot;
static pid_t children[2]; /* killed by the teardown, even after a failure */

static int kill_children(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return 0;
}

struct env {
    char dir[256];
    char uri[768];
    struct harness_server mongo;
    struct store *st;
    struct td_core core;
    struct mailgw_settings set;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void settings_for(struct mailgw_settings *s, const char *folder)
{
    settings_defaults(s);
    strv_push(&s->own, "support@example.com");
    s->loop_id = td_strdup("support@example.com");
    s->lease_ttl_ms = LEASE_MS;
    s->idle_restart_ms = 1000;
    s->backoff_min_ms = 50;
    s->backoff_max_ms = 400;
    s->rate_limit = 0;
    s->boxes = td_calloc(1, sizeof *s->boxes);
    s->n_boxes = 1;
    struct mailbox_settings *b = &s->boxes[0];
    b->name = td_strdup(folder);
    b->host = td_strdup("127.0.0.1");
    b->port = dovecot.port;
    b->tls = IMAP_TLS_NONE;
    b->user = td_strdup(FIX_USER);
    b->password = td_strdup(FIX_PASS);
    b->folder = td_strdup(folder);
    b->processed_folder = td_strdup("");
    b->queue = td_strdup("support");
    b->address = td_strdup("");
    b->idle = true;
    b->poll_interval_ms = 200;
}

static void env_open(struct env *e, bool mongo)
{
    memset(e, 0, sizeof *e);
    struct td_err err;
    assert_true(core_init(&err));
    if (mongo) {
        assert_true(harness_mongo_start(&e->mongo));
        snprintf(e->uri, sizeof e->uri, "%s", e->mongo.uri);
    } else {
        assert_true(harness_tempdir(e->dir, sizeof e->dir));
        snprintf(e->uri, sizeof e->uri, "sqlite:%s/t.db", e->dir);
    }
    if (!store_open(e->uri, &e->st, &err))
        fail_msg("store_open: %s", err.msg);
    core_defaults(&e->core, e->st);
}

static void env_close(struct env *e)
{
    settings_clear(&e->set);
    store_close(e->st);
    if (e->dir[0])
        harness_rmtree(e->dir);
    harness_stop(&e->mongo);
}

/* The first ticketd: a poller with its own store handle and a normal
 * (generated) owner, until it is killed. */
static void poller_child(const char *uri, const char *folder)
{
    struct td_err err;
    struct store *st = NULL;
    if (!core_init(&err) || !store_open(uri, &st, &err))
        _exit(3);
    struct td_core core;
    core_defaults(&core, st);
    struct mailgw_settings set;
    settings_for(&set, folder);
    static struct poller p;
    memset(&p, 0, sizeof p);
    if (!poller_start(&p, &core, &set, &set.boxes[0], &err))
        _exit(4);
    for (;;)
        pause();
}

/* The lease holder of folder, waited for (bounded); caller frees. */
static char *holder_of(struct store *st, const char *folder, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        struct td_mailbox_state ms;
        struct td_err err;
        memset(&ms, 0, sizeof ms);
        if (st->ops->mailbox_get(st, folder, &ms, &err) && ms.lease_owner != NULL) {
            char *h = td_strdup(ms.lease_owner);
            mailbox_state_clear(&ms);
            return h;
        }
        mailbox_state_clear(&ms);
        if (now_ms() > end)
            fail_msg("no lease holder of %s after %d ms", folder, timeout_ms);
        sleep_ms(20);
    }
}

static long handled(struct poller *p)
{
    return atomic_load(&p->ingested) + atomic_load(&p->duplicates) + atomic_load(&p->quarantined);
}

static void deliver(const char *folder, const char *name)
{
    size_t len;
    char *raw = mail_read(name, 0, &len);
    assert_true(fix_append(dovecot.port, folder, raw, len));
    free(raw);
}

/* kill -9 the poller, restart: ingest begins well before the lease. */
static void restart_after_kill(bool mongo)
{
    struct env e;
    env_open(&e, mongo);
    const char *folder = mongo ? "RestartM" : "Restart";
    assert_true(fix_create(dovecot.port, folder));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        poller_child(e.uri, folder);
    children[0] = pid;
    char *dead = holder_of(e.st, folder, 15000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    children[0] = 0;
    assert_true(lease_owner_gone(dead));

    deliver(folder, "gmail_new.eml");
    settings_for(&e.set, folder);
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    int64_t t0 = now_ms();
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    while (handled(&p) < 1 && now_ms() - t0 < QUICK_MS)
        sleep_ms(20);
    int64_t took = now_ms() - t0;
    poller_stop(&p);
    print_message("restart: the mail was ingested %lld ms after the restart (lease %d ms)\n",
                  (long long)took, LEASE_MS);
    if (handled(&p) < 1)
        fail_msg("nothing ingested %d ms after the restart: waiting for the dead holder %s",
                 QUICK_MS, dead);
    assert_int_equal(atomic_load(&p.ingested), 1);
    free(dead);
    env_close(&e);
}

static void test_restart_after_kill_sqlite(void **state)
{
    (void)state;
    restart_after_kill(false);
}

static void test_restart_after_kill_mongodb(void **state)
{
    (void)state;
    restart_after_kill(true);
}

/* A holder that cannot be proved gone is waited for: another host, an
 * owner of the old format, a process of this host that is alive. */
static void test_others_wait(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    const char *folder = "Held";
    assert_true(fix_create(dovecot.port, folder));
    deliver(folder, "gmail_new.eml");
    pid_t alive = fork();
    assert_true(alive >= 0);
    if (alive == 0) {
        for (;;)
            pause();
    }
    children[1] = alive;
    char mine[96], live[128];
    lease_owner_make(mine, sizeof mine);
    /* mine with the pid of the live child: same host, boot, namespace */
    const char *c = strchr(mine, ':');
    const char *rest = strchr(c + 1, ':');
    snprintf(live, sizeof live, "%.*s:%d%s", (int)(c - mine), mine, (int)alive, rest);
    assert_false(lease_owner_gone(live));
    const char *holders[] = { "otherhost:4242:0123456789ab:4026531836:abcdefgh",
                              "vm:4242:deadbeef", live };
    settings_for(&e.set, folder);
    for (size_t i = 0; i < sizeof holders / sizeof *holders; i++) {
        struct td_err err;
        assert_true(e.st->ops->lease_acquire(e.st, folder, holders[i], td_now(), LEASE_MS, &err));
        struct poller p;
        memset(&p, 0, sizeof p);
        assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
        sleep_ms(1500);
        bool owning = atomic_load(&p.owning);
        long n = handled(&p);
        poller_stop(&p);
        if (owning || n != 0)
            fail_msg("the lease of %s was taken (owning %d, handled %ld)", holders[i], owning, n);
        assert_true(e.st->ops->lease_release(e.st, folder, holders[i], &err));
    }
    kill_children(NULL);
    env_close(&e);
}

static int group_setup(void **state)
{
    (void)state;
    return harness_dovecot_start(&dovecot, FIX_USER, FIX_PASS) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&dovecot);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_restart_after_kill_sqlite, kill_children),
        cmocka_unit_test_teardown(test_restart_after_kill_mongodb, kill_children),
        cmocka_unit_test_teardown(test_others_wait, kill_children),
    };
    return cmocka_run_group_tests_name("poller_restart", tests, group_setup, group_teardown);
}

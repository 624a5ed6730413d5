/* test_poller.c - the mail gateway against a real Dovecot (harness):
 * mail delivered by LMTP or IMAP APPEND becomes tickets and comments;
 * processed mail is marked \Seen and moved; IDLE notices new mail at
 * once; a restart, a SIGKILL at random moments, a UIDVALIDITY change and
 * a second poller never double anything; only the lease holder ingests.
 * On SQLite, and the basic run on the MongoDB test server too. Every
 * wait is bounded; the servers are always stopped (harness). */
#include "mail_fixture.h"
#include "imap_fixture.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "core/core.h"
#include "core/id.h"
#include "mailgw/poller.h"

static struct harness_server dovecot;

/* ---- fixture -------------------------------------------------------------- */

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

static void settings_for(struct mailgw_settings *s, const char *folder, const char *processed,
                         bool idle, int64_t poll_ms)
{
    settings_defaults(s);
    strv_push(&s->own, "support@example.com");
    s->loop_id = td_strdup("support@example.com");
    s->lease_ttl_ms = 1500;
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
    b->processed_folder = td_strdup(processed ? processed : "");
    b->queue = td_strdup("support");
    b->address = td_strdup("");
    b->idle = idle;
    b->poll_interval_ms = poll_ms;
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

static size_t tickets(struct store *st)
{
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.limit = 1000;
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    if (!st->ops->ticket_list(st, &f, &l, &err))
        fail_msg("ticket_list: %s", err.msg);
    size_t n = l.n;
    ticket_list_clear(&l);
    return n;
}

static long processed(struct poller *p)
{
    return atomic_load(&p->ingested) + atomic_load(&p->duplicates) + atomic_load(&p->quarantined);
}

/* Waits (bounded) until the poller has handled want mails. */
static void wait_processed(struct poller *p, long want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (processed(p) < want && now_ms() < end)
        sleep_ms(20);
    if (processed(p) < want)
        fail_msg("after %d ms the poller handled %ld of %ld mails (failures %ld)", timeout_ms,
                 processed(p), want, atomic_load(&p->failures));
}

static void deliver_file(const char *name)
{
    size_t len;
    char *raw = mail_read(name, 0, &len);
    assert_true(fix_lmtp(dovecot.lmtp_port, raw, len));
    free(raw);
}

static char *numbered_mail(int i, size_t *len)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "From: Customer %d <customer%d@example.net>\r\nTo: support@example.com\r\n"
                   "Subject: Problem number %d\r\nMessage-ID: <problem-%d@example.net>\r\n"
                   "Date: Sat, 8 Jun 2024 10:00:00 +0000\r\n\r\nPlease help with problem %d.\r\n",
               i % 50, i % 50, i, i, i);
    *len = b.len;
    return buf_steal(&b);
}

/* One IMAP session for all of them: a login per mail would cost seconds. */
static void append_numbered(const char *folder, int from, int to)
{
    mailimap *imap = fix_imap(dovecot.port);
    assert_non_null(imap);
    for (int i = from; i < to; i++) {
        size_t len;
        char *m = numbered_mail(i, &len);
        int r = mailimap_append_simple(imap, folder, m, len);
        free(m);
        if (r != MAILIMAP_NO_ERROR) {
            fix_imap_close(imap);
            fail_msg("APPEND to %s failed (%d)", folder, r);
        }
    }
    fix_imap_close(imap);
}

/* ---- tests ------------------------------------------------------------------ */

static void end_to_end(bool mongo)
{
    struct env e;
    env_open(&e, mongo);
    const char *processed_folder = mongo ? "ProcessedM" : "Processed";
    settings_for(&e.set, "INBOX", processed_folder, true, 60000);
    deliver_file("gmail_new.eml");
    deliver_file("gmail_reply.eml");
    deliver_file("latin1_new.eml");
    deliver_file("no_sender.eml");
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    wait_processed(&p, 4, 15000);
    poller_stop(&p);
    assert_int_equal(atomic_load(&p.ingested), 3);
    assert_int_equal(atomic_load(&p.quarantined), 1);
    assert_int_equal(tickets(e.st), 2);
    int64_t n = 0;
    assert_true(e.st->ops->ticket_find_by_msgid(e.st, "CAGmail-0001-anna@mail.gmail.com", &n, &err));
    struct td_comment_list cl;
    assert_true(e.st->ops->comment_list(e.st, n, true, &cl, &err));
    assert_int_equal(cl.n, 2);
    assert_string_equal(cl.v[1].body, "It works again after the restart, thank you!");
    comment_list_clear(&cl);
    struct td_ticket t;
    assert_true(e.st->ops->ticket_get(e.st, n, &t, &err));
    assert_string_equal(t.queue, "support");
    ticket_clear(&t);
    struct td_quarantine_list ql = { NULL, 0 };
    assert_true(e.st->ops->quarantine_list(e.st, 0, &ql, &err));
    assert_int_equal(ql.n, 1);
    assert_non_null(strstr(ql.v[0].reason, "no usable sender"));
    assert_string_equal(ql.v[0].mailbox, "INBOX");
    quarantine_list_clear(&ql);
    /* every mail left the inbox for the processed folder, \Seen */
    int seen = 0;
    assert_int_equal(fix_count(dovecot.port, "INBOX", NULL), 0);
    assert_int_equal(fix_count(dovecot.port, processed_folder, &seen), 4);
    assert_int_equal(seen, 4);
    struct td_mailbox_state ms;
    assert_true(e.st->ops->mailbox_get(e.st, "INBOX", &ms, &err));
    assert_true(ms.last_uid >= 4);
    assert_null(ms.lease_owner); /* released on stop */
    mailbox_state_clear(&ms);
    env_close(&e);
}

static void test_end_to_end_sqlite(void **state)
{
    (void)state;
    end_to_end(false);
}

static void test_end_to_end_mongodb(void **state)
{
    (void)state;
    end_to_end(true);
}

static void test_idle_is_quick(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "Idle"));
    /* Polling once a minute: only IDLE can find the mail in time. */
    settings_for(&e.set, "Idle", NULL, true, 60000);
    e.set.idle_restart_ms = 20000;
    e.set.lease_ttl_ms = 30000;
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    int64_t end = now_ms() + 5000;
    while (atomic_load(&p.cycles) < 1 && now_ms() < end)
        sleep_ms(10);
    assert_true(atomic_load(&p.cycles) >= 1);
    sleep_ms(200); /* inside IDLE now */
    size_t len;
    char *m = numbered_mail(1, &len);
    int64_t t0 = now_ms();
    assert_true(fix_append(dovecot.port, "Idle", m, len));
    free(m);
    wait_processed(&p, 1, 3000);
    int64_t took = now_ms() - t0;
    poller_stop(&p);
    assert_true(took < 3000);
    assert_int_equal(tickets(e.st), 1);
    env_close(&e);
}

/* A mail that arrives while the poller is ingesting the previous one is
 * announced in the answer to that FETCH/STORE, not again when IDLE
 * starts: the poller must search again before it idles (bench found
 * such mails waiting for the IDLE restart). The hook delivers mail 2
 * from inside the ingest of mail 1. */
static atomic_int hook_calls;

static void deliver_during_ingest(struct td_core *c, const struct td_user *actor,
                                  const struct td_ticket *t, const struct td_event *ev, size_t n)
{
    (void)c;
    (void)actor;
    (void)t;
    (void)ev;
    (void)n;
    if (atomic_fetch_add(&hook_calls, 1) != 0)
        return;
    size_t len;
    char *m = numbered_mail(2, &len);
    bool ok = fix_append(dovecot.port, "During", m, len);
    free(m);
    if (!ok)
        atomic_store(&hook_calls, -1000);
}

static void test_mail_during_ingest_not_missed(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "During"));
    settings_for(&e.set, "During", NULL, true, 60000);
    e.set.idle_restart_ms = 20000; /* only a fresh search can find mail 2 in time */
    e.set.lease_ttl_ms = 30000;
    atomic_store(&hook_calls, 0);
    e.core.on_events = deliver_during_ingest;
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    int64_t end = now_ms() + 5000;
    while (atomic_load(&p.cycles) < 1 && now_ms() < end)
        sleep_ms(10);
    sleep_ms(200); /* inside IDLE now */
    size_t len;
    char *m = numbered_mail(1, &len);
    assert_true(fix_append(dovecot.port, "During", m, len));
    free(m);
    wait_processed(&p, 2, 4000);
    poller_stop(&p);
    assert_true(atomic_load(&hook_calls) > 0);
    assert_int_equal(tickets(e.st), 2);
    env_close(&e);
}

static void test_restart_and_uidvalidity(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "Again"));
    append_numbered("Again", 0, 5);
    settings_for(&e.set, "Again", NULL, false, 100);
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    wait_processed(&p, 5, 10000);
    poller_stop(&p);
    assert_int_equal(tickets(e.st), 5);
    struct td_mailbox_state ms;
    assert_true(e.st->ops->mailbox_get(e.st, "Again", &ms, &err));
    uint32_t old_validity = ms.uidvalidity;
    mailbox_state_clear(&ms);

    /* A restart reads nothing twice: the UID was stored. */
    memset(&p, 0, sizeof p);
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    int64_t end = now_ms() + 5000;
    while (atomic_load(&p.cycles) < 2 && now_ms() < end)
        sleep_ms(10);
    poller_stop(&p);
    assert_int_equal(processed(&p), 0);

    /* The folder is recreated (new UIDVALIDITY) with the same mails and
     * one more: everything is read again, only the new one is new. */
    assert_true(fix_delete(dovecot.port, "Again"));
    assert_true(fix_create(dovecot.port, "Again"));
    append_numbered("Again", 0, 6);
    memset(&p, 0, sizeof p);
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    wait_processed(&p, 6, 10000);
    poller_stop(&p);
    assert_int_equal(atomic_load(&p.duplicates), 5);
    assert_int_equal(atomic_load(&p.ingested), 1);
    assert_int_equal(tickets(e.st), 6);
    assert_true(e.st->ops->mailbox_get(e.st, "Again", &ms, &err));
    assert_true(ms.uidvalidity != old_validity);
    mailbox_state_clear(&ms);
    env_close(&e);
}

static void test_two_pollers_one_mailbox(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "Shared"));
    append_numbered("Shared", 100, 110);
    settings_for(&e.set, "Shared", NULL, true, 100);
    /* a second process: its own store handle on the same database */
    struct store *st2 = NULL;
    struct td_err err;
    assert_true(store_open(e.uri, &st2, &err));
    struct td_core core2;
    core_defaults(&core2, st2);
    struct poller a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_true(poller_start(&a, &e.core, &e.set, &e.set.boxes[0], &err));
    sleep_ms(100);
    assert_true(poller_start(&b, &core2, &e.set, &e.set.boxes[0], &err));
    int64_t end = now_ms() + 10000;
    while (processed(&a) + processed(&b) < 10 && now_ms() < end)
        sleep_ms(20);
    assert_int_equal(processed(&a) + processed(&b), 10);
    /* exactly one of them did it all */
    assert_true((processed(&a) == 10 && processed(&b) == 0) ||
                (processed(&b) == 10 && processed(&a) == 0));
    assert_true(atomic_load(&a.owning) != atomic_load(&b.owning));
    struct poller *owner = atomic_load(&a.owning) ? &a : &b;
    struct poller *other = owner == &a ? &b : &a;
    /* The owner goes away: the other takes the mailbox over. */
    poller_stop(owner);
    append_numbered("Shared", 110, 112);
    wait_processed(other, 2, 10000);
    poller_stop(other);
    assert_int_equal(tickets(e.st), 12);
    store_close(st2);
    env_close(&e);
}

/* ---- the crash test ---------------------------------------------------------------- */

#define CRASH_MAILS 200
#define CRASH_KILLS 40 /* then a last, undisturbed run */

/* The child: a poller on its own store handle, until killed. */
static void crash_child(const char *uri)
{
    struct td_err err;
    struct store *st = NULL;
    if (!core_init(&err) || !store_open(uri, &st, &err))
        _exit(3);
    struct td_core core;
    core_defaults(&core, st);
    struct mailgw_settings set;
    settings_for(&set, "Crash", NULL, true, 100);
    static struct poller p;
    memset(&p, 0, sizeof p);
    /* the same instance restarting: its lease is still its own */
    snprintf(p.owner, sizeof p.owner, "crash-test-instance");
    if (!poller_start(&p, &core, &set, &set.boxes[0], &err))
        _exit(4);
    for (;;)
        pause();
}

static void test_sigkill_at_random_points(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "Crash"));
    append_numbered("Crash", 1000, 1000 + CRASH_MAILS);
    unsigned seed = (unsigned)time(NULL);
    int kills = 0;
    int64_t end = now_ms() + 40000;
    struct td_err err;
    for (;;) {
        struct td_mailbox_state ms;
        memset(&ms, 0, sizeof ms);
        bool have = e.st->ops->mailbox_get(e.st, "Crash", &ms, &err);
        uint32_t last = have ? ms.last_uid : 0;
        mailbox_state_clear(&ms);
        if (last >= CRASH_MAILS || now_ms() > end || kills >= CRASH_KILLS)
            break;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(e.uri);
        sleep_ms(10 + (int)(rand_r(&seed) % 150));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        kills++;
    }
    /* a last, undisturbed run finishes whatever is left */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(e.uri);
    int64_t end2 = now_ms() + 20000;
    for (;;) {
        struct td_mailbox_state ms;
        memset(&ms, 0, sizeof ms);
        bool have = e.st->ops->mailbox_get(e.st, "Crash", &ms, &err);
        uint32_t last = have ? ms.last_uid : 0;
        mailbox_state_clear(&ms);
        if (last >= CRASH_MAILS || now_ms() > end2)
            break;
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* every mail is exactly one ticket with exactly one comment */
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.limit = 1000;
    struct td_ticket_list l = { NULL, 0 };
    assert_true(e.st->ops->ticket_list(e.st, &f, &l, &err));
    print_message("crash test: %d kills, %zu tickets\n", kills, l.n);
    assert_int_equal(l.n, CRASH_MAILS);
    static bool seen[CRASH_MAILS];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < l.n; i++) {
        int k = -1;
        assert_int_equal(sscanf(l.v[i].subject, "Problem number %d", &k), 1);
        k -= 1000;
        assert_true(k >= 0 && k < CRASH_MAILS);
        assert_false(seen[k]);
        seen[k] = true;
        struct td_comment_list cl;
        assert_true(e.st->ops->comment_list(e.st, l.v[i].number, true, &cl, &err));
        assert_int_equal(cl.n, 1);
        comment_list_clear(&cl);
    }
    ticket_list_clear(&l);
    struct td_quarantine_list ql = { NULL, 0 };
    assert_true(e.st->ops->quarantine_list(e.st, 0, &ql, &err));
    assert_int_equal(ql.n, 0);
    quarantine_list_clear(&ql);
    env_close(&e);
}

/* The server refuses the move (an invalid folder name): the mail is in
 * the store, so the mailbox moves on instead of retrying forever. */
static void test_refused_move_does_not_block(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    assert_true(fix_create(dovecot.port, "Refuse"));
    append_numbered("Refuse", 300, 303);
    settings_for(&e.set, "Refuse", "bad..name", false, 100);
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    wait_processed(&p, 3, 10000);
    poller_stop(&p);
    assert_int_equal(atomic_load(&p.ingested), 3);
    assert_int_equal(tickets(e.st), 3);
    struct td_mailbox_state ms;
    assert_true(e.st->ops->mailbox_get(e.st, "Refuse", &ms, &err));
    assert_int_equal(ms.last_uid, 3);
    mailbox_state_clear(&ms);
    int seen = 0;
    assert_int_equal(fix_count(dovecot.port, "Refuse", &seen), 3); /* still there, \Seen */
    assert_int_equal(seen, 3);
    env_close(&e);
}

static void test_bad_password_backs_off(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, false);
    settings_for(&e.set, "INBOX", NULL, true, 100);
    free(e.set.boxes[0].password);
    e.set.boxes[0].password = td_strdup("wrong");
    struct poller p;
    memset(&p, 0, sizeof p);
    struct td_err err;
    assert_true(poller_start(&p, &e.core, &e.set, &e.set.boxes[0], &err));
    int64_t end = now_ms() + 5000;
    while (atomic_load(&p.failures) < 3 && now_ms() < end)
        sleep_ms(20);
    int64_t t0 = now_ms();
    poller_stop(&p);
    assert_true(now_ms() - t0 < 2000); /* stopping does not wait out a backoff */
    assert_true(atomic_load(&p.failures) >= 3);
    assert_int_equal(processed(&p), 0);
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
    signal(SIGPIPE, SIG_IGN); /* as ticketd serve does: a closed server is an error, not a signal */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_to_end_sqlite),
        cmocka_unit_test(test_end_to_end_mongodb),
        cmocka_unit_test(test_idle_is_quick),
        cmocka_unit_test(test_mail_during_ingest_not_missed),
        cmocka_unit_test(test_restart_and_uidvalidity),
        cmocka_unit_test(test_two_pollers_one_mailbox),
        cmocka_unit_test(test_sigkill_at_random_points),
        cmocka_unit_test(test_refused_move_does_not_block),
        cmocka_unit_test(test_bad_password_backs_off),
    };
    return cmocka_run_group_tests_name("poller", tests, group_setup, group_teardown);
}

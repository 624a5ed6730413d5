/* test_automation.c - core/automation.h on both stores: pending
 * reminders and auto-close, driven by an injected clock (days pass in
 * milliseconds), recorded in the history by the system, mailed through
 * the notification planner, and idempotent across re-runs and across two
 * processes running the same job at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "core/automation.h"
#include "core/id.h"
#include "core/scheduler.h"
#include "notify_fixture.h"

#define DAY AUTOMATION_DAY_MS
#define MIN ((td_time)60000)

static const struct automation_config cfg_3_2_7 = { 3, 2, 7, 60000, 180000 };

static void history_of(struct nfx *f, int64_t n, struct td_event_list *h)
{
    struct td_err err;
    if (!f->st->ops->history_list(f->st, n, h, &err))
        fail_msg("history_list: %s", err.msg);
}

static size_t events_of(struct nfx *f, int64_t n, enum td_event_kind kind, const char *new_value)
{
    struct td_event_list h = { NULL, 0 };
    history_of(f, n, &h);
    size_t c = 0;
    for (size_t i = 0; i < h.n; i++)
        if (h.v[i].kind == kind && (new_value == NULL ||
                                    (h.v[i].new_value && strcmp(h.v[i].new_value, new_value) == 0))) {
            assert_string_equal(h.v[i].actor_id, ""); /* automation: the system */
            c++;
        }
    event_list_clear(&h);
    return c;
}

static struct td_ticket get(struct nfx *f, int64_t n)
{
    struct td_ticket t;
    struct td_err err;
    memset(&t, 0, sizeof t);
    if (!f->st->ops->ticket_get(f->st, n, &t, &err))
        fail_msg("ticket_get: %s", err.msg);
    return t;
}

static enum td_status status_of(struct nfx *f, int64_t n)
{
    struct td_ticket t = get(f, n);
    enum td_status s = t.status;
    ticket_clear(&t);
    return s;
}

static td_time updated_of(struct nfx *f, int64_t n)
{
    struct td_ticket t = get(f, n);
    td_time u = t.updated;
    ticket_clear(&t);
    return u;
}

static void run_close(struct nfx *f, struct automation *a, td_time now)
{
    struct td_err err;
    if (!automation_autoclose(a, &f->core, now, &err))
        fail_msg("autoclose: %s", err.msg);
}

static void run_remind(struct nfx *f, struct automation *a, td_time now)
{
    struct td_err err;
    if (!automation_remind(a, &f->core, now, &err))
        fail_msg("remind: %s", err.msg);
}

static void test_autoclose(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer", "It jams.");
    int64_t open_one = nfx_open(f, &f->cust1, NULL, "Still open", "x");
    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    td_time resolved = updated_of(f, n);
    struct automation *a = automation_new(&cfg_3_2_7);
    /* Not yet: resolved 7 days ago to the millisecond is not "before". */
    run_close(f, a, resolved + 7 * DAY);
    assert_int_equal(status_of(f, n), STATUS_RESOLVED);
    run_close(f, a, resolved + 7 * DAY + 1);
    assert_int_equal(status_of(f, n), STATUS_CLOSED);
    assert_int_equal(events_of(f, n, EVENT_STATUS, "closed"), 1);
    assert_int_equal(updated_of(f, n), resolved + 7 * DAY + 1); /* the job's clock */
    assert_int_equal(nfx_count(f, "status_closed", "cust1@example.org", n, -1), 1);
    /* A re-run, and a restarted process (fresh cursors), change nothing. */
    run_close(f, a, resolved + 8 * DAY);
    struct automation *b = automation_new(&cfg_3_2_7);
    run_close(f, b, resolved + 9 * DAY);
    assert_int_equal(events_of(f, n, EVENT_STATUS, "closed"), 1);
    assert_int_equal(nfx_count(f, "status_closed", NULL, n, -1), 1);
    assert_int_equal(automation_closed(a) + automation_closed(b), 1);
    assert_int_equal(status_of(f, open_one), STATUS_NEW);
    automation_free(a);
    automation_free(b);
}

/* A comment on a resolved ticket starts its wait again. */
static void test_autoclose_waits_after_a_change(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer", "It jams.");
    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    td_time resolved = updated_of(f, n);
    nfx_comment(f, &f->agent1, n, "a note", true);
    td_time noted = updated_of(f, n);
    struct automation *a = automation_new(&cfg_3_2_7);
    if (noted > resolved) { /* the same millisecond proves nothing */
        run_close(f, a, resolved + 7 * DAY + 1);
        assert_int_equal(status_of(f, n), STATUS_RESOLVED);
    }
    run_close(f, a, noted + 7 * DAY + 1);
    assert_int_equal(status_of(f, n), STATUS_CLOSED);
    automation_free(a);
}

static void test_reminders(void **state)
{
    struct nfx *f = *state;
    int64_t n = nfx_open(f, &f->cust1, NULL, "VPN", "No access.");
    nfx_status(f, &f->agent1, n, STATUS_PENDING);
    td_time t0 = updated_of(f, n);
    struct automation *a = automation_new(&cfg_3_2_7);
    run_remind(f, a, t0 + 3 * DAY);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, NULL), 0);
    run_remind(f, a, t0 + 3 * DAY + MIN);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, "1"), 1);
    assert_int_equal(nfx_count(f, "pending_reminder", "cust1@example.org", n, -1), 1);
    assert_int_equal(nfx_count(f, "pending_reminder", NULL, n, -1), 1); /* the requester only */
    /* Minutes later, and another process: nothing more. */
    run_remind(f, a, t0 + 3 * DAY + 2 * MIN);
    struct automation *b = automation_new(&cfg_3_2_7);
    run_remind(f, b, t0 + 3 * DAY + 3 * MIN);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, NULL), 1);
    /* Another N days: the second; then no third (max 2). */
    run_remind(f, a, t0 + 6 * DAY + 2 * MIN);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, "2"), 1);
    run_remind(f, a, t0 + 9 * DAY + 3 * MIN);
    run_remind(f, b, t0 + 30 * DAY);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, NULL), 2);
    assert_int_equal(nfx_count(f, "pending_reminder", NULL, n, -1), 2);
    assert_int_equal(status_of(f, n), STATUS_PENDING); /* reminders change no status */
    /* The customer answers, the agent asks again: a fresh round. */
    nfx_comment(f, &f->cust1, n, "Here is the log.", false);
    assert_int_equal(status_of(f, n), STATUS_OPEN);
    nfx_status(f, &f->agent1, n, STATUS_PENDING);
    td_time t1 = updated_of(f, n);
    run_remind(f, a, t1 + 3 * DAY + MIN);
    assert_int_equal(events_of(f, n, EVENT_REMINDER, "1"), 2);
    automation_free(a);
    automation_free(b);
}

struct racer {
    struct nfx *f;
    struct store *st;
    struct td_core core;
    struct automation *a;
    td_time now;
    bool ok;
};

static void *race_close(void *arg)
{
    struct racer *r = arg;
    struct td_err err;
    r->ok = automation_autoclose(r->a, &r->core, r->now, &err);
    return NULL;
}

static void *race_remind(void *arg)
{
    struct racer *r = arg;
    struct td_err err;
    r->ok = automation_remind(r->a, &r->core, r->now, &err);
    return NULL;
}

/* Two processes (their own store handles) close - or remind - the same
 * tickets at the same moment: each ticket is changed exactly once. */
static void two_processes(struct nfx *f, bool remind)
{
    int64_t nums[12];
    td_time last = 0;
    for (int i = 0; i < 12; i++) {
        nums[i] = nfx_open(f, &f->cust1, NULL, "Batch", "x");
        nfx_status(f, &f->agent1, nums[i], remind ? STATUS_PENDING : STATUS_RESOLVED);
        td_time u = updated_of(f, nums[i]);
        last = u > last ? u : last;
    }
    struct racer r[2];
    struct td_err err;
    for (int i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].f = f;
        if (!store_open(f->sf->uri, &r[i].st, &err))
            fail_msg("store_open: %s", err.msg);
        core_defaults(&r[i].core, r[i].st);
        if (!notify_attach(f->cfg, &r[i].core, &err))
            fail_msg("notify_attach: %s", err.msg);
        r[i].a = automation_new(&cfg_3_2_7);
        r[i].now = last + (remind ? 3 : 7) * DAY + 1;
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, remind ? race_remind : race_close, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_true(r[0].ok && r[1].ok);
    if (remind)
        assert_int_equal(automation_reminded(r[0].a) + automation_reminded(r[1].a), 12);
    else
        assert_int_equal(automation_closed(r[0].a) + automation_closed(r[1].a), 12);
    for (int i = 0; i < 12; i++) {
        if (remind) {
            assert_int_equal(events_of(f, nums[i], EVENT_REMINDER, "1"), 1);
            assert_int_equal(events_of(f, nums[i], EVENT_REMINDER, NULL), 1);
            assert_int_equal(nfx_count(f, "pending_reminder", NULL, nums[i], -1), 1);
            continue;
        }
        assert_int_equal(status_of(f, nums[i]), STATUS_CLOSED);
        assert_int_equal(events_of(f, nums[i], EVENT_STATUS, "closed"), 1);
        assert_int_equal(nfx_count(f, "status_closed", NULL, nums[i], -1), 1);
    }
    for (int i = 0; i < 2; i++) {
        automation_free(r[i].a);
        notify_detach(&r[i].core);
        store_close(r[i].st);
    }
}

static void test_two_processes_close_once(void **state)
{
    two_processes(*state, false);
}

static void test_two_processes_remind_once(void **state)
{
    two_processes(*state, true);
}

struct fake_clock { td_time now; };
static td_time fake_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }

/* Ten days of the scheduler ticking hourly, in milliseconds: the pending
 * ticket is reminded on days 3 and 6, the resolved one closed on day 7. */
static void test_ten_days_of_scheduler(void **state)
{
    struct nfx *f = *state;
    int64_t waiting = nfx_open(f, &f->cust1, NULL, "Waiting", "x");
    nfx_status(f, &f->agent1, waiting, STATUS_PENDING);
    int64_t done = nfx_open(f, &f->cust2, NULL, "Done", "x");
    nfx_status(f, &f->agent1, done, STATUS_RESOLVED);
    struct fake_clock clk = { td_now() };
    td_time start = clk.now;
    struct automation_config ac = cfg_3_2_7;
    ac.tick_ms = 3600000;
    struct automation *a = automation_new(&ac);
    struct sched *s = sched_new(&f->core, "test:1", 3 * ac.tick_ms, fake_now, &clk);
    struct td_err err;
    if (!automation_schedule(a, s, &err))
        fail_msg("schedule: %s", err.msg);
    td_time closed_at = 0, reminded_at[3] = { 0, 0, 0 };
    for (int h = 0; h < 240; h++) {
        struct sched_tick_result r;
        if (!sched_tick(s, &r, &err))
            fail_msg("tick: %s", err.msg);
        if (closed_at == 0 && status_of(f, done) == STATUS_CLOSED)
            closed_at = clk.now;
        size_t nrem = events_of(f, waiting, EVENT_REMINDER, NULL);
        if (nrem > 0 && nrem <= 3 && reminded_at[nrem - 1] == 0)
            reminded_at[nrem - 1] = clk.now;
        clk.now += ac.tick_ms;
    }
    assert_int_equal((closed_at - start) / DAY, 7);
    assert_int_equal((reminded_at[0] - start) / DAY, 3);
    assert_int_equal((reminded_at[1] - start) / DAY, 6);
    assert_int_equal(reminded_at[2], 0);
    assert_int_equal(nfx_count(f, "pending_reminder", "cust1@example.org", waiting, -1), 2);
    sched_free(s);
    automation_free(a);
}

static void test_config(void **state)
{
    (void)state;
    struct td_config *cfg = NULL;
    struct td_err err;
    struct automation_config ac;
    assert_true(config_load_string("", &cfg, &err));
    assert_true(automation_config_load(cfg, &ac, &err));
    assert_int_equal(ac.pending_reminder_days, 3);
    assert_int_equal(ac.pending_reminder_max, 2);
    assert_int_equal(ac.autoclose_days, 7);
    assert_int_equal(ac.tick_ms, 60000);
    assert_int_equal(ac.lease_ms, 180000);
    config_free(cfg);
    assert_true(config_load_string("[automation]\nautoclose_days = 0\npending_reminder_days = 1\n"
                                   "pending_reminder_max = 5\ntick_ms = 1000\n", &cfg, &err));
    assert_true(automation_config_load(cfg, &ac, &err));
    assert_int_equal(ac.autoclose_days, 0);
    assert_int_equal(ac.pending_reminder_max, 5);
    assert_int_equal(ac.lease_ms, 3000);
    config_free(cfg);
    assert_true(config_load_string("[automation]\ntick_ms = 1000\nlease_ms = 1000\n", &cfg, &err));
    assert_false(automation_config_load(cfg, &ac, &err));
    assert_int_equal(err.code, TD_INVALID);
    config_free(cfg);
    assert_true(config_load_string("[automation]\npending_reminder_max = 0\n", &cfg, &err));
    assert_false(automation_config_load(cfg, &ac, &err));
    config_free(cfg);
}

int main(void)
{
#define N(f) cmocka_unit_test_setup_teardown(f, nfx_setup, nfx_teardown)
    const struct CMUnitTest tests[] = {
        N(test_autoclose),
        N(test_autoclose_waits_after_a_change),
        N(test_reminders),
        N(test_two_processes_close_once),
        N(test_two_processes_remind_once),
        N(test_ten_days_of_scheduler),
        cmocka_unit_test(test_config),
    };
    return store_fixture_run_all("automation", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

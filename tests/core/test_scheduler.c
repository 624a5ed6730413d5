/* test_scheduler.c - core/scheduler.h on both stores, with an injected
 * clock: periods, the lease, and the takeover by a second scheduler (a
 * second process: its own store handle) once the holder's lease has
 * expired. */
#include "tests/core/conformance.h"

#include "core/core.h"
#include "core/scheduler.h"

struct fake_clock { td_time now; };

static td_time fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

struct counter { int runs; td_time last_now; bool fail; };

static bool count_run(void *ctx, struct td_core *c, td_time now, struct td_err *err)
{
    (void)c;
    struct counter *k = ctx;
    k->runs++;
    k->last_now = now;
    if (k->fail)
        return td_fail(err, TD_UNAVAILABLE, "told to fail");
    return true;
}

static int plain_runs;
static bool plain_run(struct td_core *c, td_time now, struct td_err *err)
{
    (void)c;
    (void)now;
    (void)err;
    plain_runs++;
    return true;
}

/* One "process": a store handle, a core over it, a scheduler. */
struct proc {
    struct store *st;
    struct td_core core;
    struct sched *s;
    struct counter leased, everywhere;
};

static void proc_start(struct proc *p, const char *uri, const char *owner, struct fake_clock *clk)
{
    struct td_err err;
    memset(p, 0, sizeof *p);
    MUST(store_open(uri, &p->st, &err));
    core_defaults(&p->core, p->st);
    p->s = sched_new(&p->core, owner, 30000, fake_now, clk);
    struct sched_job a = { "leased", 60000, true, NULL, count_run, &p->leased };
    struct sched_job b = { "everywhere", 10000, false, NULL, count_run, &p->everywhere };
    MUST(sched_add(p->s, &a, &err));
    MUST(sched_add(p->s, &b, &err));
}

static void proc_stop(struct proc *p)
{
    sched_free(p->s);
    store_close(p->st);
}

static struct sched_tick_result tick(struct proc *p)
{
    struct td_err err;
    struct sched_tick_result r;
    MUST(sched_tick(p->s, &r, &err));
    return r;
}

static void test_periods(void **state)
{
    struct fake_clock clk = { 1000000 };
    struct proc p;
    proc_start(&p, FX(state)->uri, "p1", &clk);
    struct sched_tick_result r = tick(&p);
    assert_true(r.leader);
    assert_int_equal(r.ran, 2); /* both never ran: due at once */
    assert_int_equal(p.leased.last_now, 1000000);
    clk.now += 9999;
    r = tick(&p);
    assert_int_equal(r.ran, 0);
    clk.now += 1;
    r = tick(&p);
    assert_int_equal(r.ran, 1);
    assert_int_equal(p.everywhere.runs, 2);
    assert_int_equal(p.leased.runs, 1);
    /* Two hours of ticks every 10 s: the minutely job runs 120 times. */
    for (int i = 0; i < 720; i++) {
        clk.now += 10000;
        tick(&p);
    }
    assert_int_equal(p.leased.runs, 1 + 120);
    assert_int_equal(p.everywhere.runs, 2 + 720);
    proc_stop(&p);
}

static void test_failure_counted(void **state)
{
    struct fake_clock clk = { 5000 };
    struct proc p;
    proc_start(&p, FX(state)->uri, "p1", &clk);
    p.leased.fail = true;
    struct td_err err;
    struct sched_tick_result r;
    td_err_clear(&err);
    assert_true(sched_tick(p.s, &r, &err));
    assert_int_equal(r.ran, 2);
    assert_int_equal(r.failed, 1);
    assert_int_equal(err.code, TD_UNAVAILABLE);
    /* Tried again at its next period, not at every tick. */
    clk.now += 1000;
    r = tick(&p);
    assert_int_equal(p.leased.runs, 1);
    clk.now += 60000;
    r = tick(&p);
    assert_int_equal(p.leased.runs, 2);
    proc_stop(&p);
}

static void test_takeover(void **state)
{
    struct fake_clock clk = { 1000000 };
    struct proc a, b;
    proc_start(&a, FX(state)->uri, "host-a:1", &clk);
    proc_start(&b, FX(state)->uri, "host-b:2", &clk);
    assert_true(tick(&a).leader);
    struct sched_tick_result rb = tick(&b);
    assert_false(rb.leader);
    assert_int_equal(a.leased.runs, 1);
    assert_int_equal(b.leased.runs, 0);         /* not the holder */
    assert_int_equal(b.everywhere.runs, 1);     /* every process */
    /* A keeps ticking: it keeps the lease, B never runs the leased job. */
    for (int i = 0; i < 30; i++) {
        clk.now += 10000;
        tick(&a);
        assert_false(tick(&b).leader);
    }
    assert_int_equal(b.leased.runs, 0);
    assert_int_equal(a.leased.runs, 1 + 5);
    /* A stalls (no more ticks). Until its lease (30 s) runs out B waits. */
    td_time stalled = clk.now;
    clk.now = stalled + 30000;
    assert_false(tick(&b).leader);
    clk.now = stalled + 30001;
    rb = tick(&b);
    assert_true(rb.leader);
    assert_int_equal(b.leased.runs, 1);         /* at once after the takeover */
    /* A wakes up within B's lease: it lost it and runs nothing leased. */
    int a_runs = a.leased.runs;
    clk.now += 20000;
    assert_false(tick(&a).leader);
    assert_int_equal(a.leased.runs, a_runs);
    assert_true(tick(&b).leader);
    /* B shuts down cleanly: the lease is released and A takes it at its
     * next tick without waiting for the TTL. */
    proc_stop(&b);
    clk.now += 1;
    assert_true(tick(&a).leader);
    proc_stop(&a);
}

static void test_plain_job_and_refusals(void **state)
{
    struct fake_clock clk = { 1000 };
    struct proc p;
    struct td_err err;
    proc_start(&p, FX(state)->uri, "p1", &clk);
    plain_runs = 0;
    struct sched_job j = { "plain", 1000, true, plain_run, NULL, NULL };
    MUST(sched_add(p.s, &j, &err));
    tick(&p);
    assert_int_equal(plain_runs, 1);
    struct sched_job both = { "both", 1000, true, plain_run, count_run, NULL };
    MUST_FAIL(TD_INVALID, sched_add(p.s, &both, &err));
    struct sched_job zero = { "zero", 0, true, plain_run, NULL, NULL };
    MUST_FAIL(TD_INVALID, sched_add(p.s, &zero, &err));
    for (int i = 3; i < SCHED_MAX_JOBS; i++)
        MUST(sched_add(p.s, &j, &err));
    MUST_FAIL(TD_INVALID, sched_add(p.s, &j, &err));
    proc_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_periods),
        T(test_failure_counted),
        T(test_takeover),
        T(test_plain_job_and_refusals),
    };
    return store_fixture_run_all("scheduler", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

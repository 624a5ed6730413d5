/* test_store_desk.c - the contract of core/store/store_desk.h (issue 14:
 * scheduler leases, idle tickets, desk counts), unchanged on every
 * backend. */
#include "tests/core/conformance.h"

#define DESK(name, ...) st->ops->desk->name(st, __VA_ARGS__, &err)

static void expect_lease(struct store *st, const char *name, const char *owner, td_time until)
{
    struct td_err err;
    char *o = NULL;
    td_time u = -1;
    MUST(DESK(lease_get, name, &o, &u));
    assert_str(o, owner);
    assert_int_equal(u, until);
    free(o);
}

static void test_lease(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char *o = NULL;
    td_time u = 0;
    assert_non_null(st->ops->desk);
    MUST_FAIL(TD_NOT_FOUND, DESK(lease_get, "scheduler", &o, &u));
    MUST(DESK(lease_acquire, "scheduler", "a", 1000, 500));
    expect_lease(st, "scheduler", "a", 1500);
    /* Held, up to and including until. */
    MUST_FAIL(TD_CONFLICT, DESK(lease_acquire, "scheduler", "b", 1200, 500));
    MUST_FAIL(TD_CONFLICT, DESK(lease_acquire, "scheduler", "b", 1500, 500));
    expect_lease(st, "scheduler", "a", 1500);
    /* The holder renews. */
    MUST(DESK(lease_acquire, "scheduler", "a", 1400, 500));
    expect_lease(st, "scheduler", "a", 1900);
    /* Another name is another lease. */
    MUST(DESK(lease_acquire, "other", "b", 1400, 500));
    /* Expired: taken over. */
    MUST(DESK(lease_acquire, "scheduler", "b", 1901, 500));
    expect_lease(st, "scheduler", "b", 2401);
    /* The old holder can neither renew nor release it. */
    MUST_FAIL(TD_CONFLICT, DESK(lease_acquire, "scheduler", "a", 1950, 500));
    MUST_FAIL(TD_CONFLICT, DESK(lease_release, "scheduler", "a"));
    expect_lease(st, "scheduler", "b", 2401);
    MUST(DESK(lease_release, "scheduler", "b"));
    expect_lease(st, "scheduler", NULL, 0);
    MUST(DESK(lease_release, "scheduler", "b")); /* free: no-op */
    MUST(DESK(lease_release, "never", "b"));     /* unknown: no-op */
    /* Free: anyone takes it. */
    MUST(DESK(lease_acquire, "scheduler", "a", 2000, 500));
    expect_lease(st, "scheduler", "a", 2500);
    MUST_FAIL(TD_INVALID, DESK(lease_acquire, "scheduler", "", 2000, 500));
}

struct racer {
    struct store *st;
    char owner[16];
    bool won;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct td_err err;
    r->won = r->st->ops->desk->lease_acquire(r->st, "scheduler", r->owner, 5000, 1000, &err);
    return NULL;
}

/* Of many processes racing for a free lease, exactly one gets it (each
 * racer on its own handle, as separate processes would be). */
static void test_lease_race(void **state)
{
    struct store_fixture *fx = FX(state);
    struct td_err err;
    struct racer r[6];
    struct store *handles[6];
    for (int i = 0; i < 6; i++) {
        MUST(store_open(fx->uri, &handles[i], &err));
        r[i].st = handles[i];
        snprintf(r[i].owner, sizeof r[i].owner, "p%d", i);
        r[i].won = false;
    }
    run_threads(6, race, r, sizeof r[0]);
    int winners = 0;
    for (int i = 0; i < 6; i++) {
        winners += r[i].won;
        store_close(handles[i]);
    }
    assert_int_equal(winners, 1);
}

static int64_t add_at(struct store *st, enum td_status status, const char *queue, td_time created,
                      td_time updated)
{
    struct td_ticket t;
    ticket_new(st, &t, "desk", created);
    t.status = status;
    free(t.queue);
    t.queue = td_strdup(queue);
    t.updated = updated;
    ticket_put(st, &t);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static void expect_idle(struct store *st, enum td_status s, td_time before, td_time au,
                        int64_t after, size_t limit, const int64_t *want, size_t n_want)
{
    struct td_err err;
    struct td_idle_list l = { NULL, 0 };
    MUST(DESK(ticket_idle, s, before, au, after, limit, &l));
    if (l.n != n_want)
        fail_msg("ticket_idle gave %zu tickets, expected %zu", l.n, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_int_equal(l.v[i].number, want[i]);
    idle_list_clear(&l);
}

static void test_ticket_idle(void **state)
{
    struct store *st = FX(state)->st;
    int64_t a = add_at(st, STATUS_RESOLVED, "", 100, 3000);
    int64_t b = add_at(st, STATUS_RESOLVED, "", 100, 1000);
    int64_t c = add_at(st, STATUS_RESOLVED, "x", 100, 2000);
    int64_t d = add_at(st, STATUS_RESOLVED, "", 100, 2000);
    (void)add_at(st, STATUS_PENDING, "", 100, 500);
    (void)add_at(st, STATUS_RESOLVED, "", 100, 9000);
    /* Oldest first, ties by number; before is strict. */
    expect_idle(st, STATUS_RESOLVED, 3000, 0, 0, 0, (const int64_t[]){ b, c, d }, 3);
    expect_idle(st, STATUS_RESOLVED, 3001, 0, 0, 0, (const int64_t[]){ b, c, d, a }, 4);
    /* The cursor: strictly after (updated, number). */
    expect_idle(st, STATUS_RESOLVED, 3001, 2000, c, 0, (const int64_t[]){ d, a }, 2);
    expect_idle(st, STATUS_RESOLVED, 3001, 1000, b, 2, (const int64_t[]){ c, d }, 2);
    expect_idle(st, STATUS_RESOLVED, 3001, 3000, a, 0, NULL, 0);
    expect_idle(st, STATUS_CLOSED, 99999, 0, 0, 0, NULL, 0);
}

static int64_t count_of(const struct td_desk_counts *dc, enum td_status s, const char *q)
{
    for (size_t i = 0; i < dc->n; i++)
        if (dc->v[i].status == s && strcmp(dc->v[i].queue, q) == 0)
            return dc->v[i].n;
    return 0;
}

static void test_desk_counts(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_desk_counts dc = { NULL, 0, 0 };
    MUST(DESK(desk_counts, &dc));
    assert_int_equal(dc.n, 0);
    assert_int_equal(dc.oldest_open, 0);
    (void)add_at(st, STATUS_CLOSED, "", 10, 10);   /* closed: not counted, not oldest */
    (void)add_at(st, STATUS_RESOLVED, "", 20, 20); /* resolved: counted, not oldest */
    (void)add_at(st, STATUS_PENDING, "billing", 300, 300);
    (void)add_at(st, STATUS_NEW, "", 400, 400);
    (void)add_at(st, STATUS_NEW, "", 500, 500);
    (void)add_at(st, STATUS_NEW, "billing", 600, 600);
    (void)add_at(st, STATUS_OPEN, "", 700, 700);
    MUST(DESK(desk_counts, &dc));
    assert_int_equal(dc.n, 5);
    assert_int_equal(count_of(&dc, STATUS_NEW, ""), 2);
    assert_int_equal(count_of(&dc, STATUS_NEW, "billing"), 1);
    assert_int_equal(count_of(&dc, STATUS_OPEN, ""), 1);
    assert_int_equal(count_of(&dc, STATUS_PENDING, "billing"), 1);
    assert_int_equal(count_of(&dc, STATUS_RESOLVED, ""), 1);
    assert_int_equal(count_of(&dc, STATUS_CLOSED, ""), 0);
    assert_int_equal(dc.oldest_open, 300);
    desk_counts_clear(&dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_lease),
        T(test_lease_race),
        T(test_ticket_idle),
        T(test_desk_counts),
    };
    return store_fixture_run_all("store_desk", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

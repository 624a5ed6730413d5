/* test_store_outbox.c - the store contract (conformance.h): the notification outbox: claim order, leases, retries, listing, races, the loop-guard count,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- outbox -------------------------------------------------------------------- */

static void outbox_new(struct td_outbox *o, int64_t ticket, td_time created, td_time next)
{
    memset(o, 0, sizeof *o);
    new_id(o->id);
    o->kind = td_strdup("ticket_reply");
    o->ticket = ticket;
    o->recipient = td_strdup("customer@example.org");
    o->payload = td_strdup("{\"subject\":\"Re: [#7] Grüße\",\"n\":1}");
    o->state = OUTBOX_PENDING;
    o->next_attempt = next;
    o->created = created;
}

static void outbox_add(struct store *st, td_time created, td_time next, char id[TD_ID_LEN + 1])
{
    struct td_err err;
    struct td_outbox o;
    outbox_new(&o, 7, created, next);
    MUST(st->ops->outbox_insert(st, &o, &err));
    memcpy(id, o.id, TD_ID_LEN + 1);
    outbox_clear(&o);
}

/* Claims at now and checks it got row id. */
static void expect_claim(struct store *st, const char *owner, td_time now, int64_t lease,
                         const char *id, int attempts)
{
    struct td_err err;
    struct td_outbox o = { 0 };
    MUST(st->ops->outbox_claim(st, owner, now, lease, &o, &err));
    assert_string_equal(o.id, id);
    assert_int_equal(o.state, OUTBOX_SENDING);
    assert_str(o.owner, owner);
    assert_int_equal(o.lease_until, now + lease);
    assert_int_equal(o.attempts, attempts);
    outbox_clear(&o);
}

static void test_outbox_claim_order(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_outbox o1, o2, o3, later, sent, got = { 0 };
    outbox_new(&o1, 1, 10, 300);
    outbox_new(&o2, 2, 20, 100);
    outbox_new(&o3, 3, 30, 200);
    outbox_new(&later, 4, 40, 10000);
    outbox_new(&sent, 5, 5, 0);
    sent.state = OUTBOX_SENT;
    free(sent.last_error);
    sent.last_error = td_strdup("old trouble");
    struct td_outbox *all[] = { &o1, &o2, &o3, &later, &sent };
    for (int i = 0; i < 5; i++)
        MUST(OP(outbox_insert, all[i]));

    /* Due rows by oldest next_attempt; each field comes back. */
    MUST(OP(outbox_claim, "sender-1", 500, 60000, &got));
    assert_string_equal(got.id, o2.id);
    assert_string_equal(got.kind, "ticket_reply");
    assert_int_equal(got.ticket, 2);
    assert_string_equal(got.recipient, "customer@example.org");
    assert_string_equal(got.payload, o2.payload);
    assert_int_equal(got.state, OUTBOX_SENDING);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.next_attempt, 100);
    assert_str(got.owner, "sender-1");
    assert_int_equal(got.lease_until, 60500);
    assert_null(got.last_error);
    assert_int_equal(got.created, 20);
    outbox_clear(&got);
    expect_claim(st, "sender-1", 500, 60000, o3.id, 1);
    expect_claim(st, "sender-2", 500, 60000, o1.id, 1);
    /* Not yet due, or not pending: nothing. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-1", 500, 60000, &got));
    assert_null(got.kind);
    expect_claim(st, "sender-1", 10000, 60000, later.id, 1);

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENDING, 0, &l));
    assert_int_equal(l.n, 4);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, sent.id);
    assert_int_equal(l.v[0].attempts, 0);
    assert_str(l.v[0].last_error, "old trouble");
    outbox_list_clear(&l);
    for (int i = 0; i < 5; i++)
        outbox_clear(all[i]);
}

static void test_outbox_lease_expiry(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char id[TD_ID_LEN + 1];
    outbox_add(st, 1, 900, id);
    struct td_outbox got = { 0 };

    expect_claim(st, "sender-a", 1000, 100, id, 1);
    /* Held until 1100 inclusive. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-b", 1050, 100, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-b", 1100, 100, &got));
    /* sender-a died: the lease ran out, sender-b takes the row over. */
    expect_claim(st, "sender-b", 1101, 100, id, 2);
    MUST_FAIL(TD_CONFLICT, OP(outbox_finish, id, "sender-a", OUTBOX_SENT, NULL, 0));
    MUST(OP(outbox_finish, id, "sender-b", OUTBOX_SENT, NULL, 0));
    /* Finished: no claim left to finish again. */
    MUST_FAIL(TD_CONFLICT, OP(outbox_finish, id, "sender-b", OUTBOX_SENT, NULL, 0));
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 999999, 100, &got));

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    assert_int_equal(l.v[0].state, OUTBOX_SENT);
    assert_int_equal(l.v[0].attempts, 2);
    outbox_list_clear(&l);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_finish, missing, "sender-b", OUTBOX_SENT, NULL, 0));
}

/* A row whose lease ran out and due pending rows compete by
 * (next_attempt, created): the SQLite claim finds each kind with its own
 * probe and must still hand out the earliest of both. */
static void test_outbox_claim_mixes_expired_and_pending(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char early[TD_ID_LEN + 1], crashed[TD_ID_LEN + 1], late[TD_ID_LEN + 1];
    char tie_old[TD_ID_LEN + 1], tie_new[TD_ID_LEN + 1];
    outbox_add(st, 1, 200, crashed);
    expect_claim(st, "dead", 1000, 100, crashed, 1); /* lease until 1100 */
    outbox_add(st, 2, 100, early);
    outbox_add(st, 3, 300, late);
    /* Same next_attempt as late: created decides (older first). */
    outbox_add(st, 5, 300, tie_new);
    outbox_add(st, 4, 300, tie_old);
    struct td_outbox got = { 0 };
    /* Before the lease runs out only pending rows are due. */
    expect_claim(st, "a", 1050, 1000, early, 1);
    expect_claim(st, "a", 1050, 1000, late, 1);
    /* After it, the crashed row (next_attempt 200) comes before the
     * pending ones left (300). */
    expect_claim(st, "b", 1101, 1000, crashed, 2);
    expect_claim(st, "b", 1101, 1000, tie_old, 1);
    expect_claim(st, "b", 1101, 1000, tie_new, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "b", 1101, 1000, &got));
    /* An expired row alone is found too. */
    expect_claim(st, "c", 5000, 1000, early, 2);
}

static void test_outbox_finish_retry(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char id[TD_ID_LEN + 1];
    outbox_add(st, 1, 0, id);
    struct td_outbox got = { 0 };
    struct td_outbox_list l = { 0 };

    expect_claim(st, "sender-a", 1000, 60000, id, 1);
    MUST(OP(outbox_finish, id, "sender-a", OUTBOX_PENDING, "421 try again later", 5000));
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].next_attempt, 5000);
    assert_str(l.v[0].last_error, "421 try again later");
    assert_int_equal(l.v[0].attempts, 1);
    outbox_list_clear(&l);

    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 4999, 60000, &got));
    expect_claim(st, "sender-b", 5000, 60000, id, 2);
    MUST(OP(outbox_finish, id, "sender-b", OUTBOX_FAILED, "550 no such user", 0));
    MUST(OP(outbox_list, OUTBOX_FAILED, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    assert_str(l.v[0].last_error, "550 no such user");
    assert_int_equal(l.v[0].attempts, 2);
    outbox_list_clear(&l);
    /* Failed is final. */
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "sender-a", 999999999, 60000, &got));
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 0);
    outbox_list_clear(&l);
}

static void test_outbox_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    /* Inserted out of creation order; listed oldest first. */
    const td_time created[] = { 30, 10, 50, 20, 40 };
    char ids[5][TD_ID_LEN + 1];
    for (int i = 0; i < 5; i++)
        outbox_add(st, created[i], 100000 + created[i], ids[i]);
    expect_claim(st, "s", 100010, 10, ids[1], 1); /* created 10: the one due */
    MUST(OP(outbox_finish, ids[1], "s", OUTBOX_SENT, NULL, 0));

    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, -1, 0, &l));
    assert_int_equal(l.n, 5);
    const int order[] = { 1, 3, 0, 4, 2 };
    for (int i = 0; i < 5; i++) {
        assert_string_equal(l.v[i].id, ids[order[i]]);
        assert_int_equal(l.v[i].created, created[order[i]]);
    }
    outbox_list_clear(&l);
    MUST(OP(outbox_list, -1, 2, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, ids[1]);
    assert_string_equal(l.v[1].id, ids[3]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_PENDING, 0, &l));
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].id, ids[3]);
    assert_string_equal(l.v[1].id, ids[0]);
    assert_string_equal(l.v[2].id, ids[4]);
    assert_string_equal(l.v[3].id, ids[2]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, ids[1]);
    outbox_list_clear(&l);
    MUST(OP(outbox_list, OUTBOX_SENDING, 0, &l));
    assert_int_equal(l.n, 0);
    outbox_list_clear(&l);
}

#define OUTBOX_ROWS 100

struct claim_arg {
    struct store *st;
    pthread_barrier_t *go;
    char owner[32];
    char ids[OUTBOX_ROWS][TD_ID_LEN + 1];
    int n;
    int failures;
    char why[256];
};

static void *claim_thread(void *p)
{
    struct claim_arg *a = p;
    pthread_barrier_wait(a->go);
    for (;;) {
        struct td_err err = { 0 };
        struct td_outbox o = { 0 };
        if (!a->st->ops->outbox_claim(a->st, a->owner, 5000, 60000, &o, &err)) {
            if (err.code != TD_NOT_FOUND) {
                a->failures++;
                snprintf(a->why, sizeof a->why, "claim: %s: %.200s", td_code_name(err.code),
                         err.msg);
            }
            break;
        }
        if (a->n < OUTBOX_ROWS)
            memcpy(a->ids[a->n], o.id, TD_ID_LEN + 1);
        a->n++;
        if (!a->st->ops->outbox_finish(a->st, o.id, a->owner, OUTBOX_SENT, NULL, 0, &err)) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "finish: %s: %.200s", td_code_name(err.code), err.msg);
        }
        outbox_clear(&o);
    }
    return NULL;
}

/* 4 claimers (two handles) drain 100 rows: each row exactly once. */
static void test_outbox_concurrent_claim(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char all[OUTBOX_ROWS][TD_ID_LEN + 1];
    for (int i = 0; i < OUTBOX_ROWS; i++)
        outbox_add(st, i, i % 7, all[i]);
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 4), 0);
    struct claim_arg *args = td_calloc(4, sizeof *args);
    for (int i = 0; i < 4; i++) {
        args[i].st = i % 2 ? st2 : st;
        args[i].go = &go;
        snprintf(args[i].owner, sizeof args[i].owner, "claimer-%d", i);
    }
    run_threads(4, claim_thread, args, sizeof args[0]);
    pthread_barrier_destroy(&go);
    store_close(st2);

    int total = 0;
    for (int i = 0; i < 4; i++) {
        if (args[i].failures)
            fail_msg("%s: %d failures, last: %s", args[i].owner, args[i].failures, args[i].why);
        total += args[i].n;
    }
    if (total != OUTBOX_ROWS)
        fail_msg("%d claims for %d rows: a row was claimed twice or never", total, OUTBOX_ROWS);
    for (int r = 0; r < OUTBOX_ROWS; r++) {
        int seen = 0;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < args[i].n; k++)
                seen += strcmp(args[i].ids[k], all[r]) == 0;
        if (seen != 1)
            fail_msg("row %s claimed %d times", all[r], seen);
    }
    free(args);
    struct td_outbox_list l = { 0 };
    MUST(OP(outbox_list, OUTBOX_SENT, 0, &l));
    assert_int_equal(l.n, OUTBOX_ROWS);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].attempts, 1);
    outbox_list_clear(&l);
}

/* The notification loop guard's counter (store.h allows a backend to
 * leave it NULL; both of ours have it, so NULL is a failure here). */
static void test_outbox_count_recent(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    if (st->ops->outbox_count_recent == NULL)
        fail_msg("%s has no outbox_count_recent", st->ops->name);
    struct td_outbox o;
    const struct {
        const char *to;
        td_time created;
    } rows[] = { { "r1@example.org", 100 }, { "r1@example.org", 200 },
                 { "r1@example.org", 300 }, { "r1@example.org", 400 },
                 { "r1@example.org", 500 }, { "r2@example.org", 250 } };
    char ids[6][TD_ID_LEN + 1];
    for (int i = 0; i < 6; i++) {
        outbox_new(&o, 1, rows[i].created, rows[i].created);
        free(o.recipient);
        o.recipient = td_strdup(rows[i].to);
        MUST(OP(outbox_insert, &o));
        memcpy(ids[i], o.id, sizeof ids[i]);
        outbox_clear(&o);
    }
    /* 100 is sent, 200 failed, 300 sending, 400 and 500 pending. */
    expect_claim(st, "s", 1000, 60000, ids[0], 1);
    MUST(OP(outbox_finish, ids[0], "s", OUTBOX_SENT, NULL, 0));
    expect_claim(st, "s", 1000, 60000, ids[1], 1);
    MUST(OP(outbox_finish, ids[1], "s", OUTBOX_FAILED, "550", 0));
    expect_claim(st, "s", 1000, 60000, ids[5], 1); /* r2's, created 250 */
    expect_claim(st, "s", 1000, 60000, ids[2], 1);

    int64_t n = -1;
    MUST(OP(outbox_count_recent, "r1@example.org", 0, &n));
    assert_int_equal(n, 4); /* all but the failed one */
    MUST(OP(outbox_count_recent, "r1@example.org", 300, &n));
    assert_int_equal(n, 3); /* created at or after */
    MUST(OP(outbox_count_recent, "r1@example.org", 501, &n));
    assert_int_equal(n, 0);
    MUST(OP(outbox_count_recent, "r2@example.org", 0, &n));
    assert_int_equal(n, 1);
    MUST(OP(outbox_count_recent, "R1@example.org", 0, &n));
    assert_int_equal(n, 0); /* the exact string */
    MUST(OP(outbox_count_recent, "nobody@example.org", 0, &n));
    assert_int_equal(n, 0);
}

/* outbox_stats: pending rows, and since when the oldest due one waits
 * (a pending row's next_attempt, or an abandoned sending row's lease). */
static void test_outbox_stats(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t pending = -1;
    td_time oldest = -1;
    MUST(st->ops->outbox_stats(st, 1000, &pending, &oldest, &err));
    assert_int_equal(pending, 0);
    assert_int_equal(oldest, 0);

    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1], c[TD_ID_LEN + 1];
    outbox_add(st, 10, 500, a);   /* due at 500 */
    outbox_add(st, 20, 2000, b);  /* not due before 2000 */
    outbox_add(st, 30, 300, c);   /* due at 300: claimed below */
    MUST(st->ops->outbox_stats(st, 1000, &pending, &oldest, &err));
    assert_int_equal(pending, 3);
    assert_int_equal(oldest, 300);
    expect_claim(st, "w1", 1000, 100, c, 1); /* sending, lease until 1100 */
    MUST(st->ops->outbox_stats(st, 1000, &pending, &oldest, &err));
    assert_int_equal(pending, 2);
    assert_int_equal(oldest, 500);
    /* Its sender is gone once the lease runs out: due since 1100. */
    expect_claim(st, "w2", 1050, 100, a, 1); /* lease until 1150 */
    MUST(st->ops->outbox_stats(st, 1200, &pending, &oldest, &err));
    assert_int_equal(pending, 1);
    assert_int_equal(oldest, 1100);
    MUST(st->ops->outbox_finish(st, c, "w1", OUTBOX_SENT, NULL, 0, &err));
    MUST(st->ops->outbox_finish(st, a, "w2", OUTBOX_SENT, NULL, 0, &err));
    MUST(st->ops->outbox_stats(st, 1200, &pending, &oldest, &err));
    assert_int_equal(pending, 1);
    assert_int_equal(oldest, 0); /* b waits for 2000 */
    MUST(st->ops->outbox_stats(st, 2000, &pending, &oldest, &err));
    assert_int_equal(oldest, 2000);
}

/* outbox_purge: finished rows created before the bound, oldest first, at
 * most limit; pending and sending rows stay. */
static void test_outbox_purge(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char ids[6][TD_ID_LEN + 1];
    for (int i = 0; i < 6; i++)
        outbox_add(st, 10 * (i + 1), 0, ids[i]); /* created 10..60, all due */
    /* Claim order is next_attempt then insertion: finish 0..3, 4 sending,
     * 5 pending. */
    for (int i = 0; i < 5; i++) {
        struct td_outbox o = { 0 };
        MUST(st->ops->outbox_claim(st, "w", 100, 1000, &o, &err));
        if (i < 4)
            MUST(st->ops->outbox_finish(st, o.id, "w", i == 3 ? OUTBOX_FAILED : OUTBOX_SENT,
                                        "x", 0, &err));
        outbox_clear(&o);
    }
    int64_t deleted = -1;
    MUST(st->ops->outbox_purge(st, 35, 0, &deleted, &err)); /* created 10, 20, 30 */
    assert_int_equal(deleted, 3);
    MUST(st->ops->outbox_purge(st, 1000, 0, &deleted, &err)); /* the failed one, 40 */
    assert_int_equal(deleted, 1);
    MUST(st->ops->outbox_purge(st, 1000, 0, NULL, &err));
    struct td_outbox_list l = { 0 };
    MUST(st->ops->outbox_list(st, -1, 0, &l, &err));
    assert_int_equal(l.n, 2); /* the sending and the pending row */
    assert_int_not_equal(l.v[0].state, OUTBOX_SENT);
    assert_int_not_equal(l.v[1].state, OUTBOX_SENT);
    outbox_list_clear(&l);

    /* limit: the oldest go first (the claims below take the pending row
     * created at 60 first, then the new ones) */
    char more[3][TD_ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        outbox_add(st, 100 + i, 0, more[i]);
        struct td_outbox o = { 0 };
        MUST(st->ops->outbox_claim(st, "v", 200, 1000, &o, &err));
        MUST(st->ops->outbox_finish(st, o.id, "v", OUTBOX_SENT, NULL, 0, &err));
        outbox_clear(&o);
    }
    MUST(st->ops->outbox_purge(st, 1000, 2, &deleted, &err));
    assert_int_equal(deleted, 2);
    MUST(st->ops->outbox_list(st, OUTBOX_SENT, 0, &l, &err));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].created, 101); /* 60 and 100 went */
    outbox_list_clear(&l);
}

/* mark_get / mark_raise: 0 until raised; a mark never moves back, and
 * marks of different names are apart. */
static void test_marks(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t v = -1;
    MUST(st->ops->mark_get(st, "reconciled", &v, &err));
    assert_int_equal(v, 0);
    MUST(st->ops->mark_raise(st, "reconciled", 1000, &err));
    MUST(st->ops->mark_get(st, "reconciled", &v, &err));
    assert_int_equal(v, 1000);
    MUST(st->ops->mark_raise(st, "reconciled", 400, &err)); /* behind: no change, no error */
    MUST(st->ops->mark_raise(st, "reconciled", 1000, &err)); /* the same value */
    MUST(st->ops->mark_get(st, "reconciled", &v, &err));
    assert_int_equal(v, 1000);
    MUST(st->ops->mark_raise(st, "reconciled", 1700000000000LL, &err));
    MUST(st->ops->mark_get(st, "reconciled", &v, &err));
    assert_int_equal(v, 1700000000000LL);
    MUST(st->ops->mark_get(st, "other", &v, &err));
    assert_int_equal(v, 0);
    MUST(st->ops->mark_raise(st, "other", 5, &err));
    MUST(st->ops->mark_get(st, "other", &v, &err));
    assert_int_equal(v, 5);
    MUST(st->ops->mark_get(st, "reconciled", &v, &err));
    assert_int_equal(v, 1700000000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_outbox_claim_order),
        T(test_outbox_lease_expiry),
        T(test_outbox_claim_mixes_expired_and_pending),
        T(test_outbox_finish_retry),
        T(test_outbox_list),
        T(test_outbox_concurrent_claim),
        T(test_outbox_count_recent),
        T(test_outbox_stats),
        T(test_outbox_purge),
        T(test_marks),
    };
    return store_fixture_run_all("store_outbox", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

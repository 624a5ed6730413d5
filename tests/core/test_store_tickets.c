/* test_store_tickets.c - the store contract (conformance.h): users, ticket numbers and tickets: insert, read, compare-and-set update,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- ping, reopen ------------------------------------------------------ */

static void test_ping_and_reopen(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    MUST(st->ops->ping(st, &err));
    assert_non_null(st->ops->name);

    struct td_user u;
    user_new(&u, "reopen@example.org", "Re Open", ROLE_AGENT);
    MUST(OP(user_insert, &u));
    /* Opening an existing store (schema/indexes already there) keeps the
     * data, and a second handle sees the first one's writes. */
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));
    struct td_user got = { 0 };
    MUST(st2->ops->user_get(st2, u.id, &got, &err));
    assert_user_eq(&got, &u);
    store_close(st2);
    user_clear(&got);
    user_clear(&u);
}

/* ---- users ------------------------------------------------------------- */

static void test_user_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, b, got = { 0 };
    user_new(&a, "alice@example.org", "Alice Admin", ROLE_ADMIN);
    a.disabled = true;
    a.token_version = 7;
    user_new(&b, "zoe@example.org", "Zoë Ünïcode 日本", ROLE_CUSTOMER);
    free(b.pw_hash);
    b.pw_hash = NULL; /* mail-created: no password */
    MUST(OP(user_insert, &a));
    MUST(OP(user_insert, &b));

    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "alice@example.org", &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get, b.id, &got));
    assert_user_eq(&got, &b);
    assert_null(got.pw_hash);
    user_clear(&got);
    MUST(OP(user_get_by_email, "zoe@example.org", &got));
    assert_user_eq(&got, &b);
    user_clear(&got);
    user_clear(&a);
    user_clear(&b);
}

static void test_user_conflict_and_not_found(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, dup, got = { 0 };
    user_new(&a, "taken@example.org", "First", ROLE_CUSTOMER);
    user_new(&dup, "taken@example.org", "Second", ROLE_AGENT);
    MUST(OP(user_insert, &a));
    MUST_FAIL(TD_CONFLICT, OP(user_insert, &dup));
    /* Nothing of the loser was written. */
    MUST(OP(user_get_by_email, "taken@example.org", &got));
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.name, "First");
    user_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get, dup.id, &got));

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get, missing, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(user_get_by_email, "nobody@example.org", &got));
    /* Out structs are filled only on success. */
    assert_null(got.email);
    assert_string_equal(got.id, "");
    MUST_FAIL(TD_NOT_FOUND, OP(user_update, &dup));
    user_clear(&a);
    user_clear(&dup);
}

static void test_user_update(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user a, b, got = { 0 };
    user_new(&a, "a@example.org", "A", ROLE_CUSTOMER);
    user_new(&b, "b@example.org", "B", ROLE_CUSTOMER);
    MUST(OP(user_insert, &a));
    MUST(OP(user_insert, &b));

    /* Every field changes. */
    free(a.email);
    a.email = td_strdup("a.new@example.org");
    free(a.name);
    a.name = td_strdup("A Renamed");
    a.role = ROLE_AGENT;
    free(a.pw_hash);
    a.pw_hash = NULL;
    a.disabled = true;
    a.token_version++;
    a.created = 1500;
    a.updated = 9000;
    MUST(OP(user_update, &a));
    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "a.new@example.org", &got));
    assert_string_equal(got.id, a.id);
    user_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(user_get_by_email, "a@example.org", &got));

    /* Taking b's email is a conflict and changes nothing. */
    struct td_user clash;
    memset(&clash, 0, sizeof clash);
    user_copy(&clash, &a);
    free(clash.email);
    clash.email = td_strdup("b@example.org");
    free(clash.name);
    clash.name = td_strdup("Clash");
    MUST_FAIL(TD_CONFLICT, OP(user_update, &clash));
    MUST(OP(user_get, a.id, &got));
    assert_user_eq(&got, &a);
    user_clear(&got);
    MUST(OP(user_get_by_email, "b@example.org", &got));
    assert_user_eq(&got, &b);
    user_clear(&got);
    user_clear(&clash);
    user_clear(&a);
    user_clear(&b);
}

static void test_user_list(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_user_list l = { 0 };
    MUST(OP(user_list, -1, &l));
    assert_int_equal(l.n, 0);
    user_list_clear(&l);

    /* Inserted out of order: the list is ordered by email. */
    static const struct {
        const char *email;
        enum td_role role;
    } users[] = {
        { "mia@example.org", ROLE_AGENT },     { "bob@example.org", ROLE_CUSTOMER },
        { "zed@example.org", ROLE_ADMIN },     { "amy@example.org", ROLE_AGENT },
        { "kim@example.org", ROLE_CUSTOMER },
    };
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        struct td_user u;
        user_new(&u, users[i].email, "U", users[i].role);
        MUST(OP(user_insert, &u));
        user_clear(&u);
    }
    MUST(OP(user_list, -1, &l));
    assert_int_equal(l.n, 5);
    const char *all[] = { "amy@example.org", "bob@example.org", "kim@example.org",
                          "mia@example.org", "zed@example.org" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(l.v[i].email, all[i]);
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_AGENT, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].email, "amy@example.org");
    assert_string_equal(l.v[1].email, "mia@example.org");
    assert_int_equal(l.v[0].role, ROLE_AGENT);
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_CUSTOMER, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].email, "bob@example.org");
    assert_string_equal(l.v[1].email, "kim@example.org");
    user_list_clear(&l);

    MUST(OP(user_list, ROLE_ADMIN, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].email, "zed@example.org");
    user_list_clear(&l);
}

/* ---- ticket numbers ------------------------------------------------------ */

static void test_ticket_next_number(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t prev = 0;
    for (int i = 0; i < 20; i++) {
        int64_t n = 0;
        MUST(OP(ticket_next_number, &n));
        assert_true(n > prev);
        assert_true(n > 0);
        prev = n;
    }
}

#define NUM_PER_THREAD 50

struct num_arg {
    struct store *st;
    int64_t got[NUM_PER_THREAD];
    int failures;
    char why[256];
};

static void *num_thread(void *p)
{
    struct num_arg *a = p;
    for (int i = 0; i < NUM_PER_THREAD; i++) {
        struct td_err err = { 0 };
        if (!a->st->ops->ticket_next_number(a->st, &a->got[i], &err)) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "%s: %.200s", td_code_name(err.code), err.msg);
            a->got[i] = -1 - i; /* stays unique, flagged by failures */
        }
    }
    return NULL;
}

/* 4 threads x 50 on one handle, then 2 handles x 2 threads x 50 on the
 * same data: every number once, each thread's numbers increasing. */
static void test_ticket_next_number_concurrent(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct store *st2 = NULL;
    MUST(store_open(FX(state)->uri, &st2, &err));

    struct num_arg args[8];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 4; i++)
        args[i].st = st;
    run_threads(4, num_thread, args, sizeof args[0]);
    for (int i = 4; i < 8; i++)
        args[i].st = (i % 2) ? st2 : st;
    run_threads(4, num_thread, args + 4, sizeof args[0]);
    store_close(st2);

    int64_t all[8 * NUM_PER_THREAD];
    size_t n = 0;
    for (int t = 0; t < 8; t++) {
        if (args[t].failures)
            fail_msg("thread %d: %d allocations failed, last: %s", t, args[t].failures,
                     args[t].why);
        for (int i = 0; i < NUM_PER_THREAD; i++) {
            if (i > 0)
                assert_true(args[t].got[i] > args[t].got[i - 1]);
            all[n++] = args[t].got[i];
        }
    }
    qsort(all, n, sizeof all[0], cmp_i64);
    for (size_t i = 1; i < n; i++)
        if (all[i] == all[i - 1])
            fail_msg("ticket number %lld was handed out twice", (long long)all[i]);
}

/* ---- tickets ------------------------------------------------------------- */

static void test_ticket_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, u, got = { 0 };
    ticket_new(st, &t, "Drucker kaputt — ünïcödé ✓ 日本語 \"quotes\" 'and' \\ back", 1111);
    t.status = STATUS_PENDING;
    t.priority = PRIORITY_URGENT;
    free(t.queue);
    t.queue = td_strdup("billing");
    strv_push(&t.tags, "vip");
    strv_push(&t.tags, "printer");
    strv_push(&t.tags, "b-tag");
    strv_push(&t.message_ids, "<first.1@mail.example.org>");
    strv_push(&t.message_ids, "<second.2@mail.example.org>");
    t.updated = 2222;
    ticket_put(st, &t);

    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    assert_thread_eq(st, t.number, (const char *const *)t.message_ids.v, t.message_ids.n);
    assert_string_equal(got.assignee_id, ""); /* unassigned stays "" */
    ticket_clear(&got);

    /* Assigned, no tags, no Message-IDs, default queue. */
    ticket_new(st, &u, "plain", 3333);
    new_id(u.assignee_id);
    u.status = STATUS_OPEN;
    u.priority = PRIORITY_LOW;
    ticket_put(st, &u);
    MUST(OP(ticket_get, u.number, &got));
    assert_ticket_eq(&got, &u);
    assert_int_equal(got.tags.n, 0);
    assert_thread_eq(st, u.number, (const char *const *)u.message_ids.v, u.message_ids.n);
    ticket_clear(&got);

    /* The created event went in with it, as seq 1. */
    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 1);
    assert_int_equal(h.v[0].seq, 1);
    assert_int_equal(h.v[0].ticket, t.number);
    assert_int_equal(h.v[0].kind, EVENT_CREATED);
    assert_string_equal(h.v[0].actor_id, t.requester_id);
    assert_null(h.v[0].old_value);
    assert_str(h.v[0].new_value, "pending");
    assert_int_equal(h.v[0].at, 1111);
    event_list_clear(&h);
    ticket_clear(&t);
    ticket_clear(&u);
}

static void test_ticket_insert_conflicts(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, dup, got = { 0 };
    ticket_new(st, &t, "original", 100);
    strv_push(&t.message_ids, "<owned@example.org>");
    ticket_put(st, &t);

    /* Same number: conflict, original untouched, no second created event. */
    ticket_new(st, &dup, "impostor", 200);
    int64_t spare = dup.number;
    dup.number = t.number;
    struct td_event ev = ev_make(dup.number, "", EVENT_CREATED, NULL, "new", 200);
    MUST_FAIL(TD_CONFLICT, OP(ticket_insert, &dup, &ev));
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    assert_thread_eq(st, t.number, (const char *const *)t.message_ids.v, t.message_ids.n);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 1);

    /* A Message-ID that is another ticket's: conflict, nothing written. */
    dup.number = spare;
    strv_push(&dup.message_ids, "<fresh@example.org>");
    strv_push(&dup.message_ids, "<owned@example.org>");
    ev.ticket = spare;
    MUST_FAIL(TD_CONFLICT, OP(ticket_insert, &dup, &ev));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, spare, &got));
    int64_t owner = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<fresh@example.org>", &owner));
    MUST(OP(ticket_find_by_msgid, "<owned@example.org>", &owner));
    assert_int_equal(owner, t.number);

    /* "version must be 1". */
    strv_clear(&dup.message_ids);
    dup.version = 2;
    MUST_FAIL(TD_INVALID, OP(ticket_insert, &dup, &ev));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, spare, &got));

    MUST_FAIL(TD_NOT_FOUND, OP(ticket_get, 987654321, &got));
    assert_null(got.subject);
    ticket_clear(&t);
    ticket_clear(&dup);
}

static void test_ticket_update_cas(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, want, got = { 0 };
    ticket_new(st, &t, "before", 100);
    strv_push(&t.tags, "old");
    strv_push(&t.message_ids, "<thread@example.org>");
    ticket_put(st, &t);

    memset(&want, 0, sizeof want);
    ticket_copy(&want, &t);
    free(want.subject);
    want.subject = td_strdup("after ✓");
    want.status = STATUS_OPEN;
    want.priority = PRIORITY_HIGH;
    new_id(want.assignee_id);
    free(want.queue);
    want.queue = td_strdup("support");
    strv_clear(&want.tags);
    strv_push(&want.tags, "new");
    strv_push(&want.tags, "shiny");
    want.updated = 500;
    /* message_ids is ignored by ticket_update. */
    strv_push(&want.message_ids, "<ignored@example.org>");
    struct td_event evs[2] = {
        ev_make(t.number, "", EVENT_STATUS, "new", "open", 500),
        ev_make(t.number, want.assignee_id, EVENT_CLAIM, NULL, want.assignee_id, 500),
    };
    MUST(OP(ticket_update, &want, 1, evs, 2));

    MUST(OP(ticket_get, t.number, &got));
    want.version = 2;
    strv_clear(&want.message_ids);
    strv_push(&want.message_ids, "<thread@example.org>");
    assert_ticket_eq(&got, &want);
    assert_thread_eq(st, t.number, (const char *const *)want.message_ids.v, want.message_ids.n);
    ticket_clear(&got);
    int64_t owner = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<ignored@example.org>", &owner));
    assert_int_equal(history_len(st, t.number), 3);

    /* Stale: expected 1, stored 2. Nothing changes, no events. */
    struct td_ticket stale;
    memset(&stale, 0, sizeof stale);
    ticket_copy(&stale, &t);
    free(stale.subject);
    stale.subject = td_strdup("lost update");
    strv_push(&stale.tags, "lost");
    stale.updated = 600;
    struct td_event lost = ev_make(t.number, "", EVENT_SUBJECT, "before", "lost update", 600);
    MUST_FAIL(TD_STALE, OP(ticket_update, &stale, 1, &lost, 1));
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &want);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 3);

    /* No such ticket. */
    stale.number = 987654321;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_update, &stale, 1, &lost, 1));

    /* Zero events is fine; the version still moves. */
    want.priority = PRIORITY_LOW;
    MUST(OP(ticket_update, &want, 2, NULL, 0));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 3);
    assert_int_equal(got.priority, PRIORITY_LOW);
    ticket_clear(&got);
    assert_int_equal(history_len(st, t.number), 3);
    ticket_clear(&stale);
    ticket_clear(&want);
    ticket_clear(&t);
}

struct race_arg {
    struct store *st;
    pthread_barrier_t *go;
    struct td_ticket t;
    int64_t expected;
    bool ok;
    struct td_err err;
};

static void *race_thread(void *p)
{
    struct race_arg *a = p;
    struct td_event ev = ev_make(a->t.number, "", EVENT_SUBJECT, "x", a->t.subject, 42);
    pthread_barrier_wait(a->go);
    a->ok = a->st->ops->ticket_update(a->st, &a->t, a->expected, &ev, 1, &a->err);
    return NULL;
}

/* Two writers, one expected version: exactly one wins, the other is
 * told TD_STALE, and only the winner's event is in the history. */
static void test_ticket_update_race(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "race", 1);
    ticket_put(st, &t);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    for (int round = 0; round < 20; round++) {
        struct race_arg args[2];
        memset(args, 0, sizeof args);
        for (int i = 0; i < 2; i++) {
            args[i].st = st;
            args[i].go = &go;
            ticket_copy(&args[i].t, &t);
            free(args[i].t.subject);
            char subj[64];
            snprintf(subj, sizeof subj, "round %d writer %d", round, i);
            args[i].t.subject = td_strdup(subj);
            args[i].expected = t.version;
        }
        run_threads(2, race_thread, args, sizeof args[0]);
        int winners = args[0].ok + args[1].ok;
        if (winners != 1)
            fail_msg("round %d: %d writers won (errors: %s / %s)", round, winners,
                     args[0].err.msg, args[1].err.msg);
        struct race_arg *loser = args[0].ok ? &args[1] : &args[0];
        struct race_arg *winner = args[0].ok ? &args[0] : &args[1];
        if (loser->err.code != TD_STALE)
            fail_msg("round %d: loser got %s (%s), expected stale", round,
                     td_code_name(loser->err.code), loser->err.msg);
        MUST(OP(ticket_get, t.number, &got));
        assert_string_equal(got.subject, winner->t.subject);
        assert_int_equal(got.version, t.version + 1);
        assert_int_equal(history_len(st, t.number), (size_t)round + 2);
        ticket_clear(&t);
        t = got;
        memset(&got, 0, sizeof got);
        for (int i = 0; i < 2; i++)
            ticket_clear(&args[i].t);
    }
    pthread_barrier_destroy(&go);
    ticket_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ping_and_reopen),
        T(test_user_roundtrip),
        T(test_user_conflict_and_not_found),
        T(test_user_update),
        T(test_user_list),
        T(test_ticket_next_number),
        T(test_ticket_next_number_concurrent),
        T(test_ticket_roundtrip),
        T(test_ticket_insert_conflicts),
        T(test_ticket_update_cas),
        T(test_ticket_update_race),
    };
    return store_fixture_run_all("store_tickets", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

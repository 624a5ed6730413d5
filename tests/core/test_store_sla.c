/* test_store_sla.c - the store contract (conformance.h) for SLAs: a
 * ticket's struct td_sla travels with it (insert, compare-and-set update,
 * get, list) and changes only with its version; the list filters
 * escalation_due (the escalation scan) and due_before (the API's overdue
 * and due_before) find the right tickets and combine with the others, on
 * every backend. */
#include "tests/core/conformance.h"

static void sla_fill(struct td_sla *s, td_time base)
{
    s->first_response_due = base + 1;
    s->resolution_due = base + 2;
    s->first_responded = base + 3;
    s->resolved = base + 4;
    s->paused_since = base + 5;
    s->paused_ms = base + 6;
    s->escalated_first_response = base + 7;
    s->escalated_resolution = base + 8;
    s->next_due = base + 9;
    s->next_escalation = base + 10;
}

static void test_sla_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "due soon", 100);
    sla_fill(&t.sla, 1000);
    ticket_put(st, &t);
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    ticket_clear(&got);

    /* An update writes every field, with its event and version. */
    sla_fill(&t.sla, 5000);
    t.updated = 200;
    struct td_event ev = ev_make(t.number, "", EVENT_ESCALATED, "2026-12-07T11:00:00Z",
                                 "first_response", 200);
    MUST(OP(ticket_update, &t, 1, &ev, 1));
    t.version = 2;
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    ticket_clear(&got);
    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[1].kind, EVENT_ESCALATED);
    assert_string_equal(h.v[1].old_value, "2026-12-07T11:00:00Z");
    assert_string_equal(h.v[1].new_value, "first_response");
    event_list_clear(&h);

    /* A stale update (the escalation another process lost) writes nothing. */
    struct td_ticket stale = { 0 };
    ticket_copy(&stale, &t);
    stale.sla.escalated_resolution = 99999;
    MUST_FAIL(TD_STALE, OP(ticket_update, &stale, 1, &ev, 1));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.sla.escalated_resolution, 5008);
    assert_int_equal(got.version, 2);
    ticket_clear(&got);
    ticket_clear(&stale);

    /* Lists carry it; all zero is all zero again (no state left behind). */
    memset(&t.sla, 0, sizeof t.sla);
    MUST(OP(ticket_update, &t, 2, NULL, 0));
    t.version = 3;
    int64_t plain = ticket_add(st, "no policy", 300);
    struct td_ticket_filter f = { .ascending = true };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 2);
    assert_ticket_eq(&l.v[0], &t);
    assert_int_equal(l.v[1].number, plain);
    assert_int_equal(l.v[1].sla.next_due, 0);
    assert_int_equal(l.v[1].sla.resolution_due, 0);
    ticket_list_clear(&l);
    ticket_clear(&t);
}

static int64_t ticket_escalating_at(struct store *st, td_time at)
{
    struct td_ticket t;
    ticket_new(st, &t, "sla", 100);
    t.sla.resolution_due = at;
    t.sla.next_due = at;
    t.sla.next_escalation = at;
    ticket_put(st, &t);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

/* The numbers an escalation_due list returns, in number order. */
static size_t escalation_due(struct store *st, td_time now, int64_t after, size_t limit,
                             int64_t *out)
{
    struct td_err err;
    struct td_ticket_filter f = { .escalation_due = now, .ascending = true, .after = after,
                                  .limit = limit };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    for (size_t i = 0; i < l.n; i++)
        out[i] = l.v[i].number;
    size_t n = l.n;
    ticket_list_clear(&l);
    return n;
}

static void test_escalation_due(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t late = ticket_escalating_at(st, 300);
    int64_t early = ticket_escalating_at(st, 100);
    int64_t mid = ticket_escalating_at(st, 200);
    (void)ticket_add(st, "no due time", 100);
    int64_t mid2 = ticket_escalating_at(st, 200);
    int64_t n[8];
    assert_int_equal(escalation_due(st, 200, 0, 0, n), 3); /* 0 < next_escalation <= now */
    assert_int_equal(n[0], early);
    assert_int_equal(n[1], mid);
    assert_int_equal(n[2], mid2);
    assert_int_equal(escalation_due(st, 99, 0, 0, n), 0);
    assert_int_equal(escalation_due(st, 1000, 0, 2, n), 2); /* pages by number */
    assert_int_equal(n[0], late);
    assert_int_equal(n[1], early);
    assert_int_equal(escalation_due(st, 1000, early, 2, n), 2);
    assert_int_equal(n[0], mid);
    assert_int_equal(n[1], mid2);

    /* Escalated (next_escalation 0): no longer listed. */
    struct td_ticket t = { 0 };
    MUST(OP(ticket_get, early, &t));
    t.sla.escalated_resolution = 100;
    t.sla.next_escalation = 0;
    MUST(OP(ticket_update, &t, 1, NULL, 0));
    ticket_clear(&t);
    assert_int_equal(escalation_due(st, 1000, 0, 0, n), 3);
    assert_int_equal(n[0], late);
    assert_int_equal(n[1], mid);
    /* With due_before too: next_due stays (still overdue). */
    struct td_ticket_filter f = { .due_before = 1000 };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 4);
    ticket_list_clear(&l);
}

static int64_t ticket_due_at(struct store *st, td_time at, enum td_status status)
{
    struct td_ticket t;
    ticket_new(st, &t, "due", 100);
    t.status = status;
    t.sla.resolution_due = at ? at : 500; /* a target, not running when at is 0 */
    t.sla.next_due = at;
    ticket_put(st, &t);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static void test_due_before_filter(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t early = ticket_due_at(st, 100, STATUS_NEW);
    int64_t paused = ticket_due_at(st, 0, STATUS_PENDING);
    int64_t late = ticket_due_at(st, 300, STATUS_OPEN);
    int64_t none = ticket_add(st, "no policy", 100);
    int64_t mid = ticket_due_at(st, 200, STATUS_OPEN);
    (void)paused;
    (void)none;
    struct td_ticket_filter f = { .due_before = 201, .ascending = true };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 2); /* 0 < next_due < 201 */
    assert_int_equal(l.v[0].number, early);
    assert_int_equal(l.v[1].number, mid);
    ticket_list_clear(&l);
    f.due_before = 200; /* strictly before */
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, early);
    ticket_list_clear(&l);
    /* With another filter, a cursor, a limit, the other orders. */
    struct td_ticket_filter g = { .due_before = 1000, .by_status = true, .status = STATUS_OPEN };
    MUST(OP(ticket_list, &g, &l));
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].number, mid); /* newest first */
    assert_int_equal(l.v[1].number, late);
    ticket_list_clear(&l);
    struct td_ticket_filter h = { .due_before = 1000, .after = mid, .limit = 1 };
    MUST(OP(ticket_list, &h, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, late);
    ticket_list_clear(&l);
    struct td_ticket_filter u = { .due_before = 1000, .by_updated = true };
    MUST(OP(ticket_list, &u, &l));
    assert_int_equal(l.n, 3);
    ticket_list_clear(&l);
    struct td_ticket_filter none_due = { .due_before = 50 };
    MUST(OP(ticket_list, &none_due, &l));
    assert_int_equal(l.n, 0);
    ticket_list_clear(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sla_roundtrip),
        T(test_escalation_due),
        T(test_due_before_filter),
    };
    return store_fixture_run_all("store_sla", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

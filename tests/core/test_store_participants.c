/* test_store_participants.c - the store contract (conformance.h) for
 * conversations: participants and merged_into travel with the ticket
 * (insert, compare-and-set update, get, list), and comment_move re-points
 * a merged ticket's comments, idempotently, on every backend. */
#include "tests/core/conformance.h"

static void test_participants_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "with colleagues", 100);
    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1];
    new_id(a);
    new_id(b);
    strv_push(&t.participants, a);
    ticket_put(st, &t);
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    assert_int_equal(got.participants.n, 1);
    assert_int_equal(got.merged_into, 0);
    ticket_clear(&got);

    /* Update: the set is replaced in order, merged_into set, with an event. */
    strv_push(&t.participants, b);
    t.merged_into = 77;
    t.updated = 200;
    struct td_event ev = ev_make(t.number, a, EVENT_PARTICIPANT_ADDED, NULL, b, 200);
    MUST(OP(ticket_update, &t, 1, &ev, 1));
    t.version = 2;
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    ticket_clear(&got);
    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[1].kind, EVENT_PARTICIPANT_ADDED);
    assert_string_equal(h.v[1].new_value, b);
    event_list_clear(&h);

    /* A stale update writes neither the set nor merged_into. */
    strv_remove(&t.participants, a);
    t.merged_into = 0;
    MUST_FAIL(TD_STALE, OP(ticket_update, &t, 1, NULL, 0));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.participants.n, 2);
    assert_int_equal(got.merged_into, 77);
    ticket_clear(&got);

    /* Removal, and lists carry the set too. */
    MUST(OP(ticket_update, &t, 2, NULL, 0));
    struct td_ticket_filter f = { 0 };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].participants.n, 1);
    assert_string_equal(l.v[0].participants.v[0], b);
    assert_int_equal(l.v[0].merged_into, 0);
    ticket_list_clear(&l);
    ticket_clear(&t);
}

static void test_comment_move(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t from = ticket_add(st, "duplicate", 10);
    int64_t to = ticket_add(st, "original", 11);
    struct td_comment c1, c2, c3;
    comment_new(&c1, from, "first of the duplicate", false, "dup-1@example.org", 20);
    comment_new(&c2, from, "a note", true, NULL, 21);
    comment_new(&c3, to, "on the original", false, NULL, 15);
    struct td_event e1 = ev_make(from, "", EVENT_COMMENT, "public", c1.id, 20);
    struct td_event e2 = ev_make(from, "", EVENT_COMMENT, "internal", c2.id, 21);
    struct td_event e3 = ev_make(to, "", EVENT_COMMENT, "public", c3.id, 15);
    MUST(OP(comment_insert, &c1, &e1));
    MUST(OP(comment_insert, &c2, &e2));
    MUST(OP(comment_insert, &c3, &e3));

    MUST(OP(comment_move, from, to));
    /* Again: nothing left to move is no error (resumable). */
    MUST(OP(comment_move, from, to));
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, from, true, &l));
    assert_int_equal(l.n, 0);
    comment_list_clear(&l);
    MUST(OP(comment_list, to, true, &l));
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].id, c3.id); /* ordered by creation */
    assert_string_equal(l.v[1].id, c1.id);
    assert_string_equal(l.v[2].id, c2.id);
    assert_int_equal(l.v[1].ticket, to);
    comment_list_clear(&l);
    /* The moved comment keeps its Message-ID (mail dedupe still finds it). */
    struct td_comment got;
    MUST(OP(comment_find_by_msgid, "dup-1@example.org", &got));
    assert_int_equal(got.ticket, to);
    comment_clear(&got);
    comment_clear(&c1);
    comment_clear(&c2);
    comment_clear(&c3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_participants_roundtrip),
        T(test_comment_move),
    };
    return store_fixture_run_all("store_participants", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

/* test_store_comments.c - the store contract (conformance.h): comments, history and attachment bytes,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- comments ----------------------------------------------------------- */

static void test_comment_roundtrip(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "comments", 1000);
    ticket_put(st, &t);

    struct td_comment c1, c2, c3, found = { 0 };
    comment_new(&c1, t.number, "Hello\nworld ✓ <b>not html</b>", false,
                "<c1.123@mail.example.org>", 2000);
    comment_attach(&c1, "report.pdf", "application/pdf", 12345);
    comment_attach(&c1, "Grüße.txt", "text/plain; charset=utf-8", 0);
    comment_new(&c2, t.number, "internal note", true, NULL, 3000);
    comment_new(&c3, t.number, "second public", false, NULL, 4000);
    struct td_comment *cs[] = { &c1, &c2, &c3 };
    for (int i = 0; i < 3; i++) {
        struct td_event ev = comment_event(cs[i]);
        MUST(OP(comment_insert, cs[i], &ev));
    }

    /* The ticket moved with each comment and holds c1's Message-ID. */
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 4);
    assert_int_equal(got.updated, 4000);
    const char *ids[] = { "<c1.123@mail.example.org>" };
    assert_thread_eq(st, t.number, ids, 1);
    ticket_clear(&got);
    int64_t n = 0;
    MUST(OP(ticket_find_by_msgid, "<c1.123@mail.example.org>", &n));
    assert_int_equal(n, t.number);

    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t.number, true, &l));
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_comment_eq(&l.v[i], cs[i]);
    comment_list_clear(&l);
    MUST(OP(comment_list, t.number, false, &l));
    assert_int_equal(l.n, 2);
    assert_comment_eq(&l.v[0], &c1);
    assert_comment_eq(&l.v[1], &c3);
    comment_list_clear(&l);
    MUST(OP(comment_list, 987654321, true, &l));
    assert_int_equal(l.n, 0);
    comment_list_clear(&l);

    MUST(OP(comment_find_by_msgid, "<c1.123@mail.example.org>", &found));
    assert_comment_eq(&found, &c1);
    comment_clear(&found);
    MUST_FAIL(TD_NOT_FOUND, OP(comment_find_by_msgid, "<none@example.org>", &found));
    assert_null(found.body);

    struct td_event_list h = { 0 };
    MUST(OP(history_list, t.number, &h));
    assert_int_equal(h.n, 4);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h.v[i + 1].kind, EVENT_COMMENT);
        assert_string_equal(h.v[i + 1].new_value, cs[i]->id);
        assert_string_equal(h.v[i + 1].old_value, cs[i]->internal ? "internal" : "public");
        assert_string_equal(h.v[i + 1].actor_id, cs[i]->author_id);
    }
    event_list_clear(&h);
    comment_clear(&c1);
    comment_clear(&c2);
    comment_clear(&c3);
    ticket_clear(&t);
}

/* One comment by id, internal or not, with its attachment refs (the
 * notification planner reads only the comment it mails about). */
static void test_comment_get(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t;
    ticket_new(st, &t, "comment get", 1000);
    ticket_put(st, &t);
    struct td_comment pub, note, got = { 0 };
    comment_new(&pub, t.number, "public ✓", false, "<get.1@mail.example.org>", 2000);
    comment_attach(&pub, "report.pdf", "application/pdf", 12345);
    comment_new(&note, t.number, "internal note", true, NULL, 3000);
    struct td_comment *cs[] = { &pub, &note };
    for (int i = 0; i < 2; i++) {
        struct td_event ev = comment_event(cs[i]);
        MUST(OP(comment_insert, cs[i], &ev));
    }
    assert_non_null(st->ops->comment_get);
    for (int i = 0; i < 2; i++) {
        MUST(OP(comment_get, cs[i]->id, &got));
        assert_comment_eq(&got, cs[i]);
        comment_clear(&got);
    }
    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(comment_get, missing, &got));
    assert_null(got.body);
    comment_clear(&pub);
    comment_clear(&note);
    ticket_clear(&t);
}

/* Same-millisecond comments keep their insertion order. */
static void test_comment_order_same_time(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t = ticket_add(st, "burst", 1);
    char bodies[12][32];
    for (int i = 0; i < 12; i++) {
        snprintf(bodies[i], sizeof bodies[i], "burst %02d", i);
        comment_add(st, t, bodies[i], i % 3 == 0, 5000);
    }
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t, true, &l));
    assert_int_equal(l.n, 12);
    for (int i = 0; i < 12; i++)
        assert_string_equal(l.v[i].body, bodies[i]);
    comment_list_clear(&l);
}

static void test_comment_conflicts(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "dupes", 100);
    strv_push(&t.message_ids, "<opening@example.org>");
    ticket_put(st, &t);

    /* The opening mail's comment carries the ticket's own Message-ID:
     * already in this thread, so that is not a conflict. */
    struct td_comment first, again, lost;
    comment_new(&first, t.number, "opening mail", false, "<opening@example.org>", 100);
    struct td_event ev = comment_event(&first);
    MUST(OP(comment_insert, &first, &ev));
    MUST(OP(ticket_get, t.number, &got));
    const char *ids[] = { "<opening@example.org>" };
    assert_thread_eq(st, t.number, ids, 1);
    assert_int_equal(got.version, 2);
    ticket_clear(&got);

    /* The same mail delivered twice: conflict, and no trace of it. */
    comment_new(&again, t.number, "opening mail (again)", false, "<opening@example.org>", 200);
    comment_attach(&again, "again.bin", "application/octet-stream", 3);
    ev = comment_event(&again);
    MUST_FAIL(TD_CONFLICT, OP(comment_insert, &again, &ev));
    MUST(OP(ticket_get, t.number, &got));
    assert_int_equal(got.version, 2);
    assert_int_equal(got.updated, 100);
    ticket_clear(&got);
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, t.number, true, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, first.id);
    comment_list_clear(&l);
    assert_int_equal(history_len(st, t.number), 2);

    /* No such ticket: not found, nothing written. */
    comment_new(&lost, 987654321, "into the void", false, "<void@example.org>", 300);
    ev = comment_event(&lost);
    MUST_FAIL(TD_NOT_FOUND, OP(comment_insert, &lost, &ev));
    struct td_comment found = { 0 };
    MUST_FAIL(TD_NOT_FOUND, OP(comment_find_by_msgid, "<void@example.org>", &found));
    int64_t n = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<void@example.org>", &n));
    comment_clear(&first);
    comment_clear(&again);
    comment_clear(&lost);
    ticket_clear(&t);
}

/* ---- history --------------------------------------------------------------- */

static void test_history_order(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char actor[TD_ID_LEN + 1];
    new_id(actor);
    struct td_ticket a, b;
    ticket_new(st, &a, "history a", 10);
    ticket_put(st, &a);
    ticket_new(st, &b, "history b", 11);
    ticket_put(st, &b);

    /* Interleaved writes to two tickets: each has its own 1, 2, 3... */
    struct td_event ea[3] = {
        ev_make(a.number, actor, EVENT_STATUS, "new", "open", 20),
        ev_make(a.number, actor, EVENT_PRIORITY, "normal", "urgent", 20),
        ev_make(a.number, "", EVENT_TAG, NULL, "x,y", 20),
    };
    MUST(OP(ticket_update, &a, 1, ea, 3));
    struct td_event eb = ev_make(b.number, actor, EVENT_ASSIGNEE, NULL, actor, 21);
    MUST(OP(ticket_update, &b, 1, &eb, 1));
    comment_add(st, a.number, "note", true, 30);
    struct td_event ea2 = ev_make(a.number, actor, EVENT_SUBJECT, "history a", "renamed", 40);
    MUST(OP(ticket_update, &a, 3, &ea2, 1));

    struct td_event_list h = { 0 };
    MUST(OP(history_list, a.number, &h));
    const enum td_event_kind kinds[] = { EVENT_CREATED, EVENT_STATUS, EVENT_PRIORITY,
                                         EVENT_TAG, EVENT_COMMENT, EVENT_SUBJECT };
    const td_time ats[] = { 10, 20, 20, 20, 30, 40 };
    assert_int_equal(h.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(h.v[i].seq, (int64_t)i + 1);
        assert_int_equal(h.v[i].ticket, a.number);
        assert_int_equal(h.v[i].kind, kinds[i]);
        assert_int_equal(h.v[i].at, ats[i]);
    }
    assert_string_equal(h.v[1].actor_id, actor);
    assert_str(h.v[1].old_value, "new");
    assert_str(h.v[1].new_value, "open");
    assert_string_equal(h.v[3].actor_id, ""); /* the system */
    assert_null(h.v[3].old_value);
    assert_str(h.v[3].new_value, "x,y");
    assert_str(h.v[5].old_value, "history a");
    assert_str(h.v[5].new_value, "renamed");
    event_list_clear(&h);

    MUST(OP(history_list, b.number, &h));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[0].seq, 1);
    assert_int_equal(h.v[1].seq, 2);
    assert_int_equal(h.v[1].kind, EVENT_ASSIGNEE);
    assert_null(h.v[1].old_value);
    event_list_clear(&h);
    ticket_clear(&a);
    ticket_clear(&b);
}

/* ---- attachments ----------------------------------------------------------- */

static void test_attachments(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    static const unsigned char small[] = { 'a', 0, 'b', 0, 0, 'c', 0xff };
    struct td_attachment a = { .name = (char *)"nul.bin",
                               .content_type = (char *)"application/octet-stream",
                               .size = sizeof small, .data = (unsigned char *)small };
    new_id(a.id);
    size_t big_n = 1024 * 1024;
    unsigned char *big = td_malloc(big_n);
    uint32_t x = 2463534242u; /* xorshift: every byte value, zeros included */
    for (size_t i = 0; i < big_n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big[i] = (unsigned char)(i % 4096 == 0 ? 0 : x);
    }
    struct td_attachment b = { .name = (char *)"Grüße ✓.png", .content_type = (char *)"image/png",
                               .size = big_n, .data = big };
    new_id(b.id);
    MUST(OP(attachment_put, &a));
    MUST(OP(attachment_put, &b));

    struct td_attachment got = { 0 };
    MUST(OP(attachment_get, a.id, &got));
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.name, a.name);
    assert_string_equal(got.content_type, a.content_type);
    assert_int_equal(got.size, sizeof small);
    assert_memory_equal(got.data, small, sizeof small);
    attachment_clear(&got);
    MUST(OP(attachment_get, b.id, &got));
    assert_string_equal(got.name, b.name);
    assert_string_equal(got.content_type, "image/png");
    assert_int_equal(got.size, big_n);
    assert_memory_equal(got.data, big, big_n);
    attachment_clear(&got);

    /* Same id again: conflict, the first bytes stay. */
    struct td_attachment dup = a;
    dup.data = big;
    dup.size = 16;
    MUST_FAIL(TD_CONFLICT, OP(attachment_put, &dup));
    MUST(OP(attachment_get, a.id, &got));
    assert_int_equal(got.size, sizeof small);
    assert_memory_equal(got.data, small, sizeof small);
    attachment_clear(&got);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(attachment_get, missing, &got));
    assert_null(got.data);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_comment_roundtrip),
        T(test_comment_get),
        T(test_comment_order_same_time),
        T(test_comment_conflicts),
        T(test_history_order),
        T(test_attachments),
    };
    return store_fixture_run_all("store_comments", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

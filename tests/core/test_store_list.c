/* test_store_list.c - the store contract (conformance.h): ticket_list (filters, text, pages, limits) and ticket threads,
 * on every backend. */
#include "tests/core/conformance.h"

/* ---- ticket_list ----------------------------------------------------------- */

static void test_ticket_list_filters(void **state)
{
    struct store *st = FX(state)->st;
    char agent1[TD_ID_LEN + 1], agent2[TD_ID_LEN + 1], req1[TD_ID_LEN + 1],
        req2[TD_ID_LEN + 1];
    new_id(agent1);
    new_id(agent2);
    new_id(req1);
    new_id(req2);
    struct {
        enum td_status status;
        enum td_priority prio;
        const char *assignee, *requester, *queue, *tags[2];
        td_time updated;
        int64_t number;
    } spec[] = {
        { STATUS_OPEN, PRIORITY_HIGH, agent1, req1, "q1", { "x", NULL }, 1000, 0 },
        { STATUS_PENDING, PRIORITY_LOW, "", req2, "", { "y", "x" }, 2000, 0 },
        { STATUS_OPEN, PRIORITY_NORMAL, agent2, req1, "q1", { NULL, NULL }, 3000, 0 },
        { STATUS_CLOSED, PRIORITY_HIGH, agent1, req2, "q2", { "z", NULL }, 4000, 0 },
    };
    for (size_t i = 0; i < 4; i++) {
        struct td_ticket t;
        ticket_new(st, &t, "filter me", 500);
        t.status = spec[i].status;
        t.priority = spec[i].prio;
        snprintf(t.assignee_id, sizeof t.assignee_id, "%s", spec[i].assignee);
        snprintf(t.requester_id, sizeof t.requester_id, "%s", spec[i].requester);
        free(t.queue);
        t.queue = td_strdup(spec[i].queue);
        for (int k = 0; k < 2 && spec[i].tags[k]; k++)
            strv_push(&t.tags, spec[i].tags[k]);
        t.updated = spec[i].updated;
        ticket_put(st, &t);
        spec[i].number = t.number;
        ticket_clear(&t);
    }
    int64_t a = spec[0].number, b = spec[1].number, c = spec[2].number, d = spec[3].number;

    struct td_ticket_filter f = { 0 };
    EXPECT_LIST(&f, d, c, b, a); /* zero filter: all, newest first */
    EXPECT_LIST(NULL, d, c, b, a);

    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_OPEN };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_RESOLVED };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_NEW };
    EXPECT_EMPTY(&f); /* by_status with the zero status is still a filter */
    f = (struct td_ticket_filter){ .by_priority = true, .priority = PRIORITY_HIGH };
    EXPECT_LIST(&f, d, a);
    f = (struct td_ticket_filter){ .by_priority = true, .priority = PRIORITY_LOW };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .assignee_id = agent1 };
    EXPECT_LIST(&f, d, a);
    f = (struct td_ticket_filter){ .assignee_id = "" };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .requester_id = req1 };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .tag = "x" };
    EXPECT_LIST(&f, b, a);
    f = (struct td_ticket_filter){ .tag = "nope" };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .queue = "q1" };
    EXPECT_LIST(&f, c, a);
    f = (struct td_ticket_filter){ .queue = "" };
    EXPECT_LIST(&f, b);
    f = (struct td_ticket_filter){ .updated_since = 2000 };
    EXPECT_LIST(&f, d, c, b);
    f = (struct td_ticket_filter){ .updated_since = 4001 };
    EXPECT_EMPTY(&f);
    f = (struct td_ticket_filter){ .by_status = true, .status = STATUS_OPEN, .queue = "q1",
                                   .tag = "x", .requester_id = req1, .assignee_id = agent1,
                                   .by_priority = true, .priority = PRIORITY_HIGH,
                                   .updated_since = 1000, .ascending = true };
    EXPECT_LIST(&f, a);
    f = (struct td_ticket_filter){ .requester_id = req2, .ascending = true };
    EXPECT_LIST(&f, b, d);

    /* Listed tickets come complete. */
    struct td_err err;
    struct td_ticket_list l = { 0 };
    f = (struct td_ticket_filter){ .tag = "y" };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    const char *tags[] = { "y", "x" };
    assert_strv_eq(&l.v[0].tags, tags, 2);
    assert_string_equal(l.v[0].requester_id, req2);
    assert_int_equal(l.v[0].status, STATUS_PENDING);
    assert_int_equal(l.v[0].updated, 2000);
    assert_int_equal(l.v[0].version, 1);
    ticket_list_clear(&l);
}

static void test_ticket_list_text(void **state)
{
    struct store *st = FX(state)->st;
    int64_t t1 = ticket_add(st, "Printer on FIRE", 10);
    int64_t t2 = ticket_add(st, "Invoice question", 20);
    comment_add(st, t2, "Also, the PrInTeR is smoking.", false, 21);
    int64_t t3 = ticket_add(st, "Other thing", 30);
    comment_add(st, t3, "internal: printer secret", true, 31);
    int64_t t4 = ticket_add(st, "100% sure a_b", 40);
    int64_t t5 = ticket_add(st, "1000 sure axb", 50);
    int64_t t6 = ticket_add(st, "Café crème", 60);
    int64_t t7 = ticket_add(st, "path C:\\temp\\x", 70);
    int64_t t8 = ticket_add(st, "regex chars (a+b)*[c]? ^$ |.{2}", 80);

    struct td_ticket_filter f = { .text = "printer" };
    EXPECT_LIST(&f, t2, t1); /* subject, public comment; not the note */
    f.text = "PRINTER";
    EXPECT_LIST(&f, t2, t1);
    f.text = "prin"; /* a word's beginning */
    EXPECT_LIST(&f, t2, t1);
    f.text = "rinter"; /* not a word's beginning */
    EXPECT_EMPTY(&f);
    f.text = "prin";
    f.text_internal = true;
    EXPECT_LIST(&f, t3, t2, t1);
    f = (struct td_ticket_filter){ .text = "secret" };
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, t3);
    /* Every word, from the subject and any comment together. */
    f = (struct td_ticket_filter){ .text = "invoice smoking" };
    EXPECT_LIST(&f, t2);
    f.text = "printer fire";
    EXPECT_LIST(&f, t1);
    f.text = "printer secret";
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, t3);
    /* Punctuation separates words; LIKE / regex / FTS syntax is plain. */
    f = (struct td_ticket_filter){ .text = "100%" };
    EXPECT_LIST(&f, t5, t4); /* "100" begins "1000" too */
    f.text = "1000";
    EXPECT_LIST(&f, t5);
    f.text = "a_b";
    EXPECT_LIST(&f, t8, t4);
    f.text = "c:\\TEMP\\";
    EXPECT_LIST(&f, t7);
    f.text = "(a+b)*[c]? ^$ |.{2}";
    EXPECT_LIST(&f, t8);
    f.text = "\"printer\" OR NOT fire*";
    EXPECT_EMPTY(&f); /* words printer, or, not, fire: no ticket has "or" */
    f.text = "café";
    EXPECT_LIST(&f, t6);
    f.text = "cr\xc3\xa8"; /* "crè": a non-ASCII letter is part of a word */
    EXPECT_LIST(&f, t6);
    f.text = "CAFÉ"; /* É is not folded: only ASCII letters are */
    EXPECT_EMPTY(&f);
    f.text = "%"; /* no words: every ticket */
    EXPECT_LIST(&f, t8, t7, t6, t5, t4, t3, t2, t1);
    f.text = "no such words";
    EXPECT_EMPTY(&f);
    struct td_err err;
    struct td_ticket_list l = { 0 };
    f.text = "a b c d e f g h i"; /* more than STORE_TEXT_MAX_WORDS */
    MUST_FAIL(TD_INVALID, OP(ticket_list, &f, &l));
    f.text = "a b c d e f g h";
    MUST(OP(ticket_list, &f, &l));
    ticket_list_clear(&l);
    /* Text combines with the other filters. */
    f = (struct td_ticket_filter){ .text = "printer", .ascending = true, .limit = 1 };
    EXPECT_LIST(&f, t1);
    f.after = t1;
    EXPECT_LIST(&f, t2);
}

/* The search index follows every write: a new subject replaces the old
 * one's words, a new comment adds its own. */
static void test_ticket_list_text_follows_writes(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t1 = ticket_add(st, "Scanner jammed", 10);
    struct td_ticket_filter f = { .text = "scanner" };
    EXPECT_LIST(&f, t1);
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    MUST(OP(ticket_get, t1, &t));
    free(t.subject);
    t.subject = td_strdup("Plotter jammed");
    t.updated = 20;
    MUST(OP(ticket_update, &t, 1, NULL, 0));
    ticket_clear(&t);
    EXPECT_EMPTY(&f);
    f.text = "plotter jammed";
    EXPECT_LIST(&f, t1);
    comment_add(st, t1, "zyxwv", false, 30);
    f.text = "zyx plot";
    EXPECT_LIST(&f, t1);
}

/* Pages through every ticket with limit; returns how many it saw. */
static size_t page_all(struct store *st, bool asc, size_t limit, int64_t *seen, size_t cap)
{
    struct td_err err;
    struct td_ticket_filter f = { .ascending = asc, .limit = limit };
    size_t n = 0;
    for (int pages = 0;; pages++) {
        assert_true((size_t)pages <= cap / limit + 2); /* a cursor that never ends */
        struct td_ticket_list l = { 0 };
        MUST(OP(ticket_list, &f, &l));
        assert_true(l.n <= limit);
        for (size_t i = 0; i < l.n; i++) {
            assert_true(n < cap);
            seen[n++] = l.v[i].number;
        }
        size_t got = l.n;
        if (got)
            f.after = l.v[got - 1].number;
        ticket_list_clear(&l);
        if (got == 0)
            break;
    }
    return n;
}

static void test_ticket_list_pagination(void **state)
{
    struct store *st = FX(state)->st;
    int64_t all[23];
    for (size_t i = 0; i < 23; i++)
        all[i] = ticket_add(st, "page", (td_time)i);
    int64_t seen[64];
    for (int asc = 0; asc <= 1; asc++) {
        for (size_t limit = 1; limit <= 24; limit += 5) {
            size_t n = page_all(st, asc, limit, seen, 64);
            assert_int_equal(n, 23);
            for (size_t i = 0; i < 23; i++)
                assert_int_equal(seen[i], asc ? all[i] : all[22 - i]);
        }
    }
    /* The cursor is strictly after, in either order. */
    struct td_ticket_filter f = { .ascending = true, .after = all[20] };
    EXPECT_LIST(&f, all[21], all[22]);
    f = (struct td_ticket_filter){ .after = all[2] };
    EXPECT_LIST(&f, all[1], all[0]);
    f = (struct td_ticket_filter){ .after = all[0] };
    EXPECT_EMPTY(&f);
}

/* by_updated: newest update first, ties by number (descending), the
 * cursor an (updated, number) pair; filters still apply; no text. */
static void test_ticket_list_by_updated(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    /* updated: t1 50, t2 70, t3 60, t4 70, t5 10 (queue "q" but t3). */
    const td_time at[] = { 50, 70, 60, 70, 10 };
    int64_t t[5];
    for (size_t i = 0; i < 5; i++) {
        struct td_ticket x;
        ticket_new(st, &x, "upd", at[i]);
        free(x.queue);
        x.queue = td_strdup(i == 2 ? "other" : "q");
        ticket_put(st, &x);
        t[i] = x.number;
        ticket_clear(&x);
    }
    struct td_ticket_filter f = { .by_updated = true };
    EXPECT_LIST(&f, t[3], t[1], t[2], t[0], t[4]);
    f.ascending = true; /* ignored */
    EXPECT_LIST(&f, t[3], t[1], t[2], t[0], t[4]);
    /* Pages of two, cursor by (updated, number), through the tie at 70. */
    f = (struct td_ticket_filter){ .by_updated = true, .after_updated = 70, .after = t[3] };
    EXPECT_LIST(&f, t[1], t[2], t[0], t[4]);
    f.after = t[1];
    EXPECT_LIST(&f, t[2], t[0], t[4]);
    f = (struct td_ticket_filter){ .by_updated = true, .after_updated = 60, .after = t[2], .limit = 1 };
    EXPECT_LIST(&f, t[0]);
    f = (struct td_ticket_filter){ .by_updated = true, .after_updated = 10, .after = t[4] };
    EXPECT_EMPTY(&f);
    /* With filters. */
    f = (struct td_ticket_filter){ .by_updated = true, .queue = "q", .updated_since = 20 };
    EXPECT_LIST(&f, t[3], t[1], t[0]);
    struct td_ticket_list l = { 0 };
    f = (struct td_ticket_filter){ .by_updated = true, .text = "upd" };
    MUST_FAIL(TD_INVALID, OP(ticket_list, &f, &l));
}

static void test_ticket_list_limits(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    enum { N = STORE_LIST_MAX + 5 };
    /* Numbers chosen here, not allocated: ticket_insert takes any. */
    for (int64_t i = 1; i <= N; i++) {
        struct td_ticket t;
        memset(&t, 0, sizeof t);
        t.number = i;
        t.subject = td_strdup("bulk");
        new_id(t.requester_id);
        t.queue = td_strdup("");
        t.created = t.updated = i;
        t.version = 1;
        ticket_put(st, &t);
        ticket_clear(&t);
    }
    struct td_ticket_list l = { 0 };
    struct td_ticket_filter f = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_DEFAULT);
    assert_int_equal(l.v[0].number, N);
    assert_int_equal(l.v[STORE_LIST_DEFAULT - 1].number, N - STORE_LIST_DEFAULT + 1);
    ticket_list_clear(&l);

    f.limit = 100000;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_MAX);
    assert_int_equal(l.v[STORE_LIST_MAX - 1].number, N - STORE_LIST_MAX + 1);
    ticket_list_clear(&l);

    f = (struct td_ticket_filter){ .ascending = true, .limit = STORE_LIST_MAX };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, STORE_LIST_MAX);
    assert_int_equal(l.v[0].number, 1);
    assert_int_equal(l.v[STORE_LIST_MAX - 1].number, STORE_LIST_MAX);
    ticket_list_clear(&l);

    f.after = STORE_LIST_MAX;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 5);
    ticket_list_clear(&l);
}

/* ---- ticket threads ------------------------------------------------------- */

/* A long thread is read by its ends: the first Message-ID and the last
 * max - 1, in the order they joined, on both stores. */
static void test_thread_ids_ends(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t n = ticket_add(st, "long thread", 1);
    char ids[30][40];
    for (int i = 0; i < 30; i++) {
        snprintf(ids[i], sizeof ids[i], "<t%02d.%d@example.org>", 29 - i, i * 7);
        MUST(OP(ticket_add_msgid, n, ids[i]));
    }
    const char *want5[] = { ids[0], ids[26], ids[27], ids[28], ids[29] };
    struct strv got = STRV_INIT;
    MUST(OP(ticket_thread_ids, n, 5, &got));
    assert_strv_eq(&got, want5, 5);
    strv_clear(&got);
    const char *want1[] = { ids[0] };
    MUST(OP(ticket_thread_ids, n, 1, &got));
    assert_strv_eq(&got, want1, 1);
    strv_clear(&got);
    const char *all[30];
    for (int i = 0; i < 30; i++)
        all[i] = ids[i];
    MUST(OP(ticket_thread_ids, n, 30, &got));
    assert_strv_eq(&got, all, 30);
    strv_clear(&got);
    MUST(OP(ticket_thread_ids, n, 31, &got));
    assert_strv_eq(&got, all, 30);
    /* It appends to out. */
    MUST(OP(ticket_thread_ids, n, 2, &got));
    assert_int_equal(got.n, 32);
    assert_string_equal(got.v[30], ids[0]);
    assert_string_equal(got.v[31], ids[29]);
    strv_clear(&got);

    MUST_FAIL(TD_INVALID, OP(ticket_thread_ids, n, 0, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_thread_ids, 987654321, 5, &got));
    assert_int_equal(got.n, 0);
    int64_t bare = ticket_add(st, "no thread", 2);
    MUST(OP(ticket_thread_ids, bare, 5, &got));
    assert_int_equal(got.n, 0);
}

static void test_ticket_msgid(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t1;
    ticket_new(st, &t1, "thread", 1);
    strv_push(&t1.message_ids, "<m1@example.org>");
    ticket_put(st, &t1);
    int64_t t2 = ticket_add(st, "other thread", 2);

    int64_t n = 0;
    MUST(OP(ticket_find_by_msgid, "<m1@example.org>", &n));
    assert_int_equal(n, t1.number);
    MUST(OP(ticket_add_msgid, t1.number, "<m2@example.org>"));
    MUST(OP(ticket_add_msgid, t1.number, "<m2@example.org>")); /* idempotent */
    MUST(OP(ticket_add_msgid, t1.number, "<m1@example.org>"));
    const char *ids[] = { "<m1@example.org>", "<m2@example.org>" };
    assert_thread_eq(st, t1.number, ids, 2);
    n = 0;
    MUST(OP(ticket_find_by_msgid, "<m2@example.org>", &n));
    assert_int_equal(n, t1.number);

    /* One Message-ID, one thread. */
    MUST_FAIL(TD_CONFLICT, OP(ticket_add_msgid, t2, "<m2@example.org>"));
    MUST(OP(ticket_find_by_msgid, "<m2@example.org>", &n));
    assert_int_equal(n, t1.number);
    assert_thread_eq(st, t2, NULL, 0);

    MUST_FAIL(TD_NOT_FOUND, OP(ticket_add_msgid, 987654321, "<m9@example.org>"));
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<m9@example.org>", &n));
    n = -7;
    MUST_FAIL(TD_NOT_FOUND, OP(ticket_find_by_msgid, "<never@example.org>", &n));
    assert_int_equal(n, -7); /* untouched on failure */
    ticket_clear(&t1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ticket_list_filters),
        T(test_ticket_list_text),
        T(test_ticket_list_text_follows_writes),
        T(test_ticket_list_pagination),
        T(test_ticket_list_by_updated),
        T(test_ticket_list_limits),
        T(test_ticket_msgid),
        T(test_thread_ids_ends),
    };
    return store_fixture_run_all("store_list", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

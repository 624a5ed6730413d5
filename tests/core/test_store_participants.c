/* test_store_participants.c - the store contract (conformance.h) for
 * conversations: participants and merged_into travel with the ticket
 * (insert, compare-and-set update, get, list), comment_move re-points a
 * merged ticket's comments, idempotently, and agents' aliases (unique,
 * listed per user, confirmed once and only before they expire), on every
 * backend. */
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

/* Sets come back in the order they were given, not in the order of
 * their values (the store sorts by position, not by text): both sets
 * are given in descending order here, on a get and in a list. */
static int desc(const void *a, const void *b)
{
    return -strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_sets_keep_their_order(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket t, got = { 0 };
    ticket_new(st, &t, "ordered", 100);
    char ids[4][TD_ID_LEN + 1];
    char *p[4];
    for (int i = 0; i < 4; i++) {
        new_id(ids[i]);
        p[i] = ids[i];
    }
    qsort(p, 4, sizeof *p, desc);
    for (int i = 0; i < 4; i++)
        strv_push(&t.participants, p[i]);
    const char *tags[] = { "zeta", "mu", "kappa", "alpha" };
    for (int i = 0; i < 4; i++)
        strv_push(&t.tags, tags[i]);
    ticket_put(st, &t);
    MUST(OP(ticket_get, t.number, &got));
    assert_ticket_eq(&got, &t);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(got.participants.v[i], p[i]);
        assert_string_equal(got.tags.v[i], tags[i]);
    }
    ticket_clear(&got);
    struct td_ticket_filter f = { 0 };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(l.v[0].participants.v[i], p[i]);
        assert_string_equal(l.v[0].tags.v[i], tags[i]);
    }
    ticket_list_clear(&l);
    ticket_clear(&t);
}

/* ticket_list's or_participant: the requester's tickets and those the
 * user takes part in, also together with the text search. */
static void test_list_participating(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_ticket a, b, c;
    char me[TD_ID_LEN + 1];
    new_id(me);
    ticket_new(st, &a, "mine", 10);
    memcpy(a.requester_id, me, sizeof me);
    ticket_put(st, &a);
    ticket_new(st, &b, "theirs, with me", 11);
    strv_push(&b.participants, me);
    ticket_put(st, &b);
    ticket_new(st, &c, "theirs alone", 12);
    ticket_put(st, &c);
    struct td_ticket_filter f = { .requester_id = me };
    struct td_ticket_list l = { 0 };
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    ticket_list_clear(&l);
    f.or_participant = true;
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].number, b.number);
    assert_int_equal(l.v[1].number, a.number);
    ticket_list_clear(&l);
    f.text = "theirs";
    MUST(OP(ticket_list, &f, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, b.number);
    ticket_list_clear(&l);
    ticket_clear(&a);
    ticket_clear(&b);
    ticket_clear(&c);
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
    /* The text search finds the moved comments under the target, and
     * no longer under the duplicate (whose own subject still counts). */
    struct td_ticket_filter f = { .text = "first" };
    EXPECT_LIST(&f, to);
    f.text = "note";
    EXPECT_EMPTY(&f);
    f.text_internal = true;
    EXPECT_LIST(&f, to);
    f.text = "duplicate"; /* from's subject, and the moved comment */
    EXPECT_LIST(&f, to, from);
    f.text = "original";
    EXPECT_LIST(&f, to);
    /* The moved comment keeps its Message-ID (mail dedupe still finds it). */
    struct td_comment got;
    MUST(OP(comment_find_by_msgid, "dup-1@example.org", &got));
    assert_int_equal(got.ticket, to);
    comment_clear(&got);
    comment_clear(&c1);
    comment_clear(&c2);
    comment_clear(&c3);
}

static void alias_new(struct td_alias *a, const char *email, const char *user, bool confirmed,
                      char fill, td_time expires)
{
    memset(a, 0, sizeof *a);
    a->email = td_strdup(email);
    memcpy(a->user_id, user, TD_ID_LEN + 1);
    a->confirmed = confirmed;
    if (!confirmed)
        memset(a->token_hash, fill, TD_TOKEN_HASH_LEN);
    a->expires = expires;
    a->created = 5;
}

static void test_aliases(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char u1[TD_ID_LEN + 1], u2[TD_ID_LEN + 1];
    new_id(u1);
    new_id(u2);
    struct td_alias a, b, c, got;
    alias_new(&a, "zed@home.example", u1, true, 0, 0);
    alias_new(&b, "al@phone.example", u1, false, 'a', 1000);
    alias_new(&c, "al@phone.example", u2, true, 0, 0);
    MUST(OP(alias_insert, &a));
    MUST(OP(alias_insert, &b));
    MUST_FAIL(TD_CONFLICT, OP(alias_insert, &c)); /* one address, one owner */
    MUST(OP(alias_get, "al@phone.example", &got));
    assert_string_equal(got.user_id, u1);
    assert_false(got.confirmed);
    assert_int_equal(strlen(got.token_hash), TD_TOKEN_HASH_LEN);
    alias_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(alias_get, "nobody@x.example", &got));

    struct td_alias_list l = { NULL, 0 };
    MUST(OP(alias_list, u1, &l));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].email, "al@phone.example"); /* by address */
    assert_string_equal(l.v[1].email, "zed@home.example");
    alias_list_clear(&l);
    MUST(OP(alias_list, u2, &l));
    assert_int_equal(l.n, 0);
    alias_list_clear(&l);

    /* Confirm: not after it expired, then once only. */
    char hash[TD_TOKEN_HASH_LEN + 1];
    memset(hash, 'a', TD_TOKEN_HASH_LEN);
    hash[TD_TOKEN_HASH_LEN] = '\0';
    MUST_FAIL(TD_NOT_FOUND, OP(alias_confirm, hash, 1001, &got));
    MUST(OP(alias_confirm, hash, 1000, &got));
    assert_true(got.confirmed);
    assert_string_equal(got.email, "al@phone.example");
    assert_string_equal(got.token_hash, "");
    alias_clear(&got);
    MUST_FAIL(TD_NOT_FOUND, OP(alias_confirm, hash, 10, &got));
    MUST(OP(alias_get, "al@phone.example", &got));
    assert_true(got.confirmed);
    alias_clear(&got);

    MUST(OP(alias_delete, "al@phone.example"));
    MUST_FAIL(TD_NOT_FOUND, OP(alias_delete, "al@phone.example"));
    MUST(OP(alias_insert, &c)); /* free again */
    alias_clear(&a);
    alias_clear(&b);
    alias_clear(&c);
}

/* An attachment ref keeps whether it was an inline image (cid:). */
static void test_inline_refs(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t n = ticket_add(st, "html mail", 10);
    struct td_comment c;
    comment_new(&c, n, "see the picture", false, NULL, 20);
    c.attachments = td_calloc(2, sizeof *c.attachments);
    c.n_attachments = 2;
    for (size_t i = 0; i < 2; i++) {
        new_id(c.attachments[i].id);
        c.attachments[i].name = td_strdup(i ? "file.pdf" : "button.png");
        c.attachments[i].content_type = td_strdup(i ? "application/pdf" : "image/png");
        c.attachments[i].size = 4;
        c.attachments[i].is_inline = i == 0;
    }
    struct td_event e = ev_make(n, "", EVENT_COMMENT, "public", c.id, 20);
    MUST(OP(comment_insert, &c, &e));
    struct td_comment_list l = { 0 };
    MUST(OP(comment_list, n, true, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].n_attachments, 2);
    assert_true(l.v[0].attachments[0].is_inline);
    assert_false(l.v[0].attachments[1].is_inline);
    comment_list_clear(&l);
    comment_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_participants_roundtrip),
        T(test_sets_keep_their_order),
        T(test_list_participating),
        T(test_comment_move),
        T(test_aliases),
        T(test_inline_refs),
    };
    return store_fixture_run_all("store_participants", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

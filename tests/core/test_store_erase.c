/* test_store_erase.c - the store contract (conformance.h) for erasing
 * a customer's personal data: erase_comments, attachment_delete,
 * outbox_erase_recipient, on every backend. */
#include "tests/core/conformance.h"

static void test_erase_comments_and_attachments(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t1 = ticket_add(st, "one", 1000);
    int64_t t2 = ticket_add(st, "two", 1000);
    char who[TD_ID_LEN + 1];
    new_id(who);
    struct td_comment a, b, c, other;
    comment_new(&a, t1, "my phone is 555-0100", false, NULL, 2000);
    comment_attach(&a, "passport.jpg", "image/jpeg", 3);
    comment_new(&b, t2, "and my address", false, NULL, 3000);
    comment_new(&c, t1, "again", true, NULL, 4000);
    comment_new(&other, t1, "staff reply", false, NULL, 5000);
    memcpy(a.author_id, who, sizeof who);
    memcpy(b.author_id, who, sizeof who);
    memcpy(c.author_id, who, sizeof who);
    struct td_attachment bytes = { .size = 3, .data = (unsigned char *)"abc" };
    memcpy(bytes.id, a.attachments[0].id, sizeof bytes.id);
    bytes.name = (char *)"passport.jpg";
    bytes.content_type = (char *)"image/jpeg";
    MUST(OP(attachment_put, &bytes));
    struct td_comment *all[] = { &a, &b, &c, &other };
    for (size_t i = 0; i < 4; i++) {
        struct td_event ev = comment_event(all[i]);
        MUST(OP(comment_insert, all[i], &ev));
    }

    struct td_erasure e;
    memset(&e, 0, sizeof e);
    MUST(OP(erase_comments, who, "[erased]", &e));
    assert_int_equal(e.comments, 3);
    assert_int_equal(e.n_tickets, 2);
    assert_true((e.tickets[0] == t1 && e.tickets[1] == t2) || (e.tickets[0] == t2 && e.tickets[1] == t1));
    assert_int_equal(e.attachments.n, 1);
    assert_string_equal(e.attachments.v[0], a.attachments[0].id);
    erasure_clear(&e);

    struct td_comment_list l = { NULL, 0 };
    MUST(OP(comment_list, t1, true, &l));
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].author_id, who) == 0) {
            assert_string_equal(l.v[i].body, "[erased]");
            for (size_t k = 0; k < l.v[i].n_attachments; k++) {
                assert_string_equal(l.v[i].attachments[k].name, "erased");
                assert_int_equal(l.v[i].attachments[k].size, 0);
            }
        } else {
            assert_string_equal(l.v[i].body, "staff reply");
        }
    }
    comment_list_clear(&l);

    /* The text search forgets the erased words (FTS5 on SQLite, the
     * word fields on MongoDB) and keeps the others'. */
    struct td_ticket_filter f = { .text = "phone", .text_internal = true };
    EXPECT_EMPTY(&f);
    f.text = "address";
    EXPECT_EMPTY(&f);
    f.text = "staff";
    EXPECT_LIST(&f, t1);
    f.text = "erased";
    EXPECT_LIST(&f, t2, t1);

    struct td_attachment got;
    MUST(OP(attachment_get, bytes.id, &got));
    attachment_clear(&got);
    MUST(OP(attachment_delete, bytes.id));
    MUST_FAIL(TD_NOT_FOUND, OP(attachment_get, bytes.id, &got));
    MUST(OP(attachment_delete, bytes.id)); /* again: no error */

    /* Nobody's comments: nothing touched. */
    char nobody[TD_ID_LEN + 1];
    new_id(nobody);
    MUST(OP(erase_comments, nobody, "[erased]", &e));
    assert_int_equal(e.comments, 0);
    assert_int_equal(e.n_tickets, 0);
    erasure_clear(&e);
    for (size_t i = 0; i < 4; i++)
        comment_clear(all[i]);
}

static void outbox_row(struct td_outbox *o, const char *to, enum td_outbox_state state, td_time at)
{
    memset(o, 0, sizeof *o);
    new_id(o->id);
    o->kind = (char *)"reply_to_requester";
    o->ticket = 1;
    o->recipient = (char *)to;
    o->payload = (char *)"{\"vars\":{\"recipient_email\":\"ann@example.org\"}}";
    o->state = state;
    o->next_attempt = at;
    o->created = at;
}

static void test_outbox_erase_recipient(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_outbox p, s, k;
    outbox_row(&p, "ann@example.org", OUTBOX_PENDING, 100);
    outbox_row(&s, "ann@example.org", OUTBOX_SENT, 200);
    outbox_row(&k, "bob@example.org", OUTBOX_PENDING, 300);
    MUST(OP(outbox_insert, &p));
    MUST(OP(outbox_insert, &s));
    MUST(OP(outbox_insert, &k));
    int64_t n = -1;
    MUST(OP(outbox_erase_recipient, "ann@example.org", "erased-x@erased.invalid", &n));
    assert_int_equal(n, 2);
    struct td_outbox_list l = { NULL, 0 };
    MUST(OP(outbox_list, -1, 0, &l));
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < l.n; i++) {
        const struct td_outbox *o = &l.v[i];
        if (strcmp(o->id, k.id) == 0) {
            assert_string_equal(o->recipient, "bob@example.org");
            assert_int_equal(o->state, OUTBOX_PENDING);
            continue;
        }
        assert_string_equal(o->recipient, "erased-x@erased.invalid");
        assert_string_equal(o->payload, "{}");
        if (strcmp(o->id, p.id) == 0) {
            assert_int_equal(o->state, OUTBOX_FAILED);
            assert_string_equal(o->last_error, "recipient erased");
        } else {
            assert_int_equal(o->state, OUTBOX_SENT);
        }
    }
    outbox_list_clear(&l);
    /* Nothing is due any more for her. */
    struct td_outbox claimed;
    MUST(OP(outbox_claim, "w", 1000, 1000, &claimed));
    assert_string_equal(claimed.id, k.id);
    outbox_clear(&claimed);
    MUST_FAIL(TD_NOT_FOUND, OP(outbox_claim, "w", 1000, 1000, &claimed));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_erase_comments_and_attachments),
        T(test_outbox_erase_recipient),
    };
    return store_fixture_run_all("store_erase", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

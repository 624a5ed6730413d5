/* test_tickets.c - ticket, comment and user operations of core with their
 * role rules, validation and history, over a real SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "core/comment.h"
#include "core/ticket.h"
#include "core_fixture.h"

static int64_t open_ticket(struct fx *f, const struct td_user *actor, const char *subject)
{
    struct ticket_new in = { .subject = subject, .body = "My printer is on fire." };
    struct td_ticket t;
    struct td_err err;
    if (!ticket_open(&f->core, actor, &in, &t, &err))
        fail_msg("ticket_open: %s", err.msg);
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static size_t count_tickets(struct fx *f)
{
    struct td_ticket_filter flt = { .limit = 1000 };
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    assert_true(ticket_list(&f->core, NULL, &flt, &l, &err));
    size_t n = l.n;
    ticket_list_clear(&l);
    return n;
}

static void customer_opens_ticket_with_history(void **state)
{
    struct fx *f = *state;
    struct ticket_new in = { .subject = "  Printer \xf0\x9f\x94\xa5  ", .body = "It burns." };
    struct td_ticket t;
    struct td_err err;
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    assert_true(t.number > 0);
    assert_string_equal(t.subject, "Printer \xf0\x9f\x94\xa5");
    assert_int_equal(t.status, STATUS_NEW);
    assert_int_equal(t.priority, PRIORITY_NORMAL);
    assert_string_equal(t.requester_id, f->cust1.id);
    assert_string_equal(t.assignee_id, "");
    struct td_comment_list cl = { NULL, 0 };
    assert_true(comment_list(&f->core, &f->cust1, t.number, &cl, &err));
    assert_int_equal(cl.n, 1);
    assert_string_equal(cl.v[0].body, "It burns.");
    assert_string_equal(cl.v[0].author_id, f->cust1.id);
    comment_list_clear(&cl);
    struct td_event_list h = { NULL, 0 };
    assert_true(ticket_history(&f->core, &f->cust1, t.number, &h, &err));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[0].kind, EVENT_CREATED);
    assert_int_equal(h.v[1].kind, EVENT_COMMENT);
    assert_true(h.v[0].seq < h.v[1].seq);
    event_list_clear(&h);
    int64_t second = open_ticket(f, &f->cust2, "Another");
    assert_true(second > t.number);
    ticket_clear(&t);
}

static void bad_input_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct td_err err;
    struct td_ticket t;
    const struct { const char *subject, *body; enum td_code code; const char *needle; } cases[] = {
        { "", "body", TD_INVALID, "subject is empty" },
        { "   ", "body", TD_INVALID, "subject is empty" },
        { "Line\r\nBcc: x@y.z", "body", TD_INVALID, "control character" },
        { "Bad \xc3\x28 utf8", "body", TD_INVALID, "UTF-8" },
        { "Fine", "bad \xed\xa0\x80 surrogate", TD_INVALID, "UTF-8" },
        { "Fine", "", TD_INVALID, "text is empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct ticket_new in = { .subject = cases[i].subject, .body = cases[i].body };
        memset(&err, 0, sizeof err);
        assert_false(ticket_open(&f->core, &f->cust1, &in, &t, &err));
        assert_int_equal(err.code, cases[i].code);
        assert_non_null(strstr(err.msg, cases[i].needle));
    }
    f->core.max_body = 16;
    struct ticket_new big = { .subject = "Big", .body = "0123456789abcdefX" };
    assert_false(ticket_open(&f->core, &f->cust1, &big, &t, &err));
    assert_int_equal(err.code, TD_TOO_LARGE);
    struct strv tags = STRV_INIT;
    strv_push(&tags, "ok");
    strv_push(&tags, "not ok");
    struct ticket_new badtag = { .subject = "Tags", .body = "x", .tags = &tags };
    assert_false(ticket_open(&f->core, &f->agent1, &badtag, &t, &err));
    strv_clear(&tags);
    assert_int_equal(count_tickets(f), 0);
}

static void customers_see_only_their_own(void **state)
{
    struct fx *f = *state;
    int64_t mine = open_ticket(f, &f->cust1, "Mine");
    int64_t theirs = open_ticket(f, &f->cust2, "Theirs");
    struct td_ticket t;
    struct td_err err;
    assert_false(ticket_get(&f->core, &f->cust1, theirs, &t, &err));
    assert_int_equal(err.code, TD_NOT_FOUND); /* not forbidden: no leak */
    assert_true(ticket_get(&f->core, &f->cust1, mine, &t, &err));
    ticket_clear(&t);
    struct comment_new c = { .body = "sneaky" };
    assert_false(comment_add(&f->core, &f->cust1, theirs, &c, NULL, &err));
    assert_int_equal(err.code, TD_NOT_FOUND);
    struct td_ticket_filter flt = { .requester_id = f->cust2.id };
    struct td_ticket_list l = { NULL, 0 };
    assert_true(ticket_list(&f->core, &f->cust1, &flt, &l, &err));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].number, mine);
    ticket_list_clear(&l);
    struct ticket_new other = { .subject = "For someone else", .body = "x", .requester_id = f->cust2.id };
    assert_false(ticket_open(&f->core, &f->cust1, &other, &t, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    /* An agent may open a ticket on behalf of a customer. */
    assert_true(ticket_open(&f->core, &f->agent1, &other, &t, &err));
    assert_string_equal(t.requester_id, f->cust2.id);
    ticket_clear(&t);
}

static void role_rules_on_changes(void **state)
{
    struct fx *f = *state;
    int64_t n = open_ticket(f, &f->cust1, "Rules");
    struct td_ticket t;
    struct td_err err;
    struct ticket_patch pri = { .has_priority = true, .priority = PRIORITY_URGENT };
    assert_false(ticket_update(&f->core, &f->cust1, n, &pri, 0, &t, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    struct ticket_patch pend = { .has_status = true, .status = STATUS_PENDING };
    assert_false(ticket_update(&f->core, &f->cust1, n, &pend, 0, &t, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    assert_false(ticket_claim(&f->core, &f->cust1, n, &t, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    struct comment_new note = { .body = "internal", .internal = true };
    assert_false(comment_add(&f->core, &f->cust1, n, &note, NULL, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    assert_true(ticket_update(&f->core, &f->agent1, n, &pri, 0, &t, &err));
    assert_int_equal(t.priority, PRIORITY_URGENT);
    ticket_clear(&t);
    struct ticket_patch close = { .has_status = true, .status = STATUS_CLOSED };
    assert_true(ticket_update(&f->core, &f->cust1, n, &close, 0, &t, &err));
    assert_int_equal(t.status, STATUS_CLOSED);
    ticket_clear(&t);
    /* closed -> pending is not a transition, even for an agent. */
    assert_false(ticket_update(&f->core, &f->agent1, n, &pend, 0, &t, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "'closed' to 'pending'"));
    /* disabled users can do nothing */
    struct td_user off;
    memset(&off, 0, sizeof off); /* user_copy clears its destination first */
    user_copy(&off, &f->agent2);
    off.disabled = true;
    assert_false(ticket_get(&f->core, &off, n, &t, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    user_clear(&off);
}

static void claim_assign_and_history(void **state)
{
    struct fx *f = *state;
    int64_t n = open_ticket(f, &f->cust1, "Claim me");
    struct td_ticket t;
    struct td_err err;
    assert_true(ticket_claim(&f->core, &f->agent1, n, &t, &err));
    assert_string_equal(t.assignee_id, f->agent1.id);
    assert_int_equal(t.status, STATUS_OPEN);
    ticket_clear(&t);
    assert_false(ticket_claim(&f->core, &f->agent2, n, &t, &err));
    assert_int_equal(err.code, TD_CONFLICT);
    assert_true(ticket_claim(&f->core, &f->admin, n, &t, &err)); /* admins may take over */
    assert_string_equal(t.assignee_id, f->admin.id);
    ticket_clear(&t);
    assert_false(ticket_assign(&f->core, &f->agent1, n, f->cust2.id, &t, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_true(ticket_assign(&f->core, &f->agent1, n, f->agent2.id, &t, &err));
    assert_string_equal(t.assignee_id, f->agent2.id);
    ticket_clear(&t);
    assert_true(ticket_assign(&f->core, &f->agent1, n, "", &t, &err));
    assert_string_equal(t.assignee_id, "");
    ticket_clear(&t);
    struct td_event_list h = { NULL, 0 };
    assert_true(ticket_history(&f->core, &f->agent1, n, &h, &err));
    /* created, comment, claim, status, claim, assignee, assignee */
    assert_int_equal(h.n, 7);
    enum td_event_kind want[] = { EVENT_CREATED, EVENT_COMMENT, EVENT_CLAIM, EVENT_STATUS,
                                  EVENT_CLAIM, EVENT_ASSIGNEE, EVENT_ASSIGNEE };
    for (size_t i = 0; i < h.n; i++)
        assert_int_equal(h.v[i].kind, want[i]);
    assert_string_equal(h.v[2].actor_id, f->agent1.id);
    assert_null(h.v[2].old_value);
    assert_string_equal(h.v[4].old_value, f->agent1.id);
    assert_string_equal(h.v[4].new_value, f->admin.id);
    assert_string_equal(h.v[3].old_value, "new");
    assert_string_equal(h.v[3].new_value, "open");
    assert_null(h.v[6].new_value);
    event_list_clear(&h);
}

static void stale_update_changes_nothing(void **state)
{
    struct fx *f = *state;
    int64_t n = open_ticket(f, &f->cust1, "ETag");
    struct td_ticket t;
    struct td_err err;
    assert_true(ticket_get(&f->core, &f->agent1, n, &t, &err));
    int64_t v = t.version;
    ticket_clear(&t);
    struct ticket_patch p1 = { .subject = "First" };
    assert_true(ticket_update(&f->core, &f->agent1, n, &p1, v, &t, &err));
    assert_int_equal(t.version, v + 1);
    ticket_clear(&t);
    struct ticket_patch p2 = { .subject = "Second" };
    assert_false(ticket_update(&f->core, &f->agent2, n, &p2, v, &t, &err));
    assert_int_equal(err.code, TD_STALE);
    assert_true(ticket_get(&f->core, &f->agent1, n, &t, &err));
    assert_string_equal(t.subject, "First");
    ticket_clear(&t);
}

struct race {
    struct fx *f;
    const struct td_user *agent;
    int64_t number;
    pthread_barrier_t *go;
    bool won;
    enum td_code code;
};

static void *claim_thread(void *arg)
{
    struct race *r = arg;
    struct td_err err;
    td_err_clear(&err);
    pthread_barrier_wait(r->go);
    r->won = ticket_claim(&r->f->core, r->agent, r->number, NULL, &err);
    r->code = err.code;
    return NULL;
}

static void concurrent_claims_one_wins(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 10; round++) {
        int64_t n = open_ticket(f, &f->cust1, "Race");
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        struct race a = { f, &f->agent1, n, &go, false, TD_OK };
        struct race b = { f, &f->agent2, n, &go, false, TD_OK };
        pthread_t ta, tb;
        pthread_create(&ta, NULL, claim_thread, &a);
        pthread_create(&tb, NULL, claim_thread, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        assert_true(a.won != b.won);
        assert_int_equal(a.won ? b.code : a.code, TD_CONFLICT);
        struct td_ticket t;
        struct td_err err;
        assert_true(ticket_get(&f->core, NULL, n, &t, &err));
        assert_string_equal(t.assignee_id, a.won ? f->agent1.id : f->agent2.id);
        ticket_clear(&t);
    }
}

static void notes_hidden_and_replies_reopen(void **state)
{
    struct fx *f = *state;
    int64_t n = open_ticket(f, &f->cust1, "Notes");
    struct td_err err;
    struct comment_new note = { .body = "customer is grumpy", .internal = true };
    assert_true(comment_add(&f->core, &f->agent1, n, &note, NULL, &err));
    struct comment_new reply = { .body = "We are on it." };
    assert_true(comment_add(&f->core, &f->agent1, n, &reply, NULL, &err));
    struct td_comment_list cl = { NULL, 0 };
    assert_true(comment_list(&f->core, &f->cust1, n, &cl, &err));
    assert_int_equal(cl.n, 2);
    for (size_t i = 0; i < cl.n; i++)
        assert_false(cl.v[i].internal);
    comment_list_clear(&cl);
    assert_true(comment_list(&f->core, &f->agent2, n, &cl, &err));
    assert_int_equal(cl.n, 3);
    comment_list_clear(&cl);
    struct td_event_list h = { NULL, 0 };
    assert_true(ticket_history(&f->core, &f->cust1, n, &h, &err));
    for (size_t i = 0; i < h.n; i++)
        assert_false(h.v[i].kind == EVENT_COMMENT && strcmp(h.v[i].old_value, "internal") == 0);
    event_list_clear(&h);
    struct td_ticket t;
    assert_true(ticket_get(&f->core, NULL, n, &t, &err));
    assert_int_equal(t.status, STATUS_OPEN); /* the first staff reply opened it */
    ticket_clear(&t);
    struct ticket_patch pend = { .has_status = true, .status = STATUS_PENDING };
    assert_true(ticket_update(&f->core, &f->agent1, n, &pend, 0, NULL, &err));
    struct comment_new back = { .body = "Still burning" };
    assert_true(comment_add(&f->core, &f->cust1, n, &back, NULL, &err));
    assert_true(ticket_get(&f->core, NULL, n, &t, &err));
    assert_int_equal(t.status, STATUS_OPEN);
    ticket_clear(&t);
}

static void attachments_limit_or_drop(void **state)
{
    struct fx *f = *state;
    f->core.max_attachment = 8;
    unsigned char small[4] = { 0, 1, 2, 3 }, big[9] = { 0 };
    struct attachment_in atts[2] = { { "small.bin", "application/octet-stream", small, 4, false },
                                     { "big.bin", "application/octet-stream", big, 9, false } };
    struct ticket_new in = { .subject = "Files", .body = "see attached", .attachments = atts,
                             .n_attachments = 2 };
    struct td_ticket t;
    struct td_err err;
    assert_false(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    assert_int_equal(err.code, TD_TOO_LARGE);
    assert_int_equal(count_tickets(f), 0);
    in.drop_oversize_attachments = true;
    in.source = SOURCE_EMAIL;
    in.message_id = "<files@example.org>";
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    struct td_comment_list cl = { NULL, 0 };
    assert_true(comment_list(&f->core, &f->cust1, t.number, &cl, &err));
    assert_int_equal(cl.n, 1);
    assert_int_equal(cl.v[0].n_attachments, 1);
    assert_string_equal(cl.v[0].attachments[0].name, "small.bin");
    assert_non_null(strstr(cl.v[0].body, "'big.bin' (9 bytes) was dropped"));
    struct td_attachment a;
    assert_true(f->st->ops->attachment_get(f->st, cl.v[0].attachments[0].id, &a, &err));
    assert_int_equal(a.size, 4);
    assert_memory_equal(a.data, small, 4);
    attachment_clear(&a);
    int64_t found = 0;
    assert_true(f->st->ops->ticket_find_by_msgid(f->st, "<files@example.org>", &found, &err));
    assert_int_equal(found, t.number);
    comment_list_clear(&cl);
    ticket_clear(&t);
}

static void users_rules(void **state)
{
    struct fx *f = *state;
    struct td_err err;
    struct td_user u;
    struct user_new dup = { "ADMIN@Example.com", NULL, ROLE_AGENT, NULL };
    assert_false(user_create(&f->core, NULL, &dup, &u, &err));
    assert_int_equal(err.code, TD_CONFLICT);
    struct user_new agent = { "new.agent@example.com", "New Agent", ROLE_AGENT, NULL };
    assert_false(user_create(&f->core, &f->agent1, &agent, &u, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    assert_true(user_create(&f->core, &f->admin, &agent, &u, &err));
    assert_null(u.pw_hash);
    user_clear(&u);
    assert_true(user_authenticate(&f->core, "Cust1@Example.org", "a long enough password", &u, &err));
    assert_string_equal(u.id, f->cust1.id);
    user_clear(&u);
    assert_false(user_authenticate(&f->core, "cust1@example.org", "wrong password!", &u, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    assert_false(user_authenticate(&f->core, "nobody@example.org", "a long enough password", &u, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    assert_false(user_authenticate(&f->core, "new.agent@example.com", "", &u, &err));
    /* role change and disable bump the token version */
    assert_true(user_set_role(&f->core, &f->admin, f->agent1.id, ROLE_ADMIN, &err));
    assert_true(user_get(&f->core, f->agent1.id, &u, &err));
    assert_int_equal(u.role, ROLE_ADMIN);
    assert_true(u.token_version > f->agent1.token_version);
    user_clear(&u);
    assert_false(user_set_role(&f->core, &f->admin, f->admin.id, ROLE_AGENT, &err));
    assert_int_equal(err.code, TD_FORBIDDEN);
    assert_true(user_set_disabled(&f->core, &f->admin, f->cust2.id, true, &err));
    assert_false(user_authenticate(&f->core, "cust2@example.org", "a long enough password", &u, &err));
    /* the mail gateway's customers: created once, found after */
    struct td_user a, b;
    assert_true(user_ensure_customer(&f->core, "New.Sender@Example.net", "New \r\nSender", &a, &err));
    assert_true(user_ensure_customer(&f->core, "new.sender@example.net", NULL, &b, &err));
    assert_string_equal(a.id, b.id);
    assert_int_equal(a.role, ROLE_CUSTOMER);
    assert_null(a.pw_hash);
    user_clear(&a);
    user_clear(&b);
    assert_false(user_ensure_customer(&f->core, "not an address", NULL, &a, &err));
    assert_int_equal(err.code, TD_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(customer_opens_ticket_with_history, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_input_writes_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(customers_see_only_their_own, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(role_rules_on_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(claim_assign_and_history, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(stale_update_changes_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(concurrent_claims_one_wins, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(notes_hidden_and_replies_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(attachments_limit_or_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(users_rules, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

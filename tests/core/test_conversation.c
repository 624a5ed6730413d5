/* test_conversation.c - participants and merge in core (participant.h,
 * merge.h, policy.h), on every storage backend: who may read and write,
 * the history of each change, and a merge that is interrupted and
 * finished by running it again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/comment.h"
#include "core/core.h"
#include "core/merge.h"
#include "core/participant.h"
#include "core/ticket.h"
#include "core/user.h"
#include "tests/support/store_fixture.h"

/* As in conformance.h (whose store-level helpers clash with core's names). */
#define MUST(call)                                                             \
    do {                                                                       \
        td_err_clear(&err);                                                    \
        if (!(call))                                                           \
            fail_msg("%s failed: %s: %s", #call, td_code_name(err.code),       \
                     err.msg);                                                 \
    } while (0)
#define MUST_FAIL(want, call)                                                  \
    do {                                                                       \
        td_err_clear(&err);                                                    \
        if (call)                                                              \
            fail_msg("%s succeeded; expected %s", #call, td_code_name(want));  \
        if (err.code != (want))                                                \
            fail_msg("%s: got %s (%s); expected %s", #call,                    \
                     td_code_name(err.code), err.msg, td_code_name(want));     \
    } while (0)
#define OP(name, ...) st->ops->name(st, __VA_ARGS__, &err)
#define FX(state) ((struct store_fixture *)*(state))
#define T(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup, store_fixture_teardown)

struct cx {
    struct td_core core;
    struct td_user agent, req, colleague, stranger;
};

static void cx_user(struct cx *x, const char *email, enum td_role role, struct td_user *out)
{
    struct user_new in = { email, NULL, role, "a long enough password" };
    struct td_err err;
    MUST(user_create(&x->core, NULL, &in, out, &err));
}

static void cx_init(void **state, struct cx *x)
{
    memset(x, 0, sizeof *x);
    core_defaults(&x->core, FX(state)->st);
    x->core.pw_cost = PASSWORD_COST_MIN;
    cx_user(x, "agent@support.test", ROLE_AGENT, &x->agent);
    cx_user(x, "req@acme.test", ROLE_CUSTOMER, &x->req);
    cx_user(x, "colleague@acme.test", ROLE_CUSTOMER, &x->colleague);
    cx_user(x, "stranger@else.test", ROLE_CUSTOMER, &x->stranger);
}

static void cx_clear(struct cx *x)
{
    user_clear(&x->agent);
    user_clear(&x->req);
    user_clear(&x->colleague);
    user_clear(&x->stranger);
}

static int64_t cx_ticket(struct cx *x, const char *subject, const struct strv *participants)
{
    struct td_err err;
    struct ticket_new in = { .subject = subject, .body = "hello", .source = SOURCE_API,
                             .participants = participants };
    struct td_ticket t;
    MUST(ticket_open(&x->core, &x->req, &in, &t, &err));
    int64_t n = t.number;
    ticket_clear(&t);
    return n;
}

static size_t count_kind(const struct td_event_list *h, enum td_event_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->v[i].kind == k;
    return n;
}

static void test_participant_reads_and_writes(void **state)
{
    struct cx x;
    cx_init(state, &x);
    struct td_err err;
    int64_t n = cx_ticket(&x, "printer on fire", NULL);
    struct td_ticket t;
    /* Before: the colleague may not even know the ticket exists. */
    MUST_FAIL(TD_NOT_FOUND, ticket_get(&x.core, &x.colleague, n, &t, &err));

    struct strv ids = STRV_INIT;
    strv_push(&ids, x.colleague.id);
    strv_push(&ids, x.req.id); /* the requester is no participant of their own ticket */
    MUST(participant_add(&x.core, &x.req, n, &ids, &t, &err));
    assert_int_equal(t.participants.n, 1);
    assert_string_equal(t.participants.v[0], x.colleague.id);
    ticket_clear(&t);
    /* Again: nothing new, no event. */
    MUST(participant_add(&x.core, &x.agent, n, &ids, NULL, &err));
    strv_clear(&ids);

    MUST(ticket_get(&x.core, &x.colleague, n, &t, &err));
    ticket_clear(&t);
    struct comment_new pub = { .body = "me too", .source = SOURCE_API };
    MUST(comment_add(&x.core, &x.colleague, n, &pub, NULL, &err));
    struct comment_new note = { .body = "secret", .internal = true, .source = SOURCE_API };
    MUST(comment_add(&x.core, &x.agent, n, &note, NULL, &err));
    struct td_comment_list cl = { 0 };
    MUST(comment_list(&x.core, &x.colleague, n, &cl, &err));
    assert_int_equal(cl.n, 2); /* the description and the reply, not the note */
    comment_list_clear(&cl);
    /* A participant may not add others; the stranger still sees nothing. */
    struct strv s2 = STRV_INIT;
    strv_push(&s2, x.stranger.id);
    MUST_FAIL(TD_FORBIDDEN, participant_add(&x.core, &x.colleague, n, &s2, NULL, &err));
    MUST_FAIL(TD_NOT_FOUND, participant_add(&x.core, &x.stranger, n, &s2, NULL, &err));
    strv_clear(&s2);

    struct td_user_list ul = { 0 };
    MUST(participant_list(&x.core, &x.colleague, n, &ul, &err));
    assert_int_equal(ul.n, 1);
    assert_string_equal(ul.v[0].email, "colleague@acme.test");
    user_list_clear(&ul);

    /* By address: an unknown one becomes a customer. */
    struct strv em = STRV_INIT;
    strv_push(&em, "New.Person@Acme.test");
    MUST(participant_add_emails(&x.core, &x.agent, n, &em, &t, &err));
    assert_int_equal(t.participants.n, 2);
    ticket_clear(&t);
    strv_clear(&em);

    /* The colleague leaves; history has every change. */
    MUST(participant_remove(&x.core, &x.colleague, n, x.colleague.id, NULL, &err));
    MUST_FAIL(TD_NOT_FOUND, ticket_get(&x.core, &x.colleague, n, &t, &err));
    MUST_FAIL(TD_NOT_FOUND, participant_remove(&x.core, &x.agent, n, x.colleague.id, NULL, &err));
    struct td_event_list h = { 0 };
    MUST(ticket_history(&x.core, &x.agent, n, &h, &err));
    assert_int_equal(count_kind(&h, EVENT_PARTICIPANT_ADDED), 2);
    assert_int_equal(count_kind(&h, EVENT_PARTICIPANT_REMOVED), 1);
    event_list_clear(&h);
    cx_clear(&x);
}

static void test_participants_at_open(void **state)
{
    struct cx x;
    cx_init(state, &x);
    struct td_err err;
    struct strv ids = STRV_INIT;
    strv_push(&ids, x.colleague.id);
    strv_push(&ids, x.colleague.id);
    strv_push(&ids, x.req.id);
    int64_t n = cx_ticket(&x, "from mail with Cc", &ids);
    strv_clear(&ids);
    struct td_ticket t;
    MUST(ticket_get(&x.core, &x.colleague, n, &t, &err));
    assert_int_equal(t.participants.n, 1);
    ticket_clear(&t);
    cx_clear(&x);
}

static void test_merge(void **state)
{
    struct cx x;
    cx_init(state, &x);
    struct td_err err;
    int64_t target = cx_ticket(&x, "the original", NULL);
    /* The duplicate was opened by the colleague. */
    struct ticket_new in = { .subject = "the duplicate", .body = "dup body", .source = SOURCE_API };
    struct td_ticket t;
    MUST(ticket_open(&x.core, &x.colleague, &in, &t, &err));
    int64_t source = t.number;
    ticket_clear(&t);

    MUST_FAIL(TD_FORBIDDEN, ticket_merge(&x.core, &x.req, source, target, NULL, &err));
    MUST_FAIL(TD_INVALID, ticket_merge(&x.core, &x.agent, source, source, NULL, &err));

    /* Run twice (a retried API call): the second run changes nothing. */
    MUST(ticket_merge(&x.core, &x.agent, source, target, &t, &err));
    assert_int_equal(t.participants.n, 1);
    assert_string_equal(t.participants.v[0], x.colleague.id);
    ticket_clear(&t);
    MUST(ticket_merge(&x.core, &x.agent, source, target, NULL, &err));

    MUST(ticket_get(&x.core, &x.agent, source, &t, &err));
    assert_int_equal(t.merged_into, target);
    assert_int_equal(t.status, STATUS_CLOSED);
    ticket_clear(&t);
    struct td_comment_list cl = { 0 };
    MUST(comment_list(&x.core, &x.agent, target, &cl, &err));
    assert_int_equal(cl.n, 2);
    comment_list_clear(&cl);
    MUST(comment_list(&x.core, &x.agent, source, &cl, &err));
    assert_int_equal(cl.n, 0);
    comment_list_clear(&cl);

    struct td_event_list h = { 0 };
    MUST(ticket_history(&x.core, &x.agent, target, &h, &err));
    assert_int_equal(count_kind(&h, EVENT_MERGED_FROM), 1);
    event_list_clear(&h);
    MUST(ticket_history(&x.core, &x.agent, source, &h, &err));
    assert_int_equal(count_kind(&h, EVENT_MERGED_INTO), 1);
    event_list_clear(&h);

    /* The old ticket takes no comment; its thread leads to the target. */
    struct comment_new pub = { .body = "late", .source = SOURCE_API };
    MUST_FAIL(TD_CONFLICT, comment_add(&x.core, &x.colleague, source, &pub, NULL, &err));
    int64_t end = 0;
    MUST(ticket_follow_merges(&x.core, source, &end, &err));
    assert_int_equal(end, target);
    MUST(ticket_follow_merges(&x.core, target, &end, &err));
    assert_int_equal(end, target);
    /* Merged elsewhere, or into a merged ticket: refused. */
    int64_t third = cx_ticket(&x, "third", NULL);
    MUST_FAIL(TD_CONFLICT, ticket_merge(&x.core, &x.agent, source, third, NULL, &err));
    MUST_FAIL(TD_CONFLICT, ticket_merge(&x.core, &x.agent, third, source, NULL, &err));
    cx_clear(&x);
}

static void test_merge_resumes(void **state)
{
    struct cx x;
    cx_init(state, &x);
    struct td_err err;
    int64_t target = cx_ticket(&x, "target", NULL);
    int64_t source = cx_ticket(&x, "source", NULL);
    struct store *st = FX(state)->st;
    /* A merge that stopped after step 1: the source is marked, its
     * comments still there, the target knows nothing yet. */
    struct td_ticket s;
    MUST(OP(ticket_get, source, &s));
    s.merged_into = target;
    s.status = STATUS_CLOSED;
    MUST(OP(ticket_update, &s, s.version, NULL, 0));
    ticket_clear(&s);
    MUST(ticket_merge(&x.core, &x.agent, source, target, NULL, &err));
    struct td_comment_list cl = { 0 };
    MUST(comment_list(&x.core, &x.agent, target, &cl, &err));
    assert_int_equal(cl.n, 2);
    comment_list_clear(&cl);
    struct td_event_list h = { 0 };
    MUST(ticket_history(&x.core, &x.agent, target, &h, &err));
    assert_int_equal(count_kind(&h, EVENT_MERGED_FROM), 1);
    event_list_clear(&h);
    cx_clear(&x);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_participant_reads_and_writes),
        T(test_participants_at_open),
        T(test_merge),
        T(test_merge_resumes),
    };
    return store_fixture_run_all("conversation", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

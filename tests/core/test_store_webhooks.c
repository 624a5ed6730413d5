/* test_store_webhooks.c - the store contract (conformance.h) for webhook
 * endpoints and deliveries, on every backend. */
#include "tests/core/conformance.h"

static void hook_make(struct td_webhook *w, const char *url, td_time created)
{
    memset(w, 0, sizeof *w);
    new_id(w->id);
    w->url = td_strdup(url);
    strv_push(&w->events, "ticket.created");
    strv_push(&w->events, "comment.created");
    w->secret = td_strdup("a secret of some length");
    w->enabled = true;
    w->created = w->updated = created;
}

static void test_webhook_endpoints(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_webhook a, b, got;
    hook_make(&a, "https://example.com/a", 1000);
    hook_make(&b, "http://example.org/b", 2000);
    strv_clear(&b.events); /* all events */
    MUST(OP(webhook_insert, &a));
    MUST(OP(webhook_insert, &b));
    MUST_FAIL(TD_CONFLICT, OP(webhook_insert, &a));
    MUST(OP(webhook_get, a.id, &got));
    assert_string_equal(got.url, a.url);
    assert_int_equal(got.events.n, 2);
    assert_string_equal(got.events.v[1], "comment.created");
    assert_string_equal(got.secret, a.secret);
    assert_true(got.enabled);
    assert_null(got.disabled_reason);
    assert_int_equal(got.created, 1000);
    webhook_clear(&got);

    struct td_webhook_list l = { NULL, 0 };
    MUST(OP(webhook_list, &l));
    assert_int_equal(l.n, 2); /* oldest first */
    assert_string_equal(l.v[0].id, a.id);
    assert_int_equal(l.v[1].events.n, 0);
    webhook_list_clear(&l);

    /* Failures count up atomically and reset on a success. */
    int64_t f = -1;
    MUST(OP(webhook_result, a.id, false, &f));
    assert_int_equal(f, 1);
    MUST(OP(webhook_result, a.id, false, &f));
    assert_int_equal(f, 2);
    MUST(OP(webhook_result, a.id, true, &f));
    assert_int_equal(f, 0);
    MUST(OP(webhook_result, a.id, false, &f));
    assert_int_equal(f, 1);

    /* Disabling tells exactly one caller it changed something. */
    bool changed = false;
    MUST(OP(webhook_disable, a.id, "410 Gone", 5000, &changed));
    assert_true(changed);
    MUST(OP(webhook_disable, a.id, "again", 6000, &changed));
    assert_false(changed);
    MUST(OP(webhook_get, a.id, &got));
    assert_false(got.enabled);
    assert_string_equal(got.disabled_reason, "410 Gone");
    assert_int_equal(got.updated, 5000);

    /* Update writes the mutable fields back. */
    free(got.url);
    got.url = td_strdup("https://example.com/new");
    got.enabled = true;
    got.failures = 0;
    free(got.disabled_reason);
    got.disabled_reason = NULL;
    strv_clear(&got.events);
    strv_push(&got.events, "ticket.status_changed");
    got.updated = 7000;
    MUST(OP(webhook_update, &got));
    struct td_webhook again;
    MUST(OP(webhook_get, a.id, &again));
    assert_string_equal(again.url, "https://example.com/new");
    assert_true(again.enabled);
    assert_null(again.disabled_reason);
    assert_int_equal(again.events.n, 1);
    assert_int_equal(again.failures, 0);
    webhook_clear(&again);
    webhook_clear(&got);

    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_get, missing, &got));
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_result, missing, true, &f));
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_disable, missing, "x", 1, &changed));
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_delete, missing));
    struct td_webhook ghost;
    hook_make(&ghost, "https://x.example/", 1);
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_update, &ghost));
    webhook_clear(&ghost);

    MUST(OP(webhook_delete, b.id));
    MUST_FAIL(TD_NOT_FOUND, OP(webhook_get, b.id, &got));
    webhook_clear(&a);
    webhook_clear(&b);
}

static void dl_make(struct td_delivery *d, const char *endpoint, int64_t ticket, int64_t seq,
                    td_time at)
{
    memset(d, 0, sizeof *d);
    new_id(d->id);
    memcpy(d->endpoint_id, endpoint, TD_ID_LEN + 1);
    d->ticket = ticket;
    d->seq = seq;
    d->type = (char *)"ticket.created";
    d->payload = (char *)"{\"x\":1}";
    d->state = DELIVERY_PENDING;
    d->next_attempt = at;
    d->created = at;
}

static void claim_expect(struct store *st, td_time now, const char *want_id)
{
    struct td_err err;
    struct td_delivery d;
    if (want_id == NULL) {
        MUST_FAIL(TD_NOT_FOUND, OP(delivery_claim, "w", now, 1000, &d));
        return;
    }
    MUST(OP(delivery_claim, "w", now, 1000, &d));
    assert_string_equal(d.id, want_id);
    assert_int_equal(d.state, DELIVERY_SENDING);
    assert_string_equal(d.owner, "w");
    assert_int_equal(d.lease_until, now + 1000);
    delivery_clear(&d);
}

static void test_delivery_order_and_claims(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char ep[TD_ID_LEN + 1], ep2[TD_ID_LEN + 1];
    new_id(ep);
    new_id(ep2);
    struct td_delivery t1s1, t1s2, t2s1, other, test1;
    dl_make(&t1s1, ep, 1, 1, 100);
    dl_make(&t1s2, ep, 1, 2, 100);
    dl_make(&t2s1, ep, 2, 1, 150);
    dl_make(&other, ep2, 1, 3, 120); /* another endpoint: not held back */
    dl_make(&test1, ep, 0, 0, 200);  /* no ticket: never held back */
    MUST(OP(delivery_insert, &t1s2)); /* inserted out of order on purpose */
    MUST(OP(delivery_insert, &t1s1));
    MUST(OP(delivery_insert, &t2s1));
    MUST(OP(delivery_insert, &other));
    MUST(OP(delivery_insert, &test1));
    MUST_FAIL(TD_CONFLICT, OP(delivery_insert, &t1s1));

    /* Nothing is due before its time. */
    claim_expect(st, 50, NULL);
    /* t1s1 first (t1s2 waits for it although due as early). */
    claim_expect(st, 300, t1s1.id);
    /* t1s1 is sending: t1s2 still waits; next is ep2's row. */
    claim_expect(st, 300, other.id);
    claim_expect(st, 300, t2s1.id);
    claim_expect(st, 300, test1.id);
    claim_expect(st, 300, NULL);

    /* Only the owner finishes; t1s1 goes back to pending for a retry at
     * 1000, which still holds t1s2 back. */
    MUST_FAIL(TD_CONFLICT, OP(delivery_finish, t1s1.id, "x", DELIVERY_DELIVERED, 200, NULL, 0, 400));
    MUST(OP(delivery_finish, t1s1.id, "w", DELIVERY_PENDING, 503, "busy", 1000, 400));
    claim_expect(st, 500, NULL);
    claim_expect(st, 1000, t1s1.id);
    MUST(OP(delivery_finish, t1s1.id, "w", DELIVERY_DELIVERED, 200, NULL, 0, 1001));
    claim_expect(st, 1002, t1s2.id);

    /* A sending row whose lease ran out is claimed again. */
    claim_expect(st, 1002 + 1001, t1s2.id);
    char missing[TD_ID_LEN + 1];
    new_id(missing);
    MUST_FAIL(TD_NOT_FOUND, OP(delivery_finish, missing, "w", DELIVERY_FAILED, 0, NULL, 0, 1));

    /* The log: newest first, with the outcome. */
    struct td_delivery_list l = { NULL, 0 };
    MUST(OP(delivery_list, ep, 0, &l));
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].id, test1.id);
    assert_string_equal(l.v[1].id, t2s1.id);
    assert_string_equal(l.v[3].id, t1s1.id);
    assert_int_equal(l.v[3].state, DELIVERY_DELIVERED);
    assert_int_equal(l.v[3].attempts, 2);
    assert_int_equal(l.v[3].last_status, 200);
    assert_int_equal(l.v[3].finished, 1001);
    assert_string_equal(l.v[3].payload, "{\"x\":1}");
    assert_null(l.v[3].owner);
    delivery_list_clear(&l);
    MUST(OP(delivery_list, ep, 1, &l));
    assert_int_equal(l.n, 1);
    delivery_list_clear(&l);

    /* Deleting an endpoint deletes its deliveries. */
    struct td_webhook w;
    hook_make(&w, "https://example.com/", 1);
    memcpy(w.id, ep, sizeof w.id);
    MUST(OP(webhook_insert, &w));
    MUST(OP(webhook_delete, ep));
    MUST(OP(delivery_list, ep, 0, &l));
    assert_int_equal(l.n, 0);
    delivery_list_clear(&l);
    webhook_clear(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_webhook_endpoints),
        T(test_delivery_order_and_claims),
    };
    return store_fixture_run_all("store_webhooks", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

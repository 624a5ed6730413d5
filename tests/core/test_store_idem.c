/* test_store_idem.c - the store contract (conformance.h) for
 * Idempotency-Key records (struct td_idem), on every backend. */
#include "tests/core/conformance.h"

static void idem_make(struct td_idem *r, char c, td_time created, td_time expires)
{
    memset(r, 0, sizeof *r);
    memset(r->key, c, TD_TOKEN_HASH_LEN);
    snprintf(r->key + TD_TOKEN_HASH_LEN - 8, 9, "%08x", (unsigned)getpid());
    memset(r->fingerprint, 'f', TD_TOKEN_HASH_LEN);
    r->created = created;
    r->expires = expires;
}

static void test_idem(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    struct td_idem a, b, got;
    idem_make(&a, 'a', 1000, 5000);
    idem_make(&b, 'b', 1000, 9000);
    MUST(OP(idem_insert, &a));
    MUST(OP(idem_insert, &b));
    MUST_FAIL(TD_CONFLICT, OP(idem_insert, &a)); /* one first request per key */

    MUST(OP(idem_get, a.key, &got));
    assert_string_equal(got.key, a.key);
    assert_string_equal(got.fingerprint, a.fingerprint);
    assert_int_equal(got.status, 0); /* still running */
    assert_null(got.body);
    assert_int_equal(got.expires, 5000);
    idem_clear(&got);

    a.status = 201;
    a.content_type = (char *)"application/json";
    a.body = (char *)"{\"number\":7}";
    a.location = (char *)"/api/v1/tickets/7";
    a.etag = (char *)"\"1\"";
    MUST(OP(idem_finish, &a));
    MUST(OP(idem_get, a.key, &got));
    assert_int_equal(got.status, 201);
    assert_string_equal(got.content_type, "application/json");
    assert_string_equal(got.body, "{\"number\":7}");
    assert_string_equal(got.location, "/api/v1/tickets/7");
    assert_string_equal(got.etag, "\"1\"");
    idem_clear(&got);

    struct td_idem missing;
    idem_make(&missing, 'c', 1, 2);
    MUST_FAIL(TD_NOT_FOUND, OP(idem_get, missing.key, &got));
    missing.status = 200;
    MUST_FAIL(TD_NOT_FOUND, OP(idem_finish, &missing));
    MUST(OP(idem_delete, missing.key)); /* unknown: no error */

    /* Purge: only what expired before the time. */
    int64_t n = -1;
    MUST(OP(idem_purge, 6000, &n));
    assert_int_equal(n, 1);
    MUST_FAIL(TD_NOT_FOUND, OP(idem_get, a.key, &got));
    MUST(OP(idem_get, b.key, &got));
    idem_clear(&got);
    MUST(OP(idem_delete, b.key));
    MUST_FAIL(TD_NOT_FOUND, OP(idem_get, b.key, &got));
    /* A deleted key can be used again. */
    MUST(OP(idem_insert, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_idem),
    };
    return store_fixture_run_all("store_idem", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

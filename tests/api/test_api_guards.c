/* test_api_guards.c - the pure parts of the API's abuse defences:
 * ratelimit.c's growing delays (login_throttle.c's building block) and
 * hashgate.c's slots. The HTTP-level behaviour is in test_api_account.c
 * and test_api_hardening.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/api_int.h"
#include "api/auth.h"

static void test_backoff_grows(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new_backoff(2, 60000);
    int64_t t = 1000000, retry = 0;
    /* Two free failures. */
    for (int i = 0; i < 2; i++) {
        assert_true(ratelimit_allowed(rl, "acct:a", t, &retry));
        ratelimit_failure(rl, "acct:a", t);
    }
    /* Then 1 s, 2 s, 4 s... after the last failure. */
    int64_t want[] = { 1, 2, 4, 8, 16, 32, 60, 60 };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_false(ratelimit_allowed(rl, "acct:a", t, &retry));
        assert_int_equal(retry, want[i]);
        t += want[i] * 1000;
        assert_true(ratelimit_allowed(rl, "acct:a", t, &retry));
        ratelimit_failure(rl, "acct:a", t);
    }
    assert_int_equal(ratelimit_count(rl, "acct:a", t), 10);
    /* Never a lock: a whole window without failures (after the delay)
     * forgets them. */
    assert_int_equal(ratelimit_count(rl, "acct:a", t + 60000 + 59999), 10);
    assert_true(ratelimit_allowed(rl, "acct:a", t + 120000, &retry));
    assert_int_equal(ratelimit_count(rl, "acct:a", t + 120000), 0);
    assert_int_equal(ratelimit_count(rl, "acct:other", t), 0);
    ratelimit_free(rl);
}

static void test_hashgate(void **state)
{
    (void)state;
    struct api api;
    memset(&api, 0, sizeof api);
    atomic_store(&api.hash_slots, 2);
    assert_true(hashgate_enter(&api));
    assert_true(hashgate_enter(&api));
    assert_false(hashgate_enter(&api)); /* no waiting: the caller answers 503 */
    hashgate_leave(&api);
    assert_true(hashgate_enter(&api));
    hashgate_leave(&api);
    hashgate_leave(&api);
    assert_int_equal(atomic_load(&api.hash_slots), 2);
    struct api_resp out;
    memset(&out, 0, sizeof out);
    hashgate_busy(&out);
    assert_int_equal(out.status, 503);
    assert_int_equal(out.n_headers, 1);
    assert_string_equal(out.headers[0].name, "Retry-After");
    resp_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_grows),
        cmocka_unit_test(test_hashgate),
    };
    return cmocka_run_group_tests_name("api_guards", tests, NULL, NULL);
}

/* test_id.c - object ids (core/id.c): random ones, and the sorted ones
 * high-rate rows use so their unique indexes grow at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/id.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static void random_ids_are_valid_and_distinct(void **state)
{
    (void)state;
    char a[TD_ID_LEN + 1], b[TD_ID_LEN + 1];
    id_new(a);
    id_new(b);
    assert_true(id_valid(a));
    assert_true(id_valid(b));
    assert_string_not_equal(a, b);
}

/* Later ids compare greater, as strings (the order of every index on
 * them), and carry the creation time in their first 12 hex chars. */
static void sorted_ids_follow_the_clock(void **state)
{
    (void)state;
    char prev[TD_ID_LEN + 1], next[TD_ID_LEN + 1];
    td_time before = td_now();
    id_new_sorted(prev);
    assert_true(id_valid(prev));
    char stamp[13];
    memcpy(stamp, prev, 12);
    stamp[12] = '\0';
    td_time at = (td_time)strtoll(stamp, NULL, 16);
    assert_true(at >= before && at <= td_now());
    for (int i = 0; i < 5; i++) {
        sleep_ms(2);
        id_new_sorted(next);
        assert_true(id_valid(next));
        assert_true(strcmp(prev, next) < 0);
        memcpy(prev, next, sizeof prev);
    }
}

/* Within one millisecond the random half still tells them apart. */
static void sorted_ids_of_one_millisecond_differ(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char ids[N][TD_ID_LEN + 1];
    for (int i = 0; i < N; i++)
        id_new_sorted(ids[i]);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(ids[i], ids[j]);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ids_are_valid_and_distinct),
        cmocka_unit_test(sorted_ids_follow_the_clock),
        cmocka_unit_test(sorted_ids_of_one_millisecond_differ),
    };
    return cmocka_run_group_tests_name("id", tests, NULL, NULL);
}

/* test_password.c - argon2id hashing (core/password.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/password.h"

static void hash_and_verify(void **state)
{
    (void)state;
    char *h = NULL;
    struct td_err err;
    assert_true(password_hash("correct horse battery", PASSWORD_COST_MIN, &h, &err));
    assert_non_null(strstr(h, "$argon2id$"));
    assert_null(strstr(h, "correct horse"));
    assert_true(password_verify(h, "correct horse battery"));
    assert_false(password_verify(h, "correct horse batterY"));
    assert_false(password_verify(h, ""));
    assert_false(password_verify(NULL, "correct horse battery"));
    char *h2 = NULL;
    assert_true(password_hash("correct horse battery", PASSWORD_COST_MIN, &h2, &err));
    assert_string_not_equal(h, h2); /* salted */
    free(h);
    free(h2);
}

static void rejects_weak_or_bad(void **state)
{
    (void)state;
    char *h = NULL;
    struct td_err err;
    assert_false(password_hash("short", PASSWORD_COST_MIN, &h, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "at least"));
    assert_false(password_hash("\xff\xfe invalid utf8 here", PASSWORD_COST_MIN, &h, &err));
    assert_false(password_hash(NULL, PASSWORD_COST_MIN, &h, &err));
    char *big = malloc(2000);
    memset(big, 'a', 1999);
    big[1999] = '\0';
    assert_false(password_hash(big, PASSWORD_COST_MIN, &h, &err));
    free(big);
    assert_null(h);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(rejects_weak_or_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

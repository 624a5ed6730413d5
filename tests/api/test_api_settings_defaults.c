/* test_api_settings_defaults.c - [api] threads and hash_concurrency when
 * unset or set.
 *
 * Covers: threads defaults to API_DEFAULT_THREADS (16: comment writes
 * block on the SQLite group commit, and the pool bounds how many share a
 * commit - with 4 only 4 could); hash_concurrency defaults to half the
 * threads but at most 2 (an argon2id check holds 64 MiB, so the larger
 * pool must not multiply the peak memory of a login storm), at least 1;
 * explicit values win. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "core/config.h"
#include "core/core.h"

#define SECRET "jwt_secret = 0123456789abcdef0123456789abcdef!\n"

static void load(const char *text, struct api_settings *s)
{
    struct td_config *cfg = NULL;
    struct td_err err;
    td_err_clear(&err);
    if (!config_load_string(text, &cfg, &err))
        fail_msg("config: %s", err.msg);
    struct td_core core;
    core_defaults(&core, NULL);
    bool ok = api_settings_load(cfg, &core, s, &err);
    config_free(cfg);
    if (!ok)
        fail_msg("[api]: %s", err.msg);
}

static void defaults(void **state)
{
    (void)state;
    struct api_settings s;
    load("[api]\n" SECRET, &s);
    assert_int_equal(s.threads, 16);
    assert_int_equal(s.threads, API_DEFAULT_THREADS);
    assert_int_equal(s.hash_concurrency, 2);
    api_settings_free(&s);
}

static void hash_follows_small_pools(void **state)
{
    (void)state;
    struct api_settings s;
    load("[api]\n" SECRET "threads = 1\n", &s);
    assert_int_equal(s.threads, 1);
    assert_int_equal(s.hash_concurrency, 1);
    api_settings_free(&s);
    load("[api]\n" SECRET "threads = 64\n", &s);
    assert_int_equal(s.hash_concurrency, 2);
    api_settings_free(&s);
}

static void explicit_values_win(void **state)
{
    (void)state;
    struct api_settings s;
    load("[api]\n" SECRET "threads = 4\nhash_concurrency = 6\n", &s);
    assert_int_equal(s.threads, 4);
    assert_int_equal(s.hash_concurrency, 6);
    api_settings_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(hash_follows_small_pools),
        cmocka_unit_test(explicit_values_win),
    };
    return cmocka_run_group_tests_name("api_settings_defaults", tests, NULL, NULL);
}

/* test_store_msgid_lease.c - the store contract of issue 15's additions
 * (core/store.h), checked unchanged against every backend: the content
 * digest of a mapped Message-ID, and taking over a dead holder's mailbox
 * lease. Kept apart from test_store_conformance.c only so both can change
 * at once; the same macros and the same fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/store/store.h"
#include "tests/support/store_fixture.h"

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

static void test_msgid_digest(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    char *d = NULL;
    int64_t n = 0;
    MUST_FAIL(TD_NOT_FOUND, OP(msgid_digest_set, "<in.1@example.org>", "sha256-aa"));
    MUST(OP(msgid_put, "<in.1@example.org>", 5));
    /* Mapped before digests were kept: no digest. */
    MUST_FAIL(TD_NOT_FOUND, OP(msgid_digest_get, "<in.1@example.org>", &d));
    assert_null(d);
    MUST(OP(msgid_digest_set, "<in.1@example.org>", "sha256-aa"));
    MUST(OP(msgid_digest_get, "<in.1@example.org>", &d));
    assert_string_equal(d, "sha256-aa");
    free(d);
    d = NULL;
    /* The first mail's digest stays. */
    MUST(OP(msgid_digest_set, "<in.1@example.org>", "sha256-bb"));
    MUST(OP(msgid_digest_get, "<in.1@example.org>", &d));
    assert_string_equal(d, "sha256-aa");
    free(d);
    d = NULL;
    /* The map itself is unchanged. */
    MUST(OP(msgid_get, "<in.1@example.org>", &n));
    assert_int_equal(n, 5);
    MUST_FAIL(TD_NOT_FOUND, OP(msgid_digest_get, "<unknown@example.org>", &d));
    assert_null(d);
    MUST_FAIL(TD_INVALID, OP(msgid_digest_set, "<in.1@example.org>", ""));
}

static void expect_holder(struct store *st, const char *name, const char *owner, td_time until)
{
    struct td_err err;
    struct td_mailbox_state m = { 0 };
    MUST(st->ops->mailbox_get(st, name, &m, &err));
    assert_non_null(m.lease_owner);
    assert_string_equal(m.lease_owner, owner);
    assert_int_equal(m.lease_until, until);
    mailbox_state_clear(&m);
}

static void test_lease_takeover(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    MUST_FAIL(TD_NOT_FOUND, OP(lease_takeover, "INBOX", "h:1:b:x", "h:2:b:y", 1000, 500));
    MUST(OP(lease_acquire, "INBOX", "h:1:b:x", 1000, 60000));
    /* Unexpired, yet the dead holder's: taken at once. */
    MUST_FAIL(TD_CONFLICT, OP(lease_acquire, "INBOX", "h:2:b:y", 1100, 60000));
    MUST(OP(lease_takeover, "INBOX", "h:1:b:x", "h:2:b:y", 1100, 60000));
    expect_holder(st, "INBOX", "h:2:b:y", 61100);
    /* Only from the named holder: a second taker with a stale view loses. */
    MUST_FAIL(TD_CONFLICT, OP(lease_takeover, "INBOX", "h:1:b:x", "h:3:b:z", 1200, 60000));
    expect_holder(st, "INBOX", "h:2:b:y", 61100);
    MUST(OP(lease_acquire, "INBOX", "h:2:b:y", 1300, 60000)); /* the new holder renews */
    expect_holder(st, "INBOX", "h:2:b:y", 61300);
    /* A free lease is not taken over (lease_acquire is the way). */
    MUST(OP(lease_release, "INBOX", "h:2:b:y"));
    MUST_FAIL(TD_CONFLICT, OP(lease_takeover, "INBOX", "h:2:b:y", "h:3:b:z", 1400, 60000));
    MUST_FAIL(TD_INVALID, OP(lease_takeover, "INBOX", "", "h:3:b:z", 1400, 60000));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup, store_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_msgid_digest),
        T(test_lease_takeover),
    };
    return store_fixture_run_all("store_msgid_lease", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

/* test_reply_token.c - signed reply addresses: round trip, forgery,
 * rotation, length limits, lifetime (issue time, reply_token_days) and
 * the refusal of first-format tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/reply_token.h"

#define SECRET_A "correct horse battery staple, really"
#define SECRET_B "an entirely different secret value!!"
#define UID1 "0123456789abcdef01234567"
#define UID2 "fedcba9876543210fedcba98"

static void keys(struct reply_keys *k, const char *cur, const char *prev)
{
    struct td_err err;
    if (!reply_keys_init(k, cur, prev, &err))
        fail_msg("reply_keys_init: %s", err.msg);
}

static void round_trip(void **state)
{
    (void)state;
    struct reply_keys k;
    keys(&k, SECRET_A, NULL);
    const int64_t numbers[] = { 1, 255, 256, 65535, 123456, 16777216, INT64_MAX };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        char tok[REPLY_TOKEN_MAX + 1];
        assert_true(reply_token_make(&k, numbers[i], UID1, tok, sizeof tok));
        for (const char *p = tok; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'));
        int64_t t = 0;
        char uid[TD_ID_LEN + 1];
        assert_true(reply_token_verify(&k, tok, &t, uid));
        assert_int_equal(t, numbers[i]);
        assert_string_equal(uid, UID1);
        /* Mail systems may upper-case a local part. */
        for (char *p = tok; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        assert_true(reply_token_verify(&k, tok, &t, uid));
    }
    reply_keys_wipe(&k);
}

static void every_altered_character_is_refused(void **state)
{
    (void)state;
    struct reply_keys k;
    keys(&k, SECRET_A, NULL);
    char tok[REPLY_TOKEN_MAX + 1];
    assert_true(reply_token_make(&k, 4242, UID1, tok, sizeof tok));
    size_t n = strlen(tok);
    int64_t t;
    char uid[TD_ID_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        char bad[REPLY_TOKEN_MAX + 1];
        memcpy(bad, tok, n + 1);
        bad[i] = bad[i] == 'a' ? 'b' : 'a';
        assert_false(reply_token_verify(&k, bad, &t, uid));
    }
    /* Truncated, extended, empty, foreign alphabet. */
    char bad[REPLY_TOKEN_MAX + 8];
    snprintf(bad, sizeof bad, "%.*s", (int)n - 1, tok);
    assert_false(reply_token_verify(&k, bad, &t, uid));
    snprintf(bad, sizeof bad, "%sa", tok);
    assert_false(reply_token_verify(&k, bad, &t, uid));
    assert_false(reply_token_verify(&k, "", &t, uid));
    assert_false(reply_token_verify(&k, "0189", &t, uid));
    assert_false(reply_token_verify(&k, NULL, &t, uid));
    /* Another secret's token. */
    struct reply_keys other;
    keys(&other, SECRET_B, NULL);
    char tok2[REPLY_TOKEN_MAX + 1];
    assert_true(reply_token_make(&other, 4242, UID1, tok2, sizeof tok2));
    assert_string_not_equal(tok, tok2);
    assert_false(reply_token_verify(&k, tok2, &t, uid));
    /* Different ticket or user: different token. */
    assert_true(reply_token_make(&k, 4243, UID1, tok2, sizeof tok2));
    assert_string_not_equal(tok, tok2);
    assert_true(reply_token_make(&k, 4242, UID2, tok2, sizeof tok2));
    assert_string_not_equal(tok, tok2);
}

static void rotation_accepts_previous_secret(void **state)
{
    (void)state;
    struct reply_keys old, rotated, later;
    keys(&old, SECRET_A, NULL);
    keys(&rotated, SECRET_B, SECRET_A);
    keys(&later, SECRET_B, NULL);
    char tok_old[REPLY_TOKEN_MAX + 1], tok_new[REPLY_TOKEN_MAX + 1];
    assert_true(reply_token_make(&old, 7, UID2, tok_old, sizeof tok_old));
    assert_true(reply_token_make(&rotated, 7, UID2, tok_new, sizeof tok_new));
    int64_t t;
    char uid[TD_ID_LEN + 1];
    assert_true(reply_token_verify(&rotated, tok_old, &t, uid));
    assert_true(reply_token_verify(&rotated, tok_new, &t, uid));
    assert_string_equal(uid, UID2);
    /* New tokens are signed with the new secret only. */
    assert_false(reply_token_verify(&old, tok_new, &t, uid));
    /* Once the previous secret is dropped, its tokens die. */
    assert_false(reply_token_verify(&later, tok_old, &t, uid));
    assert_true(reply_token_verify(&later, tok_new, &t, uid));
}

static void addresses(void **state)
{
    (void)state;
    struct reply_keys k;
    keys(&k, SECRET_A, NULL);
    struct td_err err;
    char addr[200];
    assert_true(reply_address_make(&k, "support@example.com", 12, UID1, addr, sizeof addr, &err));
    assert_memory_equal(addr, "support+", 8);
    const char *at = strchr(addr, '@');
    assert_non_null(at);
    assert_string_equal(at, "@example.com");
    assert_true((size_t)(at - addr) <= REPLY_LOCAL_MAX);
    int64_t t;
    char uid[TD_ID_LEN + 1];
    assert_true(reply_address_verify(&k, "support@example.com", addr, &t, uid));
    assert_int_equal(t, 12);
    assert_string_equal(uid, UID1);
    /* Case of local part and domain does not matter. */
    char upper[200];
    snprintf(upper, sizeof upper, "SUPPORT%s", addr + 7);
    for (char *p = strchr(upper, '@'); *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    assert_true(reply_address_verify(&k, "support@example.com", upper, &t, uid));
    /* Another domain, another mailbox, no token: refused. */
    char other[200];
    snprintf(other, sizeof other, "%.*s@evil.example", (int)(at - addr), addr);
    assert_false(reply_address_verify(&k, "support@example.com", other, &t, uid));
    snprintf(other, sizeof other, "sales%s", addr + 7);
    assert_false(reply_address_verify(&k, "support@example.com", other, &t, uid));
    assert_false(reply_address_verify(&k, "support@example.com", "support@example.com", &t, uid));
    assert_false(reply_address_verify(&k, "support@example.com", "support+@example.com", &t, uid));
    /* The largest ticket number still fits a 64-character local part. */
    assert_true(reply_address_make(&k, "helpdesk@example.com", INT64_MAX, UID1, addr, sizeof addr, &err));
    assert_true(strchr(addr, '@') - addr <= REPLY_LOCAL_MAX);
    /* A support local part too long for tokens is refused, not truncated. */
    assert_false(reply_address_make(&k, "a-very-long-support-mailbox-name@example.com", INT64_MAX,
                                    UID1, addr, sizeof addr, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "too long"));
}

static void bad_secrets(void **state)
{
    (void)state;
    struct reply_keys k;
    struct td_err err;
    assert_false(reply_keys_init(&k, "short", NULL, &err));
    assert_non_null(strstr(err.msg, "reply_secret"));
    assert_false(reply_keys_init(&k, SECRET_A, "short", &err));
    assert_non_null(strstr(err.msg, "previous_reply_secret"));
    assert_false(reply_keys_init(&k, NULL, SECRET_A, &err));
    /* No secret: tokens off, nothing verifies. */
    assert_true(reply_keys_init(&k, NULL, NULL, &err));
    assert_false(reply_keys_enabled(&k));
    char tok[REPLY_TOKEN_MAX + 1];
    assert_false(reply_token_make(&k, 1, UID1, tok, sizeof tok));
    int64_t t;
    char uid[TD_ID_LEN + 1];
    assert_false(reply_token_verify(&k, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &t, uid));
    /* Bad inputs to make. */
    keys(&k, SECRET_A, NULL);
    assert_false(reply_token_make(&k, 0, UID1, tok, sizeof tok));
    assert_false(reply_token_make(&k, 5, "not-an-id", tok, sizeof tok));
    assert_false(reply_token_make(&k, 5, UID1, tok, 10));
}

static void secrets_from_config(void **state)
{
    (void)state;
    struct td_config *cfg;
    struct td_err err;
    assert_true(config_load_string("[notify]\nreply_secret = " SECRET_A "\n"
                                   "previous_reply_secret = " SECRET_B "\n", &cfg, &err));
    struct reply_keys k;
    assert_true(reply_keys_from_config(cfg, &k, &err));
    assert_true(reply_keys_enabled(&k));
    assert_int_equal(k.prev_len, strlen(SECRET_B));
    config_free(cfg);
    /* An unreadable secret file is an error naming it, not "no secret". */
    assert_true(config_load_string("[notify]\nreply_secret_file = /nonexistent/secret\n", &cfg, &err));
    assert_false(reply_keys_from_config(cfg, &k, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/secret"));
    config_free(cfg);
}

#define DAY 86400LL
#define NOW 1780000000LL /* 2026-05-28 */

static void tokens_expire(void **state)
{
    (void)state;
    struct reply_keys k;
    keys(&k, SECRET_A, NULL);
    assert_int_equal(k.lifetime_s, 90 * DAY);
    char tok[REPLY_TOKEN_MAX + 1], uid[TD_ID_LEN + 1];
    int64_t t = 0;
    assert_true(reply_token_make_at(&k, 77, UID1, NOW - 89 * DAY, tok, sizeof tok));
    assert_true(reply_token_verify_at(&k, tok, NOW, &t, uid));
    assert_int_equal(t, 77);
    assert_true(reply_token_make_at(&k, 77, UID1, NOW - 91 * DAY, tok, sizeof tok));
    assert_false(reply_token_verify_at(&k, tok, NOW, &t, uid));
    /* Issued in the future (beyond an hour of skew): refused. */
    assert_true(reply_token_make_at(&k, 77, UID1, NOW + 3 * 3600, tok, sizeof tok));
    assert_false(reply_token_verify_at(&k, tok, NOW, &t, uid));
    /* Two notifications of one ticket to one person no longer share a
     * token once an hour apart. */
    char tok2[REPLY_TOKEN_MAX + 1];
    assert_true(reply_token_make_at(&k, 77, UID1, NOW, tok, sizeof tok));
    assert_true(reply_token_make_at(&k, 77, UID1, NOW + 3600, tok2, sizeof tok2));
    assert_string_not_equal(tok, tok2);
    /* The lifetime is configurable. */
    struct td_config *cfg;
    struct td_err err;
    assert_true(config_load_string("[notify]\nreply_secret = " SECRET_A "\nreply_token_days = 2\n",
                                   &cfg, &err));
    assert_true(reply_keys_from_config(cfg, &k, &err));
    config_free(cfg);
    assert_int_equal(k.lifetime_s, 2 * DAY);
    assert_true(reply_token_make_at(&k, 77, UID1, NOW - 3 * DAY, tok, sizeof tok));
    assert_false(reply_token_verify_at(&k, tok, NOW, &t, uid));
    assert_true(reply_token_make_at(&k, 77, UID1, NOW - DAY, tok, sizeof tok));
    assert_true(reply_token_verify_at(&k, tok, NOW, &t, uid));
    assert_true(config_load_string("[notify]\nreply_token_days = 0\n", &cfg, &err));
    assert_false(reply_keys_from_config(cfg, &k, &err));
    config_free(cfg);
}

/* A token of the first format (0x10: no issue time), correctly signed,
 * is refused: it would never expire. */
static void first_format_refused(void **state)
{
    (void)state;
    struct reply_keys k;
    keys(&k, SECRET_A, NULL);
    unsigned char raw[1 + 1 + 12 + 10];
    size_t o = 0;
    raw[o++] = 0x10 | 1;
    raw[o++] = 42;
    assert_int_equal(sodium_hex2bin(raw + o, 12, UID1, 24, NULL, NULL, NULL), 0);
    o += 12;
    unsigned char full[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET_A, strlen(SECRET_A));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"ticketd-reply-v1", 16);
    crypto_auth_hmacsha256_update(&st, raw, o);
    crypto_auth_hmacsha256_final(&st, full);
    memcpy(raw + o, full, 10);
    o += 10;
    /* base32, lower-case, no padding */
    static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";
    char tok[64];
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < o; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            tok[n++] = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        tok[n++] = B32[(acc << (5 - bits)) & 31];
    tok[n] = '\0';
    int64_t t = 0;
    char uid[TD_ID_LEN + 1];
    assert_false(reply_token_verify_at(&k, tok, NOW, &t, uid));
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(every_altered_character_is_refused),
        cmocka_unit_test(rotation_accepts_previous_secret),
        cmocka_unit_test(addresses),
        cmocka_unit_test(bad_secrets),
        cmocka_unit_test(secrets_from_config),
        cmocka_unit_test(tokens_expire),
        cmocka_unit_test(first_format_refused),
    };
    return cmocka_run_group_tests_name("reply_token", tests, NULL, NULL);
}

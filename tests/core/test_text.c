/* test_text.c - validation of untrusted text (core/text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static void utf8_accepts_valid(void **state)
{
    (void)state;
    const char *ok[] = { "", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                         "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf" };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_true(utf8_valid(ok[i], strlen(ok[i])));
}

static void utf8_rejects_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc3",             /* truncated */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* > U+10FFFF */
        "\xff",
        "ab\xe2\x82",       /* truncated at end */
        "\xe2\x28\xa1",     /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(utf8_valid(bad[i], strlen(bad[i])));
    assert_int_equal(utf8_length("caf\xc3\xa9", 5), 4);
}

static void email_normalizes_and_validates(void **state)
{
    (void)state;
    char *out = NULL;
    struct td_err err;
    assert_true(email_normalize("  Alice.Smith+tag@Example.COM ", "email", &out, &err));
    assert_string_equal(out, "alice.smith+tag@example.com");
    free(out);
    const char *bad[] = { "", "plain", "a@", "@b.c", "a@@b.c", "a b@c.d", "a@b..c", ".a@b.c",
                          "a.@b.c", "a..b@c.d", "a@-b.c", "a@b-.c", "a@b.c.", "a@b_c.d",
                          "a\r\nBcc: x@y.z@b.c", "\xc3\xa9@b.c" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        out = NULL;
        memset(&err, 0, sizeof err);
        assert_false(email_normalize(bad[i], "email", &out, &err));
        assert_null(out);
        assert_int_equal(err.code, TD_INVALID);
        assert_non_null(strstr(err.msg, "email"));
    }
    char longlocal[80];
    memset(longlocal, 'a', 65);
    strcpy(longlocal + 65, "@b.c");
    assert_false(email_normalize(longlocal, "email", &out, &err));
}

static void text_line_rules(void **state)
{
    (void)state;
    char *out = NULL;
    struct td_err err;
    assert_true(text_line("  Printer on fire \xf0\x9f\x94\xa5 ", "subject", 255, false, &out, &err));
    assert_string_equal(out, "Printer on fire \xf0\x9f\x94\xa5");
    free(out);
    assert_false(text_line("   ", "subject", 255, false, &out, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_string_equal(err.msg, "subject is empty");
    assert_false(text_line("Hello\r\nBcc: victim@example.com", "subject", 255, false, &out, &err));
    assert_non_null(strstr(err.msg, "control character"));
    assert_false(text_line("bad \xff utf8", "subject", 255, false, &out, &err));
    assert_non_null(strstr(err.msg, "UTF-8"));
    /* The limit counts code points, not bytes. */
    assert_true(text_line("\xc3\xa9\xc3\xa9\xc3\xa9", "name", 3, false, &out, &err));
    free(out);
    assert_false(text_line("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "name", 3, false, &out, &err));
    assert_true(text_line(NULL, "queue", 64, true, &out, &err));
    assert_string_equal(out, "");
    free(out);
}

static void tags_normalize(void **state)
{
    (void)state;
    char *out = NULL;
    struct td_err err;
    assert_true(tag_normalize("Billing:VIP", &out, &err));
    assert_string_equal(out, "billing:vip");
    free(out);
    assert_false(tag_normalize("", &out, &err));
    assert_false(tag_normalize("has space", &out, &err));
    assert_false(tag_normalize("a,b", &out, &err));
    char big[60];
    memset(big, 'x', 51);
    big[51] = '\0';
    assert_false(tag_normalize(big, &out, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_valid),     cmocka_unit_test(utf8_rejects_invalid),
        cmocka_unit_test(email_normalizes_and_validates), cmocka_unit_test(text_line_rules),
        cmocka_unit_test(tags_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

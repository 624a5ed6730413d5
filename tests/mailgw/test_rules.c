/* test_rules.c - the small decisions of the mail gateway: subject
 * tokens and prefixes (thread.c), loop classification (loop.c), agent
 * trust (trust.c) and the error -> retry/quarantine map
 * (disposition.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mailgw/disposition.h"
#include "mailgw/loop.h"
#include "mailgw/mime.h"
#include "mailgw/thread.h"
#include "mailgw/trust.h"

static void parse(const char *raw, struct mime_msg *m)
{
    struct mime_limits l = MIME_DEFAULT_LIMITS;
    struct td_err err = { 0 };
    if (!mime_parse(raw, strlen(raw), &l, m, &err))
        fail_msg("%s", err.msg);
}

static void test_token(void **state)
{
    (void)state;
    struct thread_token t;
    struct td_err err = { 0 };
    assert_true(thread_token_init("[#{n}]", &t, &err));
    assert_int_equal(thread_token_find(&t, "Re: [#123] Printer"), 123);
    assert_int_equal(thread_token_find(&t, "Printer [#45]"), 45);
    assert_int_equal(thread_token_find(&t, "[#] x [#0] y [#12a] z"), 0);
    assert_int_equal(thread_token_find(&t, "[#x] then [#7]"), 7);
    assert_int_equal(thread_token_find(&t, "#123"), 0);
    assert_int_equal(thread_token_find(&t, "[#99999999999999999999]"), 0);
    assert_true(thread_token_init("[Ticket#{n}]", &t, &err));
    assert_int_equal(thread_token_find(&t, "AW: [Ticket#9] x"), 9);
    assert_int_equal(thread_token_find(&t, "[#9] x"), 0);
    assert_false(thread_token_init("[#]", &t, &err));
    assert_false(thread_token_init("{n}{n}", &t, &err));
    assert_false(thread_token_init("{n}", &t, &err));
}

static void test_subject_clean(void **state)
{
    (void)state;
    struct thread_token t;
    assert_true(thread_token_init("[#{n}]", &t, NULL));
    struct { const char *in, *out; } cases[] = {
        { "Re: [#12] Printer broken", "Printer broken" },
        { "RE: AW: Fwd: WG: Printer", "Printer" },
        { "Re[2]: Printer", "Printer" },
        { "RE : Imprimante", "Imprimante" },
        { "TR: RV: SV: VS: Antw: x", "x" },
        { "\xe5\x9b\x9e\xe5\xa4\x8d\xef\xbc\x9a\xe6\x89\x93\xe5\x8d\xb0\xe6\x9c\xba",
          "\xe6\x89\x93\xe5\x8d\xb0\xe6\x9c\xba" },
        { "Rechnung: offen", "Rechnung: offen" },
        { "Re:", "(no subject)" },
        { "", "(no subject)" },
        { "  many   spaces  ", "many spaces" },
        { "Printer [#12] broken", "Printer broken" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = thread_subject_clean(&t, cases[i].in, 255);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("'%s' -> '%s', expected '%s'", cases[i].in, s, cases[i].out);
        free(s);
    }
    /* capped in code points, not bytes */
    char *s = thread_subject_clean(&t, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3);
    assert_string_equal(s, "\xc3\xa9\xc3\xa9\xc3\xa9");
    free(s);
}

static void test_loop(void **state)
{
    (void)state;
    struct strv own = STRV_INIT;
    strv_push(&own, "support@example.com");
    struct { const char *mail; enum loop_kind kind; } cases[] = {
        { "From: a@x.example\r\n\r\nhi", LOOP_NONE },
        { "From: a@x.example\r\nAuto-Submitted: no\r\n\r\nhi", LOOP_NONE },
        { "From: a@x.example\r\nAuto-Submitted: auto-replied\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nAuto-Submitted: Auto-Generated (x)\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nPrecedence: bulk\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nPrecedence: JUNK\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nPrecedence: first-class\r\n\r\nhi", LOOP_NONE },
        { "From: a@x.example\r\nX-Auto-Response-Suppress: All\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nList-Id: <l.x.example>\r\n\r\nhi", LOOP_AUTO },
        { "From: a@x.example\r\nReturn-Path: <>\r\n\r\nhi", LOOP_AUTO },
        { "From: MAILER-DAEMON@x.example\r\n\r\nhi", LOOP_BOUNCE },
        { "From: postmaster@x.example\r\n\r\nhi", LOOP_BOUNCE },
        { "From: support@example.com\r\n\r\nhi", LOOP_OWN },
        { "From: Support+abc@Example.COM\r\n\r\nhi", LOOP_OWN },
        { "From: supporter@example.com\r\n\r\nhi", LOOP_NONE },
        { "From: a@x.example\r\nX-Loop: support@example.com\r\n\r\nhi", LOOP_OWN },
        { "From: a@x.example\r\nX-Loop: other@y.example\r\n\r\nhi", LOOP_NONE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mime_msg m;
        parse(cases[i].mail, &m);
        char *sender = NULL;
        if (m.from_addr) {
            sender = strdup(m.from_addr);
            for (char *c = sender; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
        }
        struct loop_verdict v;
        loop_check(&own, "support@example.com", &m, sender, &v);
        if (v.kind != cases[i].kind)
            fail_msg("case %zu: %s, expected %s", i, loop_kind_name(v.kind),
                     loop_kind_name(cases[i].kind));
        if (v.kind != LOOP_NONE)
            assert_true(v.reason[0] != '\0');
        free(sender);
        mime_msg_clear(&m);
    }
    strv_clear(&own);
}

static bool verify_tok(void *ctx, const char *token, const char *sender, int64_t *ticket)
{
    (void)ctx;
    if (strcmp(token, "goodtoken") == 0 && strcmp(sender, "agent@example.com") == 0) {
        *ticket = 42;
        return true;
    }
    return false;
}

static void test_trust(void **state)
{
    (void)state;
    struct strv own = STRV_INIT, ids = STRV_INIT;
    strv_push(&own, "support@example.com");
    strv_push(&ids, "mx.example.com");
    struct trust_cfg cfg = { &own, &ids, verify_tok, NULL };
    struct { const char *mail; enum trust_how how; } cases[] = {
        /* From alone proves nothing */
        { "From: agent@example.com\r\n\r\nx", TRUST_NONE },
        { "From: agent@example.com\r\nTo: support+goodtoken@example.com\r\n\r\nx", TRUST_REPLY_TOKEN },
        { "From: agent@example.com\r\nTo: support+badtoken@example.com\r\n\r\nx", TRUST_NONE },
        { "From: agent@example.com\r\nTo: support+goodtoken@other.example\r\n\r\nx", TRUST_NONE },
        { "From: agent@example.com\r\nTo: x@y.example\r\nDelivered-To: support+goodtoken@example.com"
          "\r\n\r\nx", TRUST_REPLY_TOKEN },
        { "From: mallory@example.com\r\nTo: support+goodtoken@example.com\r\n\r\nx", TRUST_NONE },
        { "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_AUTH_RESULTS },
        { "Authentication-Results: mx.example.com;\r\n dkim=pass (good) header.d=example.com;"
          " spf=fail\r\nFrom: agent@example.com\r\n\r\nx", TRUST_AUTH_RESULTS },
        { "Authentication-Results: mx.example.com; dkim=pass header.i=@mail.example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE }, /* a subdomain signing the parent */
        { "Authentication-Results: mx.example.com; dkim=pass header.d=example.com\r\n"
          "From: agent@sub.example.com\r\n\r\nx", TRUST_AUTH_RESULTS }, /* relaxed alignment */
        { "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=agent@example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_AUTH_RESULTS },
        { "Authentication-Results: mx.example.com; dkim=pass header.d=evil.example\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE },
        { "Authentication-Results: evil.example; dmarc=pass header.from=example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE },
        { "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE },
        /* only the topmost header of our MTA counts: a forged pass below it is ignored */
        { "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
          "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE },
        { "Authentication-Results: mx.example.com (dmarc=pass); none\r\n"
          "From: agent@example.com\r\n\r\nx", TRUST_NONE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mime_msg m;
        parse(cases[i].mail, &m);
        struct trust_result r;
        trust_check(&cfg, &m, m.from_addr, &r);
        if (r.how != cases[i].how)
            fail_msg("case %zu: %s, expected %s", i, trust_how_name(r.how),
                     trust_how_name(cases[i].how));
        if (r.how == TRUST_REPLY_TOKEN)
            assert_int_equal(r.token_ticket, 42);
        mime_msg_clear(&m);
    }
    /* no verifier plugged in: tokens prove nothing */
    struct trust_cfg none = { &own, &ids, NULL, NULL };
    struct mime_msg m;
    parse("From: agent@example.com\r\nTo: support+goodtoken@example.com\r\n\r\nx", &m);
    struct trust_result r;
    trust_check(&none, &m, m.from_addr, &r);
    assert_int_equal(r.how, TRUST_NONE);
    mime_msg_clear(&m);
    strv_clear(&own);
    strv_clear(&ids);
}

static void test_disposition(void **state)
{
    (void)state;
    /* about the mail: quarantine at once */
    assert_int_equal(disposition_of(TD_INVALID, 1, 5), DISP_QUARANTINE);
    assert_int_equal(disposition_of(TD_TOO_LARGE, 1, 5), DISP_QUARANTINE);
    assert_int_equal(disposition_of(TD_FORBIDDEN, 1, 5), DISP_QUARANTINE);
    assert_int_equal(disposition_of(TD_UNAUTHORIZED, 1, 5), DISP_QUARANTINE);
    assert_int_equal(disposition_of(TD_NOT_FOUND, 1, 5), DISP_QUARANTINE);
    /* about us: the store is down -> retry forever */
    assert_int_equal(disposition_of(TD_UNAVAILABLE, 1000, 5), DISP_RETRY);
    /* races and bugs: retry, then quarantine so one mail cannot block a mailbox */
    assert_int_equal(disposition_of(TD_STALE, 1, 5), DISP_RETRY);
    assert_int_equal(disposition_of(TD_CONFLICT, 4, 5), DISP_RETRY);
    assert_int_equal(disposition_of(TD_INTERNAL, 5, 5), DISP_QUARANTINE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_subject_clean),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_trust),
        cmocka_unit_test(test_disposition),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}

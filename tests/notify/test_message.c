/* test_message.c - the outgoing MIME builder: headers, encodings,
 * folding, and that no value can add a header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"
#include "mail_check.h"
#include "notify/message.h"

static struct message_in base(void)
{
    static const char *const refs[] = { "<first@mail.example.org>", "<ticketd.ticket.7@example.com>" };
    struct message_in m = {
        .from_name = "ACME Support",
        .from_addr = "support@example.com",
        .to_name = "Ann Customer",
        .to_addr = "ann@example.org",
        .reply_to_name = "ACME Support",
        .reply_to_addr = "support+abc@example.com",
        .subject = "[#7] Printer on fire",
        .message_id = "<ticketd.0123@example.com>",
        .in_reply_to = "<first@mail.example.org>",
        .references = refs,
        .n_references = 2,
        .auto_submitted = "auto-replied",
        .x_loop = "support@example.com",
        .ticket = "7",
        .date = 1795564800000LL, /* 2026-11-25 00:00:00 UTC, a Wednesday */
        .text = "Hello Ann,\n\nWe got it.\n",
    };
    return m;
}

static void build(const struct message_in *m, struct mc_mail *out)
{
    struct buf b = BUF_INIT;
    struct td_err err;
    if (!message_build(m, &b, &err))
        fail_msg("message_build: %s", err.msg);
    mc_parse(out, b.data);
    buf_free(&b);
}

static void assert_header(const struct mc_mail *m, const char *name, const char *want)
{
    char *v = mc_header(m, name);
    if (v == NULL || strcmp(v, want) != 0)
        fail_msg("%s: '%s', want '%s'", name, v ? v : "(none)", want);
    free(v);
}

/* Every header line ends in CRLF and none is longer than max. */
static void assert_lines(const char *data, size_t max)
{
    const char *p = data;
    for (;;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        size_t len = (size_t)(eol - p);
        if (len == 0)
            break; /* end of the header part */
        assert_null(memchr(p, '\n', len)); /* no bare LF */
        if (len > max)
            fail_msg("header line of %zu characters: %.*s", len, (int)len, p);
        p = eol + 2;
    }
}

static void plain_mail(void **state)
{
    (void)state;
    struct message_in in = base();
    struct mc_mail m;
    build(&in, &m);
    assert_true(m.crlf);
    assert_lines(m.data, 78);
    assert_header(&m, "Date", "Wed, 25 Nov 2026 00:00:00 +0000");
    assert_header(&m, "From", "\"ACME Support\" <support@example.com>");
    assert_header(&m, "To", "\"Ann Customer\" <ann@example.org>");
    assert_header(&m, "Reply-To", "\"ACME Support\" <support+abc@example.com>");
    assert_header(&m, "Subject", "[#7] Printer on fire");
    assert_header(&m, "Message-ID", "<ticketd.0123@example.com>");
    assert_header(&m, "In-Reply-To", "<first@mail.example.org>");
    assert_header(&m, "References", "<first@mail.example.org> <ticketd.ticket.7@example.com>");
    assert_header(&m, "Auto-Submitted", "auto-replied");
    assert_header(&m, "X-Auto-Response-Suppress", "All");
    assert_header(&m, "X-Loop", "support@example.com");
    assert_header(&m, "MIME-Version", "1.0");
    assert_header(&m, "Content-Type", "text/plain; charset=UTF-8");
    assert_header(&m, "Content-Transfer-Encoding", "7bit");
    assert_string_equal(m.body, "Hello Ann,\r\n\r\nWe got it.\r\n");
    mc_free(&m);
    /* No Auto-Submitted for mails people wrote; no Reply-To if none. */
    in.auto_submitted = NULL;
    in.reply_to_addr = NULL;
    in.in_reply_to = NULL;
    in.n_references = 0;
    build(&in, &m);
    assert_int_equal(mc_count(&m, "Auto-Submitted"), 0);
    assert_int_equal(mc_count(&m, "X-Auto-Response-Suppress"), 0);
    assert_int_equal(mc_count(&m, "Reply-To"), 0);
    assert_int_equal(mc_count(&m, "In-Reply-To"), 0);
    assert_int_equal(mc_count(&m, "References"), 0);
    mc_free(&m);
}

static void utf8_headers_are_encoded(void **state)
{
    (void)state;
    struct message_in in = base();
    in.subject = "[#7] Drucker br\xc3\xa4nnt \xf0\x9f\x94\xa5 \xe2\x80\x94 "
                 "\xe3\x83\x97\xe3\x83\xaa\xe3\x83\xb3\xe3\x82\xbf\xe3\x83\xbc\xe3\x81\x8c"
                 "\xe7\x87\x83\xe3\x81\x88\xe3\x81\xa6\xe3\x81\x84\xe3\x82\x8b "
                 "and a long tail of ASCII words to force several encoded words";
    in.to_name = "J\xc3\xbcrgen M\xc3\xbcller";
    in.from_name = "Soporte T\xc3\xa9" "cnico";
    struct mc_mail m;
    build(&in, &m);
    assert_lines(m.data, 78);
    /* On the wire: ASCII only. */
    for (const char *p = m.data; p < m.body && *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_non_null(strstr(mc_raw(&m, "Subject"), "=?UTF-8?B?"));
    assert_header(&m, "Subject", in.subject);
    assert_header(&m, "To", "J\xc3\xbcrgen M\xc3\xbcller <ann@example.org>");
    assert_header(&m, "From", "Soporte T\xc3\xa9" "cnico <support@example.com>");
    mc_free(&m);
    /* Looks like an encoded word: encoded, so it is not decoded as one. */
    in = base();
    in.subject = "=?UTF-8?B?SGk=?= literally";
    build(&in, &m);
    assert_header(&m, "Subject", "=?UTF-8?B?SGk=?= literally");
    mc_free(&m);
    /* Long plain subject: folded at spaces, nothing lost. */
    in.subject = "[#7] a b c d e f g h i j k l m n o p q r s t u v w x y z "
                 "aa bb cc dd ee ff gg hh ii jj kk ll mm nn oo pp qq rr ss tt uu vv";
    build(&in, &m);
    assert_lines(m.data, 78);
    assert_header(&m, "Subject", in.subject);
    mc_free(&m);
}

static void no_value_can_add_a_header(void **state)
{
    (void)state;
    struct message_in in = base();
    in.subject = "Hi\r\nBcc: victim@example.net\r\n\r\nbody injection";
    in.to_name = "Eve\r\nBcc: victim@example.net";
    in.from_name = "Sup\nport\" <evil@example.net>, \"x";
    in.reply_to_name = "\r\n\r\n";
    struct mc_mail m;
    build(&in, &m);
    assert_true(m.crlf);
    assert_int_equal(mc_count(&m, "Bcc"), 0);
    assert_int_equal(mc_count(&m, "To"), 1);
    assert_int_equal(mc_count(&m, "From"), 1);
    /* The text is there, as text, on one logical line. */
    char *subj = mc_header(&m, "Subject");
    assert_non_null(strstr(subj, "Bcc: victim@example.net"));
    assert_null(strchr(subj, '\n'));
    free(subj);
    /* The address part is the real one: the quote in the name is escaped. */
    const char *from = mc_raw(&m, "From");
    assert_non_null(strstr(from, "<support@example.com>"));
    assert_non_null(strstr(from, "\\\""));
    assert_true(strstr(from, "<evil@example.net>") == NULL || strstr(from, "\\\" <evil") != NULL);
    assert_string_equal(m.body, "Hello Ann,\r\n\r\nWe got it.\r\n");
    mc_free(&m);
}

static void unsafe_addresses_and_ids_are_refused(void **state)
{
    (void)state;
    const char *bad_addrs[] = { "ann@example.org>\r\nBcc: x@y.z", "ann example@org", "<ann@x.org>",
                                "ann", "@x.org", "ann@", "a\"b@x.org", "a,b@x.org", "" };
    for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++) {
        struct message_in in = base();
        in.to_addr = bad_addrs[i];
        struct buf b = BUF_INIT;
        struct td_err err;
        if (message_build(&in, &b, &err))
            fail_msg("address '%s' was accepted", bad_addrs[i]);
        buf_free(&b);
        assert_false(message_addr_safe(bad_addrs[i]));
    }
    assert_true(message_addr_safe("support+tok3n@example.com"));
    const char *bad_ids[] = { "no-brackets@x", "<a b@x>", "<ab>", "<a@b\r\nBcc: x@y>", "<@x>", "<x@>", "" };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        assert_false(message_id_safe(bad_ids[i]));
        struct message_in in = base();
        in.message_id = bad_ids[i];
        struct buf b = BUF_INIT;
        struct td_err err;
        assert_false(message_build(&in, &b, &err));
        buf_free(&b);
    }
    /* An unsafe inbound id in the thread is left out, not copied. */
    struct message_in in = base();
    const char *refs[] = { "<ok@x.org>", "<evil@x.org>\r\nBcc: v@x.org", "<ok2@x.org>" };
    in.references = refs;
    in.n_references = 3;
    in.in_reply_to = refs[1];
    struct mc_mail m;
    build(&in, &m);
    assert_header(&m, "References", "<ok@x.org> <ok2@x.org>");
    assert_int_equal(mc_count(&m, "In-Reply-To"), 0);
    assert_int_equal(mc_count(&m, "Bcc"), 0);
    mc_free(&m);
}

static void quoted_printable_bodies(void **state)
{
    (void)state;
    struct message_in in = base();
    char text[2000];
    snprintf(text, sizeof text,
             "Gr\xc3\xbc\xc3\x9f" "e,\n"
             "From the start of a line\n"
             ".\n"
             "trailing space \n"
             "tab\there = sign\n"
             "%s\n"
             "\xf0\x9f\x94\xa5%s\n",
             "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    in.text = text;
    struct mc_mail m;
    build(&in, &m);
    assert_header(&m, "Content-Transfer-Encoding", "quoted-printable");
    /* Every body line within 76, no bare LF, ASCII only. */
    for (const char *p = m.body; *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol - p <= 76);
        for (const char *q = p; q < eol; q++)
            assert_true((unsigned char)*q < 0x80 && *q != '\n');
        p = eol + 2;
    }
    assert_null(strstr(m.body, "\r\nFrom "));
    assert_null(strstr(m.body, "\r\n.\r\n"));
    assert_null(strstr(m.body, " \r\n"));
    char *decoded = mc_text(&m, "text/plain");
    assert_string_equal(decoded, text);
    free(decoded);
    mc_free(&m);
}

static void html_alternative(void **state)
{
    (void)state;
    struct message_in in = base();
    in.text = "plain \xc3\xa9\n";
    in.html = "<p>rich &amp; \xc3\xa9</p>\n";
    struct mc_mail m;
    build(&in, &m);
    const char *ct = mc_raw(&m, "Content-Type");
    assert_non_null(strstr(ct, "multipart/alternative; boundary=\"=_td_"));
    char *t = mc_text(&m, "text/plain");
    char *h = mc_text(&m, "text/html");
    assert_non_null(t);
    assert_non_null(h);
    assert_string_equal(t, "plain \xc3\xa9\n");
    assert_string_equal(h, "<p>rich &amp; \xc3\xa9</p>\n");
    free(t);
    free(h);
    /* The same input is the same bytes: a retry sends the same mail. */
    struct buf a = BUF_INIT, b = BUF_INIT;
    struct td_err err;
    assert_true(message_build(&in, &a, &err));
    assert_true(message_build(&in, &b, &err));
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_free(&a);
    buf_free(&b);
    mc_free(&m);
}

static void many_references_fold(void **state)
{
    (void)state;
    struct message_in in = base();
    const char *refs[12];
    char store[12][64];
    for (int i = 0; i < 12; i++) {
        snprintf(store[i], sizeof store[i], "<reference-number-%02d.abcdef@mail.example.org>", i);
        refs[i] = store[i];
    }
    in.references = refs;
    in.n_references = 12;
    struct mc_mail m;
    build(&in, &m);
    assert_lines(m.data, 78);
    const char *r = mc_raw(&m, "References");
    for (int i = 0; i < 12; i++)
        assert_non_null(strstr(r, store[i]));
    mc_free(&m);
}

/* Issue 10: the others of the conversation in Cc, files attached. */
static void cc_and_attachments(void **state)
{
    (void)state;
    struct message_in m = base();
    const char *cc[] = { "carl@acme.example", "dave@acme.example" };
    m.cc = cc;
    m.n_cc = 2;
    static const unsigned char pdf[] = "%PDF-1.4 tiny";
    struct message_attachment atts[2] = {
        { "manual.pdf", "application/pdf", pdf, sizeof pdf - 1, NULL },
        { "Bericht \xc3\xbc \"x\".txt", "text/plain\r\nX-Evil: 1", pdf, 4, NULL },
    };
    m.attachments = atts;
    m.n_attachments = 2;
    m.html = "<p>We got it.</p>";
    struct mc_mail out;
    build(&m, &out);
    assert_header(&out, "Cc", "carl@acme.example, dave@acme.example");
    assert_non_null(strstr(mc_raw(&out, "Content-Type"), "multipart/mixed"));
    char *text = mc_text(&out, "text/plain"); /* inside the alternative, inside mixed */
    assert_non_null(text);
    assert_non_null(strstr(text, "We got it."));
    free(text);
    assert_non_null(strstr(out.data, "filename=\"manual.pdf\""));
    assert_non_null(strstr(out.data, "JVBERi0xLjQgdGlueQ==")); /* base64 of the bytes */
    assert_non_null(strstr(out.data, "filename*=utf-8''Bericht%20%C3%BC%20%22x%22.txt"));
    assert_null(strstr(out.data, "X-Evil")); /* an uploaded type adds no header */
    assert_lines(out.data, 998);
    mc_free(&out);
    /* The same input, the same bytes (a retried mail). */
    struct buf a = BUF_INIT, b = BUF_INIT;
    struct td_err err;
    assert_true(message_build(&m, &a, &err));
    assert_true(message_build(&m, &b, &err));
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_free(&a);
    buf_free(&b);
    /* An inline image: its Content-ID, shown inline. */
    struct message_attachment img = { "button.png", "image/png", pdf, 4, "<att-1@ticketd>" };
    m.attachments = &img;
    m.n_attachments = 1;
    build(&m, &out);
    assert_non_null(strstr(out.data, "Content-ID: <att-1@ticketd>\r\n"
                                     "Content-Disposition: inline;\r\n filename=\"button.png\""));
    mc_free(&out);
    /* An unsafe Cc is refused. */
    const char *bad[] = { "x@y.example\r\nBcc: all@y.example" };
    m.cc = bad;
    m.n_cc = 1;
    assert_false(message_build(&m, &a, &err));
    buf_free(&a);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_mail),
        cmocka_unit_test(utf8_headers_are_encoded),
        cmocka_unit_test(no_value_can_add_a_header),
        cmocka_unit_test(unsafe_addresses_and_ids_are_refused),
        cmocka_unit_test(quoted_printable_bodies),
        cmocka_unit_test(html_alternative),
        cmocka_unit_test(many_references_fold),
        cmocka_unit_test(cc_and_attachments),
    };
    return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}

/* test_mime.c - mailgw/mime.c, charset.c, rfc2047.c, html_text.c on the
 * real mails of tests/data/mail and on hostile ones made here: every
 * one parses (or is refused with a reason) in bounded time, never a
 * crash, never invalid UTF-8. */
#include "mail_fixture.h"

#include <time.h>

#include "core/text.h"
#include "mailgw/charset.h"
#include "mailgw/html_text.h"
#include "mailgw/mime.h"
#include "mailgw/rfc2047.h"

static struct mime_limits lim(void)
{
    struct mime_limits l = MIME_DEFAULT_LIMITS;
    return l;
}

static void parse_file(const char *name, struct mime_msg *m)
{
    size_t len;
    char *raw = mail_read(name, 0, &len);
    struct mime_limits l = lim();
    struct td_err err = { 0 };
    if (!mime_parse(raw, len, &l, m, &err))
        fail_msg("%s: %s", name, err.msg);
    free(raw);
    assert_true(utf8_valid(m->text, strlen(m->text)));
    assert_true(utf8_valid(m->subject, strlen(m->subject)));
}

static bool has_att(const struct mime_msg *m, const char *name, const char *type)
{
    for (size_t i = 0; i < m->n_atts; i++)
        if (strcmp(m->atts[i].name, name) == 0 && strcmp(m->atts[i].content_type, type) == 0)
            return true;
    return false;
}

static void test_gmail_alternative_prefers_plain(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("gmail_new.eml", &m);
    assert_string_equal(m.message_id, "CAGmail-0001-anna@mail.gmail.com");
    assert_string_equal(m.from_addr, "anna.schmidt@gmail.com");
    assert_string_equal(m.from_name, "Anna Schmidt");
    assert_string_equal(m.subject, "Printer on floor 3 prints blank pages");
    assert_false(m.text_from_html);
    assert_non_null(strstr(m.text, "replaced the toner \xe2\x80\x93 no change."));
    assert_null(strstr(m.text, "<div")); /* the HTML alternative is not used */
    assert_int_equal(m.n_atts, 0);
    assert_int_equal(m.recipients.n, 1);
    assert_string_equal(m.recipients.v[0], "support@example.com");
    assert_non_null(mime_header(&m, "Delivered-To"));
    mime_msg_clear(&m);
}

static void test_threading_headers(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("outlook_reply_de.eml", &m);
    assert_string_equal(m.in_reply_to, "notify-1-ack@example.com");
    assert_int_equal(m.references.n, 1);
    assert_string_equal(m.from_name, "J\xc3\xbcrgen M\xc3\xbcller");
    assert_string_equal(m.subject, "AW: [#{TICKET}] Drucker druckt leere Seiten");
    /* windows-1252 QP: umlauts and the en dash (0x96) */
    assert_non_null(strstr(m.text, "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen \xe2\x80\x93 und"));
    mime_msg_clear(&m);
}

static void test_charsets(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("latin1_new.eml", &m);
    assert_string_equal(m.subject, "Probl\xc3\xa8me d'acc\xc3\xa8s \xc3\xa0 la messagerie");
    assert_string_equal(m.from_name, "Fran\xc3\xa7ois L\xc3\xa9v\xc3\xaaque");
    assert_non_null(strstr(m.text, "bo\xc3\xaet" "e aux lettres"));
    mime_msg_clear(&m);

    parse_file("cp1252_new.eml", &m);
    assert_string_equal(m.subject, "Invoice \xe2\x80\x9cMarch\xe2\x80\x9d \xe2\x82\xac 100");
    assert_non_null(strstr(m.text, "shows \xe2\x82\xac 100"));
    mime_msg_clear(&m);

    parse_file("shift_jis_new.eml", &m);
    assert_string_equal(m.subject, "\xe3\x83\x97\xe3\x83\xaa\xe3\x83\xb3\xe3\x82\xbf\xe3\x83\xbc"
                                   "\xe6\x95\x85\xe9\x9a\x9c");
    assert_string_equal(m.from_name, "\xe7\x94\xb0\xe4\xb8\xad");
    assert_non_null(strstr(m.text, "\xe3\x83\x97\xe3\x83\xaa\xe3\x83\xb3\xe3\x82\xbf\xe3\x83\xbc"));
    assert_null(strchr(m.text, '\r'));
    mime_msg_clear(&m);
}

static void test_bad_charsets_replaced(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("bad_charset.eml", &m);
    /* unknown charset: read as windows-1252; broken UTF-8 and NUL: U+FFFD */
    assert_non_null(strstr(m.text, "Caf\xc3\xa9 au lait"));
    assert_non_null(strstr(m.text, "a NUL \xef\xbf\xbd byte"));
    assert_true(m.notes.n >= 1);
    assert_non_null(strstr(m.subject, "Caf\xc3\xa9"));
    mime_msg_clear(&m);
}

static void test_html_only(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("html_only.eml", &m);
    assert_true(m.text_from_html);
    assert_non_null(strstr(m.text, "Login problem\n\nI cannot log in to the portal since Monday."));
    assert_non_null(strstr(m.text, "- Browser: Firefox\n- Error: \"session expired\""));
    assert_non_null(strstr(m.text, "the help page <https://portal.example.org/help>"));
    assert_non_null(strstr(m.text, "\n> quoted text"));
    assert_null(strstr(m.text, "alert"));
    assert_null(strstr(m.text, "ignored title"));
    assert_null(strstr(m.text, "color:red"));
    mime_msg_clear(&m);
}

static void test_attachments_and_names(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("attachments.eml", &m);
    assert_string_equal(m.text, "Please see the attached files.");
    assert_int_equal(m.n_atts, 4);
    /* RFC 2231 filename* wins over the RFC 2047 name= */
    assert_true(has_att(&m, "Vertr\xc3\xa4ge \xe2\x82\xac 2024.pdf", "application/pdf"));
    assert_int_equal(m.atts[0].size, 51);
    assert_memory_equal(m.atts[0].data, "%PDF-1.4", 8);
    assert_true(has_att(&m, "screen.png", "image/png"));
    assert_true(m.atts[1].is_inline);
    /* RFC 2231 continuations, mixed encoded and plain segments */
    assert_true(has_att(&m, "long name part\xc3\xa9.txt", "text/plain"));
    /* no path survives */
    assert_true(has_att(&m, "evil.exe", "application/octet-stream"));
    mime_msg_clear(&m);
}

static void test_nested_multipart(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("nested.eml", &m);
    assert_string_equal(m.text, "The plain part \xe2\x9c\x93 with base64.\nSecond line.");
    assert_null(strstr(m.text, "must not appear twice"));
    assert_int_equal(m.n_atts, 3);
    assert_true(m.atts[0].is_inline);
    assert_string_equal(m.atts[0].content_type, "image/png");
    assert_true(has_att(&m, "The original.eml", "message/rfc822"));
    assert_non_null(memmem(m.atts[1].data, m.atts[1].size, "Inner message body.", 19));
    assert_true(has_att(&m, "logs.zip", "application/zip"));
    mime_msg_clear(&m);
}

static void test_dsn(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("dsn_bounce.eml", &m);
    assert_true(m.is_dsn);
    assert_string_equal(m.dsn_original_id, "notify-1-ack@example.com");
    assert_non_null(strstr(m.dsn_summary, "nobody@nowhere.example: failed 5.1.1"));
    assert_non_null(strstr(m.text, "could not\nbe delivered"));
    mime_msg_clear(&m);
}

static void test_broken_boundary_still_parses(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("broken_boundary.eml", &m);
    assert_non_null(strstr(m.text, "First part survives."));
    mime_msg_clear(&m);
}

/* Control characters from RFC 2047 are data (issue 15): spaces, no
 * refusal (outgoing headers never copy them). */
static void test_header_injection_is_data(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("header_injection.eml", &m);
    assert_null(strchr(m.subject, '\r'));
    assert_null(strchr(m.subject, '\n'));
    mime_msg_clear(&m);
}

static void test_every_sample_is_valid(void **state)
{
    (void)state;
    static const char *const names[] = {
        "agent_forged.eml", "agent_note.eml", "apple_reply_fr.eml", "autoreply.eml",
        "gmail_forward.eml", "gmail_reply.eml", "list_mail.eml", "mutt_new.eml",
        "no_msgid.eml", "outlook_oof_new.eml", "thunderbird_reply.eml",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        struct mime_msg m;
        parse_file(names[i], &m);
        assert_non_null(m.from_addr);
        assert_true(strlen(m.text) > 0);
        mime_msg_clear(&m);
    }
    struct mime_msg m;
    parse_file("no_msgid.eml", &m);
    assert_null(m.message_id);
    mime_msg_clear(&m);
    parse_file("apple_reply_fr.eml", &m);
    assert_string_equal(m.message_id, "8F2E1D0C-AB12-4C3D-9E8F-0123456789AB@exemple.fr");
    assert_int_equal(m.n_atts, 1); /* the inline logo of the unused HTML alternative */
    assert_true(m.atts[0].is_inline);
    mime_msg_clear(&m);
}

/* ---- hostile mail, made here ------------------------------------------ */

static double seconds_since(struct timespec t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void expect_refused(const char *raw, size_t len, enum td_code code, const char *words)
{
    struct mime_limits l = lim();
    struct mime_msg m;
    struct td_err err = { 0 };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (mime_parse(raw, len, &l, &m, &err))
        fail_msg("parsed a mail that should be refused (%s)", words);
    assert_true(seconds_since(t0) < 2.0);
    assert_int_equal(err.code, code);
    if (strstr(err.msg, words) == NULL)
        fail_msg("reason '%s' does not say '%s'", err.msg, words);
}

static void test_ten_thousand_nested_parts(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "From: a@b.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
    buf_puts(&b, "Content-Type: text/plain\r\n\r\nhi\r\n");
    for (int i = 9999; i >= 0; i--)
        buf_printf(&b, "--b%d--\r\n", i);
    expect_refused(b.data, b.len, TD_INVALID, "MIME parts");
    buf_free(&b);
}

static void test_deep_but_few_content_types(void **state)
{
    (void)state;
    /* 40 levels: under the part limit, over the depth limit of 32. */
    struct buf b = BUF_INIT;
    buf_puts(&b, "From: a@b.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for (int i = 0; i < 40; i++)
        buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
    buf_puts(&b, "Content-Type: text/plain\r\n\r\nhi\r\n");
    for (int i = 39; i >= 0; i--)
        buf_printf(&b, "--b%d--\r\n", i);
    expect_refused(b.data, b.len, TD_INVALID, "nested deeper");
    buf_free(&b);
}

static void test_many_flat_parts(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "From: a@b.example\r\nSubject: wide\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n");
    for (int i = 0; i < 20000; i++)
        buf_puts(&b, "--x\r\n\r\np\r\n");
    buf_puts(&b, "--x--\r\n");
    expect_refused(b.data, b.len, TD_INVALID, "boundary lines");
    buf_free(&b);
}

static void test_huge_body(void **state)
{
    (void)state;
    size_t len = (size_t)100 << 20; /* 100 MB */
    char *raw = td_malloc(len);
    const char *hdr = "From: a@b.example\r\nSubject: big\r\n\r\n";
    memcpy(raw, hdr, strlen(hdr));
    memset(raw + strlen(hdr), 'A', len - strlen(hdr));
    expect_refused(raw, len, TD_TOO_LARGE, "limit");
    free(raw);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char body_nul[] = "From: a@b.example\r\nSubject: nul\r\n\r\nbefore\0after\r\n";
    struct mime_limits l = lim();
    struct mime_msg m;
    struct td_err err = { 0 };
    assert_true(mime_parse(body_nul, sizeof body_nul - 1, &l, &m, &err));
    assert_string_equal(m.text, "before\xef\xbf\xbd" "after");
    mime_msg_clear(&m);
    static const char hdr_nul[] = "From: a@b.example\r\nSubject: n\0l\r\n\r\nbody\r\n";
    expect_refused(hdr_nul, sizeof hdr_nul - 1, TD_INVALID, "NUL");
}

static void test_deep_html_is_attached(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "From: a@b.example\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n");
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, "<div>");
    buf_puts(&b, "deep text");
    struct mime_limits l = lim();
    struct mime_msg m;
    struct td_err err = { 0 };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(mime_parse(b.data, b.len, &l, &m, &err));
    assert_true(seconds_since(t0) < 2.0);
    assert_int_equal(m.n_atts, 1);
    assert_string_equal(m.atts[0].name, "message.html");
    assert_true(m.notes.n >= 1);
    mime_msg_clear(&m);
    buf_free(&b);
}

static void test_degenerate_mails(void **state)
{
    (void)state;
    static const char *const mails[] = {
        "",
        "\r\n",
        "From: a@b.example",
        "no header at all, just text",
        "From: a@b.example\r\nContent-Type: multipart/mixed\r\n\r\nno boundary given\r\n",
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n",
        "From: a@b.example\r\nContent-Transfer-Encoding: base64\r\n\r\n====\r\n",
        "From: a@b.example\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=ZZ=4\r\n",
        "From: a@b.example\r\nContent-Type: text/plain; charset=\"\r\n\r\nx\r\n",
        "From: =?utf-8?q?unterminated <a@b.example>\r\nSubject: =?utf-8?b?@@@?=\r\n\r\nx",
        "From: <>\r\n\r\n",
        "Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
        "From: a@b.example\r\nContent-Type: multipart/report; report-type=delivery-status;"
        " boundary=r\r\n\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient:"
        "\r\n--r--\r\n",
    };
    for (size_t i = 0; i < sizeof mails / sizeof *mails; i++) {
        struct mime_limits l = lim();
        struct mime_msg m;
        struct td_err err = { 0 };
        if (mime_parse(mails[i], strlen(mails[i]), &l, &m, &err)) {
            assert_true(utf8_valid(m.text, strlen(m.text)));
            mime_msg_clear(&m);
        } else {
            assert_true(err.msg[0] != '\0');
        }
    }
}

/* A few thousand random mutations of the real samples: no crash, no
 * sanitizer report, no invalid UTF-8 (the fuzz target in tests/fuzz
 * does this without end). */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const names[] = { "nested.eml", "attachments.eml", "dsn_bounce.eml",
                                         "outlook_reply_de.eml", "apple_reply_fr.eml" };
    unsigned seed = 12345;
    for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
        size_t len;
        char *orig = mail_read(names[f], 0, &len);
        for (int round = 0; round < 300; round++) {
            char *raw = td_malloc(len + 1);
            memcpy(raw, orig, len);
            int edits = 1 + (int)(rand_r(&seed) % 8);
            for (int k = 0; k < edits; k++) {
                size_t at = (size_t)rand_r(&seed) % len;
                static const char junk[] = { '\0', '\n', '-', '=', '?', '"', ';', ':', '<', '\xff' };
                raw[at] = junk[rand_r(&seed) % sizeof junk];
            }
            size_t cut = round % 3 == 0 ? (size_t)rand_r(&seed) % len : len;
            struct mime_limits l = lim();
            struct mime_msg m;
            struct td_err err = { 0 };
            if (mime_parse(raw, cut, &l, &m, &err)) {
                assert_true(utf8_valid(m.text, strlen(m.text)));
                assert_true(utf8_valid(m.subject, strlen(m.subject)));
                mime_msg_clear(&m);
            }
            free(raw);
        }
        free(orig);
    }
}

/* Inputs the fuzzer (tests/fuzz) once broke, replayed from an exact-size
 * buffer so that ASan sees any read past the end. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    static const char *const names[] = {
        "qp-escape-at-end.eml", /* libetpan read past a trailing QP "=x" */
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/../fuzz/regressions/%s", harness_support_dir(), names[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            fail_msg("cannot open %s", path);
        char tmp[1 << 16];
        size_t len = fread(tmp, 1, sizeof tmp, f);
        fclose(f);
        char *exact = td_malloc(len ? len : 1);
        memcpy(exact, tmp, len);
        struct mime_limits l = lim();
        struct mime_msg m;
        struct td_err err = { 0 };
        if (mime_parse(exact, len, &l, &m, &err)) {
            assert_true(utf8_valid(m.text, strlen(m.text)));
            mime_msg_clear(&m);
        }
        free(exact);
    }
}

/* ---- the helpers on their own -------------------------------------------- */

static void test_rfc2047(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        { "=?ISO-8859-1?Q?a?= b", "a b" },
        { "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },          /* space between words goes */
        { "=?utf-8?B?4oKs?=", "\xe2\x82\xac" },
        { "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" }, /* a character split in two */
        { "=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Gr\xc3\xbc\xc3\x9f" "e" }, /* RFC 2231 language */
        { "=?utf-8?q?a_b?=", "a b" },
        { "plain =?bogus", "plain =?bogus" },
        { "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
        { "caf\xe9", "caf\xc3\xa9" },                                /* raw 8-bit: cp1252 */
        { "Subject\r\n folded", "Subject folded" },
        { "tab\there", "tab here" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool ctl = false;
        char *r = rfc2047_decode(cases[i].in, strlen(cases[i].in), &ctl);
        assert_string_equal(r, cases[i].out);
        assert_false(ctl);
        free(r);
    }
    bool ctl = false;
    char *r = rfc2047_decode("=?utf-8?q?a=0Ab?=", 17, &ctl);
    assert_true(ctl);
    assert_string_equal(r, "a b");
    free(r);
    r = rfc2231_decode("iso-8859-1'fr'caf%E9.txt");
    assert_string_equal(r, "caf\xc3\xa9.txt");
    free(r);
    r = rfc2231_decode("no-quotes%20here");
    assert_string_equal(r, "no-quotes here");
    free(r);
}

static void test_charset_conversion(void **state)
{
    (void)state;
    struct { const char *cs, *in, *out; } cases[] = {
        { "iso-8859-1", "\x80", "\xe2\x82\xac" }, /* read as windows-1252 */
        { "ISO-8859-15", "\xa4", "\xe2\x82\xac" },
        { "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
        { "utf-8", "ok \xe2\x82", "ok \xef\xbf\xbd\xef\xbf\xbd" },
        { "no-such-charset", "caf\xe9", "caf\xc3\xa9" },
        { "../../etc/passwd", "x", "x" },
        { NULL, "\xc3\xa9", "\xc3\xa9" },
        { "iso-2022-jp", "\x1b$B$\"\x1b(B", "\xe3\x81\x82" },
        { "shift_jis", "\x82\xa0\xff", "\xe3\x81\x82\xef\xbf\xbd" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct buf b = BUF_INIT;
        charset_to_utf8(cases[i].cs, cases[i].in, strlen(cases[i].in), &b, NULL);
        if (strcmp(b.data, cases[i].out) != 0)
            fail_msg("%s: got '%s'", cases[i].cs ? cases[i].cs : "(none)", b.data);
        buf_free(&b);
    }
}

static void test_html_rendering(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        { "<p>a</p><p>b</p>", "a\n\nb" },
        { "a<br>b<br><br>c", "a\nb\n\nc" },
        { "<ol><li>one</li><li>two</li></ol>", "- one\n- two" },
        { "<a href=\"https://x.example/\">https://x.example/</a>", "https://x.example/" },
        { "<a href=\"mailto:a@b.example\">a@b.example</a>", "a@b.example" },
        { "<a href=\"javascript:evil()\">click</a>", "click" },
        { "x&nbsp;&nbsp;y &amp; z", "x y & z" },
        { "<blockquote>q1<br>q2</blockquote>after", "> q1\n> q2\n\nafter" },
        { "<blockquote><blockquote>deep</blockquote></blockquote>", "> > deep" },
        { "<pre>  keep\n   spaces</pre>", "  keep\n   spaces" },
        { "<img src=x alt=\"logo\">", "[logo]" },
        { "<script>bad()</script><style>p{}</style>ok", "ok" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = html_text(cases[i].in, strlen(cases[i].in), 1 << 20, 1 << 20);
        if (r == NULL || strcmp(r, cases[i].out) != 0)
            fail_msg("'%s' -> '%s', expected '%s'", cases[i].in, r ? r : "(null)", cases[i].out);
        free(r);
    }
    char *r = html_text("<p>0123456789</p>", 17, 1 << 20, 5);
    assert_non_null(strstr(r, "01234\n[ticketd:"));
    free(r);
    assert_null(html_text("<p>x</p>", 8, 4, 100)); /* over max_in */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gmail_alternative_prefers_plain),
        cmocka_unit_test(test_threading_headers),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_bad_charsets_replaced),
        cmocka_unit_test(test_html_only),
        cmocka_unit_test(test_attachments_and_names),
        cmocka_unit_test(test_nested_multipart),
        cmocka_unit_test(test_dsn),
        cmocka_unit_test(test_broken_boundary_still_parses),
        cmocka_unit_test(test_header_injection_is_data),
        cmocka_unit_test(test_every_sample_is_valid),
        cmocka_unit_test(test_ten_thousand_nested_parts),
        cmocka_unit_test(test_deep_but_few_content_types),
        cmocka_unit_test(test_many_flat_parts),
        cmocka_unit_test(test_huge_body),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_deep_html_is_attached),
        cmocka_unit_test(test_degenerate_mails),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_rfc2047),
        cmocka_unit_test(test_charset_conversion),
        cmocka_unit_test(test_html_rendering),
    };
    return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}

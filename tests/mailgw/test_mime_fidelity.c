/* test_mime_fidelity.c - issue 15: no mail shape loses its text, every
 * charset is readable. One real-looking mail per case under
 * tests/data/mail/, each read by mime_parse as a mail client shows it. */
#include "mail_fixture.h"

#include "core/text.h"
#include "mailgw/charset.h"
#include "mailgw/mime.h"
#include "mailgw/rfc2047.h"

static void parse_file(const char *name, struct mime_msg *m)
{
    size_t len;
    char *raw = mail_read(name, 0, &len);
    struct mime_limits l = MIME_DEFAULT_LIMITS;
    struct td_err err = { 0 };
    if (!mime_parse(raw, len, &l, m, &err))
        fail_msg("%s: %s", name, err.msg);
    free(raw);
    assert_true(utf8_valid(m->text, strlen(m->text)));
    assert_true(utf8_valid(m->subject, strlen(m->subject)));
}

static const struct mime_attachment *att(const struct mime_msg *m, const char *name)
{
    for (size_t i = 0; i < m->n_atts; i++)
        if (strcmp(m->atts[i].name, name) == 0)
            return &m->atts[i];
    return NULL;
}

static bool has_note(const struct mime_msg *m, const char *words)
{
    for (size_t i = 0; i < m->notes.n; i++)
        if (strstr(m->notes.v[i], words))
            return true;
    return false;
}

#define CONTAINS(hay, needle)                                                              \
    do {                                                                                   \
        if (strstr((hay), (needle)) == NULL)                                               \
            fail_msg("'%s' not in:\n%s", (needle), (hay));                                 \
    } while (0)

/* ---- text and files lost ------------------------------------------------ */

/* The last part is an opening delimiter and then the mail ends. */
static void test_unterminated_last_delimiter(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("unterminated_last.eml", &m);
    CONTAINS(m.text, "the VPN connection drops every hour");
    const struct mime_attachment *a = att(&m, "vpn-client.log");
    assert_non_null(a);
    assert_int_equal(a->size, 68);
    assert_memory_equal(a->data, "08:05:01 tunnel down: DPD timeout\n", 34);
    mime_msg_clear(&m);
}

/* multipart/alternative inside multipart/mixed, the alternative never
 * closed, the attachment after it running to the end of the mail. */
static void test_unterminated_nested(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("unterminated_nested.eml", &m);
    CONTAINS(m.text, "shows \"file damaged\" in every viewer");
    const struct mime_attachment *a = att(&m, "invoice-2024-117.pdf");
    assert_non_null(a);
    assert_memory_equal(a->data, "%PDF-1.4", 8);
    mime_msg_clear(&m);
}

/* Neither multipart closed: the mail ends inside the text part. */
static void test_unterminated_eof_in_text(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("unterminated_eof_in_text.eml", &m);
    CONTAINS(m.text, "zieht wieder zwei Bl\xc3\xa4tter auf einmal ein.");
    CONTAINS(m.text, "CN-4471-B.\n\nGru\xc3\x9f\nJ\xc3\xb6rg");
    assert_string_equal(m.subject, "Re: Drucker im 2. OG");
    mime_msg_clear(&m);
}

/* The repair appends only what is missing: a closed mail is untouched. */
static void test_closed_mail_untouched(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("nested.eml", &m);
    assert_int_equal(m.n_atts, 3); /* image, the .eml, logs.zip: as before */
    assert_false(has_note(&m, "raw body"));
    mime_msg_clear(&m);
}

static void test_alternative_empty_plain(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("alternative_empty_plain.eml", &m);
    CONTAINS(m.text, "after the password reset I get Invalid credentials");
    assert_true(m.text_from_html);
    mime_msg_clear(&m);
}

/* A multipart libetpan cannot split (no boundary): the body becomes the
 * text, with a note saying why, never an empty comment. */
static void test_parser_gave_up_keeps_text(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("multipart_no_boundary.eml", &m);
    CONTAINS(m.text, "The print queue in building C has been stuck since 06:40");
    assert_true(has_note(&m, "no usable boundary"));
    assert_int_equal(m.n_atts, 0);
    mime_msg_clear(&m);
}

/* ---- charsets ------------------------------------------------------------ */

/* ISO-2022-JP with NEC row 13 characters (circled digits) in the body,
 * the subject and around them: CP50220, and no junk after them. */
static void test_iso2022jp_nec_row13(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("iso2022jp_nec_row13.eml", &m);
    assert_string_equal(m.subject, "\xe2\x91\xa0\xe3\x83\x97\xe3\x83\xad\xe3\x82\xb8\xe3\x82"
                                   "\xa7\xe3\x82\xaf\xe3\x82\xbf\xe6\x95\x85\xe9\x9a\x9c\xe3"
                                   "\x81\xae\xe4\xbb\xb6"); /* ①プロジェクタ故障の件 */
    assert_string_equal(m.from_name, "\xe5\xb1\xb1\xe6\x9c\xac \xe8\x8a\xb1\xe5\xad\x90");
    /* ①会議室のプロジェクタが映りません。 */
    CONTAINS(m.text, "\xe2\x91\xa0\xe4\xbc\x9a\xe8\xad\xb0\xe5\xae\xa4\xe3\x81\xae");
    /* ②リモコン... and the closing line after both */
    CONTAINS(m.text, "\xe2\x91\xa1\xe3\x83\xaa\xe3\x83\xa2\xe3\x82\xb3\xe3\x83\xb3");
    CONTAINS(m.text, "\xe3\x82\x88\xe3\x82\x8d\xe3\x81\x97\xe3\x81\x8f"); /* よろしく */
    assert_null(strstr(m.text, "\xef\xbf\xbd"));
    assert_false(has_note(&m, "could not be converted"));
    mime_msg_clear(&m);
}

/* A byte that cannot be converted costs one U+FFFD; the two-byte mode
 * it was in goes on (it used to fall back to ASCII: "%H%i" junk). */
static void test_iso2022jp_state_kept_after_error(void **state)
{
    (void)state;
    /* ESC $ B, "あ", a broken pair (0x7F-ish byte), "い", ESC ( B, "ok" */
    static const char in[] = "\x1b$B$\x22\x80$$\x1b(Bok";
    struct buf out = BUF_INIT;
    bool lossy = false;
    charset_to_utf8("iso-2022-jp", in, sizeof in - 1, &out, &lossy);
    assert_true(lossy);
    assert_string_equal(out.data, "\xe3\x81\x82\xef\xbf\xbd\xe3\x81\x84ok");
    buf_free(&out);
}

/* Raw GBK in the Subject, the display name and the file name; only the
 * body part declares GBK: that declaration reads the rest. */
static void test_raw_8bit_declared_elsewhere(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("raw8bit_gbk_declared_elsewhere.eml", &m);
    assert_string_equal(m.subject, "\xe7\xbd\x91\xe7\xbb\x9c\xe6\x89\x93\xe5\x8d\xb0\xe6\x9c"
                                   "\xba\xe6\x97\xa0\xe6\xb3\x95\xe8\xbf\x9e\xe6\x8e\xa5");
    assert_string_equal(m.from_name, "\xe7\x8e\x8b\xe4\xbc\x9f"); /* 王伟 */
    assert_int_equal(m.n_atts, 1);
    assert_string_equal(m.atts[0].name, "\xe9\x94\x99\xe8\xaf\xaf\xe6\x8a\xa5\xe5\x91\x8a.txt");
    CONTAINS(m.text, "\xe4\xb8\x89\xe6\xa5\xbc"); /* 三楼 */
    mime_msg_clear(&m);

    parse_file("raw8bit_latin2_declared_elsewhere.eml", &m);
    assert_string_equal(m.subject, "Drukarka na pi\xc4\x99trze \xc5\xba" "le drukuje");
    assert_string_equal(m.from_name, "Micha\xc5\x82 W\xc3\xb3jcik");
    mime_msg_clear(&m);
}

/* Shift_JIS declared nowhere: uchardet reads the mail. */
static void test_raw_8bit_undeclared_detected(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("raw8bit_sjis_undeclared.eml", &m);
    /* 経費精算システムにログインできません */
    assert_string_equal(m.subject, "\xe7\xb5\x8c\xe8\xb2\xbb\xe7\xb2\xbe\xe7\xae\x97\xe3\x82"
                                   "\xb7\xe3\x82\xb9\xe3\x83\x86\xe3\x83\xa0\xe3\x81\xab\xe3"
                                   "\x83\xad\xe3\x82\xb0\xe3\x82\xa4\xe3\x83\xb3\xe3\x81\xa7"
                                   "\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93");
    assert_string_equal(m.from_name, "\xe4\xbd\x90\xe8\x97\xa4 \xe5\x81\xa5"); /* 佐藤 健 */
    CONTAINS(m.text, "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89"); /* パスワード */
    mime_msg_clear(&m);
}

/* ---- headers ------------------------------------------------------------ */

static void test_rfc2047_control_chars_are_spaces(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("rfc2047_crlf_subject.eml", &m);
    assert_string_equal(m.subject, "Wa\xc5\xbcne: serwer plik\xc3\xb3w nie odpowiada  Pilne");
    CONTAINS(m.text, "nie odpowiada od rana");
    assert_true(has_note(&m, "control characters"));
    mime_msg_clear(&m);

    /* The old fixture: a would-be Bcc is only text in the subject. */
    parse_file("header_injection.eml", &m);
    assert_string_equal(m.subject, "Hello  Bcc: victim@example.com");
    assert_string_equal(m.from_addr, "evil@example.com");
    mime_msg_clear(&m);
}

static void test_mbox_from_line_skipped(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("mbox_from_line.eml", &m);
    assert_string_equal(m.from_addr, "ines.costa@example.pt");
    assert_string_equal(m.subject, "Shared calendar not syncing");
    assert_string_equal(m.message_id, "CA+ines.7781@mail.example.pt");
    assert_string_equal(m.text, "Hi,\n\nthe shared \"Field team\" calendar stopped syncing to my "
                                "phone yesterday.\n\nInes");
    mime_msg_clear(&m);
}

static void test_junk_line_skipped(void **state)
{
    (void)state;
    struct mime_msg m;
    parse_file("junk_line_before_headers.eml", &m);
    assert_string_equal(m.from_addr, "a.farouk@example.eg");
    assert_string_equal(m.subject, "Laptop battery swelling");
    assert_null(strstr(m.text, "Message-ID"));
    assert_null(strstr(m.text, "Original email message"));
    CONTAINS(m.text, "the battery of my laptop (asset 10-4471) is swelling");
    mime_msg_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unterminated_last_delimiter),
        cmocka_unit_test(test_unterminated_nested),
        cmocka_unit_test(test_unterminated_eof_in_text),
        cmocka_unit_test(test_closed_mail_untouched),
        cmocka_unit_test(test_alternative_empty_plain),
        cmocka_unit_test(test_parser_gave_up_keeps_text),
        cmocka_unit_test(test_iso2022jp_nec_row13),
        cmocka_unit_test(test_iso2022jp_state_kept_after_error),
        cmocka_unit_test(test_raw_8bit_declared_elsewhere),
        cmocka_unit_test(test_raw_8bit_undeclared_detected),
        cmocka_unit_test(test_rfc2047_control_chars_are_spaces),
        cmocka_unit_test(test_mbox_from_line_skipped),
        cmocka_unit_test(test_junk_line_skipped),
    };
    return cmocka_run_group_tests_name("mime_fidelity", tests, NULL, NULL);
}

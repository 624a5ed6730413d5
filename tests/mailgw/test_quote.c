/* test_quote.c - mailgw/quote.c: the new part of a reply, for the mail
 * clients and languages customers write with; and what must never be
 * cut (inline answers, forwards, text that only looks like a quote). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailgw/flowed.h"
#include "mailgw/mime.h"
#include "mailgw/quote.h"
#include "tests/mailgw/mail_fixture.h"

/* Fewer reply fixtures than this means some went missing. */
#define MIN_REPLY_FIXTURES 60

static void expect(const char *in, const char *want)
{
    char *got = quote_strip(in);
    if (want == NULL) {
        if (got != NULL)
            fail_msg("expected no change for:\n%s\n--- got:\n%s", in, got);
        return;
    }
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("for:\n%s\n--- got:\n%s\n--- expected:\n%s", in, got ? got : "(no change)", want);
    free(got);
}

static void test_attributions(void **state)
{
    (void)state;
    /* Gmail, wrapped over two lines */
    expect("Thanks!\n\nOn Mon, Jun 3, 2024 at 10:00 AM Anna <a@x.example>\nwrote:\n\n> old\n",
           "Thanks!");
    /* Thunderbird English and German */
    expect("Yes.\n\nOn 6/3/24 10:00 AM, Bob wrote:\n> old\n", "Yes.");
    expect("Ja.\n\nAm 03.06.24 um 10:00 schrieb Bob:\n> alt\n", "Ja.");
    /* Gmail German / French / Spanish / Italian / Dutch / Portuguese */
    expect("Ja.\n\nAm Mo., 3. Juni 2024 um 10:00 Uhr schrieb Anna <a@x.example>:\n> alt\n", "Ja.");
    expect("Oui.\n\nLe lun. 3 juin 2024 \xc3\xa0 10:00, Anna <a@x.example> a \xc3\xa9" "crit :\n> x\n",
           "Oui.");
    expect("S\xc3\xad.\n\nEl lun, 3 jun 2024 a las 10:00, Anna (<a@x.example>) escribi\xc3\xb3:\n> x\n",
           "S\xc3\xad.");
    expect("S\xc3\xac.\n\nIl giorno lun 3 giu 2024 alle ore 10:00 Anna <a@x.example> ha scritto:\n> x\n",
           "S\xc3\xac.");
    expect("Ja.\n\nOp ma 3 jun 2024 om 10:00 schreef Anna <a@x.example>:\n> x\n", "Ja.");
    expect("Sim.\n\nEm seg., 3 de jun. de 2024 \xc3\xa0s 10:00, Anna <a@x.example> escreveu:\n> x\n",
           "Sim.");
    /* Apple Mail */
    expect("Done.\n\n> On 3 Jun 2024, at 10:00, Anna <a@x.example> wrote:\n>\n> old\n", "Done.");
    expect("Fertig.\n\n> Am 03.06.2024 um 10:00 schrieb Anna <a@x.example>:\n> alt\n", "Fertig.");
    /* Japanese Gmail: "<date> <name> <addr>:" */
    expect("\xe3\x81\xaf\xe3\x81\x84\n\n2024\xe5\xb9\xb4" "6\xe6\x9c\x88" "3\xe6\x97\xa5(\xe6\x9c\x88) "
           "10:00 Anna <a@x.example>:\n> x\n",
           "\xe3\x81\xaf\xe3\x81\x84");
}

static void test_outlook(void **state)
{
    (void)state;
    expect("Fixed.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTo: me\nSubject: x\n\nold\n",
           "Fixed.");
    expect("Erledigt.\n\n-----Urspr\xc3\xbcngliche Nachricht-----\nVon: Support\nold\n", "Erledigt.");
    expect("Hallo,\nes geht wieder.\n\nVon: Support <s@x.example>\nGesendet: Montag, 3. Juni 2024 10:05\n"
           "An: J\xc3\xbcrgen\nBetreff: [#12] Drucker\n\nIhr Ticket wurde angelegt.\n",
           "Hallo,\nes geht wieder.");
    expect("Merci.\n\nDe : Support <s@x.example>\nEnvoy\xc3\xa9 : lundi 3 juin 2024 10:05\n"
           "\xc3\x80 : Ren\xc3\xa9\nObjet : [#12] Imprimante\n\nold\n",
           "Merci.");
    /* Outlook on the web: a line of underscores, then the block */
    expect("OK.\n\n________________________________\nFrom: Support <s@x.example>\n"
           "Sent: Monday, June 3, 2024 10:05 AM\nTo: me\nSubject: Re: x\n\nold\n",
           "OK.");
    /* Gmail renders <b>From:</b> as *From:* */
    expect("OK.\n\n*From:* Support\n*Sent:* Monday\n*To:* me\n*Subject:* x\n\nold\n", "OK.");
}

static void test_signatures(void **state)
{
    (void)state;
    expect("Text.\n\n-- \nBob\nPhone 123\n", "Text.");
    expect("Text.\n\nSent from my iPhone\n", "Text.");
    expect("Text.\n\nVon meinem iPhone gesendet\n", "Text.");
    expect("Text.\n\nGet Outlook for Android\n", "Text.");
    expect("Text.\n\nEnvoy\xc3\xa9 de mon iPad\n", "Text.");
    /* a closing with contact details goes; one followed by a sentence
     * with a number in it is the message */
    expect("Done.\n\nBest regards,\nJohn Carter\nIT | Contoso Ltd.\n+44 20 7946 0321\n", "Done.");
    expect("Done.\n\nBest regards,\nJohn\n\nMy order number is 12345678.\n", NULL);
    /* disclaimers go; a sentence that starts like one stays */
    expect("Done.\n\nThis email and any attachments are confidential and intended for the addressee only.\n",
           "Done.");
    expect("Done.\n\nThe information contained in this email is for the audit on Monday.\n", NULL);
    /* a long "signature" is probably not one */
    char big[2000] = "Text.\n-- \n";
    for (int i = 0; i < 30; i++)
        strcat(big, "line\n");
    expect(big, NULL);
}

static void test_never_cut(void **state)
{
    (void)state;
    /* a forward is content */
    expect("Please look at this.\n\n---------- Forwarded message ---------\nFrom: Shop <s@x.example>\n"
           "Date: Thu, Jun 6, 2024\nSubject: Order\nTo: me\n\nShipped.\n",
           NULL);
    expect("FYI\n\nBegin forwarded message:\n\nFrom: Shop <s@x.example>\nSubject: Order\n"
           "Date: 6 June 2024\nTo: me\n\nShipped.\n",
           NULL);
    /* "wrote:" in a sentence without any date or address */
    expect("As my colleague wrote:\nthe server is down.\n", NULL);
    expect("Hello,\n\nas I wrote:\nthe server is down.\n", NULL);
    expect("Hello,\n\nI wrote 2 tickets about this already:\n- #1201\n- #1202\n\nPlease merge them.\n", NULL);
    /* a From: line that is not an Outlook header block */
    expect("From: the warehouse team\nWe need more paper.\n", NULL);
    /* a line of dashes is not a Zoho attribution (and reads nothing
     * outside the line) */
    expect("Text.\n\n------------\nmore\n", NULL);
    /* nothing but a quote: keep everything */
    expect("> only quoted text\n> nothing new\n", NULL);
    expect("", NULL);
    expect("plain text without quotes", NULL);
}

/* Inline answers keep the quoted line each one answers; the rest of the
 * quote and the attribution go (issue 15: they used to be kept whole). */
static void test_interleaved(void **state)
{
    (void)state;
    expect("On Mon, 3 Jun 2024 at 10:00, Anna <a@x.example> wrote:\n> Question 1?\nAnswer 1.\n"
           "> Question 2?\nAnswer 2.\n",
           "> Question 1?\nAnswer 1.\n> Question 2?\nAnswer 2.");
    expect("On Mon, 3 Jun 2024 at 10:00, Anna <a@x.example> wrote:\n> Hello,\n>\n> the printer is "
           "broken.\n> Which model is it?\n\nA Kyocera.\n\n> And since when?\n\nToday.\n\n> Thanks,\n> Anna\n",
           "> the printer is broken.\n> Which model is it?\n\nA Kyocera.\n\n> And since when?\n\nToday.");
}

static void test_trailing_quote_block(void **state)
{
    (void)state;
    expect("New text.\n\n> old line 1\n> old line 2\n\n", "New text.");
    expect("New text.\r\n\r\n> old\r\n", "New text.");
}

/* RFC 3676: soft line breaks joined, DelSp, stuffing, quote depth. */
static void test_flowed(void **state)
{
    (void)state;
    struct {
        const char *in, *delsp, *want;
    } cases[] = {
        { "one \ntwo \nthree\n\nnext\n", NULL, "one two three\n\nnext\n" },
        { "\xe6\x97\xa5\xe6\x9c\xac \n\xe8\xaa\x9e\n", "yes", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n" },
        { "Answer.\n\n> quoted \n> line\n>> deeper \n>> still\n", NULL,
          "Answer.\n\n> quoted line\n>> deeper still\n" },
        /* depth change ends a paragraph even after a trailing space */
        { "> a \nb\n", NULL, "> a \nb\n" },
        /* space-stuffed lines and the signature separator */
        { " From here \non.\n-- \nBob\n", NULL, "From here on.\n-- \nBob\n" },
        { "end \n-- \nBob", NULL, "end \n-- \nBob" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct buf b = BUF_INIT;
        buf_puts(&b, cases[i].in);
        flowed_decode(&b, "Flowed", cases[i].delsp);
        if (strcmp(b.data, cases[i].want) != 0)
            fail_msg("flowed case %zu: got [%s] want [%s]", i, b.data, cases[i].want);
        buf_free(&b);
    }
    struct buf b = BUF_INIT;
    buf_puts(&b, "fixed \nlines\n");
    flowed_decode(&b, "fixed", NULL);
    assert_string_equal(b.data, "fixed \nlines\n");
    buf_free(&b);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Trailing blank lines and spaces do not count in a comparison. */
static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* tests/data/mail/replies/NAME.eml through the ingest's path
 * (mime_parse, then quote_strip_reply with the subject; the full text
 * when nothing is stripped) must give NAME.expected. Prints why not. */
static bool reply_fixture_ok(const char *name)
{
    char file[600];
    size_t len, wlen;
    snprintf(file, sizeof file, "replies/%s.eml", name);
    char *raw = mail_read(file, 0, &len);
    snprintf(file, sizeof file, "replies/%s.expected", name);
    char *want = mail_read(file, 0, &wlen);
    struct mime_limits lim = MIME_DEFAULT_LIMITS;
    struct mime_msg m;
    struct td_err err;
    memset(&m, 0, sizeof m);
    bool ok = false;
    if (!mime_parse(raw, len, &lim, &m, &err)) {
        print_message("FAIL %s: mime_parse: %s\n", name, err.msg);
    } else {
        char *stripped = quote_strip_reply(m.text, m.subject);
        char *got = td_strdup(stripped ? stripped : m.text);
        rtrim(got);
        rtrim(want);
        ok = strcmp(got, want) == 0;
        if (!ok)
            print_message("FAIL %s\n--- got:\n%s\n--- expected:\n%s\n---\n", name, got, want);
        free(got);
        free(stripped);
        mime_msg_clear(&m);
    }
    free(raw);
    free(want);
    return ok;
}

/* Every fixture of tests/data/mail/replies/, in name order. */
static void test_reply_fixtures(void **state)
{
    (void)state;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/../data/mail/replies", harness_support_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t k = strlen(e->d_name);
        if (k > 4 && strcmp(e->d_name + k - 4, ".eml") == 0) {
            names = td_realloc(names, (n + 1) * sizeof *names);
            names[n++] = td_strndup(e->d_name, k - 4);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    size_t passed = 0;
    for (size_t i = 0; i < n; i++) {
        if (reply_fixture_ok(names[i]))
            passed++;
        free(names[i]);
    }
    free(names);
    print_message("reply fixtures: %zu, passed: %zu\n", n, passed);
    assert_int_equal(passed, n);
    assert_true(n >= MIN_REPLY_FIXTURES);
}

/* Issue 15, "Quotes and noise" and the signature item: one test each. */
static void test_i15_history_above_signature(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_history_above_signature"));
}

static void test_i15_history_above_list_footer(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_history_above_list_footer"));
}

static void test_i15_wrapped_attribution(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_wrapped_attribution_three_lines"));
    assert_true(reply_fixture_ok("i15_wrapped_attribution_in_address"));
}

static void test_i15_interleaved(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_interleaved_not_whole"));
}

static void test_i15_list_footers(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_list_footer_mailman"));
    assert_true(reply_fixture_ok("i15_list_footer_mailman3"));
}

static void test_i15_sent_from_my_desk(void **state)
{
    (void)state;
    assert_true(reply_fixture_ok("i15_sent_from_my_desk"));
    assert_true(reply_fixture_ok("phone_signature_samsung"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attributions),
        cmocka_unit_test(test_outlook),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_never_cut),
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_trailing_quote_block),
        cmocka_unit_test(test_flowed),
        cmocka_unit_test(test_reply_fixtures),
        cmocka_unit_test(test_i15_history_above_signature),
        cmocka_unit_test(test_i15_history_above_list_footer),
        cmocka_unit_test(test_i15_wrapped_attribution),
        cmocka_unit_test(test_i15_interleaved),
        cmocka_unit_test(test_i15_list_footers),
        cmocka_unit_test(test_i15_sent_from_my_desk),
    };
    return cmocka_run_group_tests_name("quote", tests, NULL, NULL);
}

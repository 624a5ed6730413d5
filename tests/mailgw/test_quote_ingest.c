/* test_quote_ingest.c - reply fixtures of tests/data/mail/replies/
 * through ingest_mail on a real store, once per backend: a customer's
 * reply in each style becomes a comment on their ticket that holds only
 * NAME.expected, with the full mail attached whenever text was cut.
 * (test_quote.c checks every fixture's text; this checks the road from
 * the raw mail to the stored comment for a sample of them.) */
#include "mail_fixture.h"

#include "core/comment.h"
#include "core/core.h"
#include "core/ticket.h"
#include "mailgw/ingest.h"
#include "mailgw/mime.h"
#include "tests/support/store_fixture.h"

/* ASCII subjects with a "[#N]" token, In-Reply-To set, no list headers:
 * one per client family and reply style. */
static const char *const sample[] = {
    "mutt_en_bottom",          "thunderbird_en_bottom",        "neomutt_en_flowed_bottom",
    "gmail_en_interleaved",    "thunderbird_en_interleaved",   "outlook_en_top",
    "outlook_web_en_top",      "apple_en_bottom",              "ios_en_top",
    "k9_en_top",               "samsung_en_top",               "lotus_en_top",
    "i15_history_above_signature", "i15_wrapped_attribution_three_lines",
    "i15_interleaved_not_whole", "mutt_en_single_question",
};

struct qctx {
    struct store *st;
    struct td_core core;
    struct mailgw_settings set;
    struct ingest_ctx ic;
    uint32_t next_uid;
};

static struct qctx X;

static int setup(void **state)
{
    if (store_fixture_setup(state) != 0)
        return -1;
    struct td_err err;
    if (!core_init(&err))
        return -1;
    memset(&X, 0, sizeof X);
    X.st = ((struct store_fixture *)*state)->st;
    core_defaults(&X.core, X.st);
    X.core.pw_cost = PASSWORD_COST_MIN;
    settings_defaults(&X.set);
    strv_push(&X.set.own, "support@support.example.com");
    X.set.loop_id = td_strdup("support@support.example.com");
    X.ic = (struct ingest_ctx){ &X.core, &X.set };
    return 0;
}

static int teardown(void **state)
{
    settings_clear(&X.set);
    return store_fixture_teardown(state);
}

static struct ingest_outcome ingest(const char *raw, size_t len)
{
    struct ingest_src src = { .mailbox = "support", .queue = "helpdesk", .uidvalidity = 1,
                              .uid = ++X.next_uid };
    struct ingest_outcome o;
    ingest_mail(&X.ic, &src, raw, len, &o);
    return o;
}

/* raw with the number of the first "[#N]" in its Subject line replaced
 * by ticket. Caller frees. */
static char *retarget(const char *raw, int64_t ticket)
{
    const char *subj = strstr(raw, "\nSubject:");
    assert_non_null(subj);
    const char *eol = strchr(subj + 1, '\n');
    const char *tok = strstr(subj, "[#");
    assert_true(tok != NULL && tok < eol);
    const char *close = strchr(tok, ']');
    struct buf b = BUF_INIT;
    buf_append(&b, raw, (size_t)(tok - raw));
    buf_printf(&b, "[#%lld", (long long)ticket);
    buf_puts(&b, close);
    return buf_steal(&b);
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void reply_becomes_comment(const char *name)
{
    char file[300];
    size_t len, wlen;
    snprintf(file, sizeof file, "replies/%s.eml", name);
    char *raw = mail_read(file, 0, &len);
    snprintf(file, sizeof file, "replies/%s.expected", name);
    char *want = mail_read(file, 0, &wlen);
    rtrim(want);

    /* The ticket the reply answers: opened by the same sender, with the
     * Message-ID the reply's In-Reply-To names. */
    struct mime_limits lim = MIME_DEFAULT_LIMITS;
    struct mime_msg m;
    struct td_err err;
    assert_true(mime_parse(raw, len, &lim, &m, &err));
    assert_non_null(m.in_reply_to);
    char *full = td_strdup(m.text);
    rtrim(full);
    bool cut = strcmp(full, want) != 0;
    free(full);
    struct buf first = BUF_INIT;
    buf_printf(&first, "From: %s\r\nTo: support@support.example.com\r\nSubject: %s first\r\n"
                       "Message-ID: <%s>\r\nDate: Mon, 3 Jun 2024 09:00:00 +0000\r\n\r\nThe first mail.\r\n",
               mime_header(&m, "From"), name, m.in_reply_to);
    mime_msg_clear(&m);
    struct ingest_outcome o = ingest(first.data, first.len);
    buf_free(&first);
    if (o.result != INGEST_TICKET)
        fail_msg("%s: first mail: %s (%s)", name, ingest_result_name(o.result), o.why);
    int64_t n = o.ticket;

    char *reply = retarget(raw, n);
    o = ingest(reply, strlen(reply));
    if (o.result != INGEST_COMMENT || o.ticket != n)
        fail_msg("%s: reply: %s #%lld (%s), expected a comment on #%lld", name,
                 ingest_result_name(o.result), (long long)o.ticket, o.why, (long long)n);
    struct td_comment_list cl;
    assert_true(X.st->ops->comment_list(X.st, n, true, &cl, &err));
    assert_int_equal(cl.n, 2);
    char *body = td_strdup(cl.v[1].body);
    rtrim(body);
    if (strcmp(body, want) != 0)
        fail_msg("%s: comment\n%s\n--- expected:\n%s", name, body, want);
    /* whenever something was cut, the whole mail is attached */
    assert_int_equal(cl.v[1].n_attachments, cut ? 1 : 0);
    if (cut)
        assert_string_equal(cl.v[1].attachments[0].name, "full-message.txt");
    free(body);
    comment_list_clear(&cl);
    free(reply);
    free(raw);
    free(want);
}

static void test_reply_styles_become_comments(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sample / sizeof *sample; i++)
        reply_becomes_comment(sample[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_styles_become_comments, setup, teardown),
    };
    return store_fixture_run_all("quote_ingest", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

/* test_ingest_fidelity.c - issue 15 through ingest and a real store,
 * once per backend (SQLite and the MongoDB test server): mails whose
 * shape used to lose their text or their sender reach a ticket with
 * everything in it, and a Message-ID alone no longer makes a duplicate. */
#include "mail_fixture.h"

#include "core/comment.h"
#include "core/core.h"
#include "core/ticket.h"
#include "core/user.h"
#include "mailgw/ingest.h"
#include "tests/support/store_fixture.h"

static struct {
    struct store *st;
    struct td_core core;
    struct mailgw_settings set;
    struct ingest_ctx ic;
    struct td_user agent;
    uint32_t next_uid;
} X;

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
    strv_push(&X.set.own, "support@example.com");
    X.set.loop_id = td_strdup("support@example.com");
    strv_push(&X.set.authserv_ids, "mx.example.com");
    X.ic = (struct ingest_ctx){ &X.core, &X.set };
    struct user_new in = { "agent@example.com", "Agent Smith", ROLE_AGENT, "a long enough password" };
    if (!user_create(&X.core, NULL, &in, &X.agent, &err))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    settings_clear(&X.set);
    user_clear(&X.agent);
    return store_fixture_teardown(state);
}

static enum ingest_result ingest_raw(const char *raw, size_t len, struct ingest_outcome *o)
{
    struct ingest_src src = { .mailbox = "support", .queue = "helpdesk", .uidvalidity = 1,
                              .uid = ++X.next_uid };
    ingest_mail(&X.ic, &src, raw, len, o);
    return o->result;
}

static enum ingest_result ingest_file(const char *name, int64_t ticket, struct ingest_outcome *o)
{
    size_t len;
    char *raw = mail_read(name, ticket, &len);
    enum ingest_result r = ingest_raw(raw, len, o);
    free(raw);
    return r;
}

#define EXPECT(res, call)                                                                \
    do {                                                                                 \
        enum ingest_result r_ = (call);                                                  \
        if (r_ != (res))                                                                 \
            fail_msg("%s: %s (%s), expected %s", #call, ingest_result_name(r_), o.why,   \
                     ingest_result_name(res));                                           \
    } while (0)

#define CONTAINS(hay, needle)                                                              \
    do {                                                                                   \
        if (strstr((hay), (needle)) == NULL)                                               \
            fail_msg("'%s' not in:\n%s", (needle), (hay));                                 \
    } while (0)

/* The first comment's body and the requester's address of ticket n
 * (caller frees both). */
static void ticket_text(int64_t n, char **body, char **requester)
{
    struct td_err err;
    struct td_ticket t;
    if (!X.st->ops->ticket_get(X.st, n, &t, &err))
        fail_msg("ticket_get: %s", err.msg);
    struct td_user u;
    if (!X.st->ops->user_get(X.st, t.requester_id, &u, &err))
        fail_msg("user_get: %s", err.msg);
    *requester = td_strdup(u.email);
    user_clear(&u);
    ticket_clear(&t);
    struct td_comment_list cl;
    if (!X.st->ops->comment_list(X.st, n, true, &cl, &err))
        fail_msg("comment_list: %s", err.msg);
    assert_true(cl.n >= 1);
    *body = td_strdup(cl.v[0].body);
    comment_list_clear(&cl);
}

static size_t count_tickets(void)
{
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.limit = 1000;
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    if (!X.st->ops->ticket_list(X.st, &f, &l, &err))
        fail_msg("ticket_list: %s", err.msg);
    size_t n = l.n;
    ticket_list_clear(&l);
    return n;
}

/* ---- text and files reach the ticket ------------------------------------ */

static void test_unterminated_multipart_keeps_all(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("unterminated_last.eml", 0, &o));
    char *body, *req;
    ticket_text(o.ticket, &body, &req);
    CONTAINS(body, "the VPN connection drops every hour");
    assert_null(strstr(body, "(empty message)"));
    struct td_comment_list cl;
    struct td_err err;
    assert_true(X.st->ops->comment_list(X.st, o.ticket, true, &cl, &err));
    assert_int_equal(cl.v[0].n_attachments, 1);
    assert_string_equal(cl.v[0].attachments[0].name, "vpn-client.log");
    comment_list_clear(&cl);
    free(body);
    free(req);

    EXPECT(INGEST_TICKET, ingest_file("unterminated_eof_in_text.eml", 0, &o));
    ticket_text(o.ticket, &body, &req);
    CONTAINS(body, "Seriennummer steht auf dem Aufkleber: CN-4471-B.");
    free(body);
    free(req);
}

static void test_gave_up_is_never_silent(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("multipart_no_boundary.eml", 0, &o));
    char *body, *req;
    ticket_text(o.ticket, &body, &req);
    CONTAINS(body, "Please restart the spooler on prt-c-01.");
    CONTAINS(body, "[ticketd: this mail says it is multipart/mixed");
    free(body);
    free(req);

    EXPECT(INGEST_TICKET, ingest_file("alternative_empty_plain.eml", 0, &o));
    ticket_text(o.ticket, &body, &req);
    CONTAINS(body, "Invalid credentials");
    free(body);
    free(req);
}

/* ---- headers ------------------------------------------------------------ */

static void test_control_chars_ingested(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("rfc2047_crlf_subject.eml", 0, &o));
    struct td_ticket t;
    struct td_err err;
    assert_true(X.st->ops->ticket_get(X.st, o.ticket, &t, &err));
    assert_null(strchr(t.subject, '\r'));
    assert_null(strchr(t.subject, '\n'));
    CONTAINS(t.subject, "Pilne");
    ticket_clear(&t);
}

static void test_line_before_headers(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("mbox_from_line.eml", 0, &o));
    char *body, *req;
    ticket_text(o.ticket, &body, &req);
    assert_string_equal(req, "ines.costa@example.pt");
    assert_null(strstr(body, "Message-ID"));
    free(body);
    free(req);
    EXPECT(INGEST_TICKET, ingest_file("junk_line_before_headers.eml", 0, &o));
    ticket_text(o.ticket, &body, &req);
    assert_string_equal(req, "a.farouk@example.eg");
    assert_null(strstr(body, "Subject:"));
    free(body);
    free(req);
}

static void test_sender_fallback(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("from_garbage_reply_to.eml", 0, &o));
    char *body, *req;
    ticket_text(o.ticket, &body, &req);
    assert_string_equal(req, "olga.petrova@example.ru");
    CONTAINS(body, "was taken from Reply-To]");
    CONTAINS(body, "The \"Download\" button on the invoices page");
    free(body);
    free(req);

    EXPECT(INGEST_TICKET, ingest_file("from_empty_second_from.eml", 0, &o));
    ticket_text(o.ticket, &body, &req);
    assert_string_equal(req, "s.okafor@example.ng");
    CONTAINS(body, "a second From field was used]");
    free(body);
    free(req);

    /* Nothing usable anywhere: still the quarantine. */
    EXPECT(INGEST_QUARANTINED, ingest_file("no_sender.eml", 0, &o));
    CONTAINS(o.why, "no usable sender");
}

/* A Reply-To naming an agent never makes the mail the agent's: its
 * "#note" is no internal note, the reply is no agent reply. */
static void test_fallback_never_an_agent(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
    int64_t n = o.ticket;
    size_t len;
    char *raw = mail_read("agent_note.eml", n, &len);
    struct buf b = BUF_INIT;
    const char *from = strstr(raw, "From: Agent Smith <agent@example.com>");
    assert_non_null(from);
    buf_append(&b, raw, (size_t)(from - raw));
    buf_puts(&b, "From: Agent Smith\r\nReply-To: agent@example.com");
    buf_puts(&b, from + strlen("From: Agent Smith <agent@example.com>"));
    free(raw);
    enum ingest_result r = ingest_raw(b.data, b.len, &o);
    buf_free(&b);
    assert_true(r == INGEST_TICKET || r == INGEST_COMMENT);
    struct td_comment_list cl;
    struct td_err err;
    assert_true(X.st->ops->comment_list(X.st, n, true, &cl, &err));
    for (size_t i = 0; i < cl.n; i++)
        assert_false(cl.v[i].internal);
    comment_list_clear(&cl);
}

/* ---- duplicates ---------------------------------------------------------- */

/* A monitor reuses one Message-ID for every alert: the second alert is a
 * new mail (different content), each redelivery is a duplicate. */
static void test_reused_msgid_same_sender(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("msgid_reused_a.eml", 0, &o));
    int64_t first = o.ticket;
    enum ingest_result r = ingest_file("msgid_reused_b.eml", 0, &o);
    if (r != INGEST_TICKET && r != INGEST_COMMENT)
        fail_msg("the second alert was %s (%s)", ingest_result_name(r), o.why);
    assert_non_null(strstr(o.key, "sha256-"));
    int64_t second = o.ticket;
    EXPECT(INGEST_DUPLICATE, ingest_file("msgid_reused_a.eml", 0, &o));
    assert_int_equal(o.ticket, first);
    EXPECT(INGEST_DUPLICATE, ingest_file("msgid_reused_b.eml", 0, &o));
    assert_int_equal(o.ticket, second);

    /* A redelivery with new trace headers is still the same mail. */
    size_t len;
    char *raw = mail_read("msgid_reused_b.eml", 0, &len);
    struct buf b = BUF_INIT;
    buf_puts(&b, "Received: from mx2.example.com by mx.example.com; Wed, 26 Jun 2024 03:00:09 "
                 "+0000\r\n");
    buf_append(&b, raw, len);
    EXPECT(INGEST_DUPLICATE, ingest_raw(b.data, b.len, &o));
    buf_free(&b);
    free(raw);

    /* Every alert's text is stored exactly once. */
    size_t total = 0;
    for (int64_t t = 1; t <= (first > second ? first : second); t++) {
        struct td_comment_list cl;
        struct td_err err;
        if (!X.st->ops->comment_list(X.st, t, true, &cl, &err))
            continue;
        for (size_t i = 0; i < cl.n; i++)
            if (strstr(cl.v[i].body, "Check: disk /var"))
                total++;
        comment_list_clear(&cl);
    }
    assert_int_equal(total, 2);
}

/* A mail mapped before digests were kept (or a crash between the map
 * and the digest write): nothing to compare, so a repeat Message-ID from
 * the same sender stays a duplicate, as before (never a double ticket). */
static bool digest_not_kept(struct store *st, const char *msgid, const char *digest,
                            struct td_err *err)
{
    (void)st;
    (void)msgid;
    (void)digest;
    (void)err;
    return true;
}

static void test_no_digest_recorded_is_duplicate(void **state)
{
    (void)state;
    const struct store_ops *orig = X.st->ops;
    struct store_ops old = *orig;
    old.msgid_digest_set = digest_not_kept;
    X.st->ops = &old;
    struct ingest_outcome o;
    enum ingest_result r = ingest_file("msgid_reused_a.eml", 0, &o);
    X.st->ops = orig;
    assert_int_equal(r, INGEST_TICKET);
    EXPECT(INGEST_DUPLICATE, ingest_file("msgid_reused_a.eml", 0, &o));
    EXPECT(INGEST_DUPLICATE, ingest_file("msgid_reused_b.eml", 0, &o));
    assert_int_equal(count_tickets(), 1);
}

/* The first mail with a Message-ID was quarantined; a different mail
 * that reuses it (the scanner's firmware repeats ids) is not "already
 * quarantined". */
static void test_reused_msgid_after_quarantine(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_QUARANTINED, ingest_file("no_sender.eml", 0, &o));
    EXPECT(INGEST_TICKET, ingest_file("msgid_reused_after_quarantine.eml", 0, &o));
    assert_non_null(strstr(o.key, "sha256-"));
    EXPECT(INGEST_DUPLICATE, ingest_file("msgid_reused_after_quarantine.eml", 0, &o));
    EXPECT(INGEST_DUPLICATE, ingest_file("no_sender.eml", 0, &o));
    assert_true(o.quarantine_id[0] != '\0');
    assert_int_equal(count_tickets(), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_unterminated_multipart_keeps_all),
        T(test_gave_up_is_never_silent),
        T(test_control_chars_ingested),
        T(test_line_before_headers),
        T(test_sender_fallback),
        T(test_fallback_never_an_agent),
        T(test_reused_msgid_same_sender),
        T(test_no_digest_recorded_is_duplicate),
        T(test_reused_msgid_after_quarantine),
    };
    return store_fixture_run_all("ingest_fidelity", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

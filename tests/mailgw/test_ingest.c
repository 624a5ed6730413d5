/* test_ingest.c - mailgw/ingest.c through core on a real store, once per
 * backend (SQLite and the MongoDB test server): tickets, threaded
 * comments, requesters, bodies, attachments, history; duplicates and
 * crash repair; agents, bounces, automatic mail, loops, rate limits and
 * hostile mail. */
#include "mail_fixture.h"

#include "core/comment.h"
#include "core/core.h"
#include "core/id.h"
#include "core/ticket.h"
#include "core/user.h"
#include "mailgw/ingest.h"
#include "tests/support/store_fixture.h"

/* ---- fixture ------------------------------------------------------------ */

struct ictx {
    struct store *st;
    struct td_core core;
    struct mailgw_settings set;
    struct ingest_ctx ic;
    struct td_user agent;
    uint32_t next_uid;
};

static struct ictx X;

static bool verify_token(void *ctx, const char *token, const char *sender, int64_t *ticket)
{
    int64_t *for_ticket = ctx;
    if (strcmp(token, "t0k3n") != 0 || strcmp(sender, "agent@example.com") != 0)
        return false;
    *ticket = *for_ticket;
    return true;
}

static int64_t token_ticket;

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
    X.set.verify = verify_token;
    X.set.verify_ctx = &token_ticket;
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

/* ---- helpers --------------------------------------------------------------- */

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

static void comments_of(int64_t ticket, struct td_comment_list *l)
{
    struct td_err err;
    if (!X.st->ops->comment_list(X.st, ticket, true, l, &err))
        fail_msg("comment_list: %s", err.msg);
}

static void ticket_of(int64_t n, struct td_ticket *t)
{
    struct td_err err;
    if (!X.st->ops->ticket_get(X.st, n, t, &err))
        fail_msg("ticket_get #%lld: %s", (long long)n, err.msg);
}

static void user_of(const char *id, struct td_user *u)
{
    struct td_err err;
    if (!X.st->ops->user_get(X.st, id, u, &err))
        fail_msg("user_get %s: %s", id, err.msg);
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

static int64_t anna_ticket(void)
{
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
    return o.ticket;
}

/* ---- tickets and comments ------------------------------------------------------ */

static void test_new_ticket(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
    struct td_ticket t;
    ticket_of(o.ticket, &t);
    assert_string_equal(t.subject, "Printer on floor 3 prints blank pages");
    assert_string_equal(t.queue, "helpdesk");
    assert_int_equal(t.status, STATUS_NEW);
    assert_true(strv_contains(&t.message_ids, "CAGmail-0001-anna@mail.gmail.com"));
    struct td_user u;
    user_of(t.requester_id, &u);
    assert_string_equal(u.email, "anna.schmidt@gmail.com");
    assert_string_equal(u.name, "Anna Schmidt");
    assert_int_equal(u.role, ROLE_CUSTOMER);
    user_clear(&u);
    struct td_comment_list cl;
    comments_of(o.ticket, &cl);
    assert_int_equal(cl.n, 1);
    assert_false(cl.v[0].internal);
    assert_int_equal(cl.v[0].source, SOURCE_EMAIL);
    assert_string_equal(cl.v[0].author_id, t.requester_id);
    assert_non_null(strstr(cl.v[0].body, "replaced the toner \xe2\x80\x93 no change."));
    assert_string_equal(cl.v[0].message_id, "CAGmail-0001-anna@mail.gmail.com");
    comment_list_clear(&cl);
    struct td_event_list h;
    struct td_err err;
    assert_true(X.st->ops->history_list(X.st, o.ticket, &h, &err));
    assert_true(h.n >= 2);
    assert_int_equal(h.v[0].kind, EVENT_CREATED);
    assert_null(h.v[0].old_value); /* not auto-submitted: it gets an acknowledgement */
    event_list_clear(&h);
    ticket_clear(&t);

    /* More samples open tickets with the right subjects. */
    EXPECT(INGEST_TICKET, ingest_file("shift_jis_new.eml", 0, &o));
    ticket_of(o.ticket, &t);
    assert_string_equal(t.subject, "\xe3\x83\x97\xe3\x83\xaa\xe3\x83\xb3\xe3\x82\xbf\xe3\x83\xbc"
                                   "\xe6\x95\x85\xe9\x9a\x9c");
    ticket_clear(&t);
    EXPECT(INGEST_TICKET, ingest_file("gmail_forward.eml", 0, &o));
    ticket_of(o.ticket, &t);
    assert_string_equal(t.subject, "Your order 4711");
    comments_of(o.ticket, &cl);
    assert_non_null(strstr(cl.v[0].body, "Your order 4711 has shipped.")); /* forwards are kept */
    comment_list_clear(&cl);
    ticket_clear(&t);
    EXPECT(INGEST_TICKET, ingest_file("html_only.eml", 0, &o));
    comments_of(o.ticket, &cl);
    assert_non_null(strstr(cl.v[0].body, "I cannot log in to the portal since Monday."));
    comment_list_clear(&cl);
}

static void test_reply_is_comment(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_file("gmail_reply.eml", 0, &o));
    assert_int_equal(o.ticket, n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    /* the quoted history is stripped; the full text is kept as an attachment */
    assert_string_equal(cl.v[1].body, "It works again after the restart, thank you!");
    assert_int_equal(cl.v[1].n_attachments, 1);
    assert_string_equal(cl.v[1].attachments[0].name, "full-message.txt");
    struct td_attachment a;
    struct td_err err;
    assert_true(X.st->ops->attachment_get(X.st, cl.v[1].attachments[0].id, &a, &err));
    assert_non_null(memmem(a.data, a.size, "> We already replaced the toner", 31));
    attachment_clear(&a);
    comment_list_clear(&cl);
    assert_int_equal(count_tickets(), 1);
}

static void test_stranger_reply_opens_own_ticket(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ingest_outcome o;
    /* Rene and Bob reply to Anna's thread (In-Reply-To, and Bob also with
     * the token): they are not its requester, so core will not let them
     * write there - their mails become tickets of their own. */
    EXPECT(INGEST_TICKET, ingest_file("apple_reply_fr.eml", n, &o));
    assert_true(o.ticket != n);
    EXPECT(INGEST_TICKET, ingest_file("thunderbird_reply.eml", n, &o));
    assert_true(o.ticket != n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 1);
    comment_list_clear(&cl);
}

static void test_token_and_notification_threading(void **state)
{
    (void)state;
    static const char first[] = "From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <j.mueller@firma.de>\r\n"
                                "To: support@example.com\r\nSubject: Drucker druckt leere Seiten\r\n"
                                "Message-ID: <de-first@firma.de>\r\n\r\nDer Drucker ist kaputt.\r\n";
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_raw(first, strlen(first), &o));
    int64_t n = o.ticket;
    /* the acknowledgement the notifications sent joined the thread */
    struct td_err err;
    assert_true(X.st->ops->ticket_add_msgid(X.st, n, "notify-1-ack@example.com", &err));
    EXPECT(INGEST_COMMENT, ingest_file("outlook_reply_de.eml", n, &o));
    assert_int_equal(o.ticket, n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    assert_string_equal(cl.v[1].body, "Hallo,\n\ndas Problem besteht weiterhin. Gr\xc3\xbc\xc3\x9f"
                                      "e aus M\xc3\xbcnchen \xe2\x80\x93 und danke f\xc3\xbcr die "
                                      "schnelle Antwort.\n\nMit freundlichen Gr\xc3\xbc\xc3\x9f"
                                      "en\nJ\xc3\xbcrgen M\xc3\xbcller");
    comment_list_clear(&cl);
    /* the token alone threads too */
    char tok[300];
    snprintf(tok, sizeof tok, "From: j.mueller@firma.de\r\nSubject: AW: [#%lld] noch was\r\n"
                              "Message-ID: <de-token@firma.de>\r\n\r\nNoch eine Frage.\r\n",
             (long long)n);
    EXPECT(INGEST_COMMENT, ingest_raw(tok, strlen(tok), &o));
    assert_int_equal(o.ticket, n);
    /* References alone (newest first) thread as well */
    static const char refs[] = "From: j.mueller@firma.de\r\nSubject: noch eine Sache\r\n"
                               "Message-ID: <de-refs@firma.de>\r\n"
                               "References: <unknown-1@x.example> <de-first@firma.de>\r\n"
                               "\t<unknown-2@x.example>\r\n\r\nNachtrag.\r\n";
    EXPECT(INGEST_COMMENT, ingest_raw(refs, strlen(refs), &o));
    assert_int_equal(o.ticket, n);
    /* a token for a ticket that does not exist: a new ticket */
    static const char ghost[] = "From: j.mueller@firma.de\r\nSubject: Re: [#999999] hm\r\n"
                                "Message-ID: <de-ghost@firma.de>\r\n\r\nHallo?\r\n";
    EXPECT(INGEST_TICKET, ingest_raw(ghost, strlen(ghost), &o));
    struct td_ticket t;
    ticket_of(o.ticket, &t);
    assert_string_equal(t.subject, "hm");
    ticket_clear(&t);
}

static void test_customer_reply_reopens(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ticket_patch p = { .has_status = true, .status = STATUS_PENDING };
    struct td_err err;
    assert_true(ticket_update(&X.core, &X.agent, n, &p, 0, NULL, &err));
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_file("gmail_reply.eml", 0, &o));
    struct td_ticket t;
    ticket_of(n, &t);
    assert_int_equal(t.status, STATUS_OPEN);
    ticket_clear(&t);
}

static void test_attachments(void **state)
{
    (void)state;
    X.core.max_attachment = 50; /* the 51-byte PDF and the 70-byte PNG are over it */
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("attachments.eml", 0, &o));
    struct td_comment_list cl;
    comments_of(o.ticket, &cl);
    assert_int_equal(cl.n, 1);
    assert_int_equal(cl.v[0].n_attachments, 2);
    assert_string_equal(cl.v[0].attachments[0].name, "long name part\xc3\xa9.txt");
    assert_string_equal(cl.v[0].attachments[0].content_type, "text/plain");
    assert_int_equal(cl.v[0].attachments[0].size, 15);
    assert_string_equal(cl.v[0].attachments[1].name, "evil.exe");
    /* dropped with a note, the mail still ingested */
    assert_non_null(strstr(cl.v[0].body, "'screen.png' (70 bytes) was dropped"));
    assert_non_null(strstr(cl.v[0].body, "'Vertr\xc3\xa4ge \xe2\x82\xac 2024.pdf' (51 bytes) was dropped"));
    struct td_attachment a;
    struct td_err err;
    assert_true(X.st->ops->attachment_get(X.st, cl.v[0].attachments[0].id, &a, &err));
    assert_int_equal(a.size, 15);
    assert_memory_equal(a.data, "these are notes", 15);
    attachment_clear(&a);
    comment_list_clear(&cl);
}

/* ---- exactly once ----------------------------------------------------------------- */

static void test_duplicates(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ingest_outcome o;
    EXPECT(INGEST_DUPLICATE, ingest_file("gmail_new.eml", 0, &o));
    assert_int_equal(o.ticket, n);
    EXPECT(INGEST_COMMENT, ingest_file("gmail_reply.eml", 0, &o));
    EXPECT(INGEST_DUPLICATE, ingest_file("gmail_reply.eml", 0, &o));
    assert_int_equal(count_tickets(), 1);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    comment_list_clear(&cl);

    /* Without a Message-ID: the content digest; another delivery of the
     * same mail (new trace headers) is still the same mail. */
    EXPECT(INGEST_TICKET, ingest_file("no_msgid.eml", 0, &o));
    assert_non_null(strstr(o.key, "sha256-"));
    size_t len;
    char *raw = mail_read("no_msgid.eml", 0, &len);
    struct buf b = BUF_INIT;
    buf_puts(&b, "Received: from mx2.example.com by mx.example.com; Sat, 8 Jun 2024 10:00:00 +0000\r\n"
                 "Delivered-To: support@example.com\r\n");
    buf_append(&b, raw, len);
    EXPECT(INGEST_DUPLICATE, ingest_raw(b.data, b.len, &o));
    buf_free(&b);
    free(raw);
    assert_int_equal(count_tickets(), 2);
}

/* A crash between ticket_open's two writes left a ticket holding the
 * mail's Message-ID without its description: the next attempt adds it. */
static void test_half_done_is_finished(void **state)
{
    (void)state;
    struct td_err err;
    struct td_user anna;
    assert_true(user_ensure_customer(&X.core, "anna.schmidt@gmail.com", "Anna", &anna, &err));
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    assert_true(X.st->ops->ticket_next_number(X.st, &t.number, &err));
    t.subject = td_strdup("Printer on floor 3 prints blank pages");
    t.queue = td_strdup("helpdesk");
    memcpy(t.requester_id, anna.id, sizeof t.requester_id);
    strv_push(&t.message_ids, "CAGmail-0001-anna@mail.gmail.com");
    t.created = t.updated = td_now();
    t.version = 1;
    struct td_event ev = { .ticket = t.number, .kind = EVENT_CREATED, .at = t.created };
    assert_true(X.st->ops->ticket_insert(X.st, &t, &ev, &err));
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_file("gmail_new.eml", 0, &o));
    assert_int_equal(o.ticket, t.number);
    struct td_comment_list cl;
    comments_of(t.number, &cl);
    assert_int_equal(cl.n, 1);
    assert_non_null(strstr(cl.v[0].body, "prints only blank pages"));
    comment_list_clear(&cl);
    EXPECT(INGEST_DUPLICATE, ingest_file("gmail_new.eml", 0, &o));
    assert_int_equal(count_tickets(), 1);
    ticket_clear(&t);
    user_clear(&anna);
}

/* Someone else's mail reusing a known Message-ID is not a duplicate. */
static void test_reused_message_id(void **state)
{
    (void)state;
    anna_ticket();
    static const char evil[] = "From: mallory@evil.example\r\nSubject: mine\r\n"
                               "Message-ID: <CAGmail-0001-anna@mail.gmail.com>\r\n\r\nhello\r\n";
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_raw(evil, strlen(evil), &o));
    assert_non_null(strstr(o.key, "sha256-"));
    EXPECT(INGEST_DUPLICATE, ingest_raw(evil, strlen(evil), &o));
    assert_int_equal(count_tickets(), 2);
}

/* ---- agents ---------------------------------------------------------------------- */

static void test_trusted_agent_note(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_file("agent_note.eml", n, &o));
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    assert_true(cl.v[1].internal);
    assert_string_equal(cl.v[1].author_id, X.agent.id);
    assert_string_equal(cl.v[1].body, "Toner was fine, the fuser is broken. Ordered a new one.");
    comment_list_clear(&cl);
}

static void test_forged_agent_quarantined(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    size_t before = count_tickets();
    struct ingest_outcome o;
    /* No ticket in the agent's name (tests/mailgw/test_agent_guard.c has
     * the rest: reason, notice, its limit). */
    EXPECT(INGEST_QUARANTINED, ingest_file("agent_forged.eml", n, &o));
    assert_non_null(strstr(o.why, "untrusted_agent"));
    assert_int_equal(count_tickets(), before);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 1); /* nothing reached Anna's ticket */
    comment_list_clear(&cl);
}

static void test_reply_token_agent(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    token_ticket = n;
    static const char reply[] = "From: Agent Smith <agent@example.com>\r\n"
                                "To: support+t0k3n@example.com\r\nSubject: Re: your printer\r\n"
                                "Message-ID: <agent-token-1@example.com>\r\n\r\n"
                                "We are sending a technician.\r\n\r\n> old text\r\n";
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_raw(reply, strlen(reply), &o));
    assert_int_equal(o.ticket, n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    assert_false(cl.v[1].internal); /* a public reply */
    assert_string_equal(cl.v[1].author_id, X.agent.id);
    assert_string_equal(cl.v[1].body, "We are sending a technician.");
    comment_list_clear(&cl);
    struct td_ticket t;
    ticket_of(n, &t);
    assert_int_equal(t.status, STATUS_OPEN); /* the first staff answer opens it */
    ticket_clear(&t);
}

/* ---- noise and loops ---------------------------------------------------------------- */

static void test_bounce_attaches_to_ticket(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct td_err err;
    assert_true(X.st->ops->ticket_add_msgid(X.st, n, "notify-1-ack@example.com", &err));
    struct ingest_outcome o;
    EXPECT(INGEST_COMMENT, ingest_file("dsn_bounce.eml", n, &o));
    assert_int_equal(o.ticket, n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_int_equal(cl.n, 2);
    assert_true(cl.v[1].internal);
    assert_string_equal(cl.v[1].author_id, ""); /* the system */
    assert_non_null(strstr(cl.v[1].body, "Delivery failure report from mailer-daemon@mx.example.com"));
    assert_non_null(strstr(cl.v[1].body, "nobody@nowhere.example: failed 5.1.1"));
    comment_list_clear(&cl);
    struct td_ticket t;
    ticket_of(n, &t);
    assert_int_equal(t.status, STATUS_NEW);
    ticket_clear(&t);
    EXPECT(INGEST_DUPLICATE, ingest_file("dsn_bounce.eml", n, &o));
}

static void test_unknown_bounce_quarantined(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_QUARANTINED, ingest_file("dsn_bounce.eml", 1, &o));
    assert_non_null(strstr(o.why, "bounce"));
}

static void test_automatic_mail(void **state)
{
    (void)state;
    int64_t n = anna_ticket();
    struct ticket_patch p = { .has_status = true, .status = STATUS_PENDING };
    struct td_err err;
    assert_true(ticket_update(&X.core, &X.agent, n, &p, 0, NULL, &err));
    struct ingest_outcome o;
    /* an out-of-office on the thread: an internal note, no reopening */
    EXPECT(INGEST_COMMENT, ingest_file("autoreply.eml", 0, &o));
    assert_int_equal(o.ticket, n);
    struct td_comment_list cl;
    comments_of(n, &cl);
    assert_true(cl.v[cl.n - 1].internal);
    assert_non_null(strstr(cl.v[cl.n - 1].body, "Automatic mail from anna.schmidt@gmail.com"));
    comment_list_clear(&cl);
    struct td_ticket t;
    ticket_of(n, &t);
    assert_int_equal(t.status, STATUS_PENDING);
    ticket_clear(&t);
    /* automatic mail starting a thread: a ticket that gets no acknowledgement */
    const char *const names[] = { "outlook_oof_new.eml", "list_mail.eml" };
    for (int i = 0; i < 2; i++) {
        EXPECT(INGEST_TICKET, ingest_file(names[i], 0, &o));
        struct td_event_list h;
        assert_true(X.st->ops->history_list(X.st, o.ticket, &h, &err));
        assert_int_equal(h.v[0].kind, EVENT_CREATED);
        assert_string_equal(h.v[0].old_value, TICKET_CREATED_AUTO);
        event_list_clear(&h);
    }
}

static void test_own_mail_quarantined(void **state)
{
    (void)state;
    static const char own[] = "From: Support <support@example.com>\r\nSubject: [#1] ack\r\n"
                              "Message-ID: <own-1@example.com>\r\n\r\nYour ticket was created.\r\n";
    static const char looped[] = "From: someone@else.example\r\nX-Loop: support@example.com\r\n"
                                 "Subject: Re: ack\r\nMessage-ID: <loop-1@else.example>\r\n\r\nx\r\n";
    struct ingest_outcome o;
    EXPECT(INGEST_QUARANTINED, ingest_raw(own, strlen(own), &o));
    assert_non_null(strstr(o.why, "mail loop"));
    EXPECT(INGEST_QUARANTINED, ingest_raw(looped, strlen(looped), &o));
    assert_non_null(strstr(o.why, "X-Loop"));
    assert_int_equal(count_tickets(), 0);
    /* fetched again: still one entry each */
    EXPECT(INGEST_DUPLICATE, ingest_raw(own, strlen(own), &o));
    struct td_quarantine_list l = { NULL, 0 };
    struct td_err err;
    assert_true(X.st->ops->quarantine_list(X.st, 0, &l, &err));
    assert_int_equal(l.n, 2);
    quarantine_list_clear(&l);
}

static void test_rate_limit_quarantines_then_retry(void **state)
{
    (void)state;
    X.set.rate_limit = 2;
    struct ingest_outcome o;
    char mail[3][200];
    for (int i = 0; i < 3; i++)
        snprintf(mail[i], sizeof mail[i], "From: flood@example.net\r\nSubject: ticket %d\r\n"
                                          "Message-ID: <flood-%d@example.net>\r\n\r\nbody %d\r\n",
                 i, i, i);
    EXPECT(INGEST_TICKET, ingest_raw(mail[0], strlen(mail[0]), &o));
    EXPECT(INGEST_TICKET, ingest_raw(mail[1], strlen(mail[1]), &o));
    EXPECT(INGEST_QUARANTINED, ingest_raw(mail[2], strlen(mail[2]), &o));
    assert_non_null(strstr(o.why, "rate limit"));
    char qid[TD_ID_LEN + 1];
    memcpy(qid, o.quarantine_id, sizeof qid);
    /* the raw mail is kept, byte for byte */
    struct td_quarantine q;
    struct td_err err;
    assert_true(X.st->ops->quarantine_get(X.st, qid, &q, &err));
    assert_int_equal(q.raw_len, strlen(mail[2]));
    assert_memory_equal(q.raw, mail[2], q.raw_len);
    assert_string_equal(q.mailbox, "support");
    assert_string_equal(q.sender, "flood@example.net");
    assert_string_equal(q.subject, "ticket 2");
    /* fetched again before anyone looked: not a second entry, not a ticket */
    EXPECT(INGEST_DUPLICATE, ingest_raw(mail[2], strlen(mail[2]), &o));
    /* an admin's retry ingests it despite the limit */
    struct ingest_src src = { .mailbox = "", .queue = "helpdesk", .retry = true };
    ingest_mail(&X.ic, &src, (const char *)q.raw, q.raw_len, &o);
    assert_int_equal(o.result, INGEST_TICKET);
    quarantine_clear(&q);
    assert_int_equal(count_tickets(), 3);
}

static void test_hostile_mail_quarantined(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_QUARANTINED, ingest_file("no_sender.eml", 0, &o));
    assert_non_null(strstr(o.why, "no usable sender"));
    struct td_quarantine q;
    struct td_err err;
    assert_true(X.st->ops->quarantine_get(X.st, o.quarantine_id, &q, &err));
    size_t len;
    char *raw = mail_read("no_sender.eml", 0, &len);
    assert_int_equal(q.raw_len, len);
    assert_memory_equal(q.raw, raw, len);
    free(raw);
    quarantine_clear(&q);

    struct buf b = BUF_INIT;
    buf_puts(&b, "From: a@b.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
    EXPECT(INGEST_QUARANTINED, ingest_raw(b.data, b.len, &o));
    assert_non_null(strstr(o.why, "MIME parts"));
    buf_free(&b);

    static const char nosender[] = "Subject: who?\r\nMessage-ID: <anon@x.example>\r\n\r\nx\r\n";
    EXPECT(INGEST_QUARANTINED, ingest_raw(nosender, strlen(nosender), &o));
    assert_non_null(strstr(o.why, "sender"));

    /* Over max_mail_bytes: only the head was fetched; it is kept and the
     * mail must stay on the server. */
    static const char head[] = "From: big@x.example\r\nSubject: huge\r\n\r\nAAAA";
    struct ingest_src src = { .mailbox = "support", .uidvalidity = 1, .uid = 77,
                              .full_size = 100u << 20 };
    ingest_mail(&X.ic, &src, head, strlen(head), &o);
    assert_int_equal(o.result, INGEST_QUARANTINED);
    assert_true(o.keep_on_server);
    assert_non_null(strstr(o.why, "104857600 bytes"));
    assert_true(X.st->ops->quarantine_get(X.st, o.quarantine_id, &q, &err));
    assert_int_equal(q.raw_size, 100u << 20);
    assert_int_equal(q.uid, 77);
    quarantine_clear(&q);
    assert_int_equal(count_tickets(), 0);
}

/* ---- the store fails ------------------------------------------------------------------ */

static bool down(struct store *st, const char *msgid, struct td_comment *out, struct td_err *err)
{
    (void)st;
    (void)msgid;
    (void)out;
    return td_fail(err, TD_UNAVAILABLE, "the store is down (test)");
}

static void test_store_down_means_retry(void **state)
{
    (void)state;
    const struct store_ops *orig = X.st->ops;
    struct store_ops broken = *orig;
    broken.comment_find_by_msgid = down;
    X.st->ops = &broken;
    struct ingest_outcome o;
    enum ingest_result r = ingest_file("gmail_new.eml", 0, &o);
    X.st->ops = orig;
    assert_int_equal(r, INGEST_RETRY);
    assert_non_null(strstr(o.why, "down"));
    assert_int_equal(count_tickets(), 0);
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_ticket),
        T(test_reply_is_comment),
        T(test_stranger_reply_opens_own_ticket),
        T(test_token_and_notification_threading),
        T(test_customer_reply_reopens),
        T(test_attachments),
        T(test_duplicates),
        T(test_half_done_is_finished),
        T(test_reused_message_id),
        T(test_trusted_agent_note),
        T(test_forged_agent_quarantined),
        T(test_reply_token_agent),
        T(test_bounce_attaches_to_ticket),
        T(test_unknown_bounce_quarantined),
        T(test_automatic_mail),
        T(test_own_mail_quarantined),
        T(test_rate_limit_quarantines_then_retry),
        T(test_hostile_mail_quarantined),
        T(test_store_down_means_retry),
    };
    return store_fixture_run_all("ingest", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

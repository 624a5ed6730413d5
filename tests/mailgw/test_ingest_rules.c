/* test_ingest_rules.c - who a mail is from and what it may do: agents, bounces,
 * automatic mail, loops, rate limits, hostile mail, a store that is down (ingest_fixture.h). */
#include "tests/mailgw/ingest_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    return store_fixture_run_all("ingest_rules", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

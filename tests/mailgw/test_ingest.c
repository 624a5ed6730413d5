/* test_ingest.c - mail becomes tickets and threaded comments (requesters, bodies,
 * attachments, history), exactly once across duplicates and half-done work (ingest_fixture.h). */
#include "tests/mailgw/ingest_fixture.h"

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
    struct strv thread = STRV_INIT;
    struct td_err terr;
    assert_true(X.st->ops->ticket_thread_ids(X.st, o.ticket, 10, &thread, &terr));
    assert_true(strv_contains(&thread, "CAGmail-0001-anna@mail.gmail.com"));
    strv_clear(&thread);
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
    };
    return store_fixture_run_all("ingest", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

/* test_sender.c - the outbox sender against the harness's SMTP sink, on
 * SQLite and on MongoDB (sender_fixture.h): the mails each event produces,
 * threading and signed Reply-To, header injection, an SMTP outage,
 * concurrent senders. How a queued mail wakes the sending threads:
 * test_sender_wake.c. */
#include "tests/notify/sender_fixture.h"
#include "tests/support/store_commits.h"

/* ---- the mails of every event ---- */

static void every_event_mails_the_right_people(void **state)
{
    struct nfx *f = *state;
    struct td_err err;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Printer on fire", "It burns.\nPlease help.");
    nfx_comment(f, &f->agent2, n, "Try water.\n\n-- Bo", false);
    nfx_comment(f, &f->cust1, n, "Water made it worse!", false);
    assert_true(ticket_assign(&f->core, &f->admin, n, f->agent1.id, NULL, &err));
    nfx_comment(f, &f->agent2, n, "SECRET: customer is on fire too", true);
    nfx_status(f, &f->agent1, n, STATUS_RESOLVED);
    size_t rows = rows_in(f, -1);
    assert_int_equal(rows, 1 + 3 + 1 + 3 + 1 + 1 + 1);
    assert_int_equal(drain(s), rows);
    assert_int_equal(rows_in(f, OUTBOX_SENT), rows);

    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, rows);
    char tok[32];
    snprintf(tok, sizeof tok, "[#%lld]", (long long)n);
    /* Every mail: threaded, tokened, looped-guarded, signed Reply-To
     * naming its recipient, and its Message-ID in the ticket's thread. */
    char root[200];
    sender_ticket_msgid("example.com", n, root, sizeof root);
    struct reply_keys keys;
    assert_true(reply_keys_init(&keys, NFX_SECRET, NULL, &err));
    for (size_t i = 0; i < box.n; i++) {
        const struct mc_mail *m = &box.v[i];
        char *subj = mc_header(m, "Subject");
        assert_non_null(strstr(subj, tok));
        /* An agent's reply to the customer names the agent ([smtp]
         * from_via); everything else comes from the support desk. */
        bool agent_reply = strstr(subj, "Re: ") != NULL && strstr(mc_raw(m, "X-RcptTo"), "cust1") != NULL;
        free(subj);
        assert_header(m, "From", agent_reply ? "\"Bo Agent via ACME Support\" <support@example.com>"
                                             : "\"ACME Support\" <support@example.com>");
        assert_header(m, "X-Loop", "support@example.com");
        assert_header(m, "In-Reply-To", root);
        assert_non_null(strstr(mc_raw(m, "References"), root));
        const char *mid = mc_raw(m, "Message-ID");
        assert_non_null(mid);
        assert_memory_equal(mid, "<ticketd.", 9);
        int64_t owner = 0;
        assert_true(f->st->ops->ticket_find_by_msgid(f->st, mid, &owner, &err));
        assert_int_equal(owner, n);
        const char *rt = mc_raw(m, "Reply-To");
        const char *lt = strchr(rt, '<'), *gt = strchr(rt, '>');
        assert_non_null(lt);
        char addr[200];
        snprintf(addr, sizeof addr, "%.*s", (int)(gt - lt - 1), lt + 1);
        int64_t tn = 0;
        char uid[TD_ID_LEN + 1];
        assert_true(reply_address_verify(&keys, NFX_SUPPORT, addr, &tn, uid));
        assert_int_equal(tn, n);
        struct td_user u;
        assert_true(f->st->ops->user_get(f->st, uid, &u, &err));
        assert_non_null(strstr(mc_raw(m, "X-RcptTo"), u.email));
        assert_non_null(strstr(mc_raw(m, "To"), u.email));
        user_clear(&u);
        /* Nothing internal ever reaches the customer. */
        if (strstr(mc_raw(m, "X-RcptTo"), "cust1")) {
            char *body = mc_text(m, "text/plain");
            assert_null(strstr(body, "SECRET"));
            free(body);
        }
    }
    reply_keys_wipe(&keys);

    assert_int_equal(mc_box_count(&box, "cust1@example.org", NULL), 3);
    const struct mc_mail *m = NULL;
    for (size_t i = 0; i < box.n; i++) {
        char *b = mc_text(&box.v[i], "text/plain");
        if (strstr(mc_raw(&box.v[i], "X-RcptTo"), "cust1") && strstr(b, "Thank you for contacting us"))
            m = &box.v[i];
        free(b);
    }
    assert_non_null(m);
    assert_header(m, "Auto-Submitted", "auto-replied");
    assert_header(m, "To", "\"Cy Customer\" <cust1@example.org>");
    char *body = mc_text(m, "text/plain");
    assert_non_null(strstr(body, "It burns.\nPlease help."));
    assert_non_null(strstr(body, "Hello Cy Customer,"));
    free(body);

    m = only(&box, "cust1@example.org", "Re: ");
    assert_int_equal(mc_count(m, "Auto-Submitted"), 0); /* an agent wrote it */
    body = mc_text(m, "text/plain");
    assert_non_null(strstr(body, "Try water.\n\n-- Bo"));
    free(body);
    body = mc_text(m, "text/html"); /* reply_to_requester has an HTML part */
    assert_non_null(body);
    assert_non_null(strstr(body, "Try water.<br>"));
    free(body);

    m = only(&box, "cust1@example.org", "Resolved");
    assert_header(m, "Auto-Submitted", "auto-generated");

    for (int a = 0; a < 3; a++) {
        const char *who[] = { "admin@example.com", "agent1@example.com", "agent2@example.com" };
        only(&box, who[a], "New ticket");
        only(&box, who[a], "Re: ");
    }
    m = only(&box, "agent1@example.com", "Assigned to you");
    assert_header(m, "Auto-Submitted", "auto-generated"); /* agents' responders keep quiet */
    assert_header(m, "X-Auto-Response-Suppress", "All");
    m = only(&box, "agent1@example.com", "Internal note");
    body = mc_text(m, "text/plain");
    assert_non_null(strstr(body, "SECRET: customer is on fire too"));
    free(body);
    assert_int_equal(mc_box_count(&box, "agent2@example.com", "Internal"), 0);
    mc_box_free(&box);
    sender_free(s);
}

static void mail_tickets_thread_to_the_original(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    struct ticket_new in = { .subject = "From my mail client", .body = "hi",
                             .source = SOURCE_EMAIL, .message_id = "<CAF=orig.1@mail.example.org>" };
    struct td_ticket t;
    struct td_err err;
    assert_true(ticket_open(&f->core, &f->cust1, &in, &t, &err));
    drain(s);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 4);
    for (size_t i = 0; i < box.n; i++) {
        assert_header(&box.v[i], "In-Reply-To", "<CAF=orig.1@mail.example.org>");
        assert_non_null(strstr(mc_raw(&box.v[i], "References"), "<CAF=orig.1@mail.example.org>"));
    }
    mc_box_free(&box);
    /* Later mails reference the earlier ones too. */
    mc_box_empty(sink.maildir);
    nfx_comment(f, &f->agent1, t.number, "answer", false);
    drain(s);
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 1);
    const char *refs = mc_raw(&box.v[0], "References");
    assert_non_null(strstr(refs, "<CAF=orig.1@mail.example.org>"));
    assert_non_null(strstr(refs, "<ticketd."));
    mc_box_free(&box);
    ticket_clear(&t);
    /* The mail gateway stores Message-IDs without angle brackets: they
     * get them back in our headers. */
    mc_box_empty(sink.maildir);
    struct ticket_new in2 = { .subject = "Bare id", .body = "hi", .source = SOURCE_EMAIL,
                              .message_id = "bare.2@mail.example.org" };
    assert_true(ticket_open(&f->core, &f->cust2, &in2, &t, &err));
    drain(s);
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 4);
    for (size_t i = 0; i < box.n; i++)
        assert_header(&box.v[i], "In-Reply-To", "<bare.2@mail.example.org>");
    mc_box_free(&box);
    ticket_clear(&t);
    sender_free(s);
}

/* What the mail gateway asks about a reply to a signed Reply-To. */
static void reply_tokens_name_the_recipient(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Token", "x");
    drain(s);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    const struct mc_mail *m = only(&box, "agent2@example.com", "New ticket");
    const char *rt = mc_raw(m, "Reply-To");
    const char *plus = strchr(rt, '+'), *at = strchr(rt, '@');
    assert_non_null(plus);
    char token[100];
    snprintf(token, sizeof token, "%.*s", (int)(at - plus - 1), plus + 1);
    mc_box_free(&box);
    struct reply_keys keys;
    struct td_err err;
    assert_true(reply_keys_init(&keys, NFX_SECRET, NULL, &err));
    struct reply_verifier v = { &keys, f->st };
    int64_t t = 0;
    assert_true(reply_token_verify_sender(&v, token, "agent2@example.com", &t));
    assert_int_equal(t, n);
    assert_true(reply_token_verify_sender(&v, token, "AGENT2@Example.COM", &t));
    /* Forwarded to someone else, who replies: not trusted as agent2. */
    assert_false(reply_token_verify_sender(&v, token, "agent1@example.com", &t));
    assert_false(reply_token_verify_sender(&v, token, "cust1@example.org", &t));
    token[3] = token[3] == 'a' ? 'b' : 'a';
    assert_false(reply_token_verify_sender(&v, token, "agent2@example.com", &t));
    token[3] = token[3] == 'a' ? 'b' : 'a';
    /* A disabled agent's token dies with the account. */
    assert_true(user_set_disabled(&f->core, &f->admin, f->agent2.id, true, &err));
    assert_false(reply_token_verify_sender(&v, token, "agent2@example.com", &t));
    reply_keys_wipe(&keys);
    sender_free(s);
}

/* ---- hostile values ---- */

static void header_injection_is_impossible(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->agent1, f->cust2.id, "Normal", "x");
    drain(s);
    mc_box_empty(sink.maildir);
    /* Core refuses control characters in subjects and names, so write a
     * row as a hostile or buggy planner would. */
    struct td_outbox o = { 0 };
    id_new(o.id);
    o.kind = (char *)"reply_to_requester";
    o.ticket = n;
    o.recipient = (char *)"cust2@example.org";
    o.payload = (char *)"{\"recipient_id\":\"000000000000000000000000\",\"vars\":{"
                        "\"subject\":\"Hi\\r\\nBcc: victim@example.net\\r\\n\\r\\nforged body\","
                        "\"recipient\":\"Eve\\r\\nCc: victim2@example.net\","
                        "\"author\":\"Mallory\\nX-Evil: 1\",\"body\":\"real body\","
                        "\"ticket_number\":\"1\",\"status\":\"open\"}}";
    o.state = OUTBOX_PENDING;
    o.created = o.next_attempt = td_now();
    struct td_err err;
    assert_true(f->st->ops->outbox_insert(f->st, &o, &err));
    assert_int_equal(drain(s), 1);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 1);
    const struct mc_mail *m = &box.v[0];
    assert_int_equal(mc_count(m, "Bcc"), 0);
    assert_int_equal(mc_count(m, "Cc"), 0);
    assert_int_equal(mc_count(m, "X-Evil"), 0);
    assert_int_equal(mc_count(m, "Subject"), 1);
    assert_int_equal(mc_count(m, "To"), 1);
    /* Delivered to exactly the row's recipient. */
    assert_string_equal(mc_raw(m, "X-RcptTo"), "cust2@example.org");
    char *subj = mc_header(m, "Subject");
    assert_null(strpbrk(subj, "\r\n"));
    assert_non_null(strstr(subj, "Bcc: victim@example.net"));
    free(subj);
    char *body = mc_text(m, "text/plain");
    assert_non_null(strstr(body, "real body"));
    free(body);
    mc_box_free(&box);
    sender_free(s);
}

static void outage_loses_nothing_and_doubles_nothing(void **state)
{
    struct nfx *f = *state;
    /* Retries after 300 ms: one drain is one attempt per row. */
    struct sender *s = make_sender(f, NULL, sink.uri, "[notify]\nretry_base_ms = 300\nretry_max_ms = 300\n");
    sink_pause();
    for (int i = 0; i < 5; i++)
        nfx_open(f, &f->agent1, i % 2 ? f->cust1.id : f->cust2.id, "During the outage", "x");
    assert_int_equal(rows_in(f, OUTBOX_PENDING), 5);
    /* Every attempt fails, the rows wait for their retry (a slow machine
     * may already have retried some within the drain). */
    assert_true(drain(s) >= 5);
    assert_int_equal(rows_in(f, OUTBOX_PENDING), 5);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(l.v[i].attempts >= 1);
        assert_non_null(l.v[i].last_error);
        assert_true(l.v[i].next_attempt > td_now() - 1000);
    }
    outbox_list_clear(&l);
    /* Still down at the first retry. */
    msleep(350);
    assert_true(drain(s) >= 5);
    assert_int_equal(rows_in(f, OUTBOX_PENDING), 5);
    /* Back: everything goes out, once. */
    assert_true(sink_resume());
    long long deadline = mono_ms() + 5000;
    while (rows_in(f, OUTBOX_SENT) < 5 && mono_ms() < deadline) {
        msleep(100);
        drain(s);
    }
    assert_int_equal(rows_in(f, OUTBOX_SENT), 5);
    msleep(350);
    assert_int_equal(drain(s), 0);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 5);
    for (size_t i = 0; i < box.n; i++)
        for (size_t j = i + 1; j < box.n; j++)
            assert_string_not_equal(mc_raw(&box.v[i], "Message-ID"), mc_raw(&box.v[j], "Message-ID"));
    mc_box_free(&box);
    sender_free(s);
}

/* ---- concurrency ---- */

static void two_senders_never_send_a_row_twice(void **state)
{
    struct nfx *f = *state;
    /* A second handle on the same data: what a second process has. */
    struct store *st2;
    struct td_err err;
    assert_true(store_open(f->sf->uri, &st2, &err));
    const int N = 24;
    for (int i = 0; i < N; i++)
        nfx_open(f, &f->agent1, i % 2 ? f->cust1.id : f->cust2.id, "Busy day", "x");
    assert_int_equal(rows_in(f, OUTBOX_PENDING), (size_t)N);
    struct sender *a = make_sender(f, NULL, sink.uri, "[notify]\nthreads = 3\npoll_ms = 20\n");
    struct sender *b = make_sender(f, st2, sink.uri, "[notify]\nthreads = 3\npoll_ms = 20\n");
    assert_true(sender_start(a, &err));
    assert_true(sender_start(b, &err));
    long long deadline = mono_ms() + 20000;
    while (rows_in(f, OUTBOX_SENT) < (size_t)N && mono_ms() < deadline)
        msleep(50);
    sender_free(a);
    sender_free(b);
    assert_int_equal(rows_in(f, OUTBOX_SENT), (size_t)N);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].attempts, 1); /* claimed once, by one sender */
    outbox_list_clear(&l);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, (size_t)N);
    for (size_t i = 0; i < box.n; i++)
        for (size_t j = i + 1; j < box.n; j++)
            assert_string_not_equal(mc_raw(&box.v[i], "Message-ID"), mc_raw(&box.v[j], "Message-ID"));
    mc_box_free(&box);
    store_close(st2);
}

/* The rows a thread claims together are recorded together: fewer
 * commits (fsyncs) than mails, each mail sent once, each row finished
 * with its own outcome. */
static void claimed_rows_are_recorded_together(void **state)
{
    struct nfx *f = *state;
    const int N = 8; /* within one round (SENDER_CLAIM_BATCH) */
    for (int i = 0; i < N; i++)
        nfx_open(f, &f->agent1, i % 2 ? f->cust1.id : f->cust2.id, "Together", "x");
    assert_int_equal(rows_in(f, OUTBOX_PENDING), (size_t)N);
    struct sender *s = make_sender(f, NULL, sink.uri,
                                   "[notify]\nthreads = 1\npoll_ms = 30000\n"
                                   "reconcile_interval_ms = 0\n");
    struct td_err err;
    int64_t before = store_commits();
    assert_true(sender_start(s, &err));
    long long deadline = mono_ms() + 10000;
    while (rows_in(f, OUTBOX_SENT) < (size_t)N && mono_ms() < deadline)
        msleep(20);
    int64_t spent = store_commits() - before;
    sender_free(s);
    assert_int_equal(rows_in(f, OUTBOX_SENT), (size_t)N);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].attempts, 1);
        assert_null(l.v[i].last_error);
    }
    outbox_list_clear(&l);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, (size_t)N);
    mc_box_free(&box);
    if (f->sf->backend == STORE_BACKEND_SQLITE) {
        /* One claim, then the round's record with the next claim (or
         * alone before the thread sleeps): one commit a mail (and one
         * more for the claim) was the old cost. */
        print_message("%d mails, %lld commits\n", N, (long long)spent);
        assert_true(spent >= 2);
        assert_true(spent < N + 1);
    }
}

/* A sender that died with a row claimed: the row goes out once its lease
 * runs out, exactly once. */
static void a_dead_senders_claim_expires(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Orphan", "x");
    struct td_outbox row;
    struct td_err err;
    assert_true(f->st->ops->outbox_claim(f->st, "dead-process", td_now(), 800, &row, &err));
    outbox_clear(&row);
    assert_int_equal(drain(s), 0); /* still leased */
    msleep(850);
    assert_int_equal(drain(s), 1);
    assert_int_equal(drain(s), 0);
    assert_int_equal(nfx_count(f, NULL, NULL, n, OUTBOX_SENT), 1);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    assert_int_equal(l.v[0].attempts, 2);
    outbox_list_clear(&l);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 1);
    mc_box_free(&box);
    sender_free(s);
}

/* A change whose hook never ran (the process died right after it): the
 * reconciler thread of a running sender finds it and the mail goes out. */
static void the_reconciler_thread_repairs_a_lost_hook(void **state)
{
    struct nfx *f = *state;
    f->core.on_events = NULL;
    int64_t n = nfx_open(f, &f->cust1, NULL, "Lost", "x");
    f->core.on_events = notify_on_events;
    assert_int_equal(rows_in(f, -1), 0);
    struct sender *s = make_sender(f, NULL, sink.uri,
                                   "[notify]\nthreads = 1\npoll_ms = 50\nreconcile_interval_ms = 100\n");
    struct td_err err;
    assert_true(sender_start(s, &err));
    long long deadline = mono_ms() + 5000;
    while (nfx_count(f, NULL, NULL, n, OUTBOX_SENT) < 1 && mono_ms() < deadline)
        msleep(30);
    sender_free(s);
    assert_int_equal(nfx_count(f, NULL, NULL, n, OUTBOX_SENT), 1);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 1);
    mc_box_free(&box);
    /* The pass left its mark in the store: where the next start begins
     * (its own start less the ten minutes' overlap). */
    int64_t mark = 0;
    assert_true(f->st->ops->mark_get(f->st, "notify_reconciled", &mark, &err));
    assert_true(mark > 0 && mark <= td_now() - 10 * 60 * 1000);
}

/* A start begins at the store's mark, not a whole window back: a lost
 * change from before the mark (which a completed pass covered) is not
 * planned again by the first pass; one after it is. (Later passes go
 * back ten minutes before their predecessor's start: one pass here.) */
static void a_start_reconciles_from_the_stores_mark(void **state)
{
    struct nfx *f = *state;
    f->core.on_events = NULL;
    int64_t before = nfx_open(f, &f->cust1, NULL, "Before the mark", "x");
    msleep(20);
    struct td_err err;
    assert_true(f->st->ops->mark_raise(f->st, "notify_reconciled", td_now(), &err));
    msleep(20);
    int64_t after = nfx_open(f, &f->cust1, NULL, "After the mark", "x");
    f->core.on_events = notify_on_events;
    assert_int_equal(rows_in(f, -1), 0);
    struct sender *s = make_sender(f, NULL, sink.uri,
                                   "[notify]\nthreads = 1\npoll_ms = 50\nreconcile_interval_ms = 600000\n");
    assert_true(sender_start(s, &err));
    long long deadline = mono_ms() + 5000;
    while (nfx_count(f, NULL, NULL, after, OUTBOX_SENT) < 1 && mono_ms() < deadline)
        msleep(30);
    sender_free(s);
    assert_int_equal(nfx_count(f, NULL, NULL, after, OUTBOX_SENT), 1);
    assert_int_equal(nfx_count(f, NULL, NULL, before, -1), 0);
}

/* Retrying forever is not an option: past give_up_after the row fails,
 * saying why. */
static void old_rows_give_up(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, "smtp://127.0.0.1:1",
                                   "[notify]\ngive_up_after_ms = 1000\nretry_base_ms = 10000\n");
    int64_t n = nfx_open(f, &f->agent1, f->cust2.id, "Old", "x");
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    assert_int_equal(l.n, 1);
    /* The same row, as if it had been waiting for an hour. */
    struct td_outbox o = l.v[0];
    char id[TD_ID_LEN + 1];
    id_new(id);
    memcpy(o.id, id, sizeof o.id);
    o.created = o.next_attempt = td_now() - 3600 * 1000;
    struct td_err err;
    assert_true(f->st->ops->outbox_insert(f->st, &o, &err));
    outbox_list_clear(&l);
    assert_int_equal(drain(s), 2);
    assert_int_equal(nfx_count(f, NULL, NULL, n, OUTBOX_PENDING), 1); /* the fresh one */
    assert_true(f->st->ops->outbox_list(f->st, OUTBOX_FAILED, 0, &l, &err));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    assert_non_null(strstr(l.v[0].last_error, "gave up after 1 attempts"));
    outbox_list_clear(&l);
    sender_free(s);
}

/* Finished rows older than outbox_retention_ms go; pending ones and
 * recent ones stay. */
static void old_finished_rows_are_purged(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, "smtp://127.0.0.1:1",
                                   "[notify]\noutbox_retention_ms = 172800000\n"); /* 2 days */
    td_time now = td_now(), day = 86400000;
    const struct { enum td_outbox_state state; td_time created; bool stays; } rows[] = {
        { OUTBOX_SENT, now - 3 * day, false },
        { OUTBOX_FAILED, now - 3 * day, false },
        { OUTBOX_SENT, now - 1 * day, true },
        { OUTBOX_PENDING, now - 3 * day, true },
    };
    struct td_err err;
    char ids[4][TD_ID_LEN + 1];
    for (size_t i = 0; i < 4; i++) {
        struct td_outbox o = { 0 };
        id_new(o.id);
        memcpy(ids[i], o.id, sizeof ids[i]);
        o.kind = (char *)"ticket_created";
        o.ticket = 1;
        o.recipient = (char *)"someone@example.org";
        o.payload = (char *)"{}";
        o.state = rows[i].state;
        o.created = rows[i].created;
        o.next_attempt = now + day;
        assert_true(f->st->ops->outbox_insert(f->st, &o, &err));
    }
    int64_t deleted = -1;
    assert_true(sender_purge_once(s, now, &deleted, &err));
    assert_int_equal(deleted, 2);
    struct td_outbox_list l = { NULL, 0 };
    assert_true(f->st->ops->outbox_list(f->st, -1, 0, &l, &err));
    assert_int_equal(l.n, 2);
    for (size_t i = 0; i < l.n; i++)
        assert_true(strcmp(l.v[i].id, ids[2]) == 0 || strcmp(l.v[i].id, ids[3]) == 0);
    outbox_list_clear(&l);
    sender_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(every_event_mails_the_right_people),
        T(mail_tickets_thread_to_the_original),
        T(reply_tokens_name_the_recipient),
        T(header_injection_is_impossible),
        TN(outage_loses_nothing_and_doubles_nothing),
        TN(two_senders_never_send_a_row_twice),
        TN(claimed_rows_are_recorded_together),
        TN(a_dead_senders_claim_expires),
        TN(the_reconciler_thread_repairs_a_lost_hook),
        TN(a_start_reconciles_from_the_stores_mark),
        TN(old_rows_give_up),
        TN(old_finished_rows_are_purged),
    };
    return sender_run("sender", tests, sizeof tests / sizeof tests[0]);
}

/* test_sender.c - the outbox sender against real SMTP receivers (the
 * harness's aiosmtpd sink, and tests/support/smtp_reject.py for refusals),
 * on SQLite and on MongoDB: the mails each event produces, threading and
 * signed Reply-To, header injection, an SMTP outage, concurrent senders,
 * permanent failures, loops, reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/id.h"
#include "core/reply_token.h"
#include "mail_check.h"
#include "notify/sender.h"
#include "tests/core/notify_fixture.h"
#include "tests/support/harness.h"

/* The SMTP sink: aiosmtpd (as harness_smtp_start runs it) on a port and
 * Maildir of our own, so the outage test can stop it and start it again
 * on the same port without losing the Maildir. One per run, emptied per
 * test. */
static struct {
    struct harness_server proc; /* its own temp dir: the server's log */
    char dir[256];              /* holds the Maildir */
    char maildir[300];
    char uri[64];
    int port;
    bool up;
} sink;

static void msleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *templates_dir(void)
{
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s/../../templates", harness_support_dir());
    return dir;
}

/* A sender for f's store, sending to url, with extra [notify]/[smtp]
 * lines. */
static struct sender *make_sender(struct nfx *f, struct store *st, const char *url, const char *extra)
{
    struct buf conf = BUF_INIT;
    buf_printf(&conf,
               "%s%s"
               "builtin_templates_dir = %s\n"
               "retry_base_ms = 50\n"
               "retry_max_ms = 200\n"
               "lease_ms = 20000\n"
               "[smtp]\n"
               "url = %s\n"
               "starttls = no\n"
               "from = ACME Support <support@example.com>\n"
               "connect_timeout_ms = 2000\n"
               "timeout_ms = 5000\n"
               "%s",
               NFX_BASE_CONFIG, nfx_extra_config, templates_dir(), url, extra ? extra : "");
    struct td_config *cfg;
    struct td_err err;
    struct sender_config sc;
    struct sender *s = NULL;
    if (!config_load_string(conf.data, &cfg, &err) || !sender_config_load(cfg, &sc, &err) ||
        !sender_new(&sc, st ? st : f->st, &s, &err))
        fail_msg("sender: %s", err.msg);
    reply_keys_wipe(&sc.keys);
    config_free(cfg);
    buf_free(&conf);
    return s;
}

/* Runs the sender on this thread until nothing is due (bounded). */
static size_t drain(struct sender *s)
{
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        bool handled = false;
        struct td_err err;
        if (!sender_run_once(s, &handled, &err))
            fail_msg("sender_run_once: %s", err.msg);
        if (!handled)
            return n;
        n++;
    }
    fail_msg("the outbox never ran dry");
    return n;
}

static bool sink_resume(void);

static int sfx_setup(void **state)
{
    if (!sink.up && !sink_resume()) /* a failed outage test left it down */
        return -1;
    mc_box_empty(sink.maildir);
    return nfx_setup(state);
}

/* Only acknowledgements: fewer mails to count. */
static int setup_no_agents(void **state)
{
    nfx_extra_config = "ticket_created_agents = no\n";
    return sfx_setup(state);
}

static void assert_header(const struct mc_mail *m, const char *name, const char *want)
{
    char *v = mc_header(m, name);
    if (v == NULL || strcmp(v, want) != 0)
        fail_msg("%s: '%s', want '%s'", name, v ? v : "(none)", want);
    free(v);
}

/* The only mail to `to` whose subject contains `subj`. */
static const struct mc_mail *only(const struct mc_box *box, const char *to, const char *subj)
{
    const struct mc_mail *hit = NULL;
    size_t n = 0;
    for (size_t i = 0; i < box->n; i++) {
        const char *rcpt = mc_raw(&box->v[i], "X-RcptTo");
        char *s = mc_header(&box->v[i], "Subject");
        if (rcpt && strstr(rcpt, to) && s && strstr(s, subj)) {
            hit = &box->v[i];
            n++;
        }
        free(s);
    }
    if (n != 1)
        fail_msg("%zu mails to %s with '%s' in the subject, want 1", n, to, subj);
    return hit;
}

static size_t rows_in(struct nfx *f, int state)
{
    return nfx_count(f, NULL, NULL, 0, state);
}

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
        free(subj);
        assert_header(m, "From", "\"ACME Support\" <support@example.com>");
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

/* ---- SMTP outage ---- */

static void sink_pause(void)
{
    harness_stop(&sink.proc);
    sink.up = false;
}

static bool sink_resume(void)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", sink.port);
    const char *argv[] = { "/usr/bin/python3", "-u", "-m", "aiosmtpd", "-n", "-l", listen,
                           "-c", "aiosmtpd.handlers.Mailbox", sink.maildir, NULL };
    memset(&sink.proc, 0, sizeof sink.proc);
    sink.up = harness_tempdir(sink.proc.dir, sizeof sink.proc.dir) &&
              harness_spawn(&sink.proc, argv) &&
              harness_wait_ready(&sink.proc, sink.port, harness_probe_banner, "220", 10000);
    return sink.up;
}

static bool sink_start(void)
{
    if (!harness_tempdir(sink.dir, sizeof sink.dir))
        return false;
    snprintf(sink.maildir, sizeof sink.maildir, "%s/maildir", sink.dir);
    const char *subs[] = { "", "/new", "/cur", "/tmp" };
    for (int i = 0; i < 4; i++) {
        char sub[400];
        snprintf(sub, sizeof sub, "%s%s", sink.maildir, subs[i]);
        mkdir(sub, 0755);
    }
    for (int attempt = 0; attempt < 3; attempt++) { /* the port may be taken meanwhile */
        sink.port = harness_free_port();
        snprintf(sink.uri, sizeof sink.uri, "smtp://127.0.0.1:%d", sink.port);
        if (sink_resume())
            return true;
        harness_stop(&sink.proc);
    }
    return false;
}

static void sink_stop(void)
{
    harness_stop(&sink.proc);
    harness_rmtree(sink.dir);
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

static void a_wake_sends_at_once(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, "[notify]\nthreads = 1\npoll_ms = 30000\n");
    struct td_err err;
    assert_true(sender_start(s, &err));
    notify_set_wake(notify_of(&f->core), sender_wake, s);
    msleep(100); /* the thread has polled once and sleeps for 30 s */
    nfx_open(f, &f->cust1, NULL, "Quick", "x");
    long long deadline = mono_ms() + 5000;
    while (rows_in(f, OUTBOX_SENT) < 1 && mono_ms() < deadline)
        msleep(20);
    assert_int_equal(rows_in(f, OUTBOX_SENT), 1);
    notify_set_wake(notify_of(&f->core), NULL, NULL);
    long long t0 = mono_ms();
    sender_free(s); /* stopping does not wait for the poll */
    assert_true(mono_ms() - t0 < 2000);
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

/* ---- refusals ---- */

/* tests/support/smtp_reject.py with extra arguments (NULL-terminated).
 * Implicit TLS: no banner in clear, so only the connection is awaited. */
static struct harness_server smtp_server_start(const char *const *extra, bool implicit_tls)
{
    struct harness_server r;
    memset(&r, 0, sizeof r);
    assert_true(harness_tempdir(r.dir, sizeof r.dir));
    snprintf(r.maildir, sizeof r.maildir, "%s/maildir", r.dir);
    char sub[400];
    const char *subs[] = { "", "/new", "/cur", "/tmp" };
    for (int i = 0; i < 4; i++) {
        snprintf(sub, sizeof sub, "%s%s", r.maildir, subs[i]);
        mkdir(sub, 0755);
    }
    r.port = harness_free_port();
    char port[16], script[1100];
    snprintf(port, sizeof port, "%d", r.port);
    snprintf(script, sizeof script, "%s/smtp_reject.py", harness_support_dir());
    const char *argv[32] = { "/usr/bin/python3", "-u", script, "--port", port, "--maildir", r.maildir };
    size_t n = 7;
    for (size_t i = 0; extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_true(harness_spawn(&r, argv));
    assert_true(harness_wait_ready(&r, r.port, implicit_tls ? NULL : harness_probe_banner, "220", 10000));
    snprintf(r.uri, sizeof r.uri, "%s://127.0.0.1:%d", implicit_tls ? "smtps" : "smtp", r.port);
    return r;
}

static struct harness_server reject_start(void)
{
    const char *extra[] = { "--reject", "bounce-me", "--tempfail", "later", "--reject-data",
                            "REFUSE-THIS-BODY", NULL };
    return smtp_server_start(extra, false);
}

static const char *tls_file(const char *name)
{
    static char path[2][1100];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/../data/tls/%s", harness_support_dir(), name);
    return path[which];
}

/* Opens a ticket and runs s once over its acknowledgement; the row's
 * state and error. */
static enum td_outbox_state send_one(struct nfx *f, struct sender *s, char *error, size_t len)
{
    int64_t n = nfx_open(f, &f->agent1, f->cust1.id, "TLS", "x");
    assert_int_equal(drain(s), 1);
    struct td_outbox_list l = { NULL, 0 };
    nfx_rows(f, &l);
    enum td_outbox_state st = OUTBOX_PENDING;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].ticket == n) {
            st = l.v[i].state;
            snprintf(error, len, "%s", l.v[i].last_error ? l.v[i].last_error : "");
        }
    outbox_list_clear(&l);
    sender_free(s);
    return st;
}

/* Failed rows wait a minute: each send_one sees only its own row. */
#define SLOW "[notify]\nretry_base_ms = 60000\nretry_max_ms = 60000\n"

static void tls_and_auth(void **state)
{
    struct nfx *f = *state;
    char ca[1200], err[300];
    snprintf(ca, sizeof ca, "ca_file = %s\n", tls_file("smtp-test.crt"));
    const char *starttls[] = { "--auth", "mailer:s3cret", "--cert", tls_file("smtp-test.crt"),
                               "--key", tls_file("smtp-test.key"), "--starttls", NULL };
    struct harness_server st = smtp_server_start(starttls, false);
    struct buf conf = BUF_INIT;
    /* STARTTLS required, certificate checked against our CA, AUTH. */
    buf_printf(&conf, "%s[smtp]\nstarttls = required\n%suser = mailer\npassword = s3cret\n", SLOW, ca);
    assert_int_equal(send_one(f, make_sender(f, NULL, st.uri, conf.data), err, sizeof err), OUTBOX_SENT);
    struct mc_box box;
    mc_box_read(st.maildir, &box);
    assert_int_equal(box.n, 1);
    mc_box_free(&box);
    /* A wrong password is the admin's to fix: retried, not failed. */
    buf_reset(&conf);
    buf_printf(&conf, "%s[smtp]\nstarttls = required\n%suser = mailer\npassword = wrong\n", SLOW, ca);
    assert_int_equal(send_one(f, make_sender(f, NULL, st.uri, conf.data), err, sizeof err), OUTBOX_PENDING);
    if (strstr(err, "535") == NULL)
        fail_msg("error '%s' lacks 535", err);
    /* So is a server that wants STARTTLS when we do not offer it (530). */
    buf_reset(&conf);
    buf_printf(&conf, "%s[smtp]\nstarttls = no\nuser = mailer\npassword = s3cret\n", SLOW);
    assert_int_equal(send_one(f, make_sender(f, NULL, st.uri, conf.data), err, sizeof err), OUTBOX_PENDING);
    if (strstr(err, "530") == NULL)
        fail_msg("error '%s' lacks 530", err);
    harness_stop(&st);

    /* smtps://: TLS from the first byte. */
    const char *implicit[] = { "--cert", tls_file("smtp-test.crt"), "--key", tls_file("smtp-test.key"),
                               "--implicit-tls", NULL };
    struct harness_server im = smtp_server_start(implicit, true);
    buf_reset(&conf);
    buf_printf(&conf, "%s[smtp]\n%s", SLOW, ca);
    assert_int_equal(send_one(f, make_sender(f, NULL, im.uri, conf.data), err, sizeof err), OUTBOX_SENT);
    /* A certificate nobody vouches for: not sent, retried. */
    assert_int_equal(send_one(f, make_sender(f, NULL, im.uri, SLOW "[smtp]\ntls_verify = yes\n"), err, sizeof err),
                     OUTBOX_PENDING);
    mc_box_read(im.maildir, &box);
    assert_int_equal(box.n, 1);
    mc_box_free(&box);
    harness_stop(&im);
    buf_free(&conf);
}

static void permanent_failures_stop_and_show(void **state)
{
    struct nfx *f = *state;
    struct harness_server r = reject_start();
    /* Retries after 300 ms: one drain is one attempt per row. */
    struct sender *s = make_sender(f, NULL, r.uri, "[notify]\nretry_base_ms = 300\nretry_max_ms = 300\n");
    struct td_user bad, later;
    nfx_user(f, "bounce-me@example.org", NULL, ROLE_CUSTOMER, &bad);
    nfx_user(f, "later@example.org", NULL, ROLE_CUSTOMER, &later);
    int64_t n1 = nfx_open(f, &bad, NULL, "Hello", "x");
    int64_t n2 = nfx_open(f, &later, NULL, "Hello", "x");
    int64_t n3 = nfx_open(f, &f->cust1, NULL, "Fine", "x");
    nfx_comment(f, &f->agent1, n3, "REFUSE-THIS-BODY", false);
    assert_true(drain(s) >= 4);
    /* 550 on RCPT: failed, with the server's words, never retried. */
    assert_int_equal(nfx_count(f, NULL, "bounce-me@example.org", n1, OUTBOX_FAILED), 1);
    /* 451: pending, retried later. */
    assert_int_equal(nfx_count(f, NULL, "later@example.org", n2, OUTBOX_PENDING), 1);
    /* 554 after DATA: failed too. */
    assert_int_equal(nfx_count(f, "reply_to_requester", NULL, n3, OUTBOX_FAILED), 1);
    assert_int_equal(nfx_count(f, "ticket_created_ack", NULL, n3, OUTBOX_SENT), 1);
    struct td_outbox_list l = { NULL, 0 };
    struct td_err err;
    assert_true(f->st->ops->outbox_list(f->st, OUTBOX_FAILED, 0, &l, &err));
    assert_int_equal(l.n, 2);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].attempts, 1); /* never retried */
        if (l.v[i].ticket == n1) {
            assert_non_null(strstr(l.v[i].last_error, "550"));
            assert_non_null(strstr(l.v[i].last_error, "User unknown"));
        } else {
            assert_non_null(strstr(l.v[i].last_error, "554"));
        }
    }
    outbox_list_clear(&l);
    msleep(350);
    assert_true(drain(s) >= 1); /* only the 451 one comes back */
    assert_int_equal(nfx_count(f, NULL, "later@example.org", n2, OUTBOX_PENDING), 1);
    assert_int_equal(rows_in(f, OUTBOX_FAILED), 2);
    user_clear(&bad);
    user_clear(&later);
    sender_free(s);
    harness_stop(&r);
}

static void rows_that_can_never_work_fail_at_once(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->agent1, f->cust2.id, "x", "y");
    drain(s);
    struct td_err err;
    const struct { const char *kind, *to, *payload, *needle; } cases[] = {
        { "no_such_template", "cust2@example.org", "{\"vars\":{}}", "unknown kind" },
        { "reply_to_requester", "cust2@example.org", "not json", "payload" },
        { "reply_to_requester", "support@example.com", "{\"vars\":{}}", "loop guard" },
        { "reply_to_requester", "mailer-daemon@example.org", "{\"vars\":{}}", "loop guard" },
        { "reply_to_requester", "a b@example.org", "{\"vars\":{}}", "recipient address" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct td_outbox o = { 0 };
        id_new(o.id);
        o.kind = (char *)cases[i].kind;
        o.ticket = n;
        o.recipient = (char *)cases[i].to;
        o.payload = (char *)cases[i].payload;
        o.created = o.next_attempt = td_now();
        assert_true(f->st->ops->outbox_insert(f->st, &o, &err));
        assert_int_equal(drain(s), 1);
        struct td_outbox_list l = { NULL, 0 };
        assert_true(f->st->ops->outbox_list(f->st, OUTBOX_FAILED, 0, &l, &err));
        bool found = false;
        for (size_t j = 0; j < l.n; j++)
            if (strcmp(l.v[j].id, o.id) == 0) {
                found = true;
                if (strstr(l.v[j].last_error, cases[i].needle) == NULL)
                    fail_msg("case %zu: '%s' lacks '%s'", i, l.v[j].last_error, cases[i].needle);
            }
        outbox_list_clear(&l);
        assert_true(found);
    }
    sender_free(s);
}

/* ---- loops ---- */

/* What the mail gateway does with an autoresponder's answer to each mail
 * it got: a reply carrying the ticket token becomes a comment on that
 * ticket; anything else a new ticket, flagged auto-submitted when the
 * responder says so (RFC 3834). Returns how many it answered. */
static size_t autoresponder_round(struct nfx *f, const struct td_user *who, bool rfc3834,
                                  bool keeps_subject)
{
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    size_t answered = 0;
    for (size_t i = 0; i < box.n; i++) {
        const char *rcpt = mc_raw(&box.v[i], "X-RcptTo");
        if (!rcpt || strcmp(rcpt, who->email) != 0)
            continue;
        /* A well-behaved responder does not answer automatic mail. */
        if (rfc3834 && mc_raw(&box.v[i], "Auto-Submitted"))
            continue;
        char *subj = mc_header(&box.v[i], "Subject");
        const char *tok = strstr(subj, "[#");
        if (keeps_subject && tok) {
            nfx_comment(f, who, strtoll(tok + 2, NULL, 10), "I am out of the office.", false);
        } else {
            struct ticket_new in = { .subject = "Out of office", .body = "I am out of the office.",
                                     .source = SOURCE_EMAIL, .auto_submitted = rfc3834 };
            struct td_err err;
            assert_true(ticket_open(&f->core, who, &in, NULL, &err));
        }
        free(subj);
        remove(box.v[i].file);
        answered++;
    }
    mc_box_free(&box);
    return answered;
}

static void autoresponder_loops_end(void **state)
{
    struct nfx *f = *state;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    /* cust1 answers everything, RFC 3834 style (Auto-Submitted on its
     * answers, none to automatic mail); cust2 is a naive one that answers
     * everything and threads nothing, limited only by the hourly cap. */
    nfx_open(f, &f->cust1, NULL, "Help", "x");
    nfx_open(f, &f->cust2, NULL, "Help", "x");
    size_t got1 = 0, got2 = 0;
    for (int round = 0; round < 6; round++) {
        drain(s);
        struct mc_box box;
        mc_box_read(sink.maildir, &box);
        got1 += mc_box_count(&box, "cust1@example.org", NULL);
        got2 += mc_box_count(&box, "cust2@example.org", NULL);
        mc_box_free(&box);
        autoresponder_round(f, &f->cust1, true, true);
        autoresponder_round(f, &f->cust2, false, false);
        mc_box_empty(sink.maildir); /* agents' notices */
    }
    assert_int_equal(got1, 1); /* the acknowledgement, and then silence */
    assert_int_equal(got2, 2); /* max_per_recipient_hour = 2 */
    assert_int_equal(nfx_count(f, "ticket_created_ack", "cust2@example.org", 0, OUTBOX_FAILED), 1);
    sender_free(s);
}

static int setup_capped(void **state)
{
    nfx_extra_config = "max_per_recipient_hour = 2\n";
    return sfx_setup(state);
}

/* ---- templates ---- */

static void reload_keeps_good_templates(void **state)
{
    struct nfx *f = *state;
    char over[300];
    assert_true(harness_tempdir(over, sizeof over));
    char extra[700];
    snprintf(extra, sizeof extra, "[notify]\ntemplates_dir = %s\n", over);
    struct sender *s = make_sender(f, NULL, sink.uri, extra);
    char path[400];
    snprintf(path, sizeof path, "%s/ticket_created_ack.txt", over);
    FILE *fp = fopen(path, "w");
    fputs("Subject: {{no_such_variable}}\n\nx\n", fp);
    fclose(fp);
    struct td_err err;
    assert_false(sender_reload(s, &err));
    assert_non_null(strstr(err.msg, "no_such_variable"));
    nfx_open(f, &f->cust1, NULL, "Before", "x");
    drain(s);
    fp = fopen(path, "w");
    fputs("Subject: Got it: {{subject}}\n\nOverridden.\n", fp);
    fclose(fp);
    assert_true(sender_reload(s, &err));
    nfx_open(f, &f->cust1, NULL, "After", "x");
    drain(s);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 2);
    only(&box, "cust1@example.org", "Before");
    const struct mc_mail *m = only(&box, "cust1@example.org", "Got it: After");
    char *subj = mc_header(m, "Subject");
    assert_non_null(strstr(subj, "[#")); /* the token is added when a template lacks it */
    free(subj);
    mc_box_free(&box);
    sender_free(s);
    harness_rmtree(over);
    /* And at start-up, a bad template is an error, not a silent blank. */
    char bad[300];
    assert_true(harness_tempdir(bad, sizeof bad));
    snprintf(path, sizeof path, "%s/assigned.txt", bad);
    fp = fopen(path, "w");
    fputs("Subject: x\n\n{{ticket_numbr}}\n", fp);
    fclose(fp);
    struct td_config *cfg;
    struct sender_config sc;
    struct buf conf = BUF_INIT;
    buf_printf(&conf, "%stemplates_dir = %s\nbuiltin_templates_dir = %s\n[smtp]\nurl = %s\n",
               NFX_BASE_CONFIG, bad, templates_dir(), sink.uri);
    assert_true(config_load_string(conf.data, &cfg, &err));
    buf_free(&conf);
    assert_true(sender_config_load(cfg, &sc, &err));
    struct sender *s2 = NULL;
    assert_false(sender_new(&sc, f->st, &s2, &err));
    assert_non_null(strstr(err.msg, "assigned.txt:3: unknown variable {{ticket_numbr}}"));
    reply_keys_wipe(&sc.keys);
    config_free(cfg);
    harness_rmtree(bad);
}

static void config_errors(void **state)
{
    (void)state;
    const struct { const char *text, *needle; } cases[] = {
        { "[notify]\nsupport_address = s@x.org\n", "[smtp] url is required" },
        { "[smtp]\nurl = smtp://x\n", "support_address is required" },
        { "[notify]\nsupport_address = s@x.org\n[smtp]\nurl = http://x\n", "smtp:// or smtps://" },
        { "[notify]\nsupport_address = s@x.org\n[smtp]\nurl = smtp://x\nstarttls = maybe\n", "starttls" },
        { "[notify]\nsupport_address = s@x.org\n[smtp]\nurl = smtp://x\nfrom = Bad <not an address>\n", "from" },
        { "[notify]\nsupport_address = s@x.org\nlease_ms = 1000\n[smtp]\nurl = smtp://x\n", "lease_ms" },
        { "[notify]\nsupport_address = s@x.org\noutbox_retention_ms = 3600000\n[smtp]\nurl = smtp://x\n",
          "outbox_retention_ms" },
        { "[notify]\nsupport_address = s@x.org\n[smtp]\nurl = smtp://x\nuser = u\npassword_file = /nonexistent/pw\n",
          "/nonexistent/pw" },
        { "[notify]\nsupport_address = s@x.org\nreply_secret = short\n[smtp]\nurl = smtp://x\n", "reply_secret" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct td_config *cfg;
        struct td_err err;
        struct sender_config sc;
        assert_true(config_load_string(cases[i].text, &cfg, &err));
        assert_false(sender_config_load(cfg, &sc, &err));
        if (strstr(err.msg, cases[i].needle) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        config_free(cfg);
    }
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (!sink_start()) {
        fprintf(stderr, "cannot start the SMTP sink\n");
        sink_stop();
        return 1;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, sfx_setup, nfx_teardown)
#define TN(f) cmocka_unit_test_setup_teardown(f, setup_no_agents, nfx_teardown)
    const struct CMUnitTest tests[] = {
        T(every_event_mails_the_right_people),
        T(mail_tickets_thread_to_the_original),
        T(reply_tokens_name_the_recipient),
        T(header_injection_is_impossible),
        TN(outage_loses_nothing_and_doubles_nothing),
        TN(two_senders_never_send_a_row_twice),
        TN(a_wake_sends_at_once),
        TN(a_dead_senders_claim_expires),
        TN(the_reconciler_thread_repairs_a_lost_hook),
        TN(old_rows_give_up),
        TN(old_finished_rows_are_purged),
        TN(permanent_failures_stop_and_show),
        TN(tls_and_auth),
        T(rows_that_can_never_work_fail_at_once),
        cmocka_unit_test_setup_teardown(autoresponder_loops_end, setup_capped, nfx_teardown),
        TN(reload_keeps_good_templates),
        T(config_errors),
    };
    int failed = store_fixture_run_all("sender", tests, sizeof tests / sizeof tests[0]);
    sink_stop();
    return failed ? 1 : 0;
}

/* test_roundtrip.c - the whole mail loop with real servers and the real
 * binary: mail delivered to Dovecot (LMTP) is fetched by `ticketd mailgw`,
 * the notifications go out through `ticketd sender` (a second process) to
 * an SMTP sink, and replies to them - built as a mail client would, to
 * the signed Reply-To, quoting the original, with In-Reply-To - come back
 * through Dovecot and land in the same ticket as comments by the right
 * person. Also: a forged agent address and a forwarded reply token are
 * not trusted, and an autoresponder gets one mail and no more.
 *
 * Every wait is bounded; every server and process is stopped by the
 * teardown (and dies with the test anyway: PR_SET_PDEATHSIG). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lmtp.h"
#include "mail_check.h"
#include "notify/sender.h"
#include "tests/core/notify_fixture.h"
#include "tests/support/harness.h"

#define WAIT_MS 15000
#define SUPPORT "support@example.com"

struct rt {
    struct nfx *f;
    struct harness_server dovecot, sink, mailgw, sender;
    char conf[400];
};

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

static const char *ticketd_path(void)
{
    static char path[PATH_MAX + 16];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    /* BUILD/tests/notify/test_roundtrip -> BUILD/ticketd */
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(path, sizeof path, "%s/ticketd", exe);
    return path;
}

static bool start_role(struct rt *r, struct harness_server *s, const char *role)
{
    memset(s, 0, sizeof *s);
    if (!harness_tempdir(s->dir, sizeof s->dir))
        return false;
    const char *argv[] = { ticketd_path(), "--config", r->conf, role, NULL };
    return harness_spawn(s, argv);
}

static int rt_setup(void **state)
{
    if (nfx_setup(state) != 0)
        return -1;
    struct rt *r = calloc(1, sizeof *r);
    r->f = *state;
    if (!harness_dovecot_start(&r->dovecot, "support", "secret") || !harness_smtp_start(&r->sink))
        return -1;
    /* The config both processes read: the fixture's store, Dovecot, the
     * sink. The test process shares the store (and plans nothing itself:
     * the users it creates make no history). */
    snprintf(r->conf, sizeof r->conf, "%s/ticketd.conf", r->dovecot.dir);
    FILE *fp = fopen(r->conf, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "[store]\nuri = %s\n"
            "[core]\npassword_cost = min\n"
            "[log]\nlevel = debug\n"
            "[notify]\nsupport_address = " SUPPORT "\nreply_secret = " NFX_SECRET "\n"
            "builtin_templates_dir = %s/../../templates\n"
            "poll_ms = 100\nretry_base_ms = 200\nreconcile_interval_ms = 0\n"
            "[smtp]\nurl = %s\nstarttls = no\nfrom = ACME Support <" SUPPORT ">\n"
            "[mailgw]\nbackoff_min_ms = 100\nbackoff_max_ms = 500\n"
            "[mailbox support]\nhost = 127.0.0.1\nport = %d\ntls = none\nuser = support\n"
            "password = secret\naddress = " SUPPORT "\nprocessed_folder =\nidle = yes\n"
            "poll_interval_ms = 300\n",
            r->f->sf->uri, harness_support_dir(), r->sink.uri, r->dovecot.port);
    fclose(fp);
    if (!start_role(r, &r->mailgw, "mailgw") || !start_role(r, &r->sender, "sender"))
        return -1;
    *state = r;
    return 0;
}

/* Sanitizer reports of the ticketd processes (a SAN=1 build): they go to
 * files here, not to the server logs harness_stop removes. */
static char san_dir[256];

static void san_setup(void)
{
    if (!harness_tempdir(san_dir, sizeof san_dir))
        return;
    const char *vars[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };
    for (int i = 0; i < 2; i++) {
        const char *old = getenv(vars[i]);
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s%slog_path=%s/san", old ? old : "", old && *old ? ":" : "", san_dir);
        setenv(vars[i], b.data, 1);
        buf_free(&b);
    }
}

/* False (printing them) if a child wrote a sanitizer report. */
static bool san_clean(void)
{
    if (!san_dir[0])
        return true;
    DIR *d = opendir(san_dir);
    if (d == NULL)
        return true;
    bool clean = true;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "san", 3) != 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", san_dir, e->d_name);
        char *text = mc_read_file(path);
        fprintf(stderr, "ticketd child: %s\n", text ? text : "(unreadable report)");
        free(text);
        remove(path);
        clean = false;
    }
    closedir(d);
    return clean;
}

static int rt_teardown(void **state)
{
    struct rt *r = *state;
    harness_stop(&r->mailgw);
    harness_stop(&r->sender);
    harness_stop(&r->sink);
    harness_stop(&r->dovecot);
    *state = r->f;
    free(r);
    int rc = nfx_teardown(state);
    return san_clean() ? rc : -1;
}

static void deliver(struct rt *r, const char *from, const char *rcpt, const char *mail)
{
    char why[300] = "";
    if (!lmtp_deliver(r->dovecot.lmtp_port, from, rcpt, mail, why, sizeof why))
        fail_msg("LMTP delivery to %s: %s", rcpt, why);
}

/* Waits until the sink holds a mail to `to` whose subject contains subj
 * and which is not in `seen` (Message-IDs so far); returns a copy. */
static bool wait_mail(struct rt *r, const char *to, const char *subj, struct mc_mail *out)
{
    long long deadline = mono_ms() + WAIT_MS;
    while (mono_ms() < deadline) {
        struct mc_box box;
        mc_box_read(r->sink.maildir, &box);
        for (size_t i = 0; i < box.n; i++) {
            const char *rcpt = mc_raw(&box.v[i], "X-RcptTo");
            char *s = mc_header(&box.v[i], "Subject");
            bool hit = rcpt && strcasecmp(rcpt, to) == 0 && s && strstr(s, subj);
            free(s);
            if (hit) {
                mc_parse(out, box.v[i].data);
                remove(box.v[i].file); /* taken */
                mc_box_free(&box);
                return true;
            }
        }
        mc_box_free(&box);
        msleep(50);
    }
    harness_log_tail(&r->mailgw, 30);
    harness_log_tail(&r->sender, 30);
    return false;
}

/* The ticket's comments once there are at least n. */
static void wait_comments(struct rt *r, int64_t ticket, size_t n, struct td_comment_list *out)
{
    long long deadline = mono_ms() + WAIT_MS;
    for (;;) {
        struct td_err err;
        memset(out, 0, sizeof *out);
        if (r->f->st->ops->comment_list(r->f->st, ticket, true, out, &err) && out->n >= n)
            return;
        comment_list_clear(out);
        if (mono_ms() > deadline) {
            harness_log_tail(&r->mailgw, 40);
            fail_msg("ticket #%lld never got %zu comments", (long long)ticket, n);
        }
        msleep(50);
    }
}

/* The address inside a header value "Name <addr>". */
static void addr_of(const char *value, char *out, size_t len)
{
    const char *lt = strrchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        snprintf(out, len, "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        snprintf(out, len, "%s", value);
}

/* A reply to m as Thunderbird would write it: to the Reply-To, "Re: "
 * subject, In-Reply-To and References, the answer above the quoted
 * original. Returns the raw mail (caller frees); rcpt gets the address. */
static char *client_reply(const struct mc_mail *m, const char *from_name, const char *from_addr,
                          const char *answer, const char *msgid, char *rcpt, size_t rcpt_len)
{
    addr_of(mc_raw(m, "Reply-To"), rcpt, rcpt_len);
    char *subj = mc_header(m, "Subject");
    char *text = mc_text(m, "text/plain");
    const char *refs = mc_raw(m, "References");
    struct buf b = BUF_INIT;
    buf_printf(&b,
               "From: %s <%s>\n"
               "To: ACME Support <%s>\n"
               "Subject: Re: %s\n"
               "Date: Thu, 26 Nov 2026 09:15:00 +0100\n"
               "Message-ID: %s\n"
               "In-Reply-To: %s\n"
               "References: %s %s\n"
               "User-Agent: Mozilla/5.0 Thunderbird/115.5.0\n"
               "MIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=UTF-8; format=flowed\n"
               "Content-Transfer-Encoding: 8bit\n"
               "\n"
               "%s\n"
               "\n"
               "On 25.11.26 23:59, ACME Support wrote:\n",
               from_name, from_addr, rcpt, subj, msgid, mc_raw(m, "Message-ID"),
               refs ? refs : "", mc_raw(m, "Message-ID"), answer);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        buf_printf(&b, "> %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
    free(subj);
    free(text);
    return buf_steal(&b);
}

static void mail_round_trip(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    struct td_err err;

    /* 1. A customer writes in. */
    deliver(r, "ann@example.org", SUPPORT,
            "From: Ann Example <ann@example.org>\n"
            "To: ACME Support <" SUPPORT ">\n"
            "Subject: Printer on fire\n"
            "Date: Wed, 25 Nov 2026 23:50:00 +0100\n"
            "Message-ID: <first.4711@mail.example.org>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\n"
            "\n"
            "It burns. Please help.\n");
    struct mc_mail ack, notice;
    assert_true(wait_mail(r, "ann@example.org", "Printer on fire", &ack));
    assert_true(wait_mail(r, "agent1@example.com", "New ticket", &notice));
    assert_string_equal(mc_raw(&ack, "In-Reply-To"), "<first.4711@mail.example.org>");
    assert_string_equal(mc_raw(&ack, "Auto-Submitted"), "auto-replied");
    int64_t n = 0;
    assert_true(f->st->ops->ticket_find_by_msgid(f->st, mc_raw(&notice, "Message-ID"), &n, &err));
    assert_true(n > 0);
    struct td_ticket t;
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    struct td_user ann;
    assert_true(f->st->ops->user_get(f->st, t.requester_id, &ann, &err));
    assert_string_equal(ann.email, "ann@example.org");
    assert_int_equal(ann.role, ROLE_CUSTOMER);
    ticket_clear(&t);

    /* 2. The agent answers from their own mail client, to the signed
     * Reply-To of their notice. */
    char rcpt[300];
    char *reply = client_reply(&notice, "Al Agent", "agent1@example.com",
                               "Have you tried turning it off and on again?",
                               "<agent-reply.1@client.example.com>", rcpt, sizeof rcpt);
    assert_non_null(strstr(rcpt, "support+"));
    deliver(r, "agent1@example.com", rcpt, reply);
    free(reply);
    struct td_comment_list cl;
    wait_comments(r, n, 2, &cl);
    assert_string_equal(cl.v[1].author_id, f->agent1.id); /* trusted as the agent */
    assert_false(cl.v[1].internal);
    assert_string_equal(cl.v[1].body, "Have you tried turning it off and on again?");
    comment_list_clear(&cl);

    /* 3. The customer gets it, and answers from their client too. */
    struct mc_mail answer;
    assert_true(wait_mail(r, "ann@example.org", "Re: ", &answer));
    char *body = mc_text(&answer, "text/plain");
    assert_non_null(strstr(body, "turning it off and on again"));
    free(body);
    assert_null(mc_raw(&answer, "Auto-Submitted"));
    reply = client_reply(&answer, "Ann Example", "ann@example.org", "Now it is only smoking.",
                         "<ann-reply.2@mail.example.org>", rcpt, sizeof rcpt);
    deliver(r, "ann@example.org", rcpt, reply);
    free(reply);
    wait_comments(r, n, 3, &cl);
    assert_string_equal(cl.v[2].author_id, ann.id);
    assert_string_equal(cl.v[2].body, "Now it is only smoking.");
    comment_list_clear(&cl);
    /* ... and the agents hear about it. */
    struct mc_mail relay;
    assert_true(wait_mail(r, "agent1@example.com", "Re: ", &relay));
    body = mc_text(&relay, "text/plain");
    assert_non_null(strstr(body, "Now it is only smoking."));
    free(body);

    /* 4. Someone writing the agent's address into From, without a token:
     * not the agent. */
    char forged[600];
    snprintf(forged, sizeof forged,
             "From: Al Agent <agent1@example.com>\nTo: " SUPPORT "\n"
             "Subject: Re: [#%lld] Printer on fire\nMessage-ID: <forged.3@evil.example>\n"
             "\nClosing this, all fine.\n", (long long)n);
    deliver(r, "agent1@example.com", SUPPORT, forged);
    /* 5. The agent's notice forwarded to someone else, who replies to its
     * Reply-To: not the agent either. */
    reply = client_reply(&notice, "Bob Outsider", "bob@example.net", "I am not an agent.",
                         "<bob.4@example.net>", rcpt, sizeof rcpt);
    deliver(r, "bob@example.net", rcpt, reply);
    free(reply);
    /* The forged one is quarantined (untrusted_agent) and the agent is
     * told, at their account's address; Bob's opens a ticket of his own.
     * Ticket n gets no comment from either. */
    struct mc_mail held;
    assert_true(wait_mail(r, "agent1@example.com", "held back", &held));
    mc_free(&held);
    long long deadline = mono_ms() + WAIT_MS;
    size_t tickets = 0;
    while (mono_ms() < deadline) {
        struct td_ticket_list tl = { NULL, 0 };
        struct td_ticket_filter flt = { .limit = 100 };
        assert_true(f->st->ops->ticket_list(f->st, &flt, &tl, &err));
        tickets = tl.n;
        ticket_list_clear(&tl);
        if (tickets >= 2)
            break;
        msleep(50);
    }
    assert_int_equal(tickets, 2);
    wait_comments(r, n, 3, &cl);
    assert_int_equal(cl.n, 3);
    comment_list_clear(&cl);
    user_clear(&ann);
    mc_free(&ack);
    mc_free(&notice);
    mc_free(&answer);
    mc_free(&relay);
}

/* Rows to this address in the outbox, in any state. */
static size_t rows_to(struct nfx *f, const char *addr)
{
    return nfx_count(f, NULL, addr, 0, -1);
}

static void autoresponder_gets_one_mail(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    /* Two customer addresses that answer everything automatically: one as
     * RFC 3834 says (Auto-Submitted on its answers), one naive (a plain
     * "Re:" reply, no header). Each gets the acknowledgement and then
     * nothing: the first one's answer is recorded as an internal note,
     * the second one's is a customer reply, which goes to the agents. */
    const char *robots[2] = { "robot@example.org", "naive@example.org" };
    int64_t tickets[2];
    for (int i = 0; i < 2; i++) {
        char mail[400];
        snprintf(mail, sizeof mail,
                 "From: %s\nTo: " SUPPORT "\nSubject: Question %d\nMessage-ID: <q.%d@example.org>\n"
                 "\nHow much?\n", robots[i], i, i);
        deliver(r, robots[i], SUPPORT, mail);
        struct mc_mail ack;
        assert_true(wait_mail(r, robots[i], "Question", &ack));
        struct td_err err;
        assert_true(f->st->ops->ticket_find_by_msgid(f->st, mc_raw(&ack, "Message-ID"), &tickets[i], &err));
        char rcpt[300];
        char *reply = client_reply(&ack, "Robot", robots[i], "I am out of the office.",
                                   i == 0 ? "<auto.0@example.org>" : "<auto.1@example.org>",
                                   rcpt, sizeof rcpt);
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s%s", i == 0 ? "Auto-Submitted: auto-replied\n" : "", reply);
        deliver(r, robots[i], rcpt, b.data);
        buf_free(&b);
        free(reply);
        mc_free(&ack);
    }
    for (int i = 0; i < 2; i++) {
        struct td_comment_list cl;
        wait_comments(r, tickets[i], 2, &cl);
        /* RFC 3834 answer: an internal note by the system; naive: theirs. */
        assert_int_equal(cl.v[1].internal, i == 0);
        comment_list_clear(&cl);
    }
    /* Let the planner and the sender (polling every 100 ms) do whatever
     * they would do; nothing more may be addressed to either robot. */
    msleep(800);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rows_to(f, robots[i]), 1);
    struct mc_box box;
    mc_box_read(r->sink.maildir, &box);
    assert_int_equal(mc_box_count(&box, robots[0], NULL), 0);
    assert_int_equal(mc_box_count(&box, robots[1], NULL), 0);
    mc_box_free(&box);
    /* The agents did hear about the naive robot's answer. */
    struct mc_mail relay;
    assert_true(wait_mail(r, "agent1@example.com", "Re: ", &relay));
    mc_free(&relay);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    if (access(ticketd_path(), X_OK) != 0) {
        fprintf(stderr, "need %s (make builds it before the tests)\n", ticketd_path());
        return 1;
    }
    san_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mail_round_trip, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(autoresponder_gets_one_mail, rt_setup, rt_teardown),
    };
    int failed = store_fixture_run_all("roundtrip", tests, sizeof tests / sizeof tests[0]);
    harness_rmtree(san_dir);
    return failed ? 1 : 0;
}

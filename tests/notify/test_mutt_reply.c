/* test_mutt_reply.c - a real mail client in the loop (issue 10): mutt,
 * under tmux, reads the agent's answer from the customer's own Dovecot
 * mailbox over IMAP and replies bottom-posted (mutt's default: the quote
 * first, the new text under it) to the personal Reply-To; the reply goes
 * through Dovecot and `ticketd mailgw` and the comment holds only the new
 * text. On every store.
 *
 * The customer's mailbox is a second Dovecot; the test plays the MTA in
 * both directions: it delivers the mail the SMTP sink received into the
 * customer's mailbox over LMTP, and mutt's `sendmail` is a script that
 * delivers over LMTP to the support mailbox. Every wait is bounded; tmux
 * runs on a socket of its own and is killed by the teardown. */
#include "rt_fixture.h"

#include <sys/stat.h>

#define ANSWER "Restarted it, works now. Thanks!"

struct mt {
    struct rt *r;
    struct harness_server ann_box; /* the customer's own Dovecot */
    char dir[256];
    char sock[300];
    bool tmux_up;
};

static int mt_setup(void **state)
{
    if (rt_setup(state) != 0)
        return -1;
    struct mt *m = calloc(1, sizeof *m);
    m->r = *state;
    if (!harness_dovecot_start(&m->ann_box, "ann", "secret") || !harness_tempdir(m->dir, sizeof m->dir))
        return -1;
    snprintf(m->sock, sizeof m->sock, "%s/tmux.sock", m->dir);
    *state = m;
    return 0;
}

static void tmux(struct mt *m, const char *args)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tmux -S '%s' %s >/dev/null 2>&1", m->sock, args);
    if (system(cmd) != 0 && strstr(args, "kill-server") == NULL)
        fail_msg("tmux %s failed", args);
}

static int mt_teardown(void **state)
{
    struct mt *m = *state;
    if (m->tmux_up)
        tmux(m, "kill-server");
    harness_stop(&m->ann_box);
    harness_rmtree(m->dir);
    *state = m->r;
    free(m);
    return rt_teardown(state);
}

/* What mutt shows now. */
static char *screen(struct mt *m)
{
    char path[400], cmd[1000];
    snprintf(path, sizeof path, "%s/screen.txt", m->dir);
    snprintf(cmd, sizeof cmd, "tmux -S '%s' capture-pane -p > '%s' 2>/dev/null", m->sock, path);
    if (system(cmd) != 0)
        return strdup("");
    char *s = mc_read_file(path);
    return s ? s : strdup("");
}

/* Waits until the screen shows text; fails (printing it) otherwise. */
static void wait_screen(struct mt *m, const char *text)
{
    long long deadline = rt_mono_ms() + RT_WAIT_MS;
    for (;;) {
        char *s = screen(m);
        bool hit = strstr(s, text) != NULL;
        if (hit || rt_mono_ms() > deadline) {
            if (!hit)
                fprintf(stderr, "mutt's screen:\n%s\n", s);
            free(s);
            if (!hit)
                fail_msg("mutt never showed '%s'", text);
            return;
        }
        free(s);
        rt_msleep(100);
    }
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void mutt_replies_bottom_posted(void **state)
{
    struct mt *m = *state;
    struct rt *r = m->r;
    struct nfx *f = r->f;
    struct td_err err;

    /* Ann writes in (from mutt, as it happens); the agent answers. */
    char *mail = rt_mail_file("mutt_conv_new.eml", NULL);
    rt_deliver(r, "ann@acme.test", RT_SUPPORT, mail);
    free(mail);
    struct mc_mail ack;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Router drops", &ack));
    int64_t n = 0;
    assert_true(f->st->ops->ticket_find_by_msgid(f->st, mc_raw(&ack, "Message-ID"), &n, &err));
    mc_free(&ack);
    struct comment_new in = { .body = "Please restart the router and tell me if it helps.",
                              .source = SOURCE_API };
    assert_true(comment_add(&f->core, &f->agent1, n, &in, NULL, &err));
    struct mc_mail answer;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Re: ", &answer));

    /* The MTA's part: into Ann's mailbox. */
    char why[300] = "";
    if (!lmtp_deliver(m->ann_box.lmtp_port, RT_SUPPORT, "ann@localhost", answer.data, why, sizeof why))
        fail_msg("LMTP into Ann's mailbox: %s", why);
    mc_free(&answer);

    /* mutt's world: its config, an editor that writes under the quote,
     * and a sendmail that hands the mail to the support mailbox. */
    char rc[400], editor[400], sendmail[400], sent[400], script[1600], cfg[2400];
    snprintf(rc, sizeof rc, "%s/muttrc", m->dir);
    snprintf(editor, sizeof editor, "%s/editor.sh", m->dir);
    snprintf(sendmail, sizeof sendmail, "%s/sendmail.py", m->dir);
    snprintf(sent, sizeof sent, "%s/sent.eml", m->dir);
    write_file(editor, "#!/bin/sh\nprintf '\\n" ANSWER "\\n' >> \"$1\"\n", 0700);
    snprintf(script, sizeof script,
             "#!/usr/bin/env python3\n"
             "import smtplib, sys\n"
             "data = sys.stdin.buffer.read()\n"
             "open('%s.tmp', 'wb').write(data)\n"
             "with smtplib.LMTP('127.0.0.1', %d, timeout=10) as l:\n"
             "    l.sendmail('ann@acme.test', ['support@localhost'], data)\n"
             "import os; os.rename('%s.tmp', '%s')\n",
             sent, r->dovecot.lmtp_port, sent, sent);
    write_file(sendmail, script, 0700);
    snprintf(cfg, sizeof cfg,
             "set folder=\"imap://ann@127.0.0.1:%d/\"\n"
             "set spoolfile=\"+INBOX\"\nset imap_pass=\"secret\"\n"
             "set ssl_starttls=no\nset ssl_force_tls=no\nset timeout=1\nset mail_check=2\n"
             "set from=\"Ann Requester <ann@acme.test>\"\nset use_from=yes\nset hostname=acme.test\n"
             "set sendmail=\"%s\"\nset editor=\"%s\"\nset edit_headers=no\n"
             "set include=yes\nset fast_reply=yes\nset reply_to=yes\nset abort_unmodified=no\n"
             "set askcc=no\nset askbcc=no\nset copy=no\nset record=\"\"\nset postpone=no\n"
             "set signature=\"\"\nset quit=yes\nset move=no\nset beep=no\nset wait_key=no\n"
             "set charset=\"utf-8\"\nset send_charset=\"us-ascii:utf-8\"\n"
             "set header_cache=\"\"\nset message_cachedir=\"\"\nset certificate_file=\"%s/certs\"\n",
             m->ann_box.port, sendmail, editor, m->dir);
    write_file(rc, cfg, 0600);

    char args[1600];
    snprintf(args, sizeof args,
             "new-session -d -x 160 -y 40 \"env HOME='%s' TERM=screen mutt -n -F '%s'\"", m->dir, rc);
    tmux(m, args);
    m->tmux_up = true;
    wait_screen(m, "Router drops");         /* the index, read over IMAP */
    tmux(m, "send-keys r");                  /* reply: quote, editor, compose */
    wait_screen(m, "y:Send");
    tmux(m, "send-keys y");
    long long deadline = rt_mono_ms() + RT_WAIT_MS;
    struct stat sb;
    while (stat(sent, &sb) != 0 && rt_mono_ms() < deadline)
        rt_msleep(50);
    if (stat(sent, &sb) != 0) {
        char *s = screen(m);
        fprintf(stderr, "mutt's screen:\n%s\n", s);
        free(s);
        fail_msg("mutt sent nothing");
    }
    tmux(m, "send-keys q");

    /* What mutt sent: bottom-posted, to Ann's own reply address. */
    char *out = mc_read_file(sent);
    struct mc_mail reply;
    mc_parse(&reply, out);
    free(out);
    assert_non_null(strstr(mc_raw(&reply, "To"), "support+"));
    char *body = mc_text(&reply, "text/plain");
    char *quote = strstr(body, "> Please restart the router");
    char *answer_at = strstr(body, ANSWER);
    assert_non_null(quote);
    assert_non_null(answer_at);
    assert_true(quote < answer_at); /* the new text under the quote */
    free(body);
    mc_free(&reply);

    /* The comment: Ann's, and only what she wrote. */
    struct td_comment_list cl;
    rt_wait_comments(r, n, 3, &cl);
    struct td_ticket t;
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    assert_string_equal(cl.v[2].author_id, t.requester_id);
    ticket_clear(&t);
    assert_string_equal(cl.v[2].body, ANSWER);
    comment_list_clear(&cl);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    if (access(rt_ticketd_path(), X_OK) != 0) {
        fprintf(stderr, "need %s (make builds it before the tests)\n", rt_ticketd_path());
        return 1;
    }
    if (system("command -v mutt >/dev/null && command -v tmux >/dev/null") != 0) {
        fprintf(stderr, "need mutt and tmux (make deps installs them)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mutt_replies_bottom_posted, mt_setup, mt_teardown),
    };
    return store_fixture_run_all("mutt_reply", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

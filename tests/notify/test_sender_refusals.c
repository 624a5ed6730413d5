/* test_sender_refusals.c - the outbox sender when SMTP says no (TLS and
 * AUTH first, 5xx, rows that can never work; tests/support/smtp_reject.py),
 * autoresponder loops, template reload and config errors, on SQLite and on
 * MongoDB (sender_fixture.h). */
#include "tests/notify/sender_fixture.h"

/* ---- refusals ---- */

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
    const struct CMUnitTest tests[] = {
        TN(permanent_failures_stop_and_show),
        TN(tls_and_auth),
        T(rows_that_can_never_work_fail_at_once),
        cmocka_unit_test_setup_teardown(autoresponder_loops_end, setup_capped, nfx_teardown),
        TN(reload_keeps_good_templates),
        T(config_errors),
    };
    return sender_run("sender_refusals", tests, sizeof tests / sizeof tests[0]);
}

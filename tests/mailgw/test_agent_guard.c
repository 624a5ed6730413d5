/* test_agent_guard.c - mail whose From names an agent without proof
 * (mailgw/agent_guard.c), on both stores:
 *
 *  - it is quarantined with reason untrusted_agent and opens no ticket
 *    (before: a ticket whose requester was the agent);
 *  - the agent gets one short notice at the address of their account -
 *    not the From or Reply-To of the mail - and no second one within the
 *    hour however many such mails come;
 *  - an agent's mail trusted by Authentication-Results still counts;
 *  - an expired reply token is no proof (core/reply_token.c). */
#include "mail_fixture.h"

#include "core/core.h"
#include "core/notify.h"
#include "core/reply_token.h"
#include "core/user.h"
#include "mailgw/ingest.h"
#include "tests/support/store_fixture.h"

#include <time.h>

#define SECRET "correct horse battery staple, really"

struct gctx {
    struct store *st;
    struct td_core core;
    struct td_config *cfg;
    struct reply_keys keys;
    struct reply_verifier rv;
    struct mailgw_settings set;
    struct ingest_ctx ic;
    struct td_user agent;
    uint32_t next_uid;
};

static struct gctx G;

static int setup(void **state)
{
    if (store_fixture_setup(state) != 0)
        return -1;
    struct td_err err;
    memset(&G, 0, sizeof G);
    if (!core_init(&err))
        return -1;
    G.st = ((struct store_fixture *)*state)->st;
    core_defaults(&G.core, G.st);
    G.core.pw_cost = PASSWORD_COST_MIN;
    /* Outgoing mail on: account mails go to the outbox. */
    if (!config_load_string("[notify]\nsupport_address = support@example.com\n", &G.cfg, &err) ||
        !notify_attach(G.cfg, &G.core, &err) || !reply_keys_init(&G.keys, SECRET, NULL, &err))
        return -1;
    settings_defaults(&G.set);
    strv_push(&G.set.own, "support@example.com");
    G.set.loop_id = td_strdup("support@example.com");
    strv_push(&G.set.authserv_ids, "mx.example.com");
    G.rv = (struct reply_verifier){ &G.keys, G.st };
    G.set.verify = reply_token_verify_sender;
    G.set.verify_ctx = &G.rv;
    G.ic = (struct ingest_ctx){ &G.core, &G.set };
    struct user_new in = { "Agent@Example.com", "Agent Smith", ROLE_AGENT, "a long enough password" };
    return user_create(&G.core, NULL, &in, &G.agent, &err) ? 0 : -1;
}

static int teardown(void **state)
{
    notify_detach(&G.core);
    config_free(G.cfg);
    settings_clear(&G.set);
    user_clear(&G.agent);
    reply_keys_wipe(&G.keys);
    return store_fixture_teardown(state);
}

static enum ingest_result ingest_raw(const char *raw, struct ingest_outcome *o)
{
    struct ingest_src src = { .mailbox = "support", .queue = "helpdesk", .uidvalidity = 1,
                              .uid = ++G.next_uid };
    ingest_mail(&G.ic, &src, raw, strlen(raw), o);
    return o->result;
}

static size_t tickets_of(const char *requester)
{
    struct td_ticket_filter f;
    memset(&f, 0, sizeof f);
    f.limit = 1000;
    struct td_ticket_list l = { NULL, 0 };
    struct td_err err;
    if (!G.st->ops->ticket_list(G.st, &f, &l, &err))
        fail_msg("ticket_list: %s", err.msg);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        n += requester == NULL || strcmp(l.v[i].requester_id, requester) == 0;
    ticket_list_clear(&l);
    return n;
}

/* Outbox rows of kind; *to gets the recipient of the last. */
static size_t rows_of(const char *kind, char *to, size_t to_len)
{
    struct td_outbox_list l = { NULL, 0 };
    struct td_err err;
    if (!G.st->ops->outbox_list(G.st, -1, 0, &l, &err))
        fail_msg("outbox_list: %s", err.msg);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i].kind, kind) == 0) {
            n++;
            snprintf(to, to_len, "%s", l.v[i].recipient);
        }
    outbox_list_clear(&l);
    return n;
}

static void test_forged_agent(void **state)
{
    (void)state;
    struct ingest_outcome o;
    size_t len;
    char *raw = mail_read("agent_forged.eml", 1, &len);
    enum ingest_result r = ingest_raw(raw, &o);
    free(raw);
    if (r != INGEST_QUARANTINED)
        fail_msg("forged agent mail: %s (%s), expected quarantined", ingest_result_name(r), o.why);
    assert_non_null(strstr(o.why, "untrusted_agent"));
    assert_int_equal(tickets_of(NULL), 0);
    struct td_quarantine q;
    struct td_err err;
    assert_true(G.st->ops->quarantine_get(G.st, o.quarantine_id, &q, &err));
    assert_true(strncmp(q.reason, "untrusted_agent", 15) == 0);
    quarantine_clear(&q);
    char to[320] = "";
    assert_int_equal(rows_of("agent_untrusted", to, sizeof to), 1);
    assert_string_equal(to, "agent@example.com"); /* the account's address */

    /* More of them, with a Reply-To of the forger's choosing: still
     * quarantined, no further notice within the hour, none to the forger. */
    for (int i = 0; i < 3; i++) {
        char m[600];
        snprintf(m, sizeof m,
                 "From: Agent Smith <AGENT@example.com>\r\nReply-To: forger@evil.example\r\n"
                 "To: support@example.com\r\nSubject: urgent %d\r\n"
                 "Message-ID: <forged-%d@evil.example>\r\n\r\nPlease reset my password.\r\n", i, i);
        r = ingest_raw(m, &o);
        assert_int_equal(r, INGEST_QUARANTINED);
    }
    assert_int_equal(rows_of("agent_untrusted", to, sizeof to), 1);
    assert_int_equal(tickets_of(G.agent.id), 0);
}

static void test_trusted_agent_still_counts(void **state)
{
    (void)state;
    struct ingest_outcome o;
    /* Authentication-Results of our MTA: the agent opens a ticket. */
    const char *m = "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n"
                    "From: Agent Smith <agent@example.com>\r\nTo: support@example.com\r\n"
                    "Subject: printer for Bob\r\nMessage-ID: <ok-1@example.com>\r\n\r\nOn his behalf.\r\n";
    enum ingest_result r = ingest_raw(m, &o);
    if (r != INGEST_TICKET)
        fail_msg("trusted agent mail: %s (%s)", ingest_result_name(r), o.why);
    char to[320];
    assert_int_equal(rows_of("agent_untrusted", to, sizeof to), 0);
}

static void test_expired_token_is_no_proof(void **state)
{
    (void)state;
    struct ingest_outcome o;
    const char *m0 = "From: Ann <ann@example.org>\r\nTo: support@example.com\r\nSubject: help\r\n"
                     "Message-ID: <ann-1@example.org>\r\n\r\nPrinter.\r\n";
    assert_int_equal(ingest_raw(m0, &o), INGEST_TICKET);
    int64_t n = o.ticket;
    char tok[REPLY_TOKEN_MAX + 1], m[800];
    const char *tmpl = "From: Agent Smith <agent@example.com>\r\nTo: support+%s@example.com\r\n"
                       "Subject: Re: help\r\nMessage-ID: <agent-%d@example.com>\r\n\r\nOn it.\r\n";
    /* 91 days old: no proof. */
    assert_true(reply_token_make_at(&G.keys, n, G.agent.id, (int64_t)time(NULL) - 91 * 86400, tok,
                                    sizeof tok));
    snprintf(m, sizeof m, tmpl, tok, 1);
    assert_int_equal(ingest_raw(m, &o), INGEST_QUARANTINED);
    assert_non_null(strstr(o.why, "untrusted_agent"));
    /* A fresh one: the agent's comment. */
    assert_true(reply_token_make(&G.keys, n, G.agent.id, tok, sizeof tok));
    snprintf(m, sizeof m, tmpl, tok, 2);
    enum ingest_result r = ingest_raw(m, &o);
    if (r != INGEST_COMMENT)
        fail_msg("fresh token: %s (%s)", ingest_result_name(r), o.why);
    assert_int_equal(o.ticket, n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_forged_agent),
        T(test_trusted_agent_still_counts),
        T(test_expired_token_is_no_proof),
    };
    return store_fixture_run_all("agent_guard", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

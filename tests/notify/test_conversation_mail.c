/* test_conversation_mail.c - one ticket, one conversation, whoever
 * writes (issue 10), through the real loop (rt_fixture.h: Dovecot,
 * `ticketd mailgw`, `ticketd sender`, an SMTP sink) on every store:
 * - a Cc'd colleague joins the new ticket, gets mails of their own with
 *   a reply token of their own, and answers into the same ticket;
 * - who may add to a ticket by mail (mailgw/authorship.h rules 1-4): a
 *   colleague of the same company threading by In-Reply-To joins; a
 *   stranger with only [#N] opens a ticket of their own and the named
 *   ticket's history says so; a free-mail address proves no company;
 * - a merge followed by a reply to the merged ticket's old thread;
 * - an agent answering from a registered alias with their reply token;
 *   the alias without the token is not the agent;
 * - files both ways: the customer's screenshot in the agent notice, the
 *   agent's manual attached to the customer's mail, a big file listed, an
 *   image inline in the agent's HTML reply inline in the customer's. */
#include "rt_fixture.h"

#include "core/alias.h"
#include "core/merge.h"
#include "core/reply_token.h"

static int64_t ticket_of(struct nfx *f, const struct mc_mail *m)
{
    struct td_err err;
    int64_t n = 0;
    if (!f->st->ops->ticket_find_by_msgid(f->st, mc_raw(m, "Message-ID"), &n, &err))
        fail_msg("no ticket holds %s: %s", mc_raw(m, "Message-ID"), err.msg);
    return n;
}

static void user_by_mail(struct nfx *f, const char *email, struct td_user *out)
{
    struct td_err err;
    if (!f->st->ops->user_get_by_email(f->st, email, out, &err))
        fail_msg("no user %s: %s", email, err.msg);
}

/* The user id the signed Reply-To of m was issued to (and its ticket). */
static void token_owner(const struct mc_mail *m, int64_t *ticket, char id[TD_ID_LEN + 1])
{
    struct reply_keys keys;
    struct td_err err;
    assert_true(reply_keys_init(&keys, NFX_SECRET, NULL, &err));
    char addr[300];
    rt_addr_of(mc_raw(m, "Reply-To"), addr, sizeof addr);
    if (!reply_address_verify(&keys, RT_SUPPORT, addr, ticket, id))
        fail_msg("Reply-To %s carries no valid token", addr);
    reply_keys_wipe(&keys);
}

static size_t count_events(struct nfx *f, int64_t n, enum td_event_kind kind, const char *value)
{
    struct td_event_list h = { NULL, 0 };
    struct td_err err;
    assert_true(f->st->ops->history_list(f->st, n, &h, &err));
    size_t k = 0;
    for (size_t i = 0; i < h.n; i++)
        if (h.v[i].kind == kind &&
            (value == NULL || (h.v[i].new_value && strcmp(h.v[i].new_value, value) == 0) ||
             (h.v[i].old_value && strcmp(h.v[i].old_value, value) == 0)))
            k++;
    event_list_clear(&h);
    return k;
}

static void deliver_file(struct rt *r, const char *from, const char *file, int64_t ticket)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)ticket);
    const char *vars[] = { "TICKET", num, NULL };
    char *mail = rt_mail_file(file, vars);
    rt_deliver(r, from, RT_SUPPORT, mail);
    free(mail);
}

static void colleague_on_cc_and_strangers(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    struct td_err err;

    /* 1. Ann writes in with Carl, a sales alias of ours, a no-reply
     * address and an agent on Cc: only Carl joins. */
    deliver_file(r, "ann@acme.test", "conv_cc_new.eml", 0);
    struct mc_mail ack, notice;
    assert_true(rt_wait_mail(r, "ann@acme.test", "VPN keeps dropping", &ack));
    assert_true(rt_wait_mail(r, "agent1@example.com", "New ticket", &notice));
    int64_t n = ticket_of(f, &notice);
    struct td_user ann, carl, probe;
    user_by_mail(f, "ann@acme.test", &ann);
    user_by_mail(f, "carl@acme.test", &carl);
    struct td_ticket t;
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    assert_string_equal(t.requester_id, ann.id);
    assert_int_equal(t.participants.n, 1);
    assert_string_equal(t.participants.v[0], carl.id);
    ticket_clear(&t);
    assert_false(f->st->ops->user_get_by_email(f->st, "noreply@acme.test", &probe, &err));
    assert_false(f->st->ops->user_get_by_email(f->st, "support+sales@example.com", &probe, &err));

    /* 2. The agent answers from their mail client: Ann and Carl each get
     * a mail of their own, with a token of their own; the agent's client
     * Message-ID is not in what customers get. */
    char rcpt[300];
    char *reply = rt_client_reply(&notice, "Al Agent", "agent1@example.com",
                                  "Please update the VPN client to 5.2.",
                                  "<al-1@laptop.internal.example.com>", rcpt, sizeof rcpt);
    rt_deliver(r, "agent1@example.com", rcpt, reply);
    free(reply);
    struct mc_mail to_ann, to_carl;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Re: ", &to_ann));
    assert_true(rt_wait_mail(r, "carl@acme.test", "Re: ", &to_carl));
    int64_t tn = 0;
    char who[TD_ID_LEN + 1];
    token_owner(&to_ann, &tn, who);
    assert_int_equal(tn, n);
    assert_string_equal(who, ann.id);
    token_owner(&to_carl, &tn, who);
    assert_string_equal(who, carl.id);
    assert_null(mc_raw(&to_carl, "Cc")); /* tokens: no Cc header, no leak */
    char *from = mc_header(&to_carl, "From");
    assert_non_null(strstr(from, "Al Agent via ACME Support"));
    free(from);
    assert_null(strstr(mc_raw(&to_carl, "References"), "laptop.internal"));
    assert_null(strstr(mc_raw(&to_ann, "References"), "laptop.internal"));
    assert_non_null(strstr(mc_raw(&to_ann, "References"), "conv-first.1@mail.acme.test"));

    /* 3. Carl answers his own mail: his comment on the same ticket, and
     * Ann hears of it. */
    reply = rt_client_reply(&to_carl, "Carl Colleague", "carl@acme.test",
                            "Updated to 5.2, it still drops.", "<carl-1@mail.acme.test>", rcpt,
                            sizeof rcpt);
    rt_deliver(r, "carl@acme.test", rcpt, reply);
    free(reply);
    struct td_comment_list cl;
    rt_wait_comments(r, n, 3, &cl);
    assert_string_equal(cl.v[2].author_id, carl.id);
    assert_string_equal(cl.v[2].body, "Updated to 5.2, it still drops.");
    comment_list_clear(&cl);
    struct mc_mail relay;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Re: ", &relay));
    char *body = mc_text(&relay, "text/plain");
    assert_non_null(strstr(body, "it still drops"));
    free(body);
    mc_free(&relay);
    assert_true(rt_wait_mail(r, "agent1@example.com", "Re: ", &relay));
    mc_free(&relay);

    /* 4. Dave, a colleague of Ann's company never on the thread, answers
     * the first mail (In-Reply-To): he joins and his comment counts. */
    deliver_file(r, "dave@acme.test", "conv_colleague_thread.eml", 0);
    rt_wait_comments(r, n, 4, &cl);
    struct td_user dave;
    user_by_mail(f, "dave@acme.test", &dave);
    assert_string_equal(cl.v[3].author_id, dave.id);
    assert_string_equal(cl.v[3].body, "Same here on the third floor, since Monday morning.");
    comment_list_clear(&cl);
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    assert_int_equal(t.participants.n, 2);
    assert_string_equal(t.participants.v[1], dave.id);
    ticket_clear(&t);
    assert_int_equal(count_events(f, n, EVENT_PARTICIPANT_ADDED, dave.id), 1);

    /* 5. Eve, a stranger, with only [#n] in the subject: a ticket of her
     * own, no acknowledgement of ticket n, and n's history links it. */
    deliver_file(r, "eve@else.test", "conv_stranger_token.eml", n);
    assert_int_equal(rt_wait_tickets(r, 2), 2);
    struct mc_mail eve_ack;
    assert_true(rt_wait_mail(r, "eve@else.test", "VPN keeps dropping", &eve_ack));
    int64_t m = ticket_of(f, &eve_ack);
    assert_true(m != n);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)m);
    assert_int_equal(count_events(f, n, EVENT_RELATED_MAIL, num), 1);
    rt_wait_comments(r, n, 4, &cl);
    assert_int_equal(cl.n, 4);
    comment_list_clear(&cl);
    mc_free(&eve_ack);

    user_clear(&ann);
    user_clear(&carl);
    user_clear(&dave);
    mc_free(&ack);
    mc_free(&notice);
    mc_free(&to_ann);
    mc_free(&to_carl);
}

static void free_mail_domain_is_no_company(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    deliver_file(r, "gina.home@gmail.com", "conv_freemail_new.eml", 0);
    struct mc_mail ack;
    assert_true(rt_wait_mail(r, "gina.home@gmail.com", "Invoice missing", &ack));
    int64_t n = ticket_of(f, &ack);
    /* Same domain, threading by In-Reply-To - but gmail.com. */
    deliver_file(r, "hank.h@gmail.com", "conv_freemail_reply.eml", 0);
    assert_int_equal(rt_wait_tickets(r, 2), 2);
    struct td_comment_list cl;
    rt_wait_comments(r, n, 1, &cl);
    assert_int_equal(cl.n, 1);
    comment_list_clear(&cl);
    struct td_ticket t;
    struct td_err err;
    assert_true(f->st->ops->ticket_get(f->st, n, &t, &err));
    assert_int_equal(t.participants.n, 0);
    ticket_clear(&t);
    mc_free(&ack);
}

static void merge_then_reply_to_old_thread(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    struct td_err err;
    deliver_file(r, "ann@acme.test", "conv_cc_new.eml", 0);
    struct mc_mail ack_a, ack_b;
    assert_true(rt_wait_mail(r, "ann@acme.test", "VPN keeps dropping", &ack_a));
    int64_t a = ticket_of(f, &ack_a);
    deliver_file(r, "ann@acme.test", "conv_attachment_new.eml", 0);
    assert_true(rt_wait_mail(r, "ann@acme.test", "Error dialog", &ack_b));
    int64_t b = ticket_of(f, &ack_b);

    struct td_ticket t;
    assert_true(ticket_merge(&f->core, &f->agent1, b, a, &t, &err));
    ticket_clear(&t);
    assert_true(f->st->ops->ticket_get(f->st, b, &t, &err));
    assert_int_equal(t.merged_into, a);
    assert_int_equal(t.status, STATUS_CLOSED);
    ticket_clear(&t);

    /* Ann answers the acknowledgement of the merged ticket (its token and
     * its thread name b): the comment lands in a. */
    char rcpt[300];
    char *reply = rt_client_reply(&ack_b, "Ann Requester", "ann@acme.test",
                                  "It also happens after the update.", "<ann-late@mail.acme.test>",
                                  rcpt, sizeof rcpt);
    rt_deliver(r, "ann@acme.test", rcpt, reply);
    free(reply);
    struct td_comment_list cl;
    rt_wait_comments(r, a, 3, &cl);
    assert_string_equal(cl.v[cl.n - 1].body, "It also happens after the update.");
    /* b's description (with its screenshot) moved along. */
    bool shot = false;
    for (size_t i = 0; i < cl.n; i++)
        for (size_t k = 0; k < cl.v[i].n_attachments; k++)
            shot = shot || strcmp(cl.v[i].attachments[k].name, "screenshot.png") == 0;
    assert_true(shot);
    comment_list_clear(&cl);
    assert_true(f->st->ops->comment_list(f->st, b, true, &cl, &err));
    assert_int_equal(cl.n, 0);
    comment_list_clear(&cl);
    assert_int_equal(count_events(f, a, EVENT_MERGED_FROM, NULL), 1);
    assert_int_equal(count_events(f, b, EVENT_MERGED_INTO, NULL), 1);
    mc_free(&ack_a);
    mc_free(&ack_b);
}

static void agent_alias_reply(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    struct td_err err;
    assert_true(alias_add(&f->core, NULL, f->agent1.id, "Al.Phone@mobile.example", NULL, NULL, &err));
    deliver_file(r, "gina.home@gmail.com", "conv_freemail_new.eml", 0);
    struct mc_mail notice, ack;
    assert_true(rt_wait_mail(r, "agent1@example.com", "New ticket", &notice));
    assert_true(rt_wait_mail(r, "gina.home@gmail.com", "Invoice missing", &ack));
    int64_t n = ticket_of(f, &notice);

    /* From the phone, to the notice's reply address: the agent's. */
    char rcpt[300];
    char *reply = rt_client_reply(&notice, "Al (phone)", "al.phone@mobile.example",
                                  "Checking your invoice now.", "<al-phone-1@mobile.example>",
                                  rcpt, sizeof rcpt);
    rt_deliver(r, "al.phone@mobile.example", rcpt, reply);
    free(reply);
    struct td_comment_list cl;
    rt_wait_comments(r, n, 2, &cl);
    assert_string_equal(cl.v[1].author_id, f->agent1.id);
    assert_false(cl.v[1].internal);
    assert_string_equal(cl.v[1].body, "Checking your invoice now.");
    comment_list_clear(&cl);
    struct mc_mail to_gina;
    assert_true(rt_wait_mail(r, "gina.home@gmail.com", "Re: ", &to_gina));
    struct td_user probe;
    assert_false(f->st->ops->user_get_by_email(f->st, "al.phone@mobile.example", &probe, &err));

    /* The alias without a token, naming the ticket: not proven to be the
     * agent, so it is held back (untrusted_agent) and the agent's
     * registered address - not the alias - is told how to reply. */
    char mail[600];
    snprintf(mail, sizeof mail,
             "From: Al <al.phone@mobile.example>\nTo: " RT_SUPPORT "\n"
             "Subject: Re: [#%lld] Invoice missing\nMessage-ID: <al-phone-2@mobile.example>\n"
             "\nClosing this.\n", (long long)n);
    rt_deliver(r, "al.phone@mobile.example", RT_SUPPORT, mail);
    struct mc_mail held;
    assert_true(rt_wait_mail(r, "agent1@example.com", "was held back", &held));
    mc_free(&held);
    assert_int_equal(rt_wait_tickets(r, 1), 1);
    rt_wait_comments(r, n, 2, &cl);
    assert_int_equal(cl.n, 2);
    comment_list_clear(&cl);
    mc_free(&notice);
    mc_free(&ack);
    mc_free(&to_gina);
}

static int setup_small_files(void **state)
{
    rt_extra_notify = "attachments_max_bytes = 4096\n";
    return rt_setup(state);
}

static void files_both_ways(void **state)
{
    struct rt *r = *state;
    struct nfx *f = r->f;
    struct td_err err;
    /* The customer's screenshot: attached to, and listed in, the agent
     * notice. */
    deliver_file(r, "ann@acme.test", "conv_attachment_new.eml", 0);
    struct mc_mail notice, ack;
    assert_true(rt_wait_mail(r, "agent1@example.com", "Error dialog", &notice));
    assert_true(rt_wait_mail(r, "ann@acme.test", "Error dialog", &ack));
    assert_non_null(strstr(notice.data, "filename=\"screenshot.png\""));
    char *body = mc_text(&notice, "text/plain");
    assert_non_null(strstr(body, "screenshot.png"));
    free(body);
    int64_t n = ticket_of(f, &notice);

    /* The agent's reply with a manual (attached) and a disk image (over
     * the 4096-byte limit: listed with its size and where to get it). */
    static const unsigned char pdf[] = "%PDF-1.4 a very small manual";
    size_t big_n = 10000;
    unsigned char *big = calloc(1, big_n);
    struct attachment_in atts[2] = {
        { "manual.pdf", "application/pdf", pdf, sizeof pdf - 1, false },
        { "disk.img", "application/octet-stream", big, big_n, false },
    };
    struct comment_new in = { .body = "The manual explains the setting.", .source = SOURCE_API,
                              .attachments = atts, .n_attachments = 2 };
    assert_true(comment_add(&f->core, &f->agent1, n, &in, NULL, &err));
    free(big);
    struct mc_mail to_ann;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Re: ", &to_ann));
    assert_non_null(strstr(to_ann.data, "filename=\"manual.pdf\""));
    assert_null(strstr(to_ann.data, "filename=\"disk.img\""));
    body = mc_text(&to_ann, "text/plain");
    assert_non_null(strstr(body, "The manual explains the setting."));
    assert_non_null(strstr(body, "disk.img (9.8 KB), too large to attach"));
    assert_non_null(strstr(body, "https://help.example.com/t/"));
    assert_null(strstr(body, "manual.pdf")); /* attached, so not listed to customers */
    free(body);

    /* The agent answers by mail in HTML with an inline image (cid:): the
     * customer's mail shows it inline too. */
    char to[300], irt[400];
    rt_addr_of(mc_raw(&notice, "Reply-To"), to, sizeof to);
    const char *notice_id = mc_raw(&notice, "Message-ID");
    snprintf(irt, sizeof irt, "%s", notice_id ? notice_id : "");
    char *subj = mc_header(&notice, "Subject");
    const char *vars[] = { "TO", to, "SUBJECT", subj, "IRT", irt, NULL };
    char *mail = rt_mail_file("conv_agent_html_inline.eml", vars);
    free(subj);
    rt_deliver(r, "agent1@example.com", to, mail);
    free(mail);
    struct mc_mail inline_mail;
    assert_true(rt_wait_mail(r, "ann@acme.test", "Re: ", &inline_mail));
    assert_non_null(strstr(inline_mail.data, "Content-Disposition: inline;"));
    assert_non_null(strstr(inline_mail.data, "filename=\"button.png\""));
    assert_non_null(strstr(inline_mail.data, "Content-ID: <att-"));
    char *html = mc_text(&inline_mail, "text/html");
    assert_non_null(html);
    assert_non_null(strstr(html, "<img src=\"cid:att-"));
    free(html);
    body = mc_text(&inline_mail, "text/plain");
    assert_null(strstr(body, "Files:")); /* an image in the text, not a file */
    free(body);
    mc_free(&inline_mail);
    mc_free(&notice);
    mc_free(&ack);
    mc_free(&to_ann);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(colleague_on_cc_and_strangers, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(free_mail_domain_is_no_company, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(merge_then_reply_to_old_thread, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(files_both_ways, setup_small_files, rt_teardown),
        cmocka_unit_test_setup_teardown(agent_alias_reply, rt_setup, rt_teardown),
    };
    return store_fixture_run_all("conversation_mail", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

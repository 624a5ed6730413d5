/* test_sla_mail.c - the sla_escalated mail end to end, on every store:
 * sla_escalate_due queues it, the outbox sender renders
 * templates/sla_escalated.txt and sends it through the SMTP sink, to
 * the lead's address (no reply token: not a user) and to each agent
 * of the group, once, whatever runs again. */
#include "sender_fixture.h"

#include "core/sla.h"
#include "core/sla_escalate.h"

static void escalation_mail_sent_once(void **state)
{
    struct nfx *f = *state;
    struct sla_table *tab = NULL;
    struct td_err err;
    assert_true(sla_config_load_string("[sla normal]\npriority = normal\nfirst_response = 1h\n"
                                       "escalate_to = lead@example.net\n"
                                       "[sla high]\npriority = high\nresolution = 4h\n"
                                       "escalate_to = group\n", &tab, &err));
    f->core.sla = tab;
    struct sender *s = make_sender(f, NULL, sink.uri, NULL);
    int64_t n = nfx_open(f, &f->cust1, NULL, "Overheating", "the fan");
    drain(s); /* the creation mails */
    mc_box_empty(sink.maildir);
    struct td_ticket t;
    assert_true(ticket_get(&f->core, NULL, n, &t, &err));
    td_time due = t.sla.first_response_due;
    ticket_clear(&t);

    assert_true(sla_escalate_due(&f->core, due + 1, &err));
    assert_true(sla_escalate_due(&f->core, due + 2, &err)); /* again: nothing new */
    drain(s);
    struct mc_box box;
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 1);
    char want[64];
    snprintf(want, sizeof want, "[#%lld] Overdue (first response): Overheating", (long long)n);
    const struct mc_mail *m = only(&box, "lead@example.net", want);
    char *body = mc_text(m, "text/plain");
    assert_non_null(body);
    assert_non_null(strstr(body, "SLA policy \"normal\""));
    assert_non_null(strstr(body, "cust1@example.org"));
    free(body);
    assert_null(mc_raw(m, "Reply-To") ? strstr(mc_raw(m, "Reply-To"), "+") : NULL);
    mc_box_free(&box);

    /* Raised? No: normal does not raise. High's group escalation goes to
     * the agents (and the admin) as staff notices. */
    struct ticket_patch p = { .has_priority = true, .priority = PRIORITY_HIGH };
    assert_true(ticket_update(&f->core, &f->agent1, n, &p, 0, NULL, &err));
    assert_true(ticket_get(&f->core, NULL, n, &t, &err));
    due = t.sla.resolution_due;
    ticket_clear(&t);
    drain(s);
    mc_box_empty(sink.maildir);
    assert_true(sla_escalate_due(&f->core, due, &err));
    drain(s);
    mc_box_read(sink.maildir, &box);
    assert_int_equal(box.n, 3);
    snprintf(want, sizeof want, "Overdue (resolution)");
    only(&box, "agent1@example.com", want);
    only(&box, "agent2@example.com", want);
    only(&box, "admin@example.com", want);
    mc_box_free(&box);
    sender_free(s);
    sla_table_free(tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(escalation_mail_sent_once),
    };
    return sender_run("sla_mail", tests, sizeof tests / sizeof tests[0]);
}

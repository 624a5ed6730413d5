/* test_ingest_route.c - routing rules through the mail gateway (issue
 * 14), on every store: real .eml files open their tickets in the group a
 * [route] rule picks - by a To/Cc recipient together with a subject
 * pattern (an encoded subject, decoded first), by the sender's domain
 * (any case, a subdomain), by the envelope recipient of a Bcc'd mail
 * (Delivered-To) - and in the mailbox's queue when no rule matches. A
 * reply to a routed ticket stays a comment there. The settings refuse a
 * bad pattern naming its section. */
#include "tests/mailgw/ingest_fixture.h"

#include "core/config.h"
#include "core/route.h"

static const char routes[] =
    "[route invoices]\n"
    "to = billing@example.com\n"
    "subject = (?i)\\binvoice\\b\n"
    "group = billing\n"
    "[route vip]\n"
    "from_domain = bigcustomer.example\n"
    "group = vip\n"
    "[route sales]\n"
    "to = sales@example.com\n"
    "group = sales\n";

static void use_routes(const char *text)
{
    struct td_config *cfg = NULL;
    struct td_err err;
    if (!config_load_string(text, &cfg, &err) || !route_table_load(cfg, &X.set.routes, &err))
        fail_msg("routes: %s", err.msg);
    config_free(cfg);
}

static void assert_queue(int64_t n, const char *want)
{
    struct td_ticket t;
    ticket_of(n, &t);
    assert_string_equal(t.queue, want);
    ticket_clear(&t);
}

static void test_routes_pick_the_group(void **state)
{
    (void)state;
    use_routes(routes);
    /* Some groups exist, not vip or sales: mail still opens its ticket
     * where the route says (it is never refused for it). */
    struct td_group g = { .key = (char *)"billing", .name = (char *)"Billing" };
    struct td_err err;
    assert_true(X.st->ops->group_insert(X.st, &g, &err));
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("route_billing_invoice.eml", 0, &o));
    assert_queue(o.ticket, "billing");
    int64_t billing = o.ticket;
    EXPECT(INGEST_TICKET, ingest_file("route_vip_sender.eml", 0, &o));
    assert_queue(o.ticket, "vip");
    EXPECT(INGEST_TICKET, ingest_file("route_bcc_sales.eml", 0, &o));
    assert_queue(o.ticket, "sales");
    /* No rule matches: the mailbox's queue. */
    EXPECT(INGEST_TICKET, ingest_file("gmail_new.eml", 0, &o));
    assert_queue(o.ticket, "helpdesk");
    /* A reply threads onto the routed ticket, whatever it says. */
    EXPECT(INGEST_COMMENT, ingest_file("gmail_reply.eml", o.ticket, &o));
    assert_queue(billing, "billing");
}

static void test_no_rules_no_change(void **state)
{
    (void)state;
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("route_billing_invoice.eml", 0, &o));
    assert_queue(o.ticket, "helpdesk");
}

/* Without the subject the first rule does not hold: the next rule that
 * does (file order) is sales, by the Delivered-To. */
static void test_all_conditions_of_a_rule(void **state)
{
    (void)state;
    use_routes("[route invoices-sales]\n"
               "to = sales@example.com\n"
               "subject = (?i)invoice\n"
               "group = billing\n"
               "[route sales]\n"
               "to = sales@example.com\n"
               "group = sales\n");
    struct ingest_outcome o;
    EXPECT(INGEST_TICKET, ingest_file("route_bcc_sales.eml", 0, &o));
    assert_queue(o.ticket, "sales");
}

static void test_bad_pattern_refused(void **state)
{
    (void)state;
    struct td_config *cfg = NULL;
    struct td_err err;
    assert_true(config_load_string("[route broken]\nsubject = ([a-\ngroup = x\n", &cfg, &err));
    struct mailgw_settings s;
    td_err_clear(&err);
    assert_false(settings_load(cfg, &s, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "[route broken] subject"));
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_routes_pick_the_group),
        T(test_no_rules_no_change),
        T(test_all_conditions_of_a_rule),
        T(test_bad_pattern_refused),
    };
    return store_fixture_run_all("ingest_route", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

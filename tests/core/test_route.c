/* test_route.c - routing rules (core/route.h) as pure code: file order
 * and first match, each condition and their conjunction, addresses and
 * domains without case, subdomains, a subject pattern, and what stops
 * ticketd at start (a bad pattern naming its section, no group, a bad
 * group key, a rule without a condition). A catastrophic pattern on a
 * hostile subject ends within the match limit, unmatched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/route.h"

static struct route_table *load(const char *text)
{
    struct td_config *cfg = NULL;
    struct td_err err;
    if (!config_load_string(text, &cfg, &err))
        fail_msg("config: %s", err.msg);
    struct route_table *t = NULL;
    if (!route_table_load(cfg, &t, &err))
        fail_msg("routes: %s", err.msg);
    config_free(cfg);
    return t;
}

static void load_fails(const char *text, const char *want)
{
    struct td_config *cfg = NULL;
    struct td_err err;
    assert_true(config_load_string(text, &cfg, &err));
    struct route_table *t = NULL;
    td_err_clear(&err);
    assert_false(route_table_load(cfg, &t, &err));
    assert_int_equal(err.code, TD_INVALID);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, want);
    config_free(cfg);
}

static const char *pick(struct route_table *t, const char *to, const char *from, const char *subj,
                        const char **rule)
{
    struct strv rcpt = STRV_INIT;
    if (to)
        strv_push(&rcpt, to);
    struct route_input in = { &rcpt, from, subj };
    const char *g = route_pick(t, &in, "support", rule);
    strv_clear(&rcpt);
    return g;
}

static const char rules[] =
    "[route invoices]\n"
    "to = Billing@Example.com, invoices@example.com\n"
    "subject = (?i)\\binvoice\\b\n"
    "group = billing\n"
    "[route billing-any]\n"
    "to = billing@example.com\n"
    "group = billing-triage\n"
    "[route vip]\n"
    "from_domain = BigCustomer.com\n"
    "group = vip\n"
    "[route outage]\n"
    "subject = ^(URGENT|DOWN):\n"
    "group = ops\n";

static void first_match_wins(void **state)
{
    (void)state;
    struct route_table *t = load(rules);
    assert_int_equal(route_table_count(t), 4);
    const char *rule;
    /* Both conditions of the first rule. */
    assert_string_equal(pick(t, "billing@example.com", "a@x.org", "Your Invoice 42", &rule), "billing");
    assert_string_equal(rule, "invoices");
    /* The address alone: the second rule (file order). */
    assert_string_equal(pick(t, "BILLING@example.com", "a@x.org", "hello", &rule), "billing-triage");
    assert_string_equal(rule, "billing-any");
    /* The other address of the first rule needs its subject too. */
    assert_string_equal(pick(t, "invoices@example.com", "a@x.org", "hello", &rule), "support");
    assert_null(rule);
    /* Domains and subdomains, not look-alikes. */
    assert_string_equal(pick(t, "help@example.com", "ceo@bigcustomer.com", "hi", NULL), "vip");
    assert_string_equal(pick(t, "help@example.com", "ceo@eu.BigCustomer.com", "hi", NULL), "vip");
    assert_string_equal(pick(t, "help@example.com", "ceo@notbigcustomer.com", "hi", NULL), "support");
    assert_string_equal(pick(t, "help@example.com", NULL, "hi", NULL), "support");
    /* A pattern is case-sensitive unless it says otherwise. */
    assert_string_equal(pick(t, "help@example.com", "a@x.org", "DOWN: the site", NULL), "ops");
    assert_string_equal(pick(t, "help@example.com", "a@x.org", "down: the site", NULL), "support");
    /* No recipients at all. */
    struct route_input in = { NULL, "a@x.org", "URGENT: now" };
    assert_string_equal(route_pick(t, &in, "support", NULL), "ops");
    route_table_free(t);

    /* No rules: the default; a NULL table too. */
    t = load("[api]\n");
    assert_int_equal(route_table_count(t), 0);
    assert_string_equal(pick(t, "billing@example.com", "a@b.c", "invoice", NULL), "support");
    route_table_free(t);
    assert_string_equal(route_pick(NULL, &in, "dflt", NULL), "dflt");
}

static void bad_rules_stop_ticketd(void **state)
{
    (void)state;
    load_fails("[route broken]\nsubject = (unclosed\ngroup = x\n", "[route broken] subject: bad pattern");
    load_fails("[route nogroup]\nto = a@b.c\n", "[route nogroup] group");
    load_fails("[route badkey]\nto = a@b.c\ngroup = two words\n", "[route badkey] group");
    load_fails("[route empty]\ngroup = x\n", "[route empty]: a route needs at least one of");
    load_fails("[route ok]\nto = a@b.c\ngroup = x\n[route second]\nsubject = [z-a]\ngroup = y\n",
               "[route second] subject");
}

static void hostile_subject_is_bounded(void **state)
{
    (void)state;
    struct route_table *t = load("[route evil]\nsubject = ^(a+)+$\ngroup = x\n");
    char subj[4096];
    memset(subj, 'a', sizeof subj - 2);
    subj[sizeof subj - 2] = '!';
    subj[sizeof subj - 1] = '\0';
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_string_equal(pick(t, NULL, "x@y.z", subj, NULL), "support");
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 2000);
    route_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_match_wins),
        cmocka_unit_test(bad_rules_stop_ticketd),
        cmocka_unit_test(hostile_subject_is_bounded),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}

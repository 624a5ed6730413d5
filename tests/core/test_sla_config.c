/* test_sla_config.c - [calendar NAME] and [sla NAME] (core/sla_config.c):
 * durations, the most specific policy winning, days of the calendar's
 * length, and every configuration error named by section and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/sla.h"

#define H (3600 * 1000LL)

#define OFFICE                                                                \
    "[calendar office]\n"                                                     \
    "timezone = Europe/Berlin\n"                                              \
    "mon = 09:00-17:00\ntue = 09:00-17:00\nwed = 09:00-17:00\n"               \
    "thu = 09:00-17:00\nfri = 09:00-12:00, 13:00-15:00\n"                     \
    "holidays = 2026-12-25, 2026-12-26\n"

static struct sla_table *load(const char *text)
{
    struct sla_table *tab = NULL;
    struct td_err err = { TD_OK, "" };
    if (!sla_config_load_string(text, &tab, &err))
        fail_msg("%s", err.msg);
    return tab;
}

static void durations(void **state)
{
    (void)state;
    int64_t ms, d;
    assert_true(sla_duration_parse("4h", &ms, &d));
    assert_int_equal(ms, 4 * H);
    assert_int_equal(d, 0);
    assert_true(sla_duration_parse("1d4h30m", &ms, &d));
    assert_int_equal(ms, 4 * H + 30 * 60 * 1000);
    assert_int_equal(d, 1);
    assert_true(sla_duration_parse("90s", &ms, &d));
    assert_int_equal(ms, 90 * 1000);
    const char *bad[] = { "", "  ", "4", "h", "4x", "-4h", "0h", "4 h", "400d", "9000h", "1.5h",
                          "4h4", NULL };
    for (size_t i = 0; bad[i]; i++)
        if (sla_duration_parse(bad[i], &ms, &d))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(sla_duration_parse(NULL, &ms, &d));
}

static void most_specific_policy_wins(void **state)
{
    (void)state;
    struct sla_table *tab = load(OFFICE
                                 "[sla urgent]\npriority = urgent\nfirst_response = 1h\n"
                                 "resolution = 2d\ncalendar = office\nescalate_to = group\n"
                                 "raise_priority = false\n"
                                 "[sla urgent-billing]\npriority = urgent\ngroup = billing\n"
                                 "first_response = 30m\nescalate_to = boss@example.com\n"
                                 "[sla normal]\npriority = normal\nresolution = 2d\n");
    assert_int_equal(sla_table_count(tab), 3);
    const struct sla_policy *p = sla_policy_for(tab, PRIORITY_URGENT, "support");
    assert_non_null(p);
    assert_string_equal(p->name, "urgent");
    assert_int_equal(p->first_response_ms, 1 * H);
    /* A day is the calendar's average working day: 37h / 5 = 7.4h. */
    assert_int_equal(p->resolution_ms, 2 * (74 * H / 10));
    assert_string_equal(p->escalate_to, "group");
    assert_non_null(p->cal);
    p = sla_policy_for(tab, PRIORITY_URGENT, "billing");
    assert_string_equal(p->name, "urgent-billing");
    assert_string_equal(p->escalate_to, "boss@example.com");
    assert_null(p->cal);
    assert_int_equal(p->resolution_ms, 0);
    /* No calendar: a day is 24 hours round the clock. */
    p = sla_policy_for(tab, PRIORITY_NORMAL, "billing");
    assert_string_equal(p->name, "normal");
    assert_int_equal(p->resolution_ms, 48 * H);
    assert_null(p->escalate_to);
    assert_null(sla_policy_for(tab, PRIORITY_LOW, "billing"));
    assert_null(sla_policy_for(NULL, PRIORITY_LOW, ""));
    sla_table_free(tab);
    /* No sections: an empty table, no policy for anything. */
    tab = load("[core]\n");
    assert_int_equal(sla_table_count(tab), 0);
    assert_null(sla_policy_for(tab, PRIORITY_URGENT, ""));
    sla_table_free(tab);
}

static void refused(const char *text, const char *needle1, const char *needle2)
{
    struct sla_table *tab = NULL;
    struct td_err err = { TD_OK, "" };
    if (sla_config_load_string(text, &tab, &err))
        fail_msg("accepted: %s", text);
    assert_int_equal(err.code, TD_INVALID);
    if (strstr(err.msg, needle1) == NULL || (needle2 && strstr(err.msg, needle2) == NULL))
        fail_msg("'%s' does not name '%s'/'%s'", err.msg, needle1, needle2 ? needle2 : "");
    assert_null(tab);
}

static void config_errors(void **state)
{
    (void)state;
    refused("[sla a]\npriority = urgent\nfirst_response = 4hours\n", "[sla a]", "first_response");
    refused("[sla a]\npriority = urgent\nresolution = 0h\n", "[sla a]", "resolution");
    refused("[sla a]\npriority = soon\nresolution = 1h\n", "[sla a]", "priority");
    refused("[sla a]\nresolution = 1h\n", "priority", NULL);
    refused("[sla a]\npriority = low\n", "[sla a]", "first_response");
    refused("[sla a]\npriority = low\nresolution = 1h\ncalendar = nowhere\n", "[sla a]",
            "calendar");
    refused("[sla a]\npriority = low\nresolution = 1h\nescalate_to = the boss\n", "[sla a]",
            "escalate_to");
    refused("[sla a]\npriority = low\nresolution = 1h\nraise_priority = maybe\n",
            "raise_priority", NULL);
    refused("[sla a]\npriority = low\nresolution = 1h\nresolutoin = 2h\n", "unknown", "resolutoin");
    refused("[sla a]\npriority = low\nresolution = 1h\nresolution = 2h\n", "duplicate",
            "resolution");
    refused("[sla a]\npriority = low\nresolution = 1h\n[sla b]\npriority = low\nresolution = 2h\n",
            "[sla b]", "[sla a]");
    refused("[sla a]\npriority = low\ngroup = x\nresolution = 1h\n"
            "[sla b]\npriority = low\ngroup = x\nresolution = 2h\n", "[sla b]", "group x");
    refused("[calendar c]\ntimezone = Europe/Atlantis\nmon = 09:00-17:00\n", "[calendar c]",
            "Europe/Atlantis");
    refused("[calendar c]\nmon = 09:00-17:00\n", "timezone", NULL);
    refused("[calendar c]\ntimezone = UTC\n", "[calendar c]", "no business hours");
    refused("[calendar c]\ntimezone = UTC\nmon = 17:00-09:00\n", "[calendar c] mon", NULL);
    refused("[calendar c]\ntimezone = UTC\nmon = 09:00-17:00\nholidays = 2026-02-30\n",
            "[calendar c] holidays", NULL);
    refused("[calendar c]\ntimezone = UTC\nmonday = 09:00-17:00\nmon = 09:00-17:00\n", "unknown",
            "monday");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),
        cmocka_unit_test(most_specific_policy_wins),
        cmocka_unit_test(config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

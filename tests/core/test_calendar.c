/* test_calendar.c - time zones from TZif files (core/tzif.c) and
 * business-hours arithmetic (core/calendar.c): DST changes in
 * Europe/Berlin and America/New_York, holidays, weekends, starts outside
 * hours, days with no hours and calendars that are configuration errors.
 * Expected instants are written in UTC, worked out by hand from the
 * zone's rules (CET = UTC+1, CEST = UTC+2, EST = UTC-5, EDT = UTC-4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/calendar.h"
#include "core/tzif.h"

#define H (3600 * 1000LL)
#define M (60 * 1000LL)

static td_time utc(int y, int mo, int d, int h, int mi)
{
    return (tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static int64_t secs(td_time ms)
{
    return ms / 1000;
}

static struct calendar *office(const char *zone, const char *hours)
{
    struct calendar *cal = NULL;
    struct td_err err = { TD_OK, "" };
    if (!calendar_new(zone, &cal, &err))
        fail_msg("%s", err.msg);
    for (int d = 0; d < 5; d++)
        assert_true(calendar_set_day(cal, d, hours, &err));
    assert_true(calendar_check(cal, &err));
    return cal;
}

static td_time add(const struct calendar *cal, td_time start, int64_t ms)
{
    struct td_err err = { TD_OK, "" };
    td_time out = 0;
    if (!calendar_add(cal, start, ms, &out, &err))
        fail_msg("%s", err.msg);
    return out;
}

static void offsets_across_dst(void **state)
{
    (void)state;
    struct tz_zone *b = NULL, *ny = NULL;
    struct td_err err = { TD_OK, "" };
    assert_true(tzif_load("Europe/Berlin", &b, &err));
    assert_true(tzif_load("America/New_York", &ny, &err));
    /* Berlin 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
    assert_int_equal(tz_offset(b, secs(utc(2026, 3, 29, 0, 59))), 3600);
    assert_int_equal(tz_offset(b, secs(utc(2026, 3, 29, 1, 0))), 7200);
    assert_int_equal(tz_offset(b, secs(utc(2026, 10, 25, 0, 59))), 7200);
    assert_int_equal(tz_offset(b, secs(utc(2026, 10, 25, 1, 0))), 3600);
    /* Past the file's last transition only the footer rule knows. */
    assert_int_equal(tz_offset(b, secs(utc(2100, 7, 1, 12, 0))), 7200);
    assert_int_equal(tz_offset(b, secs(utc(2100, 12, 1, 12, 0))), 3600);
    assert_int_equal(tz_offset(b, secs(utc(2100, 3, 28, 0, 59))), 3600); /* last Sunday */
    assert_int_equal(tz_offset(b, secs(utc(2100, 3, 28, 1, 0))), 7200);
    /* New York 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC. */
    assert_int_equal(tz_offset(ny, secs(utc(2026, 3, 8, 6, 59))), -5 * 3600);
    assert_int_equal(tz_offset(ny, secs(utc(2026, 3, 8, 7, 0))), -4 * 3600);
    assert_int_equal(tz_offset(ny, secs(utc(2026, 11, 1, 5, 59))), -4 * 3600);
    assert_int_equal(tz_offset(ny, secs(utc(2026, 11, 1, 6, 0))), -5 * 3600);
    assert_int_equal(tz_offset(ny, secs(utc(2090, 11, 5, 5, 59))), -4 * 3600); /* 1st Sunday */
    assert_int_equal(tz_offset(ny, secs(utc(2090, 11, 5, 6, 0))), -5 * 3600);
    /* Before 1883 New York kept local mean time (-4:56:02). */
    assert_int_equal(tz_offset(ny, secs(utc(1850, 1, 1, 0, 0))), -(4 * 3600 + 56 * 60 + 2));

    /* Local to UTC: the skipped hour lands after the gap, the repeated
     * one is its first occurrence. */
    assert_int_equal(tz_local_to_utc(b, secs(utc(2026, 3, 29, 2, 30))), secs(utc(2026, 3, 29, 1, 30)));
    assert_int_equal(tz_local_to_utc(b, secs(utc(2026, 10, 25, 2, 30))), secs(utc(2026, 10, 25, 0, 30)));
    assert_int_equal(tz_local_to_utc(b, secs(utc(2026, 12, 4, 9, 0))), secs(utc(2026, 12, 4, 8, 0)));
    assert_int_equal(tz_local_to_utc(ny, secs(utc(2026, 7, 1, 9, 0))), secs(utc(2026, 7, 1, 13, 0)));
    tz_free(b);
    tz_free(ny);
}

static void zones_refused(void **state)
{
    (void)state;
    struct tz_zone *z = NULL;
    struct td_err err = { TD_OK, "" };
    const char *bad[] = { "Europe/Nowhere", "../etc/passwd", "/etc/passwd", "", "Europe/Ber lin",
                          "Europe" /* a directory */ };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(tzif_load(bad[i], &z, &err));
        assert_int_equal(err.code, TD_INVALID);
    }
    assert_non_null(strstr(err.msg, "Europe"));
    const unsigned char junk[] = "TZif2 but nothing after it at all, not even counts....";
    assert_false(tzif_parse(junk, sizeof junk, &z, &err));
    /* A real file cut short. */
    FILE *f = fopen(TZIF_DIR "/Europe/Berlin", "rb");
    assert_non_null(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 200);
    assert_true(tzif_parse(buf, n, &z, &err));
    tz_free(z);
    assert_false(tzif_parse(buf, n - 60, &z, &err));
    assert_false(tzif_parse(buf, 100, &z, &err));
}

static void weekends_and_outside_hours(void **state)
{
    (void)state;
    struct calendar *cal = office("Europe/Berlin", "09:00-17:00");
    /* Friday 4 December 2026 16:00 CET + 4h: 1h on Friday, 3h on Monday. */
    assert_int_equal(add(cal, utc(2026, 12, 4, 15, 0), 4 * H), utc(2026, 12, 7, 11, 0));
    /* Saturday 10:00 + 1h: Monday 10:00. */
    assert_int_equal(add(cal, utc(2026, 12, 5, 9, 0), 1 * H), utc(2026, 12, 7, 9, 0));
    /* Monday 07:00 (before opening) + 30 min: 09:30. */
    assert_int_equal(add(cal, utc(2026, 12, 7, 6, 0), 30 * M), utc(2026, 12, 7, 8, 30));
    /* Monday 20:00 (after closing) + 1h: Tuesday 10:00. */
    assert_int_equal(add(cal, utc(2026, 12, 7, 19, 0), 1 * H), utc(2026, 12, 8, 9, 0));
    /* Exactly a day's hours from opening ends at closing, not the next morning. */
    assert_int_equal(add(cal, utc(2026, 12, 7, 8, 0), 8 * H), utc(2026, 12, 7, 16, 0));
    /* Zero is the start itself, even outside hours. */
    assert_int_equal(add(cal, utc(2026, 12, 5, 9, 0), 0), utc(2026, 12, 5, 9, 0));
    /* Two days of business time (16h) from Wednesday noon: Friday noon. */
    assert_int_equal(add(cal, utc(2026, 12, 9, 11, 0), 16 * H), utc(2026, 12, 11, 11, 0));
    /* Between: Friday 16:00 to Monday 12:00 CET is 4h; reversed is 0. */
    assert_int_equal(calendar_between(cal, utc(2026, 12, 4, 15, 0), utc(2026, 12, 7, 11, 0)), 4 * H);
    assert_int_equal(calendar_between(cal, utc(2026, 12, 7, 11, 0), utc(2026, 12, 4, 15, 0)), 0);
    assert_int_equal(calendar_between(cal, utc(2026, 12, 5, 0, 0), utc(2026, 12, 6, 23, 0)), 0);
    /* A week is five days of eight hours. */
    assert_int_equal(calendar_between(cal, utc(2026, 12, 7, 0, 0), utc(2026, 12, 14, 0, 0)), 40 * H);
    calendar_free(cal);
}

static void split_days_and_holidays(void **state)
{
    (void)state;
    struct calendar *cal = office("Europe/Berlin", "09:00-12:00, 13:00-17:00");
    struct td_err err = { TD_OK, "" };
    /* Lunch does not count: Monday 11:00 + 2h is 14:00. */
    assert_int_equal(add(cal, utc(2026, 12, 7, 10, 0), 2 * H), utc(2026, 12, 7, 13, 0));
    /* 12:30 (lunch) + 30 min: 13:30. */
    assert_int_equal(add(cal, utc(2026, 12, 7, 11, 30), 30 * M), utc(2026, 12, 7, 12, 30));
    assert_true(calendar_add_holiday(cal, "2026-12-25", &err));
    assert_true(calendar_add_holiday(cal, "2026-12-26", &err));
    assert_true(calendar_add_holiday(cal, "2026-12-25", &err)); /* twice is once */
    /* Thursday 24 December 15:00 CET + 4h: 2h that day, Friday a holiday,
     * the weekend closed, Monday 28th 09:00-11:00. */
    assert_int_equal(add(cal, utc(2026, 12, 24, 14, 0), 4 * H), utc(2026, 12, 28, 10, 0));
    assert_int_equal(calendar_between(cal, utc(2026, 12, 24, 14, 0), utc(2026, 12, 28, 10, 0)), 4 * H);
    /* Saturday opening: a holiday on a working day still wins. */
    assert_true(calendar_set_day(cal, 5, "10:00-14:00", &err));
    assert_true(calendar_add_holiday(cal, "2027-01-02", &err)); /* a Saturday */
    assert_int_equal(add(cal, utc(2027, 1, 1, 18, 0), 1 * H), utc(2027, 1, 4, 9, 0));
    assert_int_equal(add(cal, utc(2027, 1, 8, 18, 0), 1 * H), utc(2027, 1, 9, 10, 0));
    calendar_free(cal);
}

static void dst_changes(void **state)
{
    (void)state;
    struct calendar *cal = office("Europe/Berlin", "09:00-17:00");
    /* Friday 27 March 2026 16:00 CET + 2h: Monday 30 March 10:00 CEST. */
    assert_int_equal(add(cal, utc(2026, 3, 27, 15, 0), 2 * H), utc(2026, 3, 30, 8, 0));
    assert_int_equal(calendar_between(cal, utc(2026, 3, 27, 15, 0), utc(2026, 3, 30, 8, 0)), 2 * H);
    /* Friday 23 October 16:00 CEST + 2h: Monday 26 October 10:00 CET. */
    assert_int_equal(add(cal, utc(2026, 10, 23, 14, 0), 2 * H), utc(2026, 10, 26, 9, 0));
    /* A desk open all Sunday: the spring Sunday has 23 hours, the autumn one 25. */
    struct td_err err = { TD_OK, "" };
    assert_true(calendar_set_day(cal, 6, "00:00-24:00", &err));
    assert_int_equal(calendar_between(cal, utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0)), 23 * H);
    assert_int_equal(calendar_between(cal, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0)), 25 * H);
    /* Saturday 28 March 12:00 UTC + 23h of Sunday: Sunday's end (22:00 UTC). */
    assert_int_equal(add(cal, utc(2026, 3, 28, 12, 0), 23 * H), utc(2026, 3, 29, 22, 0));
    calendar_free(cal);

    struct calendar *ny = office("America/New_York", "09:00-17:00");
    /* Friday 6 March 2026 16:00 EST + 2h: Monday 9 March 10:00 EDT. */
    assert_int_equal(add(ny, utc(2026, 3, 6, 21, 0), 2 * H), utc(2026, 3, 9, 14, 0));
    /* Friday 30 October 16:00 EDT + 2h: Monday 2 November 10:00 EST. */
    assert_int_equal(add(ny, utc(2026, 10, 30, 20, 0), 2 * H), utc(2026, 11, 2, 15, 0));
    /* The same UTC instant is Friday evening in New York: nothing left that day. */
    assert_int_equal(add(ny, utc(2026, 12, 4, 22, 30), 30 * M), utc(2026, 12, 7, 14, 30));
    calendar_free(ny);
}

static void bad_calendars(void **state)
{
    (void)state;
    struct calendar *cal = NULL;
    struct td_err err = { TD_OK, "" };
    assert_false(calendar_new("Mars/Olympus_Mons", &cal, &err));
    assert_non_null(strstr(err.msg, "Mars/Olympus_Mons"));
    assert_true(calendar_new("UTC", &cal, &err));
    /* No hours on any day: a clear configuration error, not an endless search. */
    assert_false(calendar_check(cal, &err));
    assert_non_null(strstr(err.msg, "no business hours"));
    td_time out = 0;
    assert_false(calendar_add(cal, utc(2026, 12, 4, 0, 0), H, &out, &err));
    assert_int_equal(err.code, TD_INVALID);
    assert_int_equal(calendar_between(cal, utc(2026, 12, 4, 0, 0), utc(2026, 12, 11, 0, 0)), 0);
    const char *bad[] = { "09:00-09:00", "17:00-09:00", "9-17", "09:00-12:00,11:00-13:00",
                          "25:00-26:00", "09:00-24:30", "09:00-17:00,", "09:60-10:00",
                          "09:00 17:00", "open" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.code = TD_OK;
        assert_false(calendar_set_day(cal, 0, bad[i], &err));
        assert_int_equal(err.code, TD_INVALID);
    }
    assert_true(calendar_set_day(cal, 0, "closed", &err));
    assert_false(calendar_check(cal, &err));
    /* A day whose hours are set and then closed again has none. */
    assert_true(calendar_set_day(cal, 2, "08:00-24:00", &err));
    assert_true(calendar_check(cal, &err));
    assert_true(calendar_set_day(cal, 2, "", &err));
    assert_false(calendar_check(cal, &err));
    const char *dates[] = { "2026-02-29", "2026-13-01", "2026-12-32", "26-12-25", "2026/12/25",
                            "2026-12-2x", "" };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++)
        assert_false(calendar_add_holiday(cal, dates[i], &err));
    assert_true(calendar_add_holiday(cal, "2028-02-29", &err));
    calendar_free(cal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets_across_dst),
        cmocka_unit_test(zones_refused),
        cmocka_unit_test(weekends_and_outside_hours),
        cmocka_unit_test(split_days_and_holidays),
        cmocka_unit_test(dst_changes),
        cmocka_unit_test(bad_calendars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

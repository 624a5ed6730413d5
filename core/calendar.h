/* calendar.h - business hours: when the desk works, for SLA due times
 * (core/sla.h).
 *
 * A calendar is weekly hours per weekday (up to CAL_MAX_SPANS spans of
 * local wall-clock minutes each), holidays (local dates with no hours)
 * and an IANA time zone (core/tzif.h). It is pure: no store, no config;
 * core/sla_config.c builds calendars from [calendar NAME] sections.
 * Immutable once built, so any thread may use it.
 *
 * Hours are local: "09:00-17:00" in Europe/Berlin is eight hours on
 * every such day, also the days clocks change (a span crossing a change
 * is as long as the wall clock says minus or plus the hour). */
#ifndef TD_CALENDAR_H
#define TD_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "tzif.h"

#define CAL_MAX_SPANS 8
#define CAL_MAX_HOLIDAYS 1000

struct calendar;

/* A calendar in zone tz_name with no hours yet; TD_INVALID naming the
 * zone when it cannot be loaded. The caller owns *out (calendar_free). */
bool calendar_new(const char *tz_name, struct calendar **out, struct td_err *err);
/* Like calendar_new, with the zone files under zone_dir (tests). */
bool calendar_new_dir(const char *zone_dir, const char *tz_name, struct calendar **out,
                      struct td_err *err);
void calendar_free(struct calendar *cal); /* NULL-safe */

/* The hours of weekday wday (0 = Monday ... 6 = Sunday) from a spec:
 * "09:00-17:00", "09:00-12:00,13:00-17:00" (ascending, not
 * overlapping, each span longer than zero, "24:00" ends a day), or
 * "closed" / "" for none. Replaces that day's hours. TD_INVALID saying
 * what is wrong. */
bool calendar_set_day(struct calendar *cal, int wday, const char *spec, struct td_err *err);
/* A holiday "YYYY-MM-DD" (a real date): no hours that day. */
bool calendar_add_holiday(struct calendar *cal, const char *date, struct td_err *err);
/* TD_INVALID when no weekday has any hours: such a calendar could never
 * make anything due. */
bool calendar_check(const struct calendar *cal, struct td_err *err);

/* The average working day in ms: the week's hours (wall clock) over the
 * weekdays that have any; 0 when none has. What "1d" of an SLA target
 * means on this calendar. */
int64_t calendar_day_ms(const struct calendar *cal);

/* The instant business_ms of business time after start. business_ms 0
 * is start itself (even outside hours); otherwise the time counts only
 * inside hours, so a due time falls inside them (or at the end of a
 * span). TD_INVALID when the calendar has no hours within ten years. */
bool calendar_add(const struct calendar *cal, td_time start, int64_t business_ms, td_time *out,
                  struct td_err *err);
/* Business milliseconds in [from, to); 0 when to <= from. */
int64_t calendar_between(const struct calendar *cal, td_time from, td_time to);

/* Parses "YYYY-MM-DD" into days since 1970-01-01; false when malformed
 * or no real date. */
bool calendar_parse_date(const char *s, int64_t *days);

#endif

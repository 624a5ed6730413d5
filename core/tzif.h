/* tzif.h - an IANA time zone read from its TZif file (RFC 8536), for
 * the business-hours calendars (core/calendar.h).
 *
 * Why our own reader: localtime_r() follows the process-wide TZ, and
 * switching it per calendar (setenv + tzset) is not thread-safe. A zone
 * here is plain immutable data - the transitions of the v2+ (64-bit)
 * block and the POSIX TZ footer rule for instants past the last
 * transition - so any thread may ask it for the UTC offset of an instant.
 *
 * Zones are found under TZIF_DIR (Debian's tzdata package), or under the
 * directory given to tzif_load_dir (tests). Only v2 and later files are
 * read: v1 data cannot describe instants after 2037. */
#ifndef TD_TZIF_H
#define TD_TZIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TZIF_DIR "/usr/share/zoneinfo"

struct tz_zone;

/* The zone named like "Europe/Berlin" (letters, digits, '/', '_', '-',
 * '+'; no "..", no leading '/'). TD_INVALID naming it when the name is
 * malformed, the file is missing or is no usable TZif file. The caller
 * owns *out (tz_free). */
bool tzif_load(const char *name, struct tz_zone **out, struct td_err *err);
bool tzif_load_dir(const char *dir, const char *name, struct tz_zone **out, struct td_err *err);
/* From the bytes of a TZif file (tests, fuzzing). */
bool tzif_parse(const unsigned char *data, size_t len, struct tz_zone **out, struct td_err *err);
void tz_free(struct tz_zone *z); /* NULL-safe */

/* Seconds east of UTC in effect at the instant t (seconds since the
 * epoch, UTC). */
int32_t tz_offset(const struct tz_zone *z, int64_t t);

/* The UTC instant of a local wall-clock time (seconds since the epoch as
 * if the wall clock were UTC). An ambiguous time (the repeated hour when
 * clocks go back) is its first occurrence; a time that does not exist
 * (skipped when clocks go forward) is taken with the offset before the
 * change, which lands just after the gap - 02:30 on a spring-forward
 * night in Berlin is 03:30 local. */
int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12,
 * d 1..31, not checked). */
int64_t tz_days_from_civil(int64_t y, int m, int d);

#endif

/* calendar.c - see calendar.h.
 *
 * Both operations walk local days: for each day that is no holiday, each
 * span of that weekday is turned into UTC instants with the zone
 * (tz_local_to_utc), and clipped to what is asked. Walking days rather
 * than doing arithmetic on weeks keeps DST and holidays trivially right,
 * and a few thousand days are a few microseconds. */
#include "calendar.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

#define CAL_MAX_DAYS (366 * 10) /* calendar_add gives up after ten years */

struct cal_span {
    int start, end; /* local minutes after midnight, start < end <= 1440 */
};

struct calendar {
    struct tz_zone *zone;
    struct cal_span hours[7][CAL_MAX_SPANS];
    size_t n_hours[7];
    int64_t *holidays; /* days since the epoch, ascending, distinct */
    size_t n_holidays;
};

bool calendar_new_dir(const char *zone_dir, const char *tz_name, struct calendar **out,
                      struct td_err *err)
{
    struct tz_zone *z = NULL;
    if (!tzif_load_dir(zone_dir, tz_name, &z, err))
        return false;
    struct calendar *cal = td_calloc(1, sizeof *cal);
    cal->zone = z;
    *out = cal;
    return true;
}

bool calendar_new(const char *tz_name, struct calendar **out, struct td_err *err)
{
    return calendar_new_dir(TZIF_DIR, tz_name, out, err);
}

void calendar_free(struct calendar *cal)
{
    if (cal == NULL)
        return;
    tz_free(cal->zone);
    free(cal->holidays);
    free(cal);
}

/* "HH:MM" (00:00 .. 24:00) into minutes; NULL when malformed. */
static const char *parse_clock(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' || s[3] < '0' ||
        s[3] > '9' || s[4] < '0' || s[4] > '9')
        return NULL;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return NULL;
    *out = h * 60 + m;
    return s + 5;
}

bool calendar_set_day(struct calendar *cal, int wday, const char *spec, struct td_err *err)
{
    if (wday < 0 || wday > 6)
        return td_fail(err, TD_INTERNAL, "calendar: no weekday %d", wday);
    const char *s = spec ? spec : "";
    while (*s == ' ')
        s++;
    struct cal_span spans[CAL_MAX_SPANS];
    size_t n = 0;
    if (*s != '\0' && strcmp(s, "closed") != 0) {
        for (;;) {
            while (*s == ' ')
                s++;
            struct cal_span sp;
            const char *p = parse_clock(s, &sp.start);
            if (p != NULL && *p == '-')
                p = parse_clock(p + 1, &sp.end);
            else
                p = NULL;
            if (p == NULL)
                return td_fail(err, TD_INVALID, "'%.60s': hours are HH:MM-HH:MM[,HH:MM-HH:MM...] "
                               "or closed", spec);
            if (sp.end <= sp.start)
                return td_fail(err, TD_INVALID, "'%.60s': a span must end after it starts",
                               spec);
            if (n > 0 && sp.start < spans[n - 1].end)
                return td_fail(err, TD_INVALID, "'%.60s': spans must be ascending and not "
                               "overlap", spec);
            if (n == CAL_MAX_SPANS)
                return td_fail(err, TD_INVALID, "'%.60s': at most %d spans a day", spec,
                               CAL_MAX_SPANS);
            spans[n++] = sp;
            while (*p == ' ')
                p++;
            if (*p == '\0')
                break;
            if (*p != ',')
                return td_fail(err, TD_INVALID, "'%.60s': spans are separated by ','", spec);
            s = p + 1;
        }
    }
    memcpy(cal->hours[wday], spans, n * sizeof spans[0]);
    cal->n_hours[wday] = n;
    return true;
}

bool calendar_parse_date(const char *s, int64_t *days)
{
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
        return false;
    *days = tz_days_from_civil(y, m, d);
    return true;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

bool calendar_add_holiday(struct calendar *cal, const char *date, struct td_err *err)
{
    int64_t day;
    if (!calendar_parse_date(date, &day))
        return td_fail(err, TD_INVALID, "'%.40s' is no date (YYYY-MM-DD)", date ? date : "");
    for (size_t i = 0; i < cal->n_holidays; i++)
        if (cal->holidays[i] == day)
            return true;
    if (cal->n_holidays == CAL_MAX_HOLIDAYS)
        return td_fail(err, TD_INVALID, "at most %d holidays", CAL_MAX_HOLIDAYS);
    cal->holidays = td_realloc(cal->holidays, (cal->n_holidays + 1) * sizeof *cal->holidays);
    cal->holidays[cal->n_holidays++] = day;
    qsort(cal->holidays, cal->n_holidays, sizeof *cal->holidays, cmp_day);
    return true;
}

bool calendar_check(const struct calendar *cal, struct td_err *err)
{
    for (int d = 0; d < 7; d++)
        if (cal->n_hours[d] > 0)
            return true;
    return td_fail(err, TD_INVALID, "no business hours on any weekday (set mon..sun, "
                   "e.g. mon = 09:00-17:00)");
}

int64_t calendar_day_ms(const struct calendar *cal)
{
    int64_t minutes = 0;
    int open = 0;
    for (int d = 0; d < 7; d++) {
        open += cal->n_hours[d] > 0;
        for (size_t i = 0; i < cal->n_hours[d]; i++)
            minutes += cal->hours[d][i].end - cal->hours[d][i].start;
    }
    return open > 0 ? minutes * 60 * 1000 / open : 0;
}

static bool is_holiday(const struct calendar *cal, int64_t day)
{
    return cal->n_holidays > 0 && /* bsearch wants a real array, even for none */
           bsearch(&day, cal->holidays, cal->n_holidays, sizeof day, cmp_day) != NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The local day (days since the epoch) the instant t (ms) falls on. */
static int64_t local_day(const struct calendar *cal, td_time t)
{
    int64_t secs = floor_div(t, 1000);
    return floor_div(secs + tz_offset(cal->zone, secs), 86400);
}

/* The UTC instant (ms) of local minute `minute` of local day `day`. */
static td_time span_edge(const struct calendar *cal, int64_t day, int minute)
{
    return tz_local_to_utc(cal->zone, day * 86400 + (int64_t)minute * 60) * 1000;
}

/* Calls fn for each business span [a, b) (UTC ms) of day, in order;
 * stops when fn returns false (and returns false). */
typedef bool (*span_fn)(td_time a, td_time b, void *arg);

static bool each_span(const struct calendar *cal, int64_t day, span_fn fn, void *arg)
{
    if (is_holiday(cal, day))
        return true;
    int wday = (int)((day % 7 + 10) % 7); /* 1970-01-01 was a Thursday: 3 from Monday */
    for (size_t i = 0; i < cal->n_hours[wday]; i++) {
        const struct cal_span *sp = &cal->hours[wday][i];
        td_time a = span_edge(cal, day, sp->start), b = span_edge(cal, day, sp->end);
        if (b > a && !fn(a, b, arg))
            return false;
    }
    return true;
}

struct add_state {
    td_time cursor;
    int64_t left;
    td_time result;
};

static bool add_span(td_time a, td_time b, void *arg)
{
    struct add_state *st = arg;
    td_time from = a > st->cursor ? a : st->cursor;
    if (from >= b)
        return true;
    if (st->left <= b - from) {
        st->result = from + st->left;
        return false;
    }
    st->left -= b - from;
    return true;
}

bool calendar_add(const struct calendar *cal, td_time start, int64_t business_ms, td_time *out,
                  struct td_err *err)
{
    if (business_ms <= 0) {
        *out = start;
        return true;
    }
    struct add_state st = { start, business_ms, 0 };
    int64_t day = local_day(cal, start);
    for (int64_t i = 0; i < CAL_MAX_DAYS; i++)
        if (!each_span(cal, day + i, add_span, &st)) {
            *out = st.result;
            return true;
        }
    return td_fail(err, TD_INVALID, "the calendar has no business hours within ten years");
}

struct between_state {
    td_time from, to;
    int64_t sum;
};

static bool between_span(td_time a, td_time b, void *arg)
{
    struct between_state *st = arg;
    td_time lo = a > st->from ? a : st->from, hi = b < st->to ? b : st->to;
    if (hi > lo)
        st->sum += hi - lo;
    return a < st->to;
}

int64_t calendar_between(const struct calendar *cal, td_time from, td_time to)
{
    if (to <= from)
        return 0;
    struct between_state st = { from, to, 0 };
    int64_t first = local_day(cal, from), last = local_day(cal, to);
    for (int64_t day = first; day <= last; day++)
        if (!each_span(cal, day, between_span, &st))
            break;
    return st.sum;
}

/* tzif.c - see tzif.h. The format is RFC 8536; the footer is a POSIX
 * TZ string (POSIX.1-2017 section 8.3, with RFC 8536's extensions: hours
 * of a rule time from -167 to 167).
 *
 * Every count in the header is bounded before it sizes anything, and
 * every read is checked against the file's length: the file comes from
 * the system, but a truncated or foreign file must be an error naming
 * the zone, not a crash. */
#include "tzif.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZIF_MAX_BYTES (256 * 1024)
#define TZIF_MAX_TIMES 4000
#define TZIF_MAX_TYPES 256

/* One half of a POSIX DST rule: when, in local time of the offset then in
 * force, the change happens. */
struct tz_rule_date {
    char kind;      /* 'M' (month.week.day), 'J' (1..365, no Feb 29), 'n' (0..365) */
    int month, week, wday, day;
    int32_t secs;   /* time of day of the change, may be < 0 or > 24h */
};

struct tz_zone {
    int64_t *times;   /* transition instants, ascending */
    uint8_t *idx;     /* the type in force from times[i] */
    size_t n_times;
    int32_t *utoff;   /* per type */
    size_t n_types;
    int32_t first_off; /* before the first transition */
    bool has_rule;    /* the footer rule, for after the last transition */
    int32_t std_off, dst_off;
    bool has_dst;
    struct tz_rule_date start, end;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- the POSIX TZ footer -------------------------------------------- */

static const char *parse_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e != NULL && e - s >= 4 ? e + 1 : NULL;
    }
    const char *p = s;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to max_h; *out in seconds. */
static const char *parse_hms(const char *s, int max_h, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*s))
        return NULL;
    int32_t v[3] = { 0, 0, 0 };
    for (int part = 0; part < 3; part++) {
        if (part > 0) {
            if (*s != ':')
                break;
            s++;
        }
        if (!isdigit((unsigned char)*s))
            return NULL;
        int32_t n = 0;
        for (int d = 0; d < 3 && isdigit((unsigned char)*s); d++)
            n = n * 10 + (*s++ - '0');
        if ((part == 0 && n > max_h) || (part > 0 && n > 59))
            return NULL;
        v[part] = n;
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return s;
}

static const char *parse_num(const char *s, int lo, int hi, int *out)
{
    if (!isdigit((unsigned char)*s))
        return NULL;
    int n = 0;
    for (int d = 0; d < 3 && isdigit((unsigned char)*s); d++)
        n = n * 10 + (*s++ - '0');
    if (n < lo || n > hi)
        return NULL;
    *out = n;
    return s;
}

static const char *parse_date(const char *s, struct tz_rule_date *d)
{
    memset(d, 0, sizeof *d);
    if (*s == 'M') {
        d->kind = 'M';
        s = parse_num(s + 1, 1, 12, &d->month);
        if (s == NULL || *s++ != '.' || (s = parse_num(s, 1, 5, &d->week)) == NULL ||
            *s++ != '.' || (s = parse_num(s, 0, 6, &d->wday)) == NULL)
            return NULL;
    } else if (*s == 'J') {
        d->kind = 'J';
        if ((s = parse_num(s + 1, 1, 365, &d->day)) == NULL)
            return NULL;
    } else {
        d->kind = 'n';
        if ((s = parse_num(s, 0, 365, &d->day)) == NULL)
            return NULL;
    }
    d->secs = 2 * 3600;
    if (*s == '/')
        s = parse_hms(s + 1, 167, &d->secs);
    return s;
}

static bool parse_footer(struct tz_zone *z, const char *s)
{
    if (*s == '\0')
        return true; /* no rule: the last transition's type holds for ever */
    int32_t off;
    if ((s = parse_name(s)) == NULL || (s = parse_hms(s, 24, &off)) == NULL)
        return false;
    z->std_off = -off; /* POSIX counts west of Greenwich as positive */
    z->has_rule = true;
    if (*s == '\0')
        return true;
    if ((s = parse_name(s)) == NULL)
        return false;
    z->has_dst = true;
    z->dst_off = z->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((s = parse_hms(s, 24, &off)) == NULL)
            return false;
        z->dst_off = -off;
    }
    if (*s != ',') /* no rule given: POSIX leaves it to the implementation */
        return false;
    if ((s = parse_date(s + 1, &z->start)) == NULL || *s != ',' ||
        (s = parse_date(s + 1, &z->end)) == NULL)
        return false;
    return *s == '\0';
}

/* ---- civil dates ---------------------------------------------------- */

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; Hinnant's method). */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return yoe + era * 400 + (m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Local seconds (of the offset in force before the change) of a rule date in year y. */
static int64_t rule_local(const struct tz_rule_date *d, int64_t y)
{
    int64_t day;
    if (d->kind == 'J') {
        day = tz_days_from_civil(y, 1, 1) + d->day - 1;
        if (leap(y) && d->day >= 60)
            day++;
    } else if (d->kind == 'n') {
        day = tz_days_from_civil(y, 1, 1) + d->day;
    } else {
        static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int64_t first = tz_days_from_civil(y, d->month, 1);
        int wd_first = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int64_t delta = (d->wday - wd_first + 7) % 7;
        day = first + delta + (int64_t)(d->week - 1) * 7;
        int len = mdays[d->month - 1] + (d->month == 2 && leap(y));
        while (day >= first + len)
            day -= 7; /* week 5: the last such weekday */
    }
    return day * 86400 + d->secs;
}

static int32_t rule_offset(const struct tz_zone *z, int64_t t)
{
    if (!z->has_dst)
        return z->std_off;
    int64_t y = year_of_days(floor_div(t + z->std_off, 86400));
    int64_t start = rule_local(&z->start, y) - z->std_off; /* DST begins in standard time */
    int64_t end = rule_local(&z->end, y) - z->dst_off;     /* and ends in daylight time */
    bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
    return dst ? z->dst_off : z->std_off;
}

/* ---- the file ------------------------------------------------------- */

int32_t tz_offset(const struct tz_zone *z, int64_t t)
{
    if (z->n_times == 0 || t < z->times[0])
        return z->n_times == 0 && z->has_rule ? rule_offset(z, t) : z->first_off;
    if (t >= z->times[z->n_times - 1] && z->has_rule)
        return rule_offset(z, t);
    size_t lo = 0, hi = z->n_times; /* last i with times[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->utoff[z->idx[lo]];
}

int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local)
{
    /* No zone changes its offset twice within two days: the offsets a day
     * before and a day after are the only candidates. */
    int32_t a = tz_offset(z, local - 86400), b = tz_offset(z, local + 86400);
    int64_t ua = local - a, ub = local - b;
    bool va = tz_offset(z, ua) == a, vb = tz_offset(z, ub) == b;
    if (va && vb)
        return ua < ub ? ua : ub;
    if (vb && !va)
        return ub;
    return ua;
}

struct tzif_hdr {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return h->timecnt <= TZIF_MAX_TIMES && h->typecnt >= 1 && h->typecnt <= TZIF_MAX_TYPES &&
           h->charcnt <= 4096 && h->leapcnt <= 1000 && h->isutcnt <= TZIF_MAX_TYPES &&
           h->isstdcnt <= TZIF_MAX_TYPES;
}

static size_t data_len(const struct tzif_hdr *h, size_t tsize)
{
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

bool tzif_parse(const unsigned char *data, size_t len, struct tz_zone **out, struct td_err *err)
{
    struct tzif_hdr h;
    if (!read_hdr(data, len, &h))
        return td_fail(err, TD_INVALID, "not a TZif file");
    if (h.version < '2')
        return td_fail(err, TD_INVALID, "a TZif version 1 file (64-bit data needed)");
    size_t v1 = 44 + data_len(&h, 4);
    if (v1 > len || !read_hdr(data + v1, len - v1, &h))
        return td_fail(err, TD_INVALID, "truncated TZif file");
    const unsigned char *p = data + v1 + 44;
    size_t body = data_len(&h, 8);
    if (body > len - v1 - 44)
        return td_fail(err, TD_INVALID, "truncated TZif file");
    struct tz_zone *z = td_calloc(1, sizeof *z);
    z->n_times = h.timecnt;
    z->n_types = h.typecnt;
    z->times = td_calloc(h.timecnt ? h.timecnt : 1, sizeof *z->times);
    z->idx = td_calloc(h.timecnt ? h.timecnt : 1, 1);
    z->utoff = td_calloc(h.typecnt, sizeof *z->utoff);
    bool ok = true;
    for (size_t i = 0; i < h.timecnt; i++) {
        z->times[i] = be64(p + i * 8);
        ok = ok && (i == 0 || z->times[i] > z->times[i - 1]);
    }
    const unsigned char *ix = p + (size_t)h.timecnt * 8;
    for (size_t i = 0; i < h.timecnt; i++) {
        z->idx[i] = ix[i];
        ok = ok && ix[i] < h.typecnt;
    }
    const unsigned char *ty = ix + h.timecnt;
    for (size_t i = 0; i < h.typecnt; i++) {
        z->utoff[i] = (int32_t)be32(ty + i * 6);
        ok = ok && z->utoff[i] > -26 * 3600 && z->utoff[i] < 26 * 3600 && ty[i * 6 + 4] <= 1;
    }
    /* RFC 8536 3.2: before the first transition, type 0 is in force. */
    z->first_off = z->utoff[0];
    const char *foot = (const char *)(p + body);
    size_t foot_len = len - v1 - 44 - body;
    if (ok && foot_len >= 2 && foot[0] == '\n') {
        const char *nl = memchr(foot + 1, '\n', foot_len - 1);
        char rule[128];
        ok = nl != NULL && (size_t)(nl - foot - 1) < sizeof rule;
        if (ok) {
            memcpy(rule, foot + 1, (size_t)(nl - foot - 1));
            rule[nl - foot - 1] = '\0';
            ok = parse_footer(z, rule);
        }
    }
    if (!ok) {
        tz_free(z);
        return td_fail(err, TD_INVALID, "malformed TZif data or footer rule");
    }
    *out = z;
    return true;
}

static bool name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || *name == '/' || strlen(name) > 200 ||
        strstr(name, "..") != NULL)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
            return false;
    return true;
}

bool tzif_load_dir(const char *dir, const char *name, struct tz_zone **out, struct td_err *err)
{
    if (!name_ok(name))
        return td_fail(err, TD_INVALID, "'%.80s' is no time zone name (like Europe/Berlin)",
                       name ? name : "");
    char path[512];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return td_fail(err, TD_INVALID, "time zone path too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return td_fail(err, TD_INVALID, "unknown time zone '%.80s' (%s: %s; is tzdata installed?)",
                       name, path, strerror(errno));
    struct stat sb;
    bool ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
              sb.st_size <= TZIF_MAX_BYTES;
    unsigned char *buf = NULL;
    size_t got = 0;
    if (ok) {
        buf = td_malloc((size_t)sb.st_size);
        while (got < (size_t)sb.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        ok = got == (size_t)sb.st_size;
    }
    close(fd);
    struct td_err perr = { TD_OK, "" };
    ok = ok && tzif_parse(buf, got, out, &perr);
    free(buf);
    if (!ok)
        return td_fail(err, TD_INVALID, "time zone '%.80s': %s", name,
                       perr.msg[0] ? perr.msg : "not a readable zone file");
    return true;
}

bool tzif_load(const char *name, struct tz_zone **out, struct td_err *err)
{
    return tzif_load_dir(TZIF_DIR, name, out, err);
}

void tz_free(struct tz_zone *z)
{
    if (z == NULL)
        return;
    free(z->times);
    free(z->idx);
    free(z->utoff);
    free(z);
}

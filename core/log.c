/* log.c - see log.h. */
#include "log.h"
#include "buf.h"
#include "id.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = LOG_INFO;
static _Atomic int out_format = LOG_LOGFMT;
static _Atomic int out_fd = 2;
static _Atomic int floor_level = LOG_DEBUG; /* log_set_floor */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_floor(enum log_level floor)
{
    floor_level = floor;
    if (min_level < (int)floor)
        min_level = floor;
}

void log_setup(enum log_level min, enum log_format format, int fd)
{
    min_level = (int)min < floor_level ? floor_level : (int)min;
    out_format = format;
    out_fd = fd;
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    return false;
}

bool log_format_parse(const char *s, enum log_format *out)
{
    if (s && strcmp(s, "logfmt") == 0)
        *out = LOG_LOGFMT;
    else if (s && strcmp(s, "json") == 0)
        *out = LOG_JSON;
    else
        return false;
    return true;
}

bool log_enabled(enum log_level level) { return (int)level >= min_level; }

static void put_json_string(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            buf_printf(b, "\\u%04x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

static void put_logfmt_value(struct buf *b, const char *s)
{
    /* Quoted when empty or holding a space, '=', a quote, a backslash or
     * any control character (escaped below: a value cannot forge a line
     * or a terminal sequence). */
    bool quote = *s == '\0';
    for (const unsigned char *p = (const unsigned char *)s; !quote && *p; p++)
        quote = *p < 0x20 || *p == 0x7F || *p == ' ' || *p == '=' || *p == '"' || *p == '\\';
    if (!quote) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            buf_puts(b, "\\n");
        else if (*p < 0x20 || *p == 0x7F)
            buf_printf(b, "\\x%02x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

/* "2026-12-04T16:01:02.345Z" for now into ts. The part up to the
 * seconds is formatted once per second per thread: the access log writes
 * a line per request, and gmtime_r + strftime were most of its cost. */
static void format_time(td_time now, char ts[32])
{
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char cached[24];
    static _Thread_local size_t cached_len;
    time_t secs = (time_t)(now / 1000);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    int ms = (int)(now % 1000);
    memcpy(ts, cached, cached_len);
    char *p = ts + cached_len;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    *p = '\0';
}

static void put_int(struct buf *b, long long v)
{
    char num[24];
    int len = snprintf(num, sizeof num, "%lld", v);
    buf_append(b, num, (size_t)len);
}

void log_fields(enum log_level level, const char *event, const struct log_field *f, size_t n)
{
    if (!log_enabled(level))
        return;
    char ts[32];
    format_time(td_now(), ts);

    struct buf b = BUF_INIT;
    bool json = out_format == LOG_JSON;
    if (json) {
        buf_puts(&b, "{\"ts\":\"");
        buf_puts(&b, ts);
        buf_puts(&b, "\",\"level\":\"");
        buf_puts(&b, level_names[level]);
        buf_puts(&b, "\",\"event\":");
        put_json_string(&b, event);
    } else {
        buf_puts(&b, "ts=");
        buf_puts(&b, ts);
        buf_puts(&b, " level=");
        buf_puts(&b, level_names[level]);
        buf_puts(&b, " event=");
        put_logfmt_value(&b, event);
    }
    for (size_t i = 0; i < n; i++) {
        if (json) {
            buf_putc(&b, ',');
            put_json_string(&b, f[i].key);
            buf_putc(&b, ':');
            if (f[i].is_int)
                put_int(&b, f[i].i);
            else
                put_json_string(&b, f[i].s);
        } else {
            buf_putc(&b, ' ');
            buf_puts(&b, f[i].key);
            buf_putc(&b, '=');
            if (f[i].is_int)
                put_int(&b, f[i].i);
            else
                put_logfmt_value(&b, f[i].s);
        }
    }
    buf_puts(&b, json ? "}\n" : "\n");
    /* One write per line; a short write to a log is not worth failing for. */
    ssize_t w = write(out_fd, b.data, b.len);
    (void)w;
    buf_free(&b);
}

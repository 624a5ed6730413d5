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
    bool quote = *s == '\0' || strpbrk(s, " =\"\\\t\r\n") != NULL;
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
        else if (*p < 0x20)
            buf_printf(b, "\\x%02x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

void log_fields(enum log_level level, const char *event, const struct log_field *f, size_t n)
{
    if (!log_enabled(level))
        return;
    char ts[40];
    td_time now = td_now();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03dZ", (int)(now % 1000));

    struct buf b = BUF_INIT;
    bool json = out_format == LOG_JSON;
    if (json) {
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, level_names[level]);
        put_json_string(&b, event);
    } else {
        buf_printf(&b, "ts=%s level=%s event=", ts, level_names[level]);
        put_logfmt_value(&b, event);
    }
    for (size_t i = 0; i < n; i++) {
        if (json) {
            buf_putc(&b, ',');
            put_json_string(&b, f[i].key);
            buf_putc(&b, ':');
            if (f[i].is_int)
                buf_printf(&b, "%lld", f[i].i);
            else
                put_json_string(&b, f[i].s);
        } else {
            buf_printf(&b, " %s=", f[i].key);
            if (f[i].is_int)
                buf_printf(&b, "%lld", f[i].i);
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

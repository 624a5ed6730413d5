/* log.h - structured logs: one line per event, logfmt or JSON.
 *
 *   log_event(LOG_INFO, "ticket_created", LF_I("ticket", 42), LF_S("actor", id));
 *
 * Never pass a password, token or mail body: the fields are written as
 * they are. Lines go to stderr (systemd/docker collect them) with one
 * write() each, so concurrent threads do not interleave. */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_LOGFMT = 0, LOG_JSON };

struct log_field {
    const char *key;
    const char *s; /* string value, or NULL for the integer */
    long long i;
    bool is_int;
};

#define LF_S(k, v) ((struct log_field){ (k), log_str(v), 0, false })
#define LF_I(k, v) ((struct log_field){ (k), NULL, (long long)(v), true })

static inline const char *log_str(const char *s) { return s ? s : ""; }

#define log_event(level, event, ...)                                                   \
    log_fields((level), (event), (const struct log_field[]){ __VA_ARGS__ },             \
               sizeof((const struct log_field[]){ __VA_ARGS__ }) / sizeof(struct log_field))

void log_setup(enum log_level min, enum log_format format, int fd);
/* No line below floor is written, whatever log_setup() is later given:
 * the one-shot commands (`ticketd user ...`, `backup`) print only what
 * they were asked for, and warnings and errors. */
void log_set_floor(enum log_level floor);
bool log_level_parse(const char *s, enum log_level *out);
bool log_format_parse(const char *s, enum log_format *out);
bool log_enabled(enum log_level level);
void log_fields(enum log_level level, const char *event, const struct log_field *f, size_t n);

#endif

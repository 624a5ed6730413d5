/* err.c - see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

bool td_fail(struct td_err *err, enum td_code code, const char *fmt, ...)
{
    if (err == NULL)
        return false;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    /* Truncation of a message is acceptable: it stays NUL-terminated. */
    (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return false;
}

void td_err_clear(struct td_err *err)
{
    if (err == NULL)
        return;
    err->code = TD_OK;
    err->msg[0] = '\0';
}

const char *td_code_name(enum td_code code)
{
    switch (code) {
    case TD_OK: return "ok";
    case TD_INVALID: return "invalid";
    case TD_NOT_FOUND: return "not_found";
    case TD_FORBIDDEN: return "forbidden";
    case TD_UNAUTHORIZED: return "unauthorized";
    case TD_CONFLICT: return "conflict";
    case TD_STALE: return "stale";
    case TD_TOO_LARGE: return "too_large";
    case TD_UNAVAILABLE: return "unavailable";
    case TD_INTERNAL: return "internal";
    }
    return "internal";
}

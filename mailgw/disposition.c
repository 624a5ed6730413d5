/* disposition.c - see disposition.h. */
#include "disposition.h"

enum disposition disposition_of(enum td_code code, int attempts, int max_attempts)
{
    switch (code) {
    case TD_UNAVAILABLE:
        return DISP_RETRY;
    case TD_STALE:
    case TD_CONFLICT:
    case TD_INTERNAL:
    case TD_OK:
        return attempts < max_attempts ? DISP_RETRY : DISP_QUARANTINE;
    case TD_INVALID:
    case TD_NOT_FOUND:
    case TD_FORBIDDEN:
    case TD_UNAUTHORIZED:
    case TD_TOO_LARGE:
        return DISP_QUARANTINE;
    }
    return DISP_QUARANTINE;
}

const char *disposition_name(enum disposition d)
{
    return d == DISP_RETRY ? "retry" : "quarantine";
}

/* err.h - the one error type of ticketd.
 *
 * Every fallible function returns bool (true = success) and fills a
 * caller-provided struct td_err on failure. The code says what kind of
 * failure it is (so adapters can map it once: HTTP status in api/,
 * retry-or-quarantine in mailgw/); the message says what a user can do. */
#ifndef TD_ERR_H
#define TD_ERR_H

#include <stdbool.h>

enum td_code {
    TD_OK = 0,
    TD_INVALID,      /* input rejected: bad field, illegal transition */
    TD_NOT_FOUND,    /* no such object (or not visible to the actor) */
    TD_FORBIDDEN,    /* the actor's role does not allow it */
    TD_UNAUTHORIZED, /* the actor is unknown or disabled */
    TD_CONFLICT,     /* unique key taken, ticket already claimed, lease held */
    TD_STALE,        /* optimistic concurrency: the object changed meanwhile */
    TD_TOO_LARGE,    /* body or attachment over the configured limit */
    TD_UNAVAILABLE,  /* store or server unreachable: retry later */
    TD_INTERNAL      /* a bug or an unexpected library failure */
};

struct td_err {
    enum td_code code;
    char msg[256];
};

/* Fills err (may be NULL) and returns false, so callers can write
 * `return td_fail(err, TD_INVALID, "subject is empty");`. */
bool td_fail(struct td_err *err, enum td_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void td_err_clear(struct td_err *err);

/* Stable lower-case name of a code ("invalid", "not_found", ...). */
const char *td_code_name(enum td_code code);

#endif

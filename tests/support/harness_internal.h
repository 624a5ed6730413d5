/* harness_internal.h - what the harness_*.c files share and tests do not
 * need. Not for inclusion outside tests/support. */
#ifndef TD_TEST_HARNESS_INTERNAL_H
#define TD_TEST_HARNESS_INTERNAL_H

#include "tests/support/harness.h"

/* How long a server may take to come up, and to go down after TERM. */
#define HARNESS_START_TIMEOUT_MS 10000
#define HARNESS_STOP_GRACE_MS 3000
/* Start-up is retried on a fresh port this often when the server exits
 * early (another process took the port between choosing and binding). */
#define HARNESS_START_ATTEMPTS 3

/* One start-up attempt: choose ports, spawn, wait until ready. */
typedef bool (*harness_try_fn)(struct harness_server *s, const void *arg);

/* Calls try() until it succeeds; when the server exited during start-up
 * (its port was taken meanwhile) tries again, up to
 * HARNESS_START_ATTEMPTS times. On failure a server still running is
 * killed; s->dir stays for the caller's harness_stop(). */
bool harness_start_with_retries(struct harness_server *s, const char *what, harness_try_fn try,
                                const void *arg);

/* The exit-time sweep's record of live server pids (see harness.c).
 * Temp dirs are recorded by harness_tempdir and harness_rmtree. */
void harness_track_pid(pid_t pid);
void harness_untrack_pid(pid_t pid);

/* Monotonic milliseconds. */
long long harness_now_ms(void);

/* snprintf that reports truncation: false (and out is "") if it did not
 * fit, so a cut-off path never gets used. */
bool harness_fmt(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drops the database an external MongoDB (TICKETD_TEST_MONGO_URI) run
 * used; harness_stop() calls it for external servers. */
void harness_mongo_drop_external(struct harness_server *s);

#endif

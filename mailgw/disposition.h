/* disposition.h - the one place where an error decides a mail's fate:
 * try again later, or quarantine it now.
 *
 * Retrying is right when the failure is about us (the store is down,
 * a concurrent writer won a race); quarantine is right when it is about
 * the mail (invalid, too large, not allowed). A mail that keeps failing
 * for reasons about us (a bug: TD_INTERNAL) is quarantined after
 * max_attempts so one poisonous mail cannot stop the mailbox; an
 * unreachable store is retried forever, because quarantining needs the
 * store too. */
#ifndef MGW_DISPOSITION_H
#define MGW_DISPOSITION_H

#include "core/err.h"

enum disposition { DISP_RETRY = 0, DISP_QUARANTINE };

/* attempts: how many times this mail failed so far, this one included. */
enum disposition disposition_of(enum td_code code, int attempts, int max_attempts);

const char *disposition_name(enum disposition d);

#endif

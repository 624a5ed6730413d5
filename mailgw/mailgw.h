/* mailgw.h - the mail gateway as `ticketd serve` / `ticketd mailgw` see
 * it (one row of cli/modules.c), and the quarantine retry behind
 * `ticketd quarantine retry`. Everything else in mailgw/ is private. */
#ifndef MGW_MAILGW_H
#define MGW_MAILGW_H

#include <stdbool.h>

#include "core/app.h"
#include "ingest.h"
#include "trust.h"

/* Reads [mailgw] and [mailbox NAME] (settings.h), starts one poller
 * thread per mailbox and returns at once. No mailbox configured: runs
 * idle and says so in the log. */
bool mailgw_start(struct td_app *env, void **handle, struct td_err *err);
/* Stops every poller (each finishes the mail in hand) and frees. */
void mailgw_stop(void *handle);
/* SIGHUP: every poller looks for new mail now. */
void mailgw_reload(void *handle);
/* check-config: reads and validates the keys, connects to nothing. */
bool mailgw_check(struct td_app *env, struct td_err *err);

/* A reply-token verifier other than the built-in one
 * (reply_token_verify_sender of core/reply_token.h with [notify]
 * reply_secret), for all gateways started afterwards. NULL restores the
 * built-in one. */
void mailgw_set_verifier(trust_verify_fn fn, void *ctx);

/* Ingests quarantined mail id again (no rate limit; automatic mail
 * becomes a ticket). On a ticket, comment or duplicate the entry is
 * deleted; quarantined again, it stays with the new reason. TD_NOT_FOUND
 * for an unknown id, TD_INVALID when only the head of the mail was kept. */
bool mailgw_quarantine_retry(struct td_app *env, const char *id, struct ingest_outcome *out,
                             struct td_err *err);

#endif

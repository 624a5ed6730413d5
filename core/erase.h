/* erase.h - erasure of a customer's personal data (GDPR art. 17), by an
 * admin or the system.
 *
 * The customer's tickets stay (the support history is the company's
 * record), but nothing in them identifies the person any more:
 *   - the account: email becomes erased-<id>@erased.invalid, the name
 *     "Erased customer", the password is removed, the account disabled
 *     and every token of it ended (token_version);
 *   - every comment they wrote: the body becomes "[erased]", and its
 *     attachments' bytes are deleted (the refs say "erased");
 *   - the outbox: every mail to their address loses the address and its
 *     content; unsent ones are failed ("recipient erased");
 *   - the action is recorded: an "erased" event (actor = the admin,
 *     new_value = the user id) in the history of every ticket they
 *     requested or commented on, and a log line.
 * Each step can run again: an erasure cut short by a crash is finished
 * by erasing again (the account is changed last, so its old address is
 * still known until then). Subjects are kept: they are the ticket's
 * title, written by the customer - an admin edits them if they name the
 * person. Staff accounts are not erased this way (disable them). */
#ifndef TD_ERASE_H
#define TD_ERASE_H

#include <stdbool.h>

#include "core.h"
#include "model.h"

#define ERASED_BODY "[erased]"
#define ERASED_NAME "Erased customer"

struct erase_report {
    int64_t comments;
    int64_t attachments;
    int64_t outbox_rows;
    int64_t tickets;
};

bool user_erase(struct td_core *c, const struct td_user *actor, const char *user_id,
                struct erase_report *out, struct td_err *err);

#endif

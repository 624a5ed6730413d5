/* merge.h - merging a duplicate ticket into another.
 *
 * ticket_merge(source -> target), agents only:
 *   1. the source is marked merged_into = target and closed, with an
 *      EVENT_MERGED_INTO event (one compare-and-set write);
 *   2. its comments (and with them their attachments) move to the target
 *      (store comment_move);
 *   3. the target takes the source's requester and participants as
 *      participants and records EVENT_MERGED_FROM (one write).
 * No step needs a multi-document transaction, and each is idempotent: a
 * merge interrupted anywhere (a crash, the store away) is finished by
 * calling ticket_merge again with the same pair, which is what a retry
 * of the API call or the CLI does.
 *
 * The source keeps its Message-IDs and number: mail that threads to it
 * (a reply to an old notification, its [#N] token, a reply token naming
 * it) is found as before and then follows merged_into to the target
 * (ticket_follow_merges), so later replies to either thread land in the
 * target. */
#ifndef TD_MERGE_H
#define TD_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "model.h"

#define MERGE_MAX_CHAIN 8 /* merged_into hops followed before giving up */

/* out (may be NULL) gets the target after the merge. TD_INVALID for a
 * ticket merged into itself; TD_CONFLICT when the source was merged into
 * another ticket, or the target was itself merged away. */
bool ticket_merge(struct td_core *c, const struct td_user *actor, int64_t source, int64_t target,
                  struct td_ticket *out, struct td_err *err);

/* The ticket at the end of number's merged_into chain (number itself
 * when it was never merged). TD_NOT_FOUND for an unknown ticket. */
bool ticket_follow_merges(struct td_core *c, int64_t number, int64_t *out, struct td_err *err);

#endif

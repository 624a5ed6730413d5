/* participant.h - who takes part in a ticket's conversation besides its
 * requester: colleagues on Cc, people an agent or the requester added,
 * agents who follow it.
 *
 * Participants are user ids in td_ticket.participants, written with the
 * ticket (compare-and-set, store.h) and each change recorded in the
 * history (EVENT_PARTICIPANT_ADDED / _REMOVED). A participant reads the
 * ticket and its public comments and answers it like the requester
 * (policy.h), and gets every notification a requester gets, in a mail of
 * their own with their own signed Reply-To (notify.h). */
#ifndef TD_PARTICIPANT_H
#define TD_PARTICIPANT_H

#include <stdbool.h>

#include "core.h"
#include "model.h"

#define PARTICIPANT_MAX 50      /* per ticket */
#define PARTICIPANT_MAX_ADD 20  /* per call (a comment's cc, a mail's Cc) */

/* Adds the users (ids) that are not the requester or already there.
 * actor NULL is the system (the mail gateway). Unknown or disabled users
 * are TD_INVALID; over PARTICIPANT_MAX is TD_INVALID. Nothing new: no
 * write, success. out (may be NULL) gets the ticket after. */
bool participant_add(struct td_core *c, const struct td_user *actor, int64_t number,
                     const struct strv *user_ids, struct td_ticket *out, struct td_err *err);

/* The same for mail addresses: an unknown address becomes a password-less
 * customer (like a mail's sender). */
bool participant_add_emails(struct td_core *c, const struct td_user *actor, int64_t number,
                            const struct strv *emails, struct td_ticket *out,
                            struct td_err *err);

/* TD_NOT_FOUND when user_id is not a participant. */
bool participant_remove(struct td_core *c, const struct td_user *actor, int64_t number,
                        const char *user_id, struct td_ticket *out, struct td_err *err);

/* The participants as users, in the order they joined (a user deleted
 * since is left out). */
bool participant_list(struct td_core *c, const struct td_user *actor, int64_t number,
                      struct td_user_list *out, struct td_err *err);

/* The mail gateway's note that a stranger's mail named ticket number but
 * opened ticket related instead (authorship.h rule 4): an
 * EVENT_RELATED_MAIL event by the system, new_value the related ticket's
 * number, old_value the sender's address. No notification follows. */
bool participant_note_related(struct td_core *c, int64_t number, int64_t related,
                              const char *sender, struct td_err *err);

#endif

/* authorship.h - who may add to a ticket by mail, and who else joins the
 * conversation (issue 10). The rules, in order, for a mail from a
 * customer (or from an agent address nothing proves, see trust.h):
 *
 *   1. a valid signed reply token issued to the sender (trust.h) -> that
 *      person, on the ticket the token names; they become a participant
 *      if they were not one (the token was sent to them);
 *   2. the sender is the requester or a participant, and the mail threads
 *      to the ticket (subject token, In-Reply-To or References) -> them;
 *   3. the mail threads by In-Reply-To/References to a Message-ID of the
 *      ticket, and the sender's domain is the requester's or a
 *      participant's, and not a free-mail domain ([mailgw]
 *      free_mail_domains) -> added as a participant, then theirs;
 *   4. anything else - notably a subject token alone from a stranger
 *      (the Zammad #2444 mistake) -> a new ticket of their own, and the
 *      named ticket's history records that a possibly related mail
 *      arrived (EVENT_RELATED_MAIL, participant.h).
 * A ticket merged into another is followed to its target first (merge.h).
 *
 * New tickets from mail: the To and Cc addresses become participants,
 * except our own addresses (and +tagged forms), the sender, list and
 * no-reply addresses and agents ([mailgw] cc_participants = no: none). */
#ifndef MGW_AUTHORSHIP_H
#define MGW_AUTHORSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "core/err.h"
#include "core/strv.h"
#include "mime.h"
#include "settings.h"
#include "thread.h"

enum author_rule {
    AUTHOR_STRANGER = 0, /* rule 4: a ticket of their own */
    AUTHOR_TOKEN,        /* rule 1 */
    AUTHOR_MEMBER,       /* rule 2 */
    AUTHOR_SAME_DOMAIN,  /* rule 3 */
};

struct author_verdict {
    enum author_rule rule;
    int64_t ticket;      /* where the comment goes (merges followed); for
                            a stranger: the ticket their mail named, or 0 */
    bool add_participant; /* rules 1 and 3 when not one yet */
};

/* thread_ticket/how: thread_resolve's answer; token_ticket: the ticket a
 * reply token issued to this sender names (0: none). false only when the
 * store failed. */
bool authorship_decide(struct td_core *c, const struct mailgw_settings *set,
                       const struct td_user *sender, int64_t thread_ticket, enum thread_how how,
                       int64_t token_ticket, struct author_verdict *out, struct td_err *err);

/* The user ids of the To/Cc addresses of m that become participants of
 * the ticket m opens (see above), creating customers for unknown
 * addresses; at most PARTICIPANT_MAX_ADD. false only when the store
 * failed. */
bool authorship_cc_participants(struct td_core *c, const struct mailgw_settings *set,
                                const struct mime_msg *m, const char *sender,
                                struct strv *out, struct td_err *err);

/* Exposed for tests: an address no conversation should include
 * (noreply@, mailer-daemon@, a list's posting address...). */
bool authorship_address_is_robot(const struct mime_msg *m, const char *addr);
/* The domain of addr (after the last '@'), or "" */
const char *authorship_domain(const char *addr);

const char *author_rule_name(enum author_rule r);

#endif

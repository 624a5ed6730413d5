/* thread.h - which ticket a mail belongs to, and what its subject is.
 *
 * Order: a ticket token in the subject ("[#123]" by default, the format
 * is configurable), then In-Reply-To, then References (newest first)
 * against the Message-IDs stored in ticket threads; else a new ticket.
 * Whether the sender may write to the ticket found is core's decision
 * (policy.h), not this file's: a token is easy to forge.
 *
 * Message-IDs are stored without angle brackets; lookups also try the
 * bracketed form, so a thread recorded either way is found. */
#ifndef MGW_THREAD_H
#define MGW_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/store/store.h"
#include "mime.h"

struct thread_token {
    char prefix[32];
    char suffix[32];
};

/* fmt holds "{n}" once, e.g. "[#{n}]" or "[Ticket#{n}]". */
bool thread_token_init(const char *fmt, struct thread_token *out, struct td_err *err);

/* The first ticket number in subject carrying the token; 0 if none. */
int64_t thread_token_find(const struct thread_token *t, const char *subject);

/* A ticket subject from a mail subject: reply/forward prefixes (Re:, AW:,
 * Fwd:, WG:, SV:, TR:, RV:, R:, Antw:, ... also "Re[2]:" and "RE :") and
 * our token removed, white space collapsed, at most max_cp code points;
 * "(no subject)" when nothing is left. The caller frees. */
char *thread_subject_clean(const struct thread_token *t, const char *subject, size_t max_cp);

enum thread_how { THREAD_NONE = 0, THREAD_TOKEN, THREAD_IN_REPLY_TO, THREAD_REFERENCES };

/* The ticket a Message-ID belongs to (thread or msgid map), trying the
 * bare and the bracketed form. false with TD_NOT_FOUND when none. */
bool thread_find_msgid(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err);

/* *ticket = 0 and *how = THREAD_NONE when the mail starts a new thread.
 * false only when the store failed (err says why). */
bool thread_resolve(struct store *st, const struct thread_token *t, const struct mime_msg *m,
                    int64_t *ticket, enum thread_how *how, struct td_err *err);

const char *thread_how_name(enum thread_how h);

#endif

/* loop.h - mail that must never be answered automatically.
 *
 * Classifies a parsed mail as ordinary, automatic (Auto-Submitted other
 * than "no", Precedence bulk/junk/list, X-Auto-Response-Suppress,
 * List-Id, X-Autoreply, an empty Return-Path), a bounce (a delivery
 * status report, or from mailer-daemon/postmaster), or our own (our
 * X-Loop, or sent from a support address). What happens to each is
 * ingest.c's decision; this only says what it is and why. */
#ifndef MGW_LOOP_H
#define MGW_LOOP_H

#include "core/strv.h"
#include "mime.h"

enum loop_kind { LOOP_NONE = 0, LOOP_AUTO, LOOP_BOUNCE, LOOP_OWN };

struct loop_verdict {
    enum loop_kind kind;
    char reason[160];
};

/* own: our support addresses, lower case ("support@example.com"; plus
 * addressing "support+x@example.com" counts as the same). loop_id: the
 * X-Loop value we send (NULL: none). sender: the From address, lower
 * case (NULL when there is none). */
void loop_check(const struct strv *own, const char *loop_id, const struct mime_msg *m,
                const char *sender, struct loop_verdict *out);

/* Whether addr (lower case) is one of own, with or without +detail. */
bool loop_is_own_address(const struct strv *own, const char *addr);

const char *loop_kind_name(enum loop_kind k);

#endif

/* route.h - routing rules: which group a new ticket from mail goes to
 * (issue 14). Core decides it, so the mail gateway stays an adapter that
 * only hands over what the mail says.
 *
 *   [route billing]
 *   to = billing@example.com, invoices@example.com ; a recipient (To, Cc,
 *                                  ; Delivered-To...), any of these
 *   from_domain = bigcustomer.com  ; the sender's domain or a subdomain
 *   subject = (?i)\binvoice\b      ; PCRE2, searched in the decoded subject
 *   group = billing                ; the group (queue) the ticket opens in
 *
 * Rules are tried in the order of the file; the first whose conditions
 * all hold wins (a rule needs at least one condition, and a group); when
 * none does, the mailbox's queue (its default group) stays. Patterns are
 * compiled once at start: a bad one stops ticketd naming the section.
 * A subject comes from strangers, so matching runs under PCRE2 match and
 * depth limits: a pattern that would backtrack without end simply does
 * not match (and is logged). Address and domain comparisons ignore
 * case. */
#ifndef TD_ROUTE_H
#define TD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "strv.h"

struct route_table;

/* What a mail says about itself. Addresses as written (compared without
 * case); any member may be NULL/empty. */
struct route_input {
    const struct strv *recipients; /* To, Cc, Delivered-To, X-Original-To */
    const char *sender;            /* the From address */
    const char *subject;           /* decoded */
};

/* Reads every [route NAME] section (in file order) into *out (owned;
 * route_table_free). No sections: an empty table. TD_INVALID naming the
 * section and key on a missing group, a bad group key, no condition, or
 * a pattern PCRE2 refuses (with its message and offset). */
bool route_table_load(struct td_config *cfg, struct route_table **out, struct td_err *err);
void route_table_free(struct route_table *t); /* NULL-safe */
size_t route_table_count(const struct route_table *t);

/* The group of the first rule in t that in matches, else def (NULL-safe
 * t). *rule (may be NULL) gets the winning rule's name, or NULL. The
 * strings are borrowed from t (or def). */
const char *route_pick(const struct route_table *t, const struct route_input *in,
                       const char *def, const char **rule);

#endif

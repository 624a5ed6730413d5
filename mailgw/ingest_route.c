/* ingest_route.c - the group a new ticket from mail opens in: what the
 * mail says (its recipients, sender and subject) handed to core's
 * routing rules (core/route.h), the mailbox's queue as the default.
 * Recipients are To and Cc, and the envelope's as the MTA recorded it
 * (Delivered-To, X-Original-To, Envelope-To), so a mail that reached an
 * alias by Bcc or a list still routes by the address it was sent to. */
#include "ingest_int.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/route.h"

#include <stdlib.h>

/* Bounded: a mail may carry many such headers, and each is only a hint. */
#define ENVELOPE_MAX 10

const char *ingest_route(struct job *j)
{
    const char *def = j->src->queue ? j->src->queue : "";
    const struct mailgw_settings *set = j->c->set;
    if (route_table_count(set->routes) == 0)
        return def;
    struct strv rcpt = STRV_INIT;
    for (size_t i = 0; i < j->m.recipients.n; i++)
        strv_push(&rcpt, j->m.recipients.v[i]);
    static const char *const env[] = { "Delivered-To", "X-Original-To", "Envelope-To" };
    for (size_t k = 0; k < sizeof env / sizeof *env; k++) {
        const char *v;
        for (size_t i = 0; i < ENVELOPE_MAX && (v = mime_header_nth(&j->m, env[k], i)) != NULL; i++) {
            char *a = mime_addr_extract(v);
            if (a)
                strv_push(&rcpt, a);
            free(a);
        }
    }
    struct route_input in = { &rcpt, j->sender, j->m.subject };
    const char *rule = NULL;
    const char *group = route_pick(set->routes, &in, def, &rule);
    strv_clear(&rcpt);
    if (rule)
        log_event(LOG_INFO, "mail_routed", LF_S("route", rule), LF_S("group", group),
                  LF_S("key", j->key));
    return group;
}

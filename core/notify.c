/* notify.c - see notify.h: the kinds of notification, [notify], the
 * addresses never mailed and the deterministic row ids. The planner is
 * split by concept: notify_plan.c (who gets what for an event),
 * notify_enqueue.c (writing rows under the loop guard, and the replay of
 * recent history), notify_hook.c (the core hook and account mails).
 *
 * Everything a row contains is decided when the event is planned:
 * the template values (payload, JSON) are a snapshot of the ticket, the
 * author and the comment at that moment, so a mail sent after an SMTP
 * outage still says what happened then. Only the row id must be the same
 * whenever the event is planned, and it depends on the event, the
 * recipient's user id and the template alone. */
#include "notify_int.h"
#include "text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


const char *const notify_kind_names[NK_COUNT] = {
    [NK_CREATED_ACK] = "ticket_created_ack",
    [NK_CREATED_AGENTS] = "ticket_created_agents",
    [NK_REPLY_TO_REQUESTER] = "reply_to_requester",
    [NK_REPLY_TO_AGENTS] = "reply_to_agents",
    [NK_INTERNAL_NOTE] = "internal_note",
    [NK_ASSIGNED] = "assigned",
    [NK_STATUS_RESOLVED] = "status_resolved",
    [NK_STATUS_CLOSED] = "status_closed",
    [NK_SLA_ESCALATED] = "sla_escalated",
    [NK_PENDING_REMINDER] = "pending_reminder",
};

bool notify_kind_parse(const char *s, enum notify_kind *out)
{
    for (int i = 0; i < NK_COUNT; i++)
        if (s && strcmp(s, notify_kind_names[i]) == 0) {
            *out = (enum notify_kind)i;
            return true;
        }
    return false;
}

bool notify_kind_staff_only(enum notify_kind k)
{
    return k == NK_CREATED_AGENTS || k == NK_REPLY_TO_AGENTS || k == NK_INTERNAL_NOTE ||
           k == NK_ASSIGNED || k == NK_SLA_ESCALATED;
}

const char *notify_kind_auto_submitted(enum notify_kind k)
{
    switch (k) {
    case NK_CREATED_ACK: return "auto-replied";
    case NK_REPLY_TO_REQUESTER: return NULL; /* an agent wrote it */
    default: return "auto-generated";        /* notices, incl. every agent notice,
                                                so agents' vacation responders
                                                stay quiet (RFC 3834) */
    }
}

/* ---- Configuration ---- */

bool notify_config_load(struct td_config *cfg, struct notify_config *nc, struct td_err *err)
{
    memset(nc, 0, sizeof *nc);
    const char *support = config_str(cfg, "notify", "support_address", "");
    if (support[0] != '\0') {
        char *norm = NULL;
        if (!email_normalize(support, "[notify] support_address", &norm, err))
            return false;
        int n = snprintf(nc->support_address, sizeof nc->support_address, "%s", norm);
        free(norm);
        if (n < 0 || (size_t)n >= sizeof nc->support_address)
            return td_fail(err, TD_INVALID, "[notify] support_address is too long");
    }
    const char *url = config_str(cfg, "notify", "ticket_url", "");
    const char *console = config_str(cfg, "notify", "console_url", "");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[notify] ticket_url contains white space or a control character");
    for (const char *p = console; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[notify] console_url contains white space or a control character");
    int n = snprintf(nc->console_url, sizeof nc->console_url, "%s", console);
    if (n < 0 || (size_t)n >= sizeof nc->console_url - 16)
        return td_fail(err, TD_INVALID, "[notify] console_url is too long");
    /* Without ticket_url, links open the ticket in the web console. */
    if (url[0] == '\0' && console[0] != '\0')
        n = snprintf(nc->ticket_url, sizeof nc->ticket_url, "%s#/tickets/", console);
    else
        n = snprintf(nc->ticket_url, sizeof nc->ticket_url, "%s", url);
    if (n < 0 || (size_t)n >= sizeof nc->ticket_url)
        return td_fail(err, TD_INVALID, "[notify] ticket_url is too long");
    const char *reset = config_str(cfg, "notify", "reset_url", "");
    for (const char *p = reset; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[notify] reset_url contains white space or a control character");
    n = snprintf(nc->reset_url, sizeof nc->reset_url, "%s", reset);
    if (n < 0 || (size_t)n >= sizeof nc->reset_url)
        return td_fail(err, TD_INVALID, "[notify] reset_url is too long");
    const char *alias_url = config_str(cfg, "notify", "alias_confirm_url", "");
    for (const char *p = alias_url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return td_fail(err, TD_INVALID, "[notify] alias_confirm_url contains white space or a control character");
    n = snprintf(nc->alias_confirm_url, sizeof nc->alias_confirm_url, "%s", alias_url);
    if (n < 0 || (size_t)n >= sizeof nc->alias_confirm_url)
        return td_fail(err, TD_INVALID, "[notify] alias_confirm_url is too long");
    for (int k = 0; k < NK_COUNT; k++)
        if (!config_bool(cfg, "notify", notify_kind_names[k], true, &nc->enabled[k], err))
            return false;
    if (!config_bool(cfg, "notify", "notify_admins", true, &nc->admins_are_agents, err) ||
        !config_int(cfg, "notify", "max_per_recipient_hour", NOTIFY_DEFAULT_MAX_PER_HOUR, 0, 100000,
                    &nc->max_per_hour, err) ||
        !config_int(cfg, "notify", "max_per_agent_hour", 0, 0, 1000000, &nc->max_per_staff_hour, err))
        return false;
    return true;
}

static const char *const blocked_locals[] = {
    "mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply",
    "bounce", "bounces", "daemon", NULL,
};

bool notify_address_blocked(const struct notify_config *nc, const char *email)
{
    if (email == NULL || email[0] == '\0')
        return true;
    const char *at = strrchr(email, '@');
    if (at == NULL)
        return true;
    size_t local = (size_t)(at - email);
    /* The local part without a +tag. */
    const char *plus = memchr(email, '+', local);
    size_t base = plus ? (size_t)(plus - email) : local;
    for (size_t i = 0; blocked_locals[i]; i++)
        if (strlen(blocked_locals[i]) == base && strncasecmp(email, blocked_locals[i], base) == 0)
            return true;
    if (strncasecmp(email, "owner-", 6) == 0 || (local > 8 && strncasecmp(at - 8, "-request", 8) == 0))
        return true; /* mailing list machinery */
    const char *sup = nc->support_address;
    const char *sat = strrchr(sup, '@');
    if (sat == NULL)
        return false;
    size_t slocal = (size_t)(sat - sup);
    return strcasecmp(at, sat) == 0 && base == slocal && strncasecmp(email, sup, slocal) == 0;
}

/* ---- Row ids ---- */

static void hash_field(crypto_generichash_state *h, const char *s)
{
    /* Length-prefixed, so ("ab","c") and ("a","bc") differ; NULL != "". */
    unsigned char len[9];
    uint64_t n = s ? strlen(s) : 0;
    len[0] = s ? 1 : 0;
    for (int i = 0; i < 8; i++)
        len[1 + i] = (unsigned char)(n >> (8 * i));
    crypto_generichash_update(h, len, sizeof len);
    if (s)
        crypto_generichash_update(h, (const unsigned char *)s, n);
}

void notify_hash_event(crypto_generichash_state *h, const struct td_event *ev)
{
    char num[64];
    snprintf(num, sizeof num, "%lld|%lld", (long long)ev->ticket, (long long)ev->at);
    hash_field(h, num);
    hash_field(h, event_kind_name(ev->kind));
    hash_field(h, ev->actor_id);
    hash_field(h, ev->old_value);
    hash_field(h, ev->new_value);
}

void notify_row_id(const struct td_event *ev, const char *recipient_id, enum notify_kind kind,
                   char out[TD_ID_LEN + 1])
{
    crypto_generichash_state h;
    unsigned char digest[crypto_generichash_BYTES];
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    hash_field(&h, "ticketd-outbox-v1");
    notify_hash_event(&h, ev);
    hash_field(&h, recipient_id);
    hash_field(&h, notify_kind_names[kind]);
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(out, TD_ID_LEN + 1, digest, TD_ID_LEN / 2);
}


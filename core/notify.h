/* notify.h - the notification planner: which history events become which
 * mails to whom, written as rows of the durable outbox.
 *
 * Who gets what (each rule can be switched off in [notify]):
 *   ticket created       -> ticket_created_ack to the requester (also when
 *                           they opened it themselves; not when the mail
 *                           that opened it was auto-submitted), and
 *                           ticket_created_agents to the members of the
 *                           ticket's group (core/group.h), or to every
 *                           active agent when the group does not exist or
 *                           has no members
 *   public reply by staff (or the system) -> reply_to_requester
 *   public reply by the customer -> reply_to_agents: the assignee, or the
 *                           group's members (every active agent, as above)
 *                           while unassigned; and the followers
 *   internal note        -> internal_note to the assignee and the followers
 *                           (staff participants: core/follower.h)
 *   assigned / claimed   -> assigned to the new assignee
 *   status resolved / closed -> status_resolved / status_closed to the
 *                           requester
 * Nobody gets a mail about their own action, except the acknowledgement.
 * Internal notes only ever go to agents and admins (checked per row, not
 * only per rule). The ticket's description (the comment written with the
 * ticket) is part of the creation mails, not a reply of its own.
 *
 * Durability without multi-document transactions: a row's id is a hash
 * (BLAKE2b, 12 bytes, hex) of the event (ticket, time, kind, actor,
 * values), the recipient and the template, so planning the same event
 * twice yields the same rows and the second insert is a harmless
 * TD_CONFLICT. The core hook plans right after each committed change;
 * notify_reconcile replays the history of recently updated tickets and
 * inserts whatever a crash between the change and the hook lost.
 *
 * Loop guard, per row: never to the support address (or any +tagged
 * variant of it), never to mailer-daemon/postmaster-style addresses, and
 * at most max_per_hour mails per recipient within an hour for the mails
 * that go to requesters (max_per_staff_hour for agent notices, no cap by
 * default: a busy queue legitimately sends an agent many): beyond that
 * the row is written as failed with the reason, so it is visible and
 * never sent (nor re-planned). */
#ifndef TD_NOTIFY_H
#define TD_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "core.h"
#include "model.h"
#include "store/store.h"

enum notify_kind {
    NK_CREATED_ACK = 0,
    NK_CREATED_AGENTS,
    NK_REPLY_TO_REQUESTER,
    NK_REPLY_TO_AGENTS,
    NK_INTERNAL_NOTE,
    NK_ASSIGNED,
    NK_STATUS_RESOLVED,
    NK_STATUS_CLOSED,
    NK_SLA_ESCALATED, /* a due time passed: to the group or a lead (core/sla_escalate.h) */
    NK_PENDING_REMINDER, /* core/automation.h: the requester, of a pending ticket */
    NK_COUNT
};

/* Template names, also the [notify] keys that switch a rule on/off. */
extern const char *const notify_kind_names[NK_COUNT];
bool notify_kind_parse(const char *s, enum notify_kind *out);
/* Mails whose content customers must never see (internal notes, agent
 * notices). */
bool notify_kind_staff_only(enum notify_kind k);
/* The Auto-Submitted value of a kind: auto-replied for the
 * acknowledgement, auto-generated for status and agent notices (so an
 * agent's vacation responder does not answer them), none for an agent's
 * reply relayed to the requester (a person wrote it). */
const char *notify_kind_auto_submitted(enum notify_kind k); /* NULL: none */


#define NOTIFY_DEFAULT_MAX_PER_HOUR 30

struct notify_config {
    char support_address[256]; /* lower-case; "" = notifications off */
    char ticket_url[512];      /* prefix; the ticket number is appended */
    char reset_url[512];       /* prefix; a password reset token is appended ("" = none) */
    char console_url[512];     /* the web console's address ("" = none): claim
                                  links, and ticket_url's default */
    bool enabled[NK_COUNT];
    bool admins_are_agents;    /* "every agent" includes admins */
    int64_t max_per_hour;      /* per requester; 0 = no cap */
    int64_t max_per_staff_hour; /* per agent (staff-only kinds); 0 = no cap */
    char alias_confirm_url[512]; /* prefix of an alias confirmation link; the
                                    token is appended; "" = none */
};

/* [notify] support_address, ticket_url, console_url, max_per_recipient_hour,
 * max_per_agent_hour, notify_admins, alias_confirm_url, and one yes/no key per kind
 * (ticket_created_ack = no). */
bool notify_config_load(struct td_config *cfg, struct notify_config *nc, struct td_err *err);

/* True for addresses no automatic mail may go to: the support address
 * and its +tagged variants, mailer-daemon, postmaster and the like. */
bool notify_address_blocked(const struct notify_config *nc, const char *email);

/* The deterministic row id for (event, recipient user id, kind). */
void notify_row_id(const struct td_event *ev, const char *recipient_id, enum notify_kind kind,
                   char out[TD_ID_LEN + 1]);

/* Plans the rows for events ev[0..n) of ticket t (appended to out,
 * state pending, not inserted). assignee_before: the assignee before
 * ev[0] ("" = none); assignment events in ev move it along. Events older
 * than `since` are skipped (0 = none). Reads users and comments. */
bool notify_plan(const struct notify_config *nc, struct store *st, const struct td_ticket *t,
                 const struct td_event *ev, size_t n, const char *assignee_before, td_time since,
                 struct td_outbox_list *out, struct td_err *err);

/* Inserts planned rows, applying the hourly cap. Rows already there are
 * skipped. *inserted (may be NULL) counts new pending rows. */
bool notify_enqueue(const struct notify_config *nc, struct store *st,
                    const struct td_outbox_list *rows, td_time now, size_t *inserted,
                    struct td_err *err);

/* Replays the history of every ticket updated since `since` and enqueues
 * the rows of events at or after `since` that are missing. With planned
 * (notify_planned.h; may be NULL), a ticket whose events since `since`
 * are all noted there is not planned again, and the events of the
 * tickets it plans are noted. */
struct notify_planned;
bool notify_reconcile(const struct notify_config *nc, struct store *st,
                      struct notify_planned *planned, td_time since, td_time now,
                      size_t *inserted, struct td_err *err);

/* ---- The core hook ---- */

struct notify;

/* Reads [notify]; when support_address is set, installs the planner as
 * c->on_events (owning c->on_events_arg). Without it notifications are
 * off and nothing is installed. */
bool notify_attach(struct td_config *cfg, struct td_core *c, struct td_err *err);
/* Removes and frees what notify_attach installed (safe if nothing was). */
void notify_detach(struct td_core *c);
/* The planner attached to c, or NULL. */
struct notify *notify_of(struct td_core *c);
const struct notify_config *notify_config_of(const struct notify *n);
/* What the planner's hook has planned (for notify_reconcile), or NULL. */
struct notify_planned *notify_planned_of(struct notify *n);
/* fn(arg) is called after the hook queued new pending rows (the sender
 * wakes up instead of waiting for its next poll). fn NULL removes it. */
void notify_set_wake(struct notify *n, void (*fn)(void *arg), void *arg);

/* The hook itself (core_events_fn). */
void notify_on_events(struct td_core *c, const struct td_user *actor, const struct td_ticket *t,
                      const struct td_event *events, size_t n);

/* ---- Account mails ----
 * Mails about an account, not a ticket (so no planner rule, history or
 * thread): rows with ticket = 0 and a random id, queued by the API and
 * sent by the outbox sender like any other row (notify/deliver.c renders
 * them without [#N], threading or a signed Reply-To). The per-recipient
 * hourly cap (max_per_recipient_hour) and the loop guard apply.
 *
 *   account_claim   a mail-created customer asked for web access
 *                   (POST /api/v1/auth/claim): the one-time claim token.
 *   password_changed  the account's password was changed (every session
 *                   ended): so the owner notices a change that was not theirs.
 *   register_confirm a registration's one-time token: the account works
 *                   once the address's owner confirms it (api/routes_register.c).
 *   register_exists someone registered with an address that already has
 *                   an account: the owner hears of it (the API answers the
 *                   same 202 as for a new address: no enumeration).
 *   agent_untrusted a mail with an agent's From but no valid reply token
 *                   nor trusted Authentication-Results was quarantined:
 *                   how to reply so it counts. Sent to the agent's
 *                   registered address, never to the mail's From.
 *   password_reset  a user forgot the password (POST /api/v1/auth/reset):
 *                   a one-time link ([notify] reset_url + token) and the
 *                   token itself.
 *   webhook_disabled  to every active admin: a webhook endpoint was
 *                   disabled after too many failed deliveries or a 410
 *                   (hooks/), with its URL and the reason.
 *   alias_confirm   an agent registered an extra sending address
 *                   (core/alias.h): the one-time link, sent to that
 *                   address (not the agent's own).
 *
 * The row's payload holds the token in clear until the mail is sent; the
 * token itself is single-use and short-lived (api/routes_claim.c). */
enum notify_account_kind {
    NA_ACCOUNT_CLAIM = 0,
    NA_PASSWORD_CHANGED,
    NA_REGISTER_EXISTS,
    NA_AGENT_UNTRUSTED,
    NA_REGISTER_CONFIRM,
    NA_PASSWORD_RESET,
    NA_WEBHOOK_DISABLED,
    NA_ALIAS_CONFIRM,
    NA_COUNT
};
extern const char *const notify_account_kind_names[NA_COUNT];
bool notify_account_kind_parse(const char *s, enum notify_account_kind *out);

/* Queues an account mail of kind to u (its registered address) with the
 * template variables in extra (stolen; NULL for none) plus recipient,
 * recipient_email and support_address. once_key (NULL: none): at most one
 * mail of this kind per key, ever (a key with the hour in it: one an
 * hour). TD_UNAVAILABLE when notifications are off. A mail the loop
 * guard, the hourly cap or once_key refuses is no error: *queued (may be
 * NULL) is false. */
bool notify_account_mail(struct td_core *c, const struct td_user *u, enum notify_account_kind kind,
                         json_t *extra, const char *once_key, bool *queued, struct td_err *err);

/* Queues the account_claim mail for customer u through the planner
 * attached to c (TD_UNAVAILABLE when notifications are off: there is no
 * support address to send from) and wakes the sender. A mail the loop
 * guard or the hourly cap refuses is no error: it is written as failed
 * with the reason, and *queued (may be NULL) is false. */
bool notify_account_claim(struct td_core *c, const struct td_user *u, const char *token,
                          int64_t valid_minutes, bool *queued, struct td_err *err);
/* The same for the password_reset mail of user u (any role). */
bool notify_password_reset(struct td_core *c, const struct td_user *u, const char *token,
                           int64_t valid_minutes, bool *queued, struct td_err *err);

/* Queues webhook_disabled to every active admin (see above). Without a
 * planner (notifications off) it does nothing and returns true;
 * *queued (may be NULL) counts the mails queued. */
bool notify_webhook_disabled(struct td_core *c, const char *webhook_id, const char *url,
                             const char *reason, size_t *queued, struct td_err *err);
/* Queues the alias_confirm mail to alias for agent, the same way. The
 * link is [notify] alias_confirm_url + token ("" when that is unset: the
 * mail then tells how to confirm through the API). */
bool notify_alias_confirm(struct td_core *c, const struct td_user *agent, const char *alias,
                          const char *token, int64_t valid_hours, bool *queued,
                          struct td_err *err);

/* ---- SLA escalation (notify_sla.c) ----
 * Queues sla_escalated about ticket t for the escalation event ev (kind
 * EVENT_ESCALATED) to each active staff user of user_ids and to
 * lead_email (may be NULL; an address, not a user). Row ids come from the
 * event and recipient (notify_row_id), so queueing twice writes once.
 * Notifications off: nothing, true. *queued (may be NULL) counts. */
bool notify_sla_escalated(struct td_core *c, const struct td_ticket *t, const struct td_event *ev,
                          const char *policy, const struct strv *user_ids,
                          const char *lead_email, size_t *queued, struct td_err *err);

#endif

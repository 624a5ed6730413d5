/* webhook.h - webhooks: endpoints admins register, and the deliveries
 * planned for them from the ticket history.
 *
 * Planning is a replay of history, like the mail outbox's reconciler
 * (notify.h): webhook_plan() reads the history of every ticket updated
 * since a time and writes one delivery per (endpoint, event) the
 * endpoint wants, with an id derived from both (BLAKE2b), so planning
 * the same event twice writes one row and a crash between a change and
 * its deliveries loses nothing - the next pass (hooks/ runs one every
 * plan interval, first over a whole window) writes them. Only events at
 * or after the endpoint's creation are delivered to it.
 *
 * The body of a delivery (fixed when planned; a stable schema,
 * documented under `webhooks` in api/openapi.json):
 *   {"id": delivery id (the same on every retry: dedupe on it),
 *    "type": "ticket.created" | "comment.created" | "ticket.status_changed"
 *            | "ticket.priority_changed" | "ticket.assignee_changed"
 *            | "ticket.tags_changed" | "ticket.subject_changed"
 *            | "webhook.test",
 *    "created": RFC 3339 time of the event,
 *    "ticket": {number, subject, status, priority, requester_id,
 *               assignee_id, queue, tags, created, updated} (as planned),
 *    "event": {seq, kind, actor_id, old_value, new_value, at},
 *    "comment": {id, author_id, internal, source, body, created}
 *               (comment.created only)}
 * hooks/ signs and sends it; see hooks/hooks.h. */
#ifndef TD_WEBHOOK_H
#define TD_WEBHOOK_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "store/store.h"

#define WEBHOOK_MAX_URL 2000
#define WEBHOOK_MIN_SECRET 16
#define WEBHOOK_MAX_SECRET 200
#define WEBHOOK_MAX 100 /* endpoints */

/* Every event type, and the one of a history event. */
extern const char *const webhook_event_types[];
extern const size_t webhook_n_event_types;
const char *webhook_event_type(enum td_event_kind k);
bool webhook_event_type_known(const char *type);

/* True when w wants deliveries of type. */
bool webhook_wants(const struct td_webhook *w, const char *type);

/* Syntax: http or https, a host, no user:password, no fragment, at most
 * WEBHOOK_MAX_URL bytes of printable ASCII. (Where it points is checked
 * when it is sent to: hooks/ssrf.c.) */
bool webhook_url_valid(const char *url, struct td_err *err);

struct webhook_new {
    const char *url;
    const struct strv *events; /* NULL or empty: all */
    const char *secret;        /* NULL: generated ("whsec_" + 32 base64url) */
};

/* Admin-only management (actor NULL = the system). create fills *out
 * (with the secret, shown to the admin who made it). update: any of url,
 * events, secret (non-NULL) and enabled (when set_enabled); enabling
 * resets failures and the reason. */
bool webhook_create(struct td_core *c, const struct td_user *actor, const struct webhook_new *in,
                    struct td_webhook *out, struct td_err *err);
bool webhook_update_fields(struct td_core *c, const struct td_user *actor, const char *id,
                           const char *url, const struct strv *events, const char *secret,
                           bool set_enabled, bool enabled, struct td_webhook *out,
                           struct td_err *err);
bool webhook_list_all(struct td_core *c, const struct td_user *actor, struct td_webhook_list *out,
                      struct td_err *err);
bool webhook_get_one(struct td_core *c, const struct td_user *actor, const char *id,
                     struct td_webhook *out, struct td_err *err);
bool webhook_remove(struct td_core *c, const struct td_user *actor, const char *id,
                    struct td_err *err);
bool webhook_deliveries(struct td_core *c, const struct td_user *actor, const char *id,
                        size_t limit, struct td_delivery_list *out, struct td_err *err);
/* Queues a "webhook.test" delivery (random id, no ticket) to endpoint
 * id; *delivery_id gets its id. */
bool webhook_send_test(struct td_core *c, const struct td_user *actor, const char *id,
                       char delivery_id[TD_ID_LEN + 1], struct td_err *err);

/* The deterministic id of the delivery of (ticket, seq) to endpoint. */
void webhook_delivery_id(const char *endpoint_id, int64_t ticket, int64_t seq,
                         char out[TD_ID_LEN + 1]);

/* What a planning pass remembers between calls (in memory: a restart
 * starts empty and only costs duplicate inserts, which the ids absorb). */
struct webhook_planned;
struct webhook_planned *webhook_planned_new(void);
void webhook_planned_free(struct webhook_planned *p);

/* One pass: deliveries for the events at or after since of every ticket
 * updated since then. planned (may be NULL) skips events a previous pass
 * of this process wrote. *inserted (may be NULL) counts new rows. */
bool webhook_plan(struct store *st, td_time since, td_time now, struct webhook_planned *planned,
                  size_t *inserted, struct td_err *err);

#endif

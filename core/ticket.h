/* ticket.h - ticket operations: open, read, list, change, claim, assign,
 * history. Every operation checks the actor's role (policy.h), validates
 * all input before it writes anything, and records each change as a
 * history event in the same store write as the change. */
#ifndef TD_TICKET_H
#define TD_TICKET_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "store/store.h"

/* Bytes of one attachment handed to core (borrowed). */
struct attachment_in {
    const char *name;
    const char *content_type;
    const unsigned char *data;
    size_t size;
    bool is_inline;                /* td_attachment_ref.is_inline */
};

struct ticket_new {
    const char *subject;
    const char *body;              /* the first public comment */
    const char *requester_id;      /* NULL: the actor (customers: always) */
    bool has_priority;
    enum td_priority priority;     /* default normal */
    const struct strv *tags;       /* NULL: none */
    const char *queue;             /* NULL: "" */
    enum td_source source;
    const char *message_id;        /* inbound mail: joins the thread */
    const struct attachment_in *attachments;
    size_t n_attachments;
    /* Mail gateway: drop attachments over the limit with a note in the
     * body instead of refusing the whole ticket. */
    bool drop_oversize_attachments;
    /* Mail gateway: the mail that opens the ticket was sent automatically
     * (Auto-Submitted other than "no", an autoresponder...). Recorded in
     * the EVENT_CREATED event as old_value TICKET_CREATED_AUTO, so the
     * notification planner - also when it replays history - sends no
     * acknowledgement, which is what would start a mail loop. */
    bool auto_submitted;
    /* User ids taking part from the start (the Cc of the mail that opens
     * it): written with the ticket; the requester and repeats are left
     * out, at most PARTICIPANT_MAX (participant.h) are kept. */
    const struct strv *participants;
};

#define TICKET_CREATED_AUTO "auto-submitted"

bool ticket_open(struct td_core *c, const struct td_user *actor, const struct ticket_new *in,
                 struct td_ticket *out, struct td_err *err);

bool ticket_get(struct td_core *c, const struct td_user *actor, int64_t number,
                struct td_ticket *out, struct td_err *err);

/* Customers only ever see their own tickets and those they take part
 * in, whatever the filter says. */
bool ticket_list(struct td_core *c, const struct td_user *actor,
                 const struct td_ticket_filter *filter, struct td_ticket_list *out,
                 struct td_err *err);

struct ticket_patch {
    const char *subject;           /* NULL: unchanged */
    bool has_status;
    enum td_status status;
    bool has_priority;
    enum td_priority priority;
    const struct strv *tags;       /* NULL: unchanged; replaces the set */
    const char *queue;             /* NULL: unchanged; "" = no queue (staff) */
};

/* if_version: 0 = apply to whatever is current (retrying internally when
 * someone else wrote meanwhile); else the update happens only on that
 * version, TD_STALE otherwise (HTTP If-Match). */
bool ticket_update(struct td_core *c, const struct td_user *actor, int64_t number,
                   const struct ticket_patch *patch, int64_t if_version, struct td_ticket *out,
                   struct td_err *err);

/* The actor (an agent) takes the ticket. Already theirs: no change.
 * Held by someone else: TD_CONFLICT unless the actor is an admin or
 * core.agents_may_reclaim. A new ticket becomes open. */
bool ticket_claim(struct td_core *c, const struct td_user *actor, int64_t number,
                  struct td_ticket *out, struct td_err *err);

/* assignee_id: an active agent or admin, or "" / NULL for nobody. */
bool ticket_assign(struct td_core *c, const struct td_user *actor, int64_t number,
                   const char *assignee_id, struct td_ticket *out, struct td_err *err);

bool ticket_history(struct td_core *c, const struct td_user *actor, int64_t number,
                    struct td_event_list *out, struct td_err *err);

/* Internal to core (comment.c): applies fn to the current ticket and
 * writes it with the events fn adds, retrying on concurrent writes when
 * if_version is 0. fn returns false to refuse (its err is returned). */
#define TICKET_MAX_EVENTS 32
struct ticket_change {
    struct td_event ev[TICKET_MAX_EVENTS];
    size_t n;
    bool sla_keep_dues; /* set by fn: see sla_track (core/sla.h) */
};
typedef bool (*ticket_change_fn)(struct td_core *c, const struct td_user *actor,
                                 struct td_ticket *t, struct ticket_change *ch, const void *arg,
                                 struct td_err *err);
bool ticket_mutate(struct td_core *c, const struct td_user *actor, int64_t number,
                   int64_t if_version, ticket_change_fn fn, const void *arg, struct td_ticket *out,
                   struct td_err *err);
/* The same with the ticket's updated set to at (0 = td_now()): the
 * scheduler's jobs write at their injectable clock's time (core/automation.c). */
bool ticket_mutate_at(struct td_core *c, const struct td_user *actor, int64_t number,
                      int64_t if_version, td_time at, ticket_change_fn fn, const void *arg,
                      struct td_ticket *out, struct td_err *err);
/* Adds an event to ch (values copied; NULL allowed). */
void ticket_change_add(struct ticket_change *ch, const struct td_user *actor, int64_t number,
                       enum td_event_kind kind, const char *old_value, const char *new_value);

#endif

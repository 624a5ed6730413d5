/* core.h - the ticketd core: one context shared by every adapter.
 *
 * core/ is a library. mailgw/ and api/ call the operations declared in
 * user.h, ticket.h and comment.h with an actor (the user doing it, or
 * NULL for the system itself, e.g. the command line or the mail gateway
 * acting before it knows a sender), and get back the one error type. All
 * validation and every role rule lives below this line. */
#ifndef TD_CORE_H
#define TD_CORE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "password.h"
#include "store/store.h"

#define CORE_DEFAULT_MAX_BODY (1024 * 1024)            /* 1 MiB of text */
#define CORE_DEFAULT_MAX_ATTACHMENT (10 * 1024 * 1024) /* 10 MiB */
#define CORE_MAX_SUBJECT 255                           /* code points */
#define CORE_MAX_NAME 200
#define CORE_MAX_TAGS 20

struct td_core;
struct td_ticket;
struct td_event;
struct sla_table;

/* Called after every successful write that recorded history events (the
 * notification planner hooks in here). Must not fail the operation: the
 * change is already committed; anything missed is found again by
 * replaying history (see notify.h). */
typedef void (*core_events_fn)(struct td_core *c, const struct td_user *actor,
                               const struct td_ticket *t, const struct td_event *events,
                               size_t n);

struct td_core {
    struct store *store;          /* borrowed: the caller opens and closes it */
    size_t max_body;              /* bytes of comment text */
    size_t max_attachment;        /* bytes per attachment */
    enum password_cost pw_cost;
    /* Whether an agent may claim a ticket another agent holds (admins
     * always may). Off: such a claim is TD_CONFLICT. */
    bool agents_may_reclaim;
    /* SLA policies (core/sla.h), borrowed; NULL: no due times. */
    const struct sla_table *sla;
    core_events_fn on_events;     /* NULL: nothing listens */
    void *on_events_arg;          /* for the listener */
    /* A second listener, called after on_events with the same events
     * (core/desk_metrics.h observes response and resolution times). */
    core_events_fn observe;       /* NULL: nothing observes */
};

/* Once per process, before anything else: initialises libsodium. */
bool core_init(struct td_err *err);

/* Hands events to on_events, then to observe (either may be NULL). */
void core_emit(struct td_core *c, const struct td_user *actor, const struct td_ticket *t,
               const struct td_event *events, size_t n);
/* True if anything listens (core_emit would call someone). */
static inline bool core_listened(const struct td_core *c)
{
    return c->on_events != NULL || c->observe != NULL;
}

/* Fills c with defaults over the given store. */
void core_defaults(struct td_core *c, struct store *st);

#endif

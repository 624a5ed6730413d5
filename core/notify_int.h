/* notify_int.h - what the files of the notification planner share
 * (notify.c, notify_plan.c, notify_enqueue.c, notify_hook.c,
 * notify_planned.c); nothing outside core/notify*.c includes it. */
#ifndef TD_NOTIFY_INT_H
#define TD_NOTIFY_INT_H

#include <jansson.h>
#include <sodium.h>

#include "notify.h"
#include "user.h"

#define HOUR_MS (3600 * 1000LL)

/* vars[name] = value (NULL as ""), for a row's template values. */
void notify_var_put(json_t *vars, const char *name, const char *value);
/* How a person is named in a mail: the name, else the address; "" for NULL. */
const char *notify_display_name(const struct td_user *u);

/* Adds what identifies an event to a hash - ticket, time, kind, actor,
 * values, each length-prefixed (NULL apart from "") - for an outbox
 * row's id and an event's key (notify_planned.c). */
void notify_hash_event(crypto_generichash_state *h, const struct td_event *ev);

/* Wakes the sender after rows were queued (notify_set_wake's fn). */
void notify_wake(struct notify *nf);

#endif

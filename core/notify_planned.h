/* notify_planned.h - which history events this process has already
 * planned, so the reconciler's passes need not plan them again.
 *
 * Why: each pass of the reconciler (notify/sender.c) replays every
 * ticket updated since ten minutes before the previous pass began - the
 * overlap that covers writes stamped before they commit. With the
 * default minute between passes, every event was planned again about
 * eleven times: reading its comment, the staff list and each recipient,
 * and trying to insert each of its rows (a write each). At a sustained
 * thousand events a second that is more than a core, and the passes
 * fall behind. The core hook notes each event whose rows it queued; a
 * pass then plans only the tickets with an event nobody noted here (a
 * change the hook missed, or another process's, or one pushed out of
 * this bounded memory), and notes those in turn.
 *
 * An event is known by a 64-bit keyed hash of what identifies it (the
 * same fields as an outbox row's id: ticket, time, kind, actor, values).
 * The memory is a fixed table of NOTIFY_PLANNED_SLOTS keys, one per
 * slot, where a newer key pushes out an older one: forgetting only costs
 * a pass the planning it would have done anyway, and a false "noted"
 * needs two of the few recent events' keys to collide in 64 bits. A note
 * made for a change whose transaction then rolled back names an event
 * that does not exist; it is never asked about.
 *
 * Thread-safe without locks: each slot is one atomic word. */
#ifndef TD_NOTIFY_PLANNED_H
#define TD_NOTIFY_PLANNED_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* 2^17 slots of 8 bytes: 1 MiB; ten minutes of events at ~200 a second. */
#define NOTIFY_PLANNED_SLOTS (1u << 17)

struct notify_planned;

/* A new, empty memory (aborts when out of memory, like td_calloc). */
struct notify_planned *notify_planned_new(void);
/* NULL-safe. */
void notify_planned_free(struct notify_planned *p);

/* Notes the events of ev[0..n) at or after `since` (0: all) as planned
 * (their rows are queued). NULL-safe. */
void notify_planned_note(struct notify_planned *p, const struct td_event *ev, size_t n,
                         td_time since);

/* True when every event of ev[0..n) at or after `since` is noted (also
 * when there is none). False for a NULL memory. */
bool notify_planned_covers(const struct notify_planned *p, const struct td_event *ev, size_t n,
                           td_time since);

#endif

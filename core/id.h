/* id.h - random object ids and timestamps. */
#ifndef TD_ID_H
#define TD_ID_H

#include "model.h"

/* Fills out (TD_ID_LEN + 1 bytes) with 24 random lower-case hex chars from
 * libsodium. Call core_init() (core.h) once before. */
void id_new(char out[TD_ID_LEN + 1]);
/* The same shape, in creation order: 12 hex chars of the wall clock in
 * milliseconds, then 12 random ones (48 bits). For rows written at a high
 * rate - comments, attachments - whose id is a unique index: ids that
 * grow land on the index's last page, which a group of writes shares,
 * instead of a random page each (one fewer 4 KiB page per comment and
 * index in SQLite's write-ahead log). Not for anything secret: the time
 * shows. */
void id_new_sorted(char out[TD_ID_LEN + 1]);
/* True if s looks like an id (24 lower-case hex chars). */
bool id_valid(const char *s);
/* Wall clock in milliseconds since the epoch. */
td_time td_now(void);

#endif

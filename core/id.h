/* id.h - random object ids and timestamps. */
#ifndef TD_ID_H
#define TD_ID_H

#include "model.h"

/* Fills out (TD_ID_LEN + 1 bytes) with 24 random lower-case hex chars from
 * libsodium. Call core_init() (core.h) once before. */
void id_new(char out[TD_ID_LEN + 1]);
/* True if s looks like an id (24 lower-case hex chars). */
bool id_valid(const char *s);
/* Wall clock in milliseconds since the epoch. */
td_time td_now(void);

#endif

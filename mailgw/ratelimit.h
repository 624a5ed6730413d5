/* ratelimit.h - how many new tickets one sender may open by mail.
 *
 * Counted from the store (the sender's tickets created within the
 * window), not from process memory, so the limit holds across restarts
 * and across several ticketd processes. A mail over the limit is
 * quarantined by ingest.c, never dropped. */
#ifndef MGW_RATELIMIT_H
#define MGW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/model.h"
#include "core/store/store.h"

/* *allowed: fewer than limit tickets requested by requester_id were
 * created in (now - window_ms, now]. *count: how many (at most
 * limit). limit 0 = no limit. false only on a store failure. */
bool ratelimit_allow(struct store *st, const char *requester_id, int64_t limit,
                     int64_t window_ms, td_time now, bool *allowed, int64_t *count,
                     struct td_err *err);

#endif

/* store_metrics.h - times every storage operation into
 * ticketd_store_operation_duration_seconds{op} and counts failures in
 * ticketd_store_errors_total{op,code} (core/stats.h), for any backend.
 *
 * A decorator of the operations table: store_metrics_wrap() gives st a
 * per-handle copy of its backend's table in which each operation is a
 * small function that reads the clock, calls the backend's own function
 * with the same handle and records the time. The handle, its name and
 * its behaviour are unchanged; store_close() restores and frees the
 * table. An operation this file does not know yet (added to store.h
 * later) keeps the backend's function, untimed: nothing breaks, and
 * store_metrics_complete() - checked by tests/core/test_store_metrics.c -
 * says so. */
#ifndef TD_STORE_METRICS_H
#define TD_STORE_METRICS_H

#include <stdbool.h>

#include "core/store/store.h"

/* Wraps st in place (call once, right after store_open, before other
 * threads use it). NULL-safe. */
void store_metrics_wrap(struct store *st);
/* True if st is wrapped. */
bool store_metrics_wrapped(const struct store *st);
/* True if every operation of struct store_ops is timed by this file. */
bool store_metrics_complete(void);

#endif

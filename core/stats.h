/* stats.h - what ticketd measures: the catalogue of its metrics on one
 * registry per process (core/metrics.h), and one-line calls for the
 * places that count. Exposed by the API at GET /metrics.
 *
 *   ticketd_http_requests_total{method,route,status}       counter
 *   ticketd_http_request_duration_seconds{method,route}    histogram
 *   ticketd_http_writes_waiting                            gauge (at scrape: writes queued
 *                                                          or running in the write pool)
 *   ticketd_mail_fetched_total{mailbox}                    counter
 *   ticketd_mail_ingested_total{mailbox,kind}              counter (kind: ticket|comment|duplicate)
 *   ticketd_mail_quarantined_total{mailbox}                counter
 *   ticketd_imap_reconnects_total{mailbox}                 counter
 *   ticketd_outbox_sent_total / _failed_total / _retries_total   counter
 *   ticketd_outbox_pending, ticketd_outbox_oldest_due_age_seconds gauge (read from the store at scrape)
 *   ticketd_store_operation_duration_seconds{op}           histogram (store_metrics.c)
 *   ticketd_store_errors_total{op,code}                    counter
 *   ticketd_build_info{version,store}, process_start_time_seconds,
 *   process_resident_memory_bytes                          gauge
 *
 * Label values must come from small fixed sets (route patterns, not
 * paths; configured mailbox names; op names): never from user input.
 * Every call is thread-safe and cheap (relaxed atomics after the first
 * use of a label combination). The registry is per process: several
 * ticketd processes are several scrape targets. */
#ifndef TD_STATS_H
#define TD_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "metrics.h"

/* The process's registry, created with every family above on first use
 * (any stats_ call does it) and kept until exit. */
struct metrics *stats_registry(void);

/* api/: one call per answered request. */
void stats_http_request(const char *method, const char *route, unsigned status, uint64_t us);

/* mailgw/: kind is "ticket" (a new ticket), "comment", or "duplicate"
 * (already ingested: nothing written). */
void stats_mail_fetched(const char *mailbox);
void stats_mail_ingested(const char *mailbox, const char *kind);
void stats_mail_quarantined(const char *mailbox);
void stats_imap_reconnect(const char *mailbox);

/* notify/: sent, failed for good, or scheduled for another attempt. */
void stats_outbox_sent(void);
void stats_outbox_failed(void);
void stats_outbox_retried(void);
/* A write transaction the SQLite store committed (core/store/sqlite). */
void stats_store_commit(void);

/* store_metrics.c: the latency histogram series of one op (kept by the
 * caller), and an error of that op. */
struct metric *stats_store_op_series(const char *op);
void stats_store_error(const char *op, enum td_code code);

/* For GET /metrics: the build info (once), the outbox gauges (read from
 * the store at scrape time), then everything rendered with the process
 * gauges refreshed. */
void stats_set_build_info(const char *version, const char *store);
void stats_set_outbox(int64_t pending, int64_t oldest_due_age_s);
void stats_set_http_writes_waiting(int64_t n);
void stats_render(struct buf *out);

#endif

/* desk_metrics.h - the support desk in Prometheus (issue 14), next to
 * the process metrics of stats.h, on the same registry and GET /metrics:
 *
 *   ticketd_tickets{status,queue}                      gauge  (not closed)
 *   ticketd_tickets_overdue                            gauge  (desk_metrics_set_overdue)
 *   ticketd_oldest_open_ticket_age_seconds             gauge  (new, open or pending)
 *   ticketd_desk_refreshed_timestamp_seconds           gauge  (when the gauges above were read)
 *   ticketd_first_response_seconds{queue}              histogram
 *   ticketd_resolution_seconds{queue}                  histogram
 *   ticketd_automation_actions_total{automation}       counter
 *
 * /metrics must answer in milliseconds at a million tickets, so it never
 * counts tickets: the gauges are read by desk_metrics_refresh(), a
 * scheduler job every process runs (not leased: each serves its own
 * /metrics) from the store's desk_counts (indexed aggregates), and the
 * scrape renders the last values. The histograms are observed when the
 * event happens, in the process where it happens (sum them over
 * processes in PromQL):
 *   first response  the first public reply by staff on a ticket, from the
 *                   ticket's creation;
 *   resolution      the ticket becoming resolved (or closed without being
 *                   resolved first), from its creation - each time, if it
 *                   is reopened and resolved again.
 * Queue label values are the desk's queue names (staff-chosen, bounded by
 * the registry's series cap). */
#ifndef TD_DESK_METRICS_H
#define TD_DESK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "model.h"

/* Scheduler job (sched_job.run): reads the desk counts and sets the
 * gauges; a ticket count that is gone since the last refresh is set to 0. */
bool desk_metrics_refresh(struct td_core *c, td_time now, struct td_err *err);

/* For GET /metrics in a process without the scheduler module (`ticketd
 * api` alone): refreshes when the gauges are older than max_age_ms (or
 * were never read), one caller at a time (the others serve the cached
 * values). In `ticketd serve` the scheduler keeps them fresh and this
 * does nothing. */
bool desk_metrics_refresh_if_older(struct td_core *c, td_time now, td_time max_age_ms,
                                   struct td_err *err);

/* core's second listener (td_core.observe): observes the histograms. */
void desk_metrics_observe(struct td_core *c, const struct td_user *actor,
                          const struct td_ticket *t, const struct td_event *events, size_t n);

/* The overdue gauge: desk_metrics_refresh sets it from the SLA due times
 * (at most 10000 counted); exposed for tests and tools. */
void desk_metrics_set_overdue(int64_t n);

/* An automation did something (job: "pending_reminder", "autoclose"). */
void desk_metrics_automation(const char *job, int64_t n);

/* Read back for tests: a gauge's value (0 when never set). */
int64_t desk_metrics_tickets(enum td_status s, const char *queue);
int64_t desk_metrics_oldest_age_s(void);

#endif

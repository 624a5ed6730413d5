/* metrics.h - a tiny thread-safe metrics registry with Prometheus text
 * exposition. Knows nothing of ticketd: core/stats.h holds the catalogue
 * of what ticketd measures.
 *
 *   struct metrics *m = metrics_new();
 *   struct metric_family *req = metrics_counter(m, "app_requests_total",
 *       "Requests served.", METRIC_LABELS("route", "status"));
 *   metric_inc(METRIC_AT(req, "/x", "200"));
 *   struct buf out = BUF_INIT;
 *   metrics_render(m, &out);            // the text format, version 0.0.4
 *
 * Invariants: families and series are created once and never freed
 * before metrics_free(), so a struct metric * stays valid and can be kept
 * by the caller (the hot path is then one relaxed atomic add). Lookups
 * are lock-free (release/acquire publication of fixed arrays); only the
 * creation of a family or a series takes a mutex. Labels are a small
 * fixed set per family: at most METRICS_MAX_SERIES label combinations
 * each; beyond that values land in one series whose labels all read
 * "_other", so a bug or hostile input cannot grow memory without bound.
 *
 * Histograms count durations in microseconds (exact integer sums) and
 * are exposed in seconds, as Prometheus expects. */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_MAX_FAMILIES 64
#define METRICS_MAX_LABELS 3
#define METRICS_MAX_SERIES 256
#define METRICS_MAX_BUCKETS 24

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_family;
struct metric;

/* NULL-terminated label-name and label-value lists. */
#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define METRIC_NO_LABELS ((const char *const *)NULL)
#define METRIC_AT(fam, ...) metric_at((fam), (const char *const[]){ __VA_ARGS__, NULL })

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* NULL-safe; frees every series */

/* Registers a family (or returns the one already registered under that
 * name, whatever its type). NULL when the name or a label name is not a
 * valid Prometheus name, there are more than METRICS_MAX_LABELS labels,
 * or the registry is full. A family without labels has its one series
 * from the start, so it is exposed as 0 before anything happened. */
struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *const *labels);
struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    const char *const *labels);
/* bounds_us: n strictly increasing upper bounds in microseconds
 * (n <= METRICS_MAX_BUCKETS); +Inf is implied. */
struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels, const uint64_t *bounds_us,
                                        size_t n);

/* The series for these label values (as many as the family has labels;
 * NULL for none), created on first use. NULL only when fam is NULL or the
 * number of values is wrong. */
struct metric *metric_at(struct metric_family *fam, const char *const *values);

/* All NULL-safe, and no-ops on a series of the wrong type. */
void metric_inc(struct metric *s);                   /* counter or gauge */
void metric_add(struct metric *s, int64_t n);        /* counter: n >= 0 */
void metric_set(struct metric *s, int64_t v);        /* gauge */
void metric_observe_us(struct metric *s, uint64_t us); /* histogram */

/* Read back (tests, /readyz): counter or gauge value; a histogram's
 * count. 0 for NULL. */
int64_t metric_value(const struct metric *s);

/* Appends the Prometheus text exposition of every family, in
 * registration order, series in creation order. */
void metrics_render(struct metrics *m, struct buf *out);

#endif

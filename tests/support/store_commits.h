/* store_commits.h - for tests: samples of this process's metrics
 * (core/stats.h) as GET /metrics shows them, such as
 * ticketd_store_commits_total, the write transactions the SQLite store
 * committed. */
#ifndef TD_TEST_STORE_COMMITS_H
#define TD_TEST_STORE_COMMITS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/stats.h"

/* The value of the metric sample whose line starts with sample (name
 * and labels, e.g. "ticketd_store_checkpoints_total{where=\"inline\"}"),
 * 0 when the metrics show no such sample yet (a labelled series appears
 * with its first increment), -1 without the family. */
static inline int64_t metric_sample(const char *family, const char *sample)
{
    struct buf b = BUF_INIT;
    stats_render(&b);
    buf_putc(&b, '\0');
    char line[256];
    snprintf(line, sizeof line, "\n%s ", sample); /* the sample, not # HELP */
    char help[160];
    snprintf(help, sizeof help, "# HELP %s ", family);
    const char *p = strstr(b.data, line);
    int64_t v = p ? strtoll(p + strlen(line), NULL, 10) : strstr(b.data, help) ? 0 : -1;
    buf_free(&b);
    return v;
}

/* ticketd_store_commits_total, or -1 when the metrics do not show it. */
static inline int64_t store_commits(void)
{
    return metric_sample("ticketd_store_commits_total", "ticketd_store_commits_total");
}

#endif

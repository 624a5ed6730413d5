/* store_commits.h - for tests: ticketd_store_commits_total, the write
 * transactions the SQLite store committed in this process, read from
 * the process's metrics (core/stats.h) as GET /metrics shows them. */
#ifndef TD_TEST_STORE_COMMITS_H
#define TD_TEST_STORE_COMMITS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/stats.h"

/* The counter's value, or -1 when the metrics do not show it. */
static inline int64_t store_commits(void)
{
    struct buf b = BUF_INIT;
    stats_render(&b);
    buf_putc(&b, '\0');
    const char *name = "\nticketd_store_commits_total "; /* the sample, not # HELP */
    const char *p = strstr(b.data, name);
    int64_t v = p ? strtoll(p + strlen(name), NULL, 10) : -1;
    buf_free(&b);
    return v;
}

#endif

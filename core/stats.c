/* stats.c - see stats.h. The families are registered once, in one
 * place, so /metrics always shows the whole catalogue (zeros included)
 * and the call sites never spell a metric name. */
#include "stats.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 50 us .. 10 s: store ops on SQLite take tens of microseconds, a
 * request a few hundred, a slow MongoDB write hundreds of milliseconds. */
static const uint64_t latency_bounds_us[] = {
    50,     100,    250,    500,     1000,    2500,    5000,    10000,   25000,
    50000,  100000, 250000, 500000,  1000000, 2500000, 5000000, 10000000,
};
#define N_BOUNDS (sizeof latency_bounds_us / sizeof latency_bounds_us[0])

static struct {
    struct metrics *m;
    struct metric_family *http_total, *http_seconds;
    struct metric_family *mail_fetched, *mail_ingested, *mail_quarantined, *imap_reconnects;
    struct metric *outbox_sent, *outbox_failed, *outbox_retries;
    struct metric *outbox_pending, *outbox_oldest;
    struct metric *http_writes_waiting;
    struct metric *store_commits;
    struct metric_family *store_seconds, *store_errors;
    struct metric_family *build_info;
    struct metric *start_time, *rss;
} S;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;
static bool build_set;

static struct metric *single(struct metric_family *f)
{
    return metric_at(f, NULL);
}

static void stats_init(void)
{
    struct metrics *m = metrics_new();
    S.m = m;
    S.build_info = metrics_gauge(m, "ticketd_build_info", "Always 1; the labels say what runs.",
                                 METRIC_LABELS("version", "store"));
    S.start_time = single(metrics_gauge(m, "process_start_time_seconds",
                                        "Start time of the process since the Unix epoch in seconds.",
                                        METRIC_NO_LABELS));
    S.rss = single(metrics_gauge(m, "process_resident_memory_bytes",
                                 "Resident memory size in bytes.", METRIC_NO_LABELS));
    S.http_total = metrics_counter(m, "ticketd_http_requests_total",
                                   "HTTP requests answered, by route pattern and status.",
                                   METRIC_LABELS("method", "route", "status"));
    S.http_seconds = metrics_histogram(m, "ticketd_http_request_duration_seconds",
                                       "Time from the request's first byte to its response.",
                                       METRIC_LABELS("method", "route"), latency_bounds_us, N_BOUNDS);
    S.http_writes_waiting = single(metrics_gauge(m, "ticketd_http_writes_waiting",
                                                 "API writes queued for or running on the write "
                                                 "threads ([api] write_threads), at the scrape.",
                                                 METRIC_NO_LABELS));
    S.mail_fetched = metrics_counter(m, "ticketd_mail_fetched_total",
                                     "Mails fetched from IMAP.", METRIC_LABELS("mailbox"));
    S.mail_ingested = metrics_counter(m, "ticketd_mail_ingested_total",
                                      "Mails committed to the store, as a new ticket, a comment, "
                                      "or a duplicate already ingested.",
                                      METRIC_LABELS("mailbox", "kind"));
    S.mail_quarantined = metrics_counter(m, "ticketd_mail_quarantined_total",
                                         "Mails quarantined with a reason instead of ingested.",
                                         METRIC_LABELS("mailbox"));
    S.imap_reconnects = metrics_counter(m, "ticketd_imap_reconnects_total",
                                        "IMAP connections re-established after a failure.",
                                        METRIC_LABELS("mailbox"));
    S.outbox_sent = single(metrics_counter(m, "ticketd_outbox_sent_total",
                                           "Notification mails accepted by the SMTP server.",
                                           METRIC_NO_LABELS));
    S.outbox_failed = single(metrics_counter(m, "ticketd_outbox_failed_total",
                                             "Notification mails given up (permanent failure).",
                                             METRIC_NO_LABELS));
    S.store_commits = single(metrics_counter(m, "ticketd_store_commits_total",
                                             "Write transactions committed by the embedded store "
                                             "(each one fsync); a batch counts once.",
                                             METRIC_NO_LABELS));
    S.outbox_retries = single(metrics_counter(m, "ticketd_outbox_retries_total",
                                              "Notification sends that failed and will be retried.",
                                              METRIC_NO_LABELS));
    S.outbox_pending = single(metrics_gauge(m, "ticketd_outbox_pending",
                                            "Outbox mails waiting to be sent.",
                                            METRIC_NO_LABELS));
    S.outbox_oldest = single(metrics_gauge(m, "ticketd_outbox_oldest_due_age_seconds",
                                           "How long the oldest due outbox mail has waited; "
                                           "0 when none is due.",
                                           METRIC_NO_LABELS));
    S.store_seconds = metrics_histogram(m, "ticketd_store_operation_duration_seconds",
                                        "Latency of storage operations.", METRIC_LABELS("op"),
                                        latency_bounds_us, N_BOUNDS);
    S.store_errors = metrics_counter(m, "ticketd_store_errors_total",
                                     "Storage operations that failed, by error code.",
                                     METRIC_LABELS("op", "code"));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    metric_set(S.start_time, (int64_t)ts.tv_sec);
}

struct metrics *stats_registry(void)
{
    pthread_once(&once, stats_init);
    return S.m;
}

void stats_http_request(const char *method, const char *route, unsigned status, uint64_t us)
{
    stats_registry();
    char code[12];
    snprintf(code, sizeof code, "%u", status);
    metric_inc(METRIC_AT(S.http_total, method, route, code));
    metric_observe_us(METRIC_AT(S.http_seconds, method, route), us);
}

void stats_mail_fetched(const char *mailbox)
{
    stats_registry();
    metric_inc(METRIC_AT(S.mail_fetched, mailbox));
}

void stats_mail_ingested(const char *mailbox, const char *kind)
{
    stats_registry();
    metric_inc(METRIC_AT(S.mail_ingested, mailbox, kind));
}

void stats_mail_quarantined(const char *mailbox)
{
    stats_registry();
    metric_inc(METRIC_AT(S.mail_quarantined, mailbox));
}

void stats_imap_reconnect(const char *mailbox)
{
    stats_registry();
    metric_inc(METRIC_AT(S.imap_reconnects, mailbox));
}

void stats_outbox_sent(void)
{
    stats_registry();
    metric_inc(S.outbox_sent);
}

void stats_outbox_failed(void)
{
    stats_registry();
    metric_inc(S.outbox_failed);
}

void stats_store_commit(void)
{
    stats_registry();
    metric_inc(S.store_commits);
}

void stats_outbox_retried(void)
{
    stats_registry();
    metric_inc(S.outbox_retries);
}

struct metric *stats_store_op_series(const char *op)
{
    stats_registry();
    return METRIC_AT(S.store_seconds, op);
}

void stats_store_error(const char *op, enum td_code code)
{
    stats_registry();
    metric_inc(METRIC_AT(S.store_errors, op, td_code_name(code)));
}

void stats_set_build_info(const char *version, const char *store)
{
    stats_registry();
    pthread_mutex_lock(&build_lock);
    if (!build_set) /* one series: the first caller names it */
        metric_set(METRIC_AT(S.build_info, version, store), 1);
    build_set = true;
    pthread_mutex_unlock(&build_lock);
}

void stats_set_outbox(int64_t pending, int64_t oldest_due_age_s)
{
    stats_registry();
    metric_set(S.outbox_pending, pending);
    metric_set(S.outbox_oldest, oldest_due_age_s);
}

void stats_set_http_writes_waiting(int64_t n)
{
    stats_registry();
    metric_set(S.http_writes_waiting, n);
}

/* Resident set size from /proc/self/statm (pages); 0 elsewhere. */
static int64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (int64_t)resident * page : 0;
}

void stats_render(struct buf *out)
{
    stats_registry();
    metric_set(S.rss, rss_bytes());
    metrics_render(S.m, out);
}

/* test_metrics.c - the metrics registry (core/metrics.c): exact
 * Prometheus text exposition, label handling, bounds, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

static char *render(struct metrics *m)
{
    struct buf b = BUF_INIT;
    metrics_render(m, &b);
    return buf_steal(&b);
}

static void counter_and_gauge_exposition(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    struct metric_family *req = metrics_counter(m, "app_requests_total", "Requests served.",
                                                METRIC_LABELS("route", "status"));
    struct metric_family *up = metrics_gauge(m, "app_up", "1 when up.", METRIC_NO_LABELS);
    struct metric_family *idle = metrics_counter(m, "app_idle_total", "Never touched.",
                                                 METRIC_LABELS("kind"));
    assert_non_null(req);
    assert_non_null(up);
    assert_non_null(idle);
    metric_inc(METRIC_AT(req, "/a", "200"));
    metric_add(METRIC_AT(req, "/a", "200"), 2);
    metric_inc(METRIC_AT(req, "/b", "404"));
    metric_add(METRIC_AT(req, "/b", "404"), -5); /* counters never go down */
    metric_set(metric_at(up, NULL), 1);
    metric_observe_us(metric_at(up, NULL), 5); /* wrong type: ignored */
    char *text = render(m);
    assert_string_equal(text,
                        "# HELP app_requests_total Requests served.\n"
                        "# TYPE app_requests_total counter\n"
                        "app_requests_total{route=\"/a\",status=\"200\"} 3\n"
                        "app_requests_total{route=\"/b\",status=\"404\"} 1\n"
                        "# HELP app_up 1 when up.\n"
                        "# TYPE app_up gauge\n"
                        "app_up 1\n"
                        "# HELP app_idle_total Never touched.\n"
                        "# TYPE app_idle_total counter\n");
    free(text);
    assert_int_equal(metric_value(METRIC_AT(req, "/a", "200")), 3);
    metric_add(metric_at(up, NULL), -3);
    assert_int_equal(metric_value(metric_at(up, NULL)), -2);
    metrics_free(m);
}

static void histogram_exposition(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const uint64_t bounds[] = { 100, 2500, 1000000, 2500000 };
    struct metric_family *h = metrics_histogram(m, "op_duration_seconds", "Op latency.",
                                                METRIC_LABELS("op"), bounds, 4);
    struct metric_family *plain = metrics_histogram(m, "x_seconds", "No labels.",
                                                    METRIC_NO_LABELS, bounds, 1);
    assert_non_null(h);
    struct metric *s = METRIC_AT(h, "get");
    metric_observe_us(s, 100);     /* on the bound: le is inclusive */
    metric_observe_us(s, 101);
    metric_observe_us(s, 2000000);
    metric_observe_us(s, 9000000); /* +Inf only */
    metric_observe_us(metric_at(plain, NULL), 7);
    char *text = render(m);
    assert_string_equal(text,
                        "# HELP op_duration_seconds Op latency.\n"
                        "# TYPE op_duration_seconds histogram\n"
                        "op_duration_seconds_bucket{op=\"get\",le=\"0.0001\"} 1\n"
                        "op_duration_seconds_bucket{op=\"get\",le=\"0.0025\"} 2\n"
                        "op_duration_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
                        "op_duration_seconds_bucket{op=\"get\",le=\"2.5\"} 3\n"
                        "op_duration_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
                        "op_duration_seconds_sum{op=\"get\"} 11.000201\n"
                        "op_duration_seconds_count{op=\"get\"} 4\n"
                        "# HELP x_seconds No labels.\n"
                        "# TYPE x_seconds histogram\n"
                        "x_seconds_bucket{le=\"0.0001\"} 1\n"
                        "x_seconds_bucket{le=\"+Inf\"} 1\n"
                        "x_seconds_sum 0.000007\n"
                        "x_seconds_count 1\n");
    free(text);
    assert_int_equal(metric_value(s), 4);
    metrics_free(m);
}

static void escaping_and_validation(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_counter(m, "esc_total", "Back\\slash\nnew \"line\".",
                                              METRIC_LABELS("v"));
    metric_inc(METRIC_AT(f, "a\"b\\c\nd"));
    char *text = render(m);
    assert_string_equal(text, "# HELP esc_total Back\\\\slash\\nnew \"line\".\n"
                              "# TYPE esc_total counter\n"
                              "esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(text);
    /* invalid names, label names, bounds, label counts */
    static const uint64_t bad_bounds[] = { 10, 10 };
    assert_null(metrics_counter(m, "9lives", "", METRIC_NO_LABELS));
    assert_null(metrics_counter(m, "a-b", "", METRIC_NO_LABELS));
    assert_null(metrics_counter(m, "ok_total", "", METRIC_LABELS("le")));
    assert_null(metrics_counter(m, "ok_total", "", METRIC_LABELS("a:b")));
    assert_null(metrics_counter(m, "ok_total", "", METRIC_LABELS("a", "b", "c", "d")));
    assert_null(metrics_histogram(m, "h_seconds", "", METRIC_NO_LABELS, bad_bounds, 2));
    assert_null(metrics_histogram(m, "h_seconds", "", METRIC_NO_LABELS, bad_bounds, 0));
    assert_null(METRIC_AT(f, "one", "too many"));
    assert_null(metric_at(f, NULL));
    assert_null(metric_at(NULL, NULL));
    metric_inc(NULL); /* NULL-safe */
    /* registering the same name again returns the same family */
    assert_ptr_equal(metrics_counter(m, "esc_total", "other help", METRIC_LABELS("v")), f);
    metrics_free(m);
}

static void series_are_bounded(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_counter(m, "many_total", "h", METRIC_LABELS("k"));
    char v[32];
    for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        snprintf(v, sizeof v, "v%d", i);
        metric_inc(METRIC_AT(f, v));
    }
    char *text = render(m);
    assert_non_null(strstr(text, "many_total{k=\"_other\"} 10\n"));
    assert_null(strstr(text, "k=\"v256\""));
    free(text);
    metrics_free(m);
}

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
    struct metric_family **f = arg;
    char route[16];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(route, sizeof route, "r%d", i % 7);
        metric_inc(METRIC_AT(f[0], route));
        metric_observe_us(METRIC_AT(f[1], route), (uint64_t)(i % 3000));
    }
    return NULL;
}

static void threads_lose_nothing(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const uint64_t bounds[] = { 1000, 2000 };
    struct metric_family *f[2] = {
        metrics_counter(m, "t_total", "h", METRIC_LABELS("route")),
        metrics_histogram(m, "t_seconds", "h", METRIC_LABELS("route"), bounds, 2),
    };
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, f), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int64_t total = 0, hist = 0;
    for (int r = 0; r < 7; r++) {
        char route[16];
        snprintf(route, sizeof route, "r%d", r);
        total += metric_value(METRIC_AT(f[0], route));
        hist += metric_value(METRIC_AT(f[1], route));
    }
    assert_int_equal(total, THREADS * ROUNDS);
    assert_int_equal(hist, THREADS * ROUNDS);
    char *text = render(m);
    /* exactly 7 series each: no duplicates from racing creators */
    int n = 0;
    for (const char *p = text; (p = strstr(p, "t_total{")) != NULL; p++)
        n++;
    assert_int_equal(n, 7);
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_and_gauge_exposition),
        cmocka_unit_test(histogram_exposition),
        cmocka_unit_test(escaping_and_validation),
        cmocka_unit_test(series_are_bounded),
        cmocka_unit_test(threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

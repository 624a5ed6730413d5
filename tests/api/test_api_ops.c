/* test_api_ops.c - GET /metrics and GET /readyz (api/routes_ops.c) on a
 * real ticketd, against each store backend.
 *
 * /metrics: the exposition is well-formed line by line (HELP and TYPE
 * before the samples of a family, names and labels valid, histogram
 * buckets cumulative with +Inf equal to _count), and it counts what
 * happened: requests by route pattern and status (an unknown method as
 * "other", an unmatched path as "(none)"), their latency, the store
 * operations behind them, the build info.
 * /readyz: 200 with the store and outbox checks; 503 problem+json naming
 * the check when a watched mailbox has no poller or a due outbox mail
 * has waited too long (written straight into the store: `ticketd api`
 * runs no sender to take it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>

#include "core/app.h"
#include "core/id.h"
#include "tests/api/api_fixture.h"

struct family {
    char name[128];
    char type[32];
    bool help;
};

/* Sample value of the line starting with prefix (name{labels}), or -1. */
static double sample(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return strtod(p + pl + 1, NULL);
    }
    return -1;
}

static bool valid_metric_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return false;
    return true;
}

/* Checks every line; returns the number of sample lines. */
static size_t check_exposition(const char *text)
{
    struct family fam = { "", "", false };
    size_t samples = 0;
    double last_bucket = -1, inf = -1;
    char line[4096];
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends in \n */
        size_t n = (size_t)(nl - p);
        assert_true(n < sizeof line);
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *name = line + 7;
            size_t nlen = strcspn(name, " ");
            assert_true(valid_metric_name(name, nlen));
            snprintf(fam.name, sizeof fam.name, "%.*s", (int)nlen, name);
            fam.help = true;
            fam.type[0] = '\0';
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128], type[32];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            assert_string_equal(name, fam.name); /* HELP first, same family */
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            snprintf(fam.type, sizeof fam.type, "%s", type);
            last_bucket = inf = -1;
            continue;
        }
        assert_true(line[0] != '#');
        /* name{labels} value */
        size_t nlen = strcspn(line, "{ ");
        assert_true(valid_metric_name(line, nlen));
        assert_true(fam.help && fam.type[0]);
        assert_true(strncmp(line, fam.name, strlen(fam.name)) == 0);
        const char *rest = line + nlen;
        if (*rest == '{') {
            const char *end = strstr(rest, "} ");
            assert_non_null(end);
            /* label="value" pairs, values with \" escapes only */
            for (const char *q = rest + 1; q < end;) {
                size_t ln = strcspn(q, "=");
                assert_true(ln > 0 && q[ln] == '=' && q[ln + 1] == '"');
                q += ln + 2;
                while (*q != '"') {
                    assert_true(*q != '\0' && *q != '\n');
                    q += *q == '\\' ? 2 : 1;
                }
                q++;
                assert_true(*q == ',' || q == end);
                if (*q == ',')
                    q++;
            }
            rest = end + 1;
        }
        assert_true(*rest == ' ');
        char *endp = NULL;
        double v = strtod(rest + 1, &endp);
        assert_true(endp != rest + 1 && *endp == '\0');
        if (strcmp(fam.type, "histogram") == 0) {
            if (strstr(line, "_bucket{")) {
                if (strstr(line, "le=\"0.00005\"")) /* the first bucket of a series */
                    last_bucket = -1;
                assert_true(v >= last_bucket); /* cumulative */
                last_bucket = v;
                if (strstr(line, "le=\"+Inf\""))
                    inf = v;
            } else if (strstr(line, "_count")) {
                assert_true(v == inf);
            }
        } else if (strcmp(fam.type, "counter") == 0) {
            assert_true(v >= 0);
        }
        samples++;
    }
    return samples;
}

static void metrics_count_requests(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL))
        fail_msg("ticketd did not start");
    struct http h;
    assert_int_equal(http_get(&s, "/healthz", NULL, &h), 200);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/no/such/path", NULL, &h), 404);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/tickets", s.agent1.access, &h), 200);
    http_clear(&h);
    assert_int_equal(http_req(&s, "FOO", "/healthz", NULL, NULL, NULL, 0, NULL, &h), 405);
    http_clear(&h);

    assert_int_equal(http_get(&s, "/metrics", NULL, &h), 200);
    assert_string_equal(h.content_type, "text/plain; version=0.0.4; charset=utf-8");
    const char *t = h.body.data;
    assert_true(check_exposition(t) > 50);
    assert_true(sample(t, "ticketd_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}") >= 2);
    assert_true(sample(t, "ticketd_http_requests_total{method=\"GET\",route=\"(none)\",status=\"404\"}") == 1);
    assert_true(sample(t, "ticketd_http_requests_total{method=\"other\",route=\"(none)\",status=\"405\"}") == 1);
    assert_true(sample(t, "ticketd_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/tickets\"}") == 1);
    assert_true(sample(t, "ticketd_store_operation_duration_seconds_count{op=\"user_get\"}") >= 1);
    assert_true(sample(t, "ticketd_store_operation_duration_seconds_count{op=\"ticket_list\"}") >= 1);
    const char *store = backend == STORE_BACKEND_SQLITE ? "sqlite" : "mongodb";
    char line[128];
    snprintf(line, sizeof line, "ticketd_build_info{version=\"%s\",store=\"%s\"}", TICKETD_VERSION, store);
    assert_true(sample(t, line) == 1);
    assert_true(sample(t, "ticketd_outbox_pending") == 0);
    assert_true(sample(t, "process_resident_memory_bytes") > 1e6);
    assert_non_null(strstr(t, "# TYPE ticketd_mail_ingested_total counter\n"));
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

static void metrics_sqlite(void **state)
{
    (void)state;
    metrics_count_requests(STORE_BACKEND_SQLITE);
}

static void metrics_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    metrics_count_requests(STORE_BACKEND_MONGODB);
}

/* The names of the checks in a /readyz answer that failed, "a,b". */
static void failed_checks(const struct http *h, char *out, size_t len)
{
    out[0] = '\0';
    json_t *checks = json_object_get(h->json, "checks");
    assert_true(json_is_array(checks));
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        assert_true(json_is_string(json_object_get(c, "name")));
        assert_true(json_is_string(json_object_get(c, "detail")));
        if (!json_is_true(json_object_get(c, "ok")))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
                     json_string_value(json_object_get(c, "name")));
    }
}

static void readyz_checks(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, "readyz_outbox_max_age = 5\n"))
        fail_msg("ticketd did not start");
    struct http h;
    char failed[256];
    assert_int_equal(http_get(&s, "/readyz", NULL, &h), 200);
    assert_string_equal(jstr(&h, "status"), "ready");
    failed_checks(&h, failed, sizeof failed);
    assert_string_equal(failed, "");
    assert_int_equal(json_array_size(json_object_get(h.json, "checks")), 2); /* store, outbox */
    http_clear(&h);

    /* A due mail nobody sends, older than the limit: not ready. */
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(s.store_uri, &st, &err));
    struct td_outbox o;
    memset(&o, 0, sizeof o);
    id_new(o.id);
    o.kind = "ticket_created_ack";
    o.ticket = 1;
    o.recipient = "someone@example.org";
    o.payload = "{}";
    o.state = OUTBOX_PENDING;
    o.created = td_now() - 60000;
    o.next_attempt = td_now() - 30000;
    assert_true(st->ops->outbox_insert(st, &o, &err));
    store_close(st);
    assert_int_equal(http_get(&s, "/readyz", NULL, &h), 503);
    assert_string_equal(h.content_type, "application/problem+json");
    assert_string_equal(jstr(&h, "type"), "urn:ticketd:problem:not_ready");
    assert_non_null(strstr(jstr(&h, "detail"), "outbox"));
    failed_checks(&h, failed, sizeof failed);
    assert_string_equal(failed, "outbox");
    http_clear(&h);
    /* the gauges read the same rows */
    assert_int_equal(http_get(&s, "/metrics", NULL, &h), 200);
    assert_true(sample(h.body.data, "ticketd_outbox_pending") == 1);
    assert_true(sample(h.body.data, "ticketd_outbox_oldest_due_age_seconds") >= 29);
    http_clear(&h);
    assert_true(tdsrv_stop(&s));

    /* A watched mailbox that no poller holds: not ready, named. */
    if (!tdsrv_start(&s, backend, "readyz_mailboxes = support, sales\n"))
        fail_msg("ticketd did not start");
    assert_int_equal(http_get(&s, "/readyz", NULL, &h), 503);
    failed_checks(&h, failed, sizeof failed);
    assert_string_equal(failed, "mailbox:support,mailbox:sales");
    http_clear(&h);
    /* a poller (any process) takes support's lease: only sales is left */
    assert_true(store_open(s.store_uri, &st, &err));
    assert_true(st->ops->lease_acquire(st, "support", "test-owner", td_now(), 60000, &err));
    store_close(st);
    assert_int_equal(http_get(&s, "/readyz", NULL, &h), 503);
    failed_checks(&h, failed, sizeof failed);
    assert_string_equal(failed, "mailbox:sales");
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

static void readyz_sqlite(void **state)
{
    (void)state;
    readyz_checks(STORE_BACKEND_SQLITE);
}

static void readyz_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    readyz_checks(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_sqlite),
        cmocka_unit_test(metrics_mongodb),
        cmocka_unit_test(readyz_sqlite),
        cmocka_unit_test(readyz_mongodb),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

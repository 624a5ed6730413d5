/* test_api_sla.c - SLAs over real HTTP against a real ticketd configured
 * with [calendar]/[sla] sections, once per storage backend: a ticket's
 * "sla" object (null without a policy), GET /tickets?due_before=... and
 * ?overdue=true (the only wait: a policy of one second, polled in 50 ms
 * steps for at most 4 s), a public reply meeting the first response, and
 * bad values refused naming the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "core/store/store.h"
#include "tests/api/api_fixture.h"

#define SRV(state) ((struct tdsrv *)*(state))

#define EXPECT_STATUS(h, want)                                                           \
    do {                                                                                 \
        if ((h)->status != (want))                                                       \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status,      \
                     (int)(want), (int)((h)->body.len > 600 ? 600 : (h)->body.len),       \
                     (h)->body.data ? (h)->body.data : "");                              \
    } while (0)

#define POLICIES                                                                         \
    "[calendar always]\ntimezone = America/New_York\n"                                   \
    "mon = 00:00-24:00\ntue = 00:00-24:00\nwed = 00:00-24:00\nthu = 00:00-24:00\n"      \
    "fri = 00:00-24:00\nsat = 00:00-24:00\nsun = 00:00-24:00\n"                         \
    "[sla normal]\npriority = normal\nfirst_response = 1h\nresolution = 1d\n"           \
    "calendar = always\n"                                                                \
    "[sla urgent]\npriority = urgent\nfirst_response = 1s\n"

static int64_t open_ticket(struct tdsrv *s, const char *subject, const char *priority)
{
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", s->agent1.access, &h,
              "{\"subject\":\"%s\",\"body\":\"help\",\"priority\":\"%s\",\"requester_id\":\"%s\"}",
              subject, priority, s->cust1.u.id);
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    json_t *sla = json_object_get(h.json, "sla");
    if (strcmp(priority, "low") == 0)
        assert_true(json_is_null(sla));
    else
        assert_true(json_is_string(json_object_get(sla, "first_response_due")));
    http_clear(&h);
    return n;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(long long ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The numbers a list query returns, as " 3 5 " (for strstr). */
static void numbers(struct tdsrv *s, const char *query, char *out, size_t len)
{
    struct http h;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/tickets?%s", query);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    size_t i, used = 0;
    json_t *t;
    out[used++] = ' ';
    out[used] = '\0';
    json_array_foreach(json_object_get(h.json, "items"), i, t) {
        int k = snprintf(out + used, len - used, "%lld ",
                         (long long)json_integer_value(json_object_get(t, "number")));
        if (k > 0 && (size_t)k < len - used)
            used += (size_t)k;
    }
    http_clear(&h);
}

static bool has(const char *list, int64_t n)
{
    char needle[32];
    snprintf(needle, sizeof needle, " %lld ", (long long)n);
    return strstr(list, needle) != NULL;
}

static void test_due_filters(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t a = open_ticket(s, "normal", "normal");
    int64_t b = open_ticket(s, "no policy", "low");
    int64_t c = open_ticket(s, "urgent", "urgent");
    char q[96], got[512];
    rfc3339(wall_ms() + 2 * 3600 * 1000LL, q + snprintf(q, sizeof q, "due_before="));
    numbers(s, q, got, sizeof got);
    assert_true(has(got, a) && has(got, c) && !has(got, b));
    rfc3339(wall_ms() + 30 * 60 * 1000LL, q + snprintf(q, sizeof q, "due_before="));
    numbers(s, q, got, sizeof got);
    assert_true(has(got, c) && !has(got, a) && !has(got, b));
    /* With another filter too. */
    rfc3339(wall_ms() + 2 * 3600 * 1000LL, q + snprintf(q, sizeof q, "priority=normal&due_before="));
    numbers(s, q, got, sizeof got);
    assert_true(has(got, a) && !has(got, c));

    /* The urgent ticket's first response was due after one second. */
    long long until = api_now_ms() + 4000;
    do {
        numbers(s, "overdue=true", got, sizeof got);
        if (has(got, c))
            break;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    } while (api_now_ms() < until);
    assert_true(has(got, c));
    assert_false(has(got, a) || has(got, b));
    struct http h;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)c);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_true(json_is_true(json_object_get(json_object_get(h.json, "sla"), "overdue")));
    http_clear(&h);

    /* A public reply meets it: no longer overdue. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)c);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"on it\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    numbers(s, "overdue=true", got, sizeof got);
    assert_false(has(got, c));
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)c);
    http_get(s, path, s->agent1.access, &h);
    json_t *sla = json_object_get(h.json, "sla");
    assert_true(json_is_string(json_object_get(sla, "first_responded")));
    assert_true(json_is_false(json_object_get(sla, "overdue")));
    http_clear(&h);
}

static void test_bad_values(void **state)
{
    struct tdsrv *s = SRV(state);
    const char *bad[][2] = { { "overdue=false", "overdue" }, { "overdue=yes", "overdue" },
                             { "due_before=tomorrow", "due_before" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http h;
        char path[128];
        snprintf(path, sizeof path, "/api/v1/tickets?%s", bad[i][0]);
        http_get(s, path, s->agent1.access, &h);
        EXPECT_STATUS(&h, 400);
        assert_non_null(strstr(h.body.data, bad[i][1]));
        http_clear(&h);
    }
}

/* The SLA is the desk's: a customer reads their ticket with "sla": null
 * and may not filter by it. */
static void test_customers_see_no_sla(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, "mine", "urgent");
    struct http h;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_true(json_is_null(json_object_get(h.json, "sla")));
    http_clear(&h);
    http_get(s, "/api/v1/tickets", s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    json_t *items = json_object_get(h.json, "items");
    assert_true(json_array_size(items) > 0);
    size_t i;
    json_t *t;
    json_array_foreach(items, i, t)
        assert_true(json_is_null(json_object_get(t, "sla")));
    http_clear(&h);
    const char *q[] = { "overdue=true", "due_before=2030-01-01T00:00:00Z" };
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "/api/v1/tickets?%s", q[k]);
        http_get(s, path, s->cust1.access, &h);
        EXPECT_STATUS(&h, 400);
        assert_non_null(strstr(h.body.data, "staff only"));
        http_clear(&h);
    }
    /* staff still see it */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_true(json_is_object(json_object_get(h.json, "sla")));
    http_clear(&h);
}

static int group_setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (!tdsrv_start(s, b, POLICIES)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}
static int setup_sqlite(void **state) { return group_setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongo(void **state) { return group_setup(state, STORE_BACKEND_MONGODB); }
static int group_teardown(void **state)
{
    struct tdsrv *s = *state;
    if (s == NULL)
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    return clean ? 0 : -1;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_filters),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_customers_see_no_sla),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_sla/sqlite", tests, setup_sqlite,
                                              group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_sla/mongodb", tests, setup_mongo,
                                              group_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

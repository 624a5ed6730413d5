/* test_api_desk_metrics.c - the desk on GET /metrics (core/desk_metrics.h)
 * from a real `ticketd api` on both stores: tickets by status and queue,
 * the oldest open ticket, and the first-response and resolution
 * histograms observed as agents work through the API. In a process
 * without the scheduler the scrape reads the gauges itself (at most every
 * two minutes); this test's first scrape is that read. */
#include "tests/api/http_fixture.h"

/* Sample value of the line name{labels} (exactly), or -1. */
static double sample(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return strtod(p + pl + 1, NULL);
    return -1;
}

/* Every ticketd_* metric the Grafana board (docs/grafana/ticketd-desk.json)
 * queries is one /metrics exposes: the board cannot drift from the code. */
static void board_matches(const char *exposition)
{
    const char *root = getenv("TICKETD_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/grafana/ticketd-desk.json", root && *root ? root : ".");
    json_error_t je;
    json_t *board = json_load_file(path, 0, &je);
    if (board == NULL)
        fail_msg("%s: %s", path, je.text);
    size_t i, checked = 0;
    json_t *p, *t;
    json_array_foreach(json_object_get(board, "panels"), i, p) {
        size_t k;
        json_array_foreach(json_object_get(p, "targets"), k, t) {
            const char *e = json_string_value(json_object_get(t, "expr"));
            assert_non_null(e);
            for (const char *m = strstr(e, "ticketd_"); m; m = strstr(m + 1, "ticketd_")) {
                char name[128];
                size_t n = strspn(m, "abcdefghijklmnopqrstuvwxyz_");
                snprintf(name, sizeof name, "%.*s", (int)n, m);
                static const char *const parts[] = { "_bucket", "_count", "_sum" };
                for (size_t s = 0; s < 3; s++) {
                    size_t l = strlen(name), pl = strlen(parts[s]);
                    if (l > pl && strcmp(name + l - pl, parts[s]) == 0)
                        name[l - pl] = '\0';
                }
                char type_line[160];
                snprintf(type_line, sizeof type_line, "# TYPE %s ", name);
                if (strstr(exposition, type_line) == NULL)
                    fail_msg("the Grafana board queries %s, which /metrics does not have", name);
                checked++;
            }
        }
    }
    json_decref(board);
    assert_true(checked >= 10);
}

static void req_ok(struct tdsrv *s, const char *method, const char *path, const char *token,
                   const char *body, long want)
{
    struct http h;
    http_json(s, method, path, token, &h, "%s", body);
    EXPECT_STATUS(&h, want);
    http_clear(&h);
}

static void desk_on_metrics(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL))
        fail_msg("ticketd did not start");
    int64_t a = open_ticket(&s, &s.cust1, "Printer");
    int64_t b = open_ticket(&s, &s.cust1, "Invoice");
    (void)open_ticket(&s, &s.cust2, "Closed soon");
    char pa[96], pb[96], pc[96];
    snprintf(pa, sizeof pa, "/api/v1/tickets/%lld", (long long)a);
    snprintf(pb, sizeof pb, "/api/v1/tickets/%lld", (long long)b);
    snprintf(pc, sizeof pc, "/api/v1/tickets/%lld/comments", (long long)a);
    req_ok(&s, "PATCH", pb, s.agent1.access, "{\"queue\":\"billing\"}", 200);
    /* The customer's own comment is no response; the agent's first
     * public reply is, the second is not, an internal note never. */
    req_ok(&s, "POST", pc, s.cust1.access, "{\"body\":\"more detail\"}", 201);
    req_ok(&s, "POST", pc, s.agent1.access, "{\"body\":\"note\",\"internal\":true}", 201);
    req_ok(&s, "POST", pc, s.agent1.access, "{\"body\":\"On it.\"}", 201);
    req_ok(&s, "POST", pc, s.agent2.access, "{\"body\":\"Me too.\"}", 201);
    req_ok(&s, "PATCH", pa, s.agent1.access, "{\"status\":\"resolved\"}", 200);
    char path_c[96];
    snprintf(path_c, sizeof path_c, "/api/v1/tickets/%lld", (long long)(b + 1));
    req_ok(&s, "PATCH", path_c, s.agent1.access, "{\"status\":\"closed\"}", 200);

    struct http h;
    assert_int_equal(http_get(&s, "/metrics", NULL, &h), 200);
    const char *t = h.body.data;
    assert_true(sample(t, "ticketd_first_response_seconds_count{queue=\"\"}") == 1);
    assert_true(sample(t, "ticketd_first_response_seconds_count{queue=\"billing\"}") == -1);
    /* Resolved once, and closed once without being resolved first. */
    assert_true(sample(t, "ticketd_resolution_seconds_count{queue=\"\"}") == 2);
    assert_true(sample(t, "ticketd_resolution_seconds_bucket{queue=\"\",le=\"60\"}") == 2);
    assert_true(sample(t, "ticketd_tickets{status=\"resolved\",queue=\"\"}") == 1);
    assert_true(sample(t, "ticketd_tickets{status=\"new\",queue=\"billing\"}") == 1);
    assert_true(sample(t, "ticketd_tickets{status=\"new\",queue=\"\"}") == 0);
    assert_true(sample(t, "ticketd_tickets{status=\"open\",queue=\"\"}") == 0);
    assert_true(sample(t, "ticketd_tickets_overdue") == 0);
    double age = sample(t, "ticketd_oldest_open_ticket_age_seconds");
    assert_true(age >= 0 && age < 120);
    assert_true(sample(t, "ticketd_desk_refreshed_timestamp_seconds") > 1.7e9);
    assert_non_null(strstr(t, "# TYPE ticketd_first_response_seconds histogram\n"));
    board_matches(t);
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

static void desk_sqlite(void **state)
{
    (void)state;
    desk_on_metrics(STORE_BACKEND_SQLITE);
}

static void desk_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    desk_on_metrics(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(desk_sqlite),
        cmocka_unit_test(desk_mongodb),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

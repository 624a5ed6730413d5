/* test_scheduler_serve.c - the scheduler module inside a real `ticketd
 * serve`, on both stores: a ticket resolved 8 days ago is closed and one
 * pending for 4 days is reminded within a few short ticks, once each,
 * and the desk gauges on /metrics are the scheduler's; a ticket past its
 * SLA first-response time is escalated once and counted overdue. The
 * tickets are made old by moving their updated (or due) times back
 * through the store (compare-and-set on their version), as a second
 * process would write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/api/http_fixture.h"

#define DAY_MS ((td_time)86400000)

/* by > 0 moves updated back; sla_by > 0 moves the SLA due times back. */
static void backdate2(const struct tdsrv *s, int64_t n, td_time by, td_time sla_by)
{
    struct store *st = NULL;
    struct td_err err;
    if (!store_open(s->store_uri, &st, &err))
        fail_msg("store_open: %s", err.msg);
    struct td_ticket t;
    memset(&t, 0, sizeof t);
    if (!st->ops->ticket_get(st, n, &t, &err))
        fail_msg("ticket_get: %s", err.msg);
    t.updated -= by;
    td_time *dues[] = { &t.sla.first_response_due, &t.sla.resolution_due, &t.sla.next_due,
                        &t.sla.next_escalation };
    for (size_t i = 0; sla_by > 0 && i < sizeof dues / sizeof dues[0]; i++)
        if (*dues[i] > 0)
            *dues[i] -= sla_by;
    if (!st->ops->ticket_update(st, &t, t.version, NULL, 0, &err))
        fail_msg("ticket_update: %s", err.msg);
    ticket_clear(&t);
    store_close(st);
}

static void backdate(const struct tdsrv *s, int64_t n, td_time by)
{
    backdate2(s, n, by, 0);
}

static void patch_status(struct tdsrv *s, int64_t n, const char *status)
{
    char path[96];
    struct http h;
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_json(s, "PATCH", path, s->agent1.access, &h, "{\"status\":\"%s\"}", status);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
}

/* How many history events of kind the ticket has. */
static int history_kind(struct tdsrv *s, int64_t n, const char *kind, const char *new_value)
{
    char path[96];
    struct http h;
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    json_error_t je;
    json_t *root = json_loadb(h.body.data, h.body.len, 0, &je);
    json_t *items = json_is_array(root) ? root : json_object_get(root, "items");
    int c = 0;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) {
        const char *k = json_string_value(json_object_get(e, "kind"));
        const char *nv = json_string_value(json_object_get(e, "new"));
        if (k && strcmp(k, kind) == 0 && (new_value == NULL || (nv && strcmp(nv, new_value) == 0)))
            c++;
    }
    json_decref(root);
    http_clear(&h);
    return c;
}

static double metric(struct tdsrv *s, const char *prefix)
{
    struct http h;
    assert_int_equal(http_get(s, "/metrics", NULL, &h), 200);
    double v = -1;
    size_t pl = strlen(prefix);
    for (const char *p = h.body.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, pl) == 0 && p[pl] == ' ') {
            v = strtod(p + pl + 1, NULL);
            break;
        }
    http_clear(&h);
    return v;
}

static void scheduler_in_serve(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start_cmd(&s, backend,
                         "[automation]\ntick_ms = 100\n"
                         "[sla normal]\npriority = normal\nfirst_response = 1h\nresolution = 1d\n"
                         "escalate_to = group\n",
                         "serve"))
        fail_msg("ticketd serve did not start");
    int64_t done = open_ticket(&s, &s.cust1, "Done");
    int64_t waiting = open_ticket(&s, &s.cust1, "Waiting");
    int64_t fresh = open_ticket(&s, &s.cust2, "Fresh");
    patch_status(&s, done, "resolved");
    patch_status(&s, waiting, "pending");
    patch_status(&s, fresh, "resolved");
    backdate(&s, done, 8 * DAY_MS);
    backdate(&s, waiting, 4 * DAY_MS);
    int64_t late = open_ticket(&s, &s.cust2, "Late");
    backdate2(&s, late, 0, 2 * 3600 * 1000); /* its first response was due an hour ago */
    long long deadline = api_now_ms() + 10000;
    while (history_kind(&s, done, "status", "closed") == 0 ||
           history_kind(&s, waiting, "reminder", NULL) == 0 ||
           history_kind(&s, late, "escalated", NULL) == 0) {
        if (api_now_ms() > deadline)
            fail_msg("the scheduler did not act within 10 s");
        usleep(50 * 1000);
    }
    /* A few more ticks: nothing twice, nothing early. */
    usleep(500 * 1000);
    assert_int_equal(history_kind(&s, done, "status", "closed"), 1);
    assert_int_equal(history_kind(&s, waiting, "reminder", "1"), 1);
    assert_int_equal(history_kind(&s, waiting, "reminder", NULL), 1);
    assert_int_equal(history_kind(&s, fresh, "status", "closed"), 0);
    assert_int_equal(history_kind(&s, late, "escalated", "first_response"), 1);
    assert_int_equal(history_kind(&s, late, "escalated", NULL), 1);
    assert_true(metric(&s, "ticketd_automation_actions_total{automation=\"autoclose\"}") == 1);
    assert_true(metric(&s, "ticketd_automation_actions_total{automation=\"pending_reminder\"}") == 1);
    /* The scheduler's gauges: fresh within its ticks. */
    deadline = api_now_ms() + 5000;
    while (metric(&s, "ticketd_tickets{status=\"resolved\",queue=\"\"}") != 1) {
        if (api_now_ms() > deadline)
            fail_msg("the desk gauges do not show the one resolved ticket");
        usleep(50 * 1000);
    }
    assert_true(metric(&s, "ticketd_tickets{status=\"pending\",queue=\"\"}") == 1);
    assert_true(metric(&s, "ticketd_tickets_overdue") == 1); /* late; waiting is paused */
    assert_true(tdsrv_stop(&s));
}

static void serve_sqlite(void **state)
{
    (void)state;
    scheduler_in_serve(STORE_BACKEND_SQLITE);
}

static void serve_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    scheduler_in_serve(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serve_sqlite),
        cmocka_unit_test(serve_mongodb),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

/* test_webhooks.c - webhooks end to end, on both stores, with a real
 * HTTP receiver (tests/support/webhook_receiver.py) on loopback:
 * signed deliveries in order per ticket (a bad signature is detectable),
 * the delivery log and the test event, a receiver that is down for a
 * while then up gets every event once and in order, a 410 stops the
 * deliveries, N failures disable the endpoint and mail the admins, and
 * a crash between the change and its delivery loses nothing. Plus the
 * SSRF address rules as units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>

#include "hooks/hooks.h"
#include "tests/api/api_fixture.h"
#include "tests/hooks/receiver_fixture.h"

#define SECRET "test-secret-0123456789"

#define STATUS(h, want)                                                                        \
    do {                                                                                       \
        if ((h)->status != (want))                                                             \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status, (want),    \
                     (int)(h)->body.len, (h)->body.data ? (h)->body.data : "");              \
    } while (0)

/* ---- the server -------------------------------------------------------- */

struct fx {
    struct tdsrv srv;
    struct receiver rcv;
    struct harness_server sink;
    char hook_id[32];
};

static const char *templates_dir(void)
{
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s/../../templates", harness_support_dir());
    return dir;
}

static void register_hook(struct fx *f, const char *events)
{
    struct http h;
    http_json(&f->srv, "POST", "/api/v1/webhooks", f->srv.admin.access, &h,
              "{\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET "\"%s%s}", f->rcv.port,
              events ? ",\"events\":" : "", events ? events : "");
    STATUS(&h, 201);
    assert_string_equal(jstr(&h, "secret"), SECRET);
    snprintf(f->hook_id, sizeof f->hook_id, "%s", jstr(&h, "id"));
    http_clear(&h);
}

static long long new_ticket(struct fx *f, const char *subject)
{
    struct http h;
    http_json(&f->srv, "POST", "/api/v1/tickets", f->srv.cust1.access, &h,
              "{\"subject\":\"%s\",\"body\":\"first words\"}", subject);
    STATUS(&h, 201);
    long long n = jint(&h, "number");
    http_clear(&h);
    return n;
}

static void comment(struct fx *f, long long n, const char *text)
{
    struct http h;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n);
    http_json(&f->srv, "POST", path, f->srv.agent1.access, &h, "{\"body\":\"%s\"}", text);
    STATUS(&h, 201);
    http_clear(&h);
}

/* How many history events ticket n has (each one is a delivery). */
static size_t history_count(struct fx *f, long long n)
{
    struct http h;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", n);
    http_get(&f->srv, path, f->srv.admin.access, &h);
    STATUS(&h, 200);
    size_t c = json_array_size(json_object_get(h.json, "items"));
    http_clear(&h);
    return c;
}

/* Events of the received entries with ticket n, in arrival order: each
 * signature must verify and the seqs must increase. Returns the count. */
static size_t check_ticket_order(json_t *all, long long n)
{
    long long last = 0;
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *e = json_array_get(all, i);
        json_t *b = entry_body(e);
        assert_non_null(b);
        if (json_integer_value(json_object_get(json_object_get(b, "ticket"), "number")) == n) {
            long long seq = json_integer_value(json_object_get(json_object_get(b, "event"), "seq"));
            if (seq <= last)
                fail_msg("ticket %lld: seq %lld arrived after %lld", n, seq, last);
            last = seq;
            count++;
        }
        assert_true(signature_ok(SECRET, hdr(e, "webhook-id"), hdr(e, "webhook-timestamp"),
                                 json_string_value(json_object_get(e, "body")),
                                 hdr(e, "webhook-signature")));
        assert_string_equal(hdr(e, "webhook-id"), json_string_value(json_object_get(b, "id")));
        json_decref(b);
    }
    return count;
}

/* No delivery id twice. */
static void check_once(json_t *all)
{
    for (size_t i = 0; i < json_array_size(all); i++)
        for (size_t k = i + 1; k < json_array_size(all); k++)
            if (strcmp(hdr(json_array_get(all, i), "webhook-id"),
                       hdr(json_array_get(all, k), "webhook-id")) == 0)
                fail_msg("delivery %s received twice", hdr(json_array_get(all, i), "webhook-id"));
}

static void test_signed_in_order(void **state)
{
    struct fx *f = *state;
    receiver_reset(&f->rcv);
    register_hook(f, NULL);
    struct http h;

    /* Not for agents. */
    http_get(&f->srv, "/api/v1/webhooks", f->srv.agent1.access, &h);
    STATUS(&h, 403);
    http_clear(&h);
    http_json(&f->srv, "POST", "/api/v1/webhooks", f->srv.admin.access, &h,
              "{\"url\":\"ftp://example.com/\",\"events\":[\"nope\"]}");
    STATUS(&h, 400);
    assert_int_equal(json_array_size(json_object_get(h.json, "errors")), 2);
    http_clear(&h);

    long long n = new_ticket(f, "hooked");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", n);
    http_json(&f->srv, "POST", path, f->srv.agent1.access, &h, NULL);
    STATUS(&h, 200);
    http_clear(&h);
    comment(f, n, "on it");

    size_t total = history_count(f, n);
    assert_true(total >= 4);
    json_t *all = wait_received(&f->rcv, total);
    assert_int_equal(json_array_size(all), total);
    bool assigned = false, replied = false;
    for (size_t i = 0; i < total; i++) {
        json_t *b = entry_body(json_array_get(all, i));
        const char *type = json_string_value(json_object_get(b, "type"));
        assert_string_equal(hdr(json_array_get(all, i), "ticketd-event"), type);
        if (i == 0)
            assert_string_equal(type, "ticket.created");
        if (i == 1) /* the description */
            assert_string_equal(type, "comment.created");
        assigned = assigned || strcmp(type, "ticket.assignee_changed") == 0;
        json_t *c = json_object_get(b, "comment");
        replied = replied || (c && strcmp(json_string_value(json_object_get(c, "body")), "on it") == 0);
        json_decref(b);
    }
    assert_true(assigned && replied);
    assert_int_equal(check_ticket_order(all, n), total);

    /* A receiver can tell a forged or altered body. */
    json_t *e = json_array_get(all, 0);
    char forged[4096];
    snprintf(forged, sizeof forged, "%s ", json_string_value(json_object_get(e, "body")));
    assert_false(signature_ok(SECRET, hdr(e, "webhook-id"), hdr(e, "webhook-timestamp"), forged,
                              hdr(e, "webhook-signature")));
    assert_false(signature_ok("another-secret-0123456789", hdr(e, "webhook-id"),
                              hdr(e, "webhook-timestamp"),
                              json_string_value(json_object_get(e, "body")),
                              hdr(e, "webhook-signature")));
    json_decref(all);

    /* The test event, and the log. */
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/test", f->hook_id);
    http_json(&f->srv, "POST", path, f->srv.admin.access, &h, NULL);
    STATUS(&h, 202);
    http_clear(&h);
    all = wait_received(&f->rcv, total + 1);
    assert_int_equal(json_array_size(all), total + 1);
    json_t *b = entry_body(json_array_get(all, total));
    assert_string_equal(json_string_value(json_object_get(b, "type")), "webhook.test");
    json_decref(b);
    json_decref(all);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries", f->hook_id);
    long long deadline = api_now_ms() + WAIT_MS;
    bool all_delivered = false;
    while (!all_delivered && api_now_ms() < deadline) {
        http_get(&f->srv, path, f->srv.admin.access, &h);
        STATUS(&h, 200);
        json_t *items = json_object_get(h.json, "items");
        all_delivered = json_array_size(items) == total + 1;
        for (size_t i = 0; i < json_array_size(items); i++)
            all_delivered = all_delivered &&
                            strcmp(json_string_value(json_object_get(json_array_get(items, i), "state")),
                                   "delivered") == 0;
        http_clear(&h);
        if (!all_delivered)
            usleep(50 * 1000);
    }
    assert_true(all_delivered);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", f->hook_id);
    http_req(&f->srv, "DELETE", path, f->srv.admin.access, NULL, NULL, 0, NULL, &h);
    STATUS(&h, 204);
    http_clear(&h);
}

static void test_receiver_down_then_up(void **state)
{
    struct fx *f = *state;
    receiver_reset(&f->rcv);
    register_hook(f, NULL);
    receiver_down(&f->rcv);
    long long a = new_ticket(f, "while down A");
    long long b = new_ticket(f, "while down B");
    comment(f, a, "a1");
    comment(f, b, "b1");
    comment(f, a, "a2");
    /* Let it fail a few times (bounded). */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", f->hook_id);
    long long deadline = api_now_ms() + WAIT_MS;
    long long failures = 0;
    while (failures < 3 && api_now_ms() < deadline) {
        struct http h;
        http_get(&f->srv, path, f->srv.admin.access, &h);
        failures = jint(&h, "failures");
        http_clear(&h);
        usleep(50 * 1000);
    }
    assert_true(failures >= 3);
    assert_true(receiver_spawn(&f->rcv));
    size_t na = history_count(f, a), nb = history_count(f, b);
    json_t *all = wait_received(&f->rcv, na + nb);
    usleep(500 * 1000); /* anything sent twice would show up now */
    json_decref(all);
    all = receiver_log(&f->rcv, "received.jsonl");
    assert_int_equal(json_array_size(all), na + nb);
    check_once(all);
    assert_int_equal(check_ticket_order(all, a), na);
    assert_int_equal(check_ticket_order(all, b), nb);
    json_decref(all);
    struct http h;
    http_req(&f->srv, "DELETE", path, f->srv.admin.access, NULL, NULL, 0, NULL, &h);
    STATUS(&h, 204);
    http_clear(&h);
}

static void test_gone_stops(void **state)
{
    struct fx *f = *state;
    receiver_reset(&f->rcv);
    register_hook(f, "[\"ticket.created\"]");
    receiver_status(&f->rcv, 410);
    (void)new_ticket(f, "gone 1");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", f->hook_id);
    long long deadline = api_now_ms() + WAIT_MS;
    bool enabled = true;
    struct http h;
    while (enabled && api_now_ms() < deadline) {
        http_get(&f->srv, path, f->srv.admin.access, &h);
        enabled = json_is_true(json_object_get(h.json, "enabled"));
        if (!enabled)
            assert_non_null(strstr(jstr(&h, "disabled_reason"), "410"));
        http_clear(&h);
        usleep(50 * 1000);
    }
    assert_false(enabled);
    json_t *att = receiver_log(&f->rcv, "attempts.jsonl");
    size_t before = json_array_size(att);
    json_decref(att);
    assert_int_equal(before, 1);
    /* Nothing more is sent, even once the receiver would take it. */
    receiver_status(&f->rcv, 200);
    (void)new_ticket(f, "gone 2");
    usleep(1500 * 1000); /* several plan and poll intervals */
    att = receiver_log(&f->rcv, "attempts.jsonl");
    assert_int_equal(json_array_size(att), before);
    json_decref(att);
    /* Its first delivery is failed in the log, with the status. */
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries", f->hook_id);
    http_get(&f->srv, path, f->srv.admin.access, &h);
    json_t *items = json_object_get(h.json, "items");
    assert_true(json_array_size(items) >= 1);
    json_t *first = json_array_get(items, json_array_size(items) - 1);
    assert_string_equal(json_string_value(json_object_get(first, "state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(first, "last_status")), 410);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", f->hook_id);
    http_req(&f->srv, "DELETE", path, f->srv.admin.access, NULL, NULL, 0, NULL, &h);
    http_clear(&h);
}

/* Mails in the sink's Maildir/new whose text contains needle. */
static int sink_mails_with(struct harness_server *sink, const char *needle)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/new", sink->maildir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char buf[16384];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        buf[len] = '\0';
        fclose(f);
        n += strstr(buf, needle) != NULL;
    }
    closedir(d);
    return n;
}

static void test_failures_disable_and_tell_admins(void **state)
{
    struct fx *f = *state;
    receiver_reset(&f->rcv);
    register_hook(f, "[\"ticket.created\"]");
    receiver_status(&f->rcv, 500);
    (void)new_ticket(f, "failing");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", f->hook_id);
    long long deadline = api_now_ms() + WAIT_MS;
    bool enabled = true;
    struct http h;
    while (enabled && api_now_ms() < deadline) {
        http_get(&f->srv, path, f->srv.admin.access, &h);
        enabled = json_is_true(json_object_get(h.json, "enabled"));
        if (!enabled)
            assert_non_null(strstr(jstr(&h, "disabled_reason"), "failed deliveries in a row"));
        http_clear(&h);
        usleep(50 * 1000);
    }
    assert_false(enabled);
    /* 12 = [webhooks] max_failures of this fixture */
    json_t *att = receiver_log(&f->rcv, "attempts.jsonl");
    assert_int_equal(json_array_size(att), 12);
    json_decref(att);
    /* The admin is told by mail. */
    deadline = api_now_ms() + WAIT_MS;
    while (sink_mails_with(&f->sink, f->hook_id) < 1 && api_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(sink_mails_with(&f->sink, f->hook_id), 1);
    /* Re-enabled, the waiting delivery goes out. */
    receiver_status(&f->rcv, 200);
    http_json(&f->srv, "PATCH", path, f->srv.admin.access, &h, "{\"enabled\":true}");
    STATUS(&h, 200);
    assert_int_equal(jint(&h, "failures"), 0);
    http_clear(&h);
    http_req(&f->srv, "DELETE", path, f->srv.admin.access, NULL, NULL, 0, NULL, &h);
    http_clear(&h);
}

static int group_setup(void **state, enum store_backend b)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL || !receiver_start(&f->rcv) || !harness_smtp_start(&f->sink)) {
        if (f) {
            harness_stop(&f->rcv.proc);
            free(f);
        }
        return -1;
    }
    char extra[4096];
    snprintf(extra, sizeof extra,
             "[webhooks]\nallow_private_addresses = yes\npoll_ms = 50\nplan_interval_ms = 100\n"
             "retry_base_ms = 50\nretry_max_ms = 200\nmax_failures = 12\n"
             "timeout_ms = 3000\nconnect_timeout_ms = 1000\n"
             "[notify]\nsupport_address = support@example.com\nbuiltin_templates_dir = %s\n"
             "poll_ms = 50\nreconcile_interval_ms = 0\nlease_ms = 20000\n"
             "ticket_created_agents = no\nticket_created_ack = no\nreply_to_requester = no\n"
             "reply_to_agents = no\nassigned = no\n"
             "[smtp]\nurl = %s\nstarttls = no\nconnect_timeout_ms = 2000\ntimeout_ms = 5000\n",
             templates_dir(), f->sink.uri);
    if (!tdsrv_start_cmd(&f->srv, b, extra, "serve")) {
        harness_stop(&f->rcv.proc);
        harness_stop(&f->sink);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}
static int setup_sqlite(void **state) { return group_setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongo(void **state) { return group_setup(state, STORE_BACKEND_MONGODB); }
static int group_teardown(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        return 0;
    bool clean = tdsrv_stop(&f->srv);
    harness_stop(&f->rcv.proc);
    harness_stop(&f->sink);
    free(f);
    return clean ? 0 : -1;
}

/* ---- a crash between the change and its delivery ----------------------- */

static void crash_case(enum store_backend b)
{
    struct fx f;
    memset(&f, 0, sizeof f);
    assert_true(receiver_start(&f.rcv));
    /* First only the API runs (no webhook thread): changes commit, no
     * delivery is planned or sent; then it dies without a goodbye. */
    assert_true(tdsrv_start_cmd(&f.srv, b, "[webhooks]\nallow_private_addresses = yes\n"
                                           "poll_ms = 50\nplan_interval_ms = 100\n", "api"));
    register_hook(&f, NULL);
    long long n = new_ticket(&f, "before the crash");
    comment(&f, n, "also before");
    pid_t pid = f.srv.proc.pid;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    harness_untrack_pid(pid);
    f.srv.proc.pid = 0;
    json_t *none = receiver_log(&f.rcv, "received.jsonl");
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    /* A fresh process with the webhook thread finds them in the history. */
    char bin[PATH_MAX];
    assert_true(api_ticketd_path(bin, sizeof bin));
    const char *argv[] = { bin, "--config", f.srv.conf, "hooks", NULL };
    assert_true(harness_spawn(&f.srv.proc, argv));
    size_t total = 4; /* created, description, the agent's comment and the status it opened */
    json_t *all = wait_received(&f.rcv, total);
    usleep(500 * 1000);
    json_decref(all);
    all = receiver_log(&f.rcv, "received.jsonl");
    assert_int_equal(json_array_size(all), total);
    check_once(all);
    assert_int_equal(check_ticket_order(all, n), total);
    json_decref(all);
    assert_true(tdsrv_stop(&f.srv));
    harness_stop(&f.rcv.proc);
}

static void test_crash_sqlite(void **state) { (void)state; crash_case(STORE_BACKEND_SQLITE); }
static void test_crash_mongo(void **state) { (void)state; crash_case(STORE_BACKEND_MONGODB); }

/* ---- SSRF rules ------------------------------------------------------------ */

static bool blocked4(const char *s)
{
    unsigned char a[4];
    assert_int_equal(inet_pton(AF_INET, s, a), 1);
    return hooks_addr_blocked(AF_INET, a);
}

static bool blocked6(const char *s)
{
    unsigned char a[16];
    assert_int_equal(inet_pton(AF_INET6, s, a), 1);
    return hooks_addr_blocked(AF_INET6, a);
}

static void test_ssrf_rules(void **state)
{
    (void)state;
    const char *bad4[] = { "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                           "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                           "255.255.255.255", NULL };
    for (int i = 0; bad4[i]; i++)
        if (!blocked4(bad4[i]))
            fail_msg("%s is not blocked", bad4[i]);
    const char *good4[] = { "93.184.216.34", "172.32.0.1", "8.8.8.8", "100.128.0.1", NULL };
    for (int i = 0; good4[i]; i++)
        if (blocked4(good4[i]))
            fail_msg("%s is blocked", good4[i]);
    const char *bad6[] = { "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1",
                           "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", NULL };
    for (int i = 0; bad6[i]; i++)
        if (!blocked6(bad6[i]))
            fail_msg("%s is not blocked", bad6[i]);
    assert_false(blocked6("2606:2800:220:1:248:1893:25c8:1946"));
    assert_false(blocked6("::ffff:93.184.216.34"));

    /* URLs: every address is checked; literals and names alike. */
    char resolve[512];
    struct td_err err;
    const char *refused[] = { "http://127.0.0.1:9/x", "http://localhost/", "http://[::1]/",
                              "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                              "http://2130706433/", NULL };
    for (int i = 0; refused[i]; i++) {
        td_err_clear(&err);
        if (hooks_ssrf_check(refused[i], false, resolve, sizeof resolve, &err))
            fail_msg("%s was allowed", refused[i]);
    }
    td_err_clear(&err);
    assert_false(hooks_ssrf_check("ftp://example.com/", true, resolve, sizeof resolve, &err));
    /* The setting for tests lets loopback through, pinned for names. */
    assert_true(hooks_ssrf_check("http://127.0.0.1:9/x", true, resolve, sizeof resolve, &err));
    assert_string_equal(resolve, "");
    assert_true(hooks_ssrf_check("http://localhost:9/x", true, resolve, sizeof resolve, &err));
    assert_int_equal(strncmp(resolve, "localhost:9:", 12), 0);
    assert_true(hooks_ssrf_check("https://93.184.216.34/x", false, resolve, sizeof resolve, &err));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_in_order),
        cmocka_unit_test(test_receiver_down_then_up),
        cmocka_unit_test(test_gone_stops),
        cmocka_unit_test(test_failures_disable_and_tell_admins),
    };
    const struct CMUnitTest units[] = { cmocka_unit_test(test_ssrf_rules) };
    const struct CMUnitTest crash_sqlite[] = { cmocka_unit_test(test_crash_sqlite) };
    const struct CMUnitTest crash_mongo[] = { cmocka_unit_test(test_crash_mongo) };
    int failed = cmocka_run_group_tests_name("webhooks/ssrf", units, NULL, NULL);
    if (store_fixture_wanted(STORE_BACKEND_SQLITE)) {
        failed += cmocka_run_group_tests_name("webhooks/sqlite", tests, setup_sqlite, group_teardown);
        failed += cmocka_run_group_tests_name("webhooks/crash/sqlite", crash_sqlite, NULL, NULL);
    }
    if (store_fixture_wanted(STORE_BACKEND_MONGODB)) {
        failed += cmocka_run_group_tests_name("webhooks/mongodb", tests, setup_mongo, group_teardown);
        failed += cmocka_run_group_tests_name("webhooks/crash/mongodb", crash_mongo, NULL, NULL);
    }
    curl_global_cleanup();
    return failed ? 1 : 0;
}

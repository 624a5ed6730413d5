/* test_api_http_stress.c - the REST API under pressure over real HTTP, once per storage backend:
 * two agents claiming at once, pagination under concurrent inserts, malformed input (never
 * a 5xx) (http_fixture.h). */
#include "tests/api/http_fixture.h"

/* ---- concurrency -------------------------------------------------------------- */

struct claimer {
    struct tdsrv *s;
    const struct tduser *u;
    const char *path;
    pthread_barrier_t *go;
    long status;
};

static void *claim_thread(void *p)
{
    struct claimer *c = p;
    struct http h;
    pthread_barrier_wait(c->go);
    c->status = http_req(c->s, "POST", c->path, c->u->access, NULL, NULL, 0, NULL, &h);
    http_clear(&h);
    return NULL;
}

static void test_claim_race(void **state)
{
    struct tdsrv *s = SRV(state);
    for (int round = 0; round < 6; round++) {
        int64_t n = open_ticket(s, &s->cust1, "race");
        char path[96];
        snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        struct claimer c[2] = { { s, &s->agent1, path, &go, 0 }, { s, &s->agent2, path, &go, 0 } };
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, claim_thread, &c[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        bool one_each = (c[0].status == 200 && c[1].status == 409) ||
                        (c[0].status == 409 && c[1].status == 200);
        if (!one_each)
            fail_msg("round %d: claims answered %ld and %ld, expected one 200 and one 409", round,
                     c[0].status, c[1].status);
        /* The winner holds it, and the history has exactly one claim. */
        struct http h;
        snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
        http_get(s, path, s->admin.access, &h);
        const struct tduser *winner = c[0].status == 200 ? c[0].u : c[1].u;
        assert_string_equal(jstr(&h, "assignee_id"), winner->u.id);
        http_clear(&h);
        snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
        http_get(s, path, s->admin.access, &h);
        int claims = 0;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(h.json, "items"), i, e)
            claims += strcmp(json_string_value(json_object_get(e, "kind")), "claim") == 0;
        assert_int_equal(claims, 1);
        http_clear(&h);
    }
    /* An admin may take over a claimed ticket (reassigning is allowed for
     * the role); the agent who lost may not. */
    int64_t n = open_ticket(s, &s->cust1, "takeover");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    struct http h;
    http_req(s, "POST", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    http_req(s, "POST", path, s->agent2.access, NULL, NULL, 0, NULL, &h);
    EXPECT_PROBLEM(&h, 409, "already claimed");
    http_clear(&h);
    http_req(s, "POST", path, s->admin.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "assignee_id"), s->admin.u.id);
    http_clear(&h);
}

struct inserter {
    struct tdsrv *s;
    atomic_bool *stop;
    int made;
};

static void *insert_thread(void *p)
{
    struct inserter *in = p;
    while (!atomic_load(in->stop) && in->made < 40) {
        struct http h;
        http_json(in->s, "POST", "/api/v1/tickets", in->s->cust2.access, &h,
                  "{\"subject\":\"concurrent %d\",\"body\":\"b\"}", in->made);
        if (h.status == 201)
            in->made++;
        http_clear(&h);
    }
    return NULL;
}

/* Pages through tickets of cust2 while new ones arrive: every ticket
 * that existed before is seen exactly once, in order, none twice. */
static void page_all(struct tdsrv *s, bool ascending, const int64_t *before, size_t n_before)
{
    atomic_bool stop = false;
    struct inserter in = { s, &stop, 0 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, insert_thread, &in), 0);
    char cursor[128] = "", path[400];
    int64_t seen[600];
    size_t n_seen = 0;
    for (int page = 0; page < 100; page++) {
        snprintf(path, sizeof path, "/api/v1/tickets?requester=me&limit=4&sort=%s%s%s",
                 ascending ? "number" : "-number", cursor[0] ? "&cursor=" : "", cursor);
        struct http h;
        http_get(s, path, s->cust2.access, &h);
        EXPECT_STATUS(&h, 200);
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(h.json, "items"), i, t) {
            assert_true(n_seen < sizeof seen / sizeof seen[0]);
            seen[n_seen++] = json_integer_value(json_object_get(t, "number"));
        }
        assert_true(json_array_size(json_object_get(h.json, "items")) <= 4);
        const char *next = jstr(&h, "next_cursor");
        if (next == NULL) {
            http_clear(&h);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        http_clear(&h);
        usleep(2000); /* let the inserter in between pages */
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    /* Strictly ordered (so nothing twice), and every old ticket seen. */
    for (size_t i = 1; i < n_seen; i++)
        if (ascending ? seen[i] <= seen[i - 1] : seen[i] >= seen[i - 1])
            fail_msg("page order broken at %zu: %lld after %lld", i, (long long)seen[i],
                     (long long)seen[i - 1]);
    for (size_t k = 0; k < n_before; k++) {
        bool found = false;
        for (size_t i = 0; i < n_seen && !found; i++)
            found = seen[i] == before[k];
        if (!found)
            fail_msg("ticket #%lld was skipped by pagination", (long long)before[k]);
    }
    if (in.made == 0)
        fail_msg("the inserter made no tickets: nothing was concurrent");
}

static void test_pagination_concurrent_inserts(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t before[30];
    for (int i = 0; i < 30; i++)
        before[i] = open_ticket(s, &s->cust2, "page");
    page_all(s, false, before, 30);
    page_all(s, true, before, 30);
    /* limit is capped; a cursor from one order is refused in the other. */
    struct http h;
    http_get(s, "/api/v1/tickets?limit=101", s->cust2.access, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    http_get(s, "/api/v1/tickets?limit=2&sort=number", s->cust2.access, &h);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/tickets?limit=2&sort=-number&cursor=%s", jstr(&h, "next_cursor"));
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
}

/* ---- malformed input ------------------------------------------------------------ */

struct bad_input {
    const char *method, *path, *ctype, *body;
    long expect; /* 0: any 4xx; -1: anything but a 5xx */
};

static void test_malformed_inputs(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, &s->cust1, "malformed");
    char tpath[64], cpath[80];
    snprintf(tpath, sizeof tpath, "/api/v1/tickets/%lld", (long long)n);
    snprintf(cpath, sizeof cpath, "/api/v1/tickets/%lld/comments", (long long)n);
    const char *J = "application/json";
    const struct bad_input cases[] = {
        { "POST", "/api/v1/tickets", J, "{", 400 },
        { "POST", "/api/v1/tickets", J, "", 400 },
        { "POST", "/api/v1/tickets", J, "null", 400 },
        { "POST", "/api/v1/tickets", J, "[1,2]", 400 },
        { "POST", "/api/v1/tickets", J, "\"just a string\"", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":1,\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"x\":1}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"subject\":\"t\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"\\u0000\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"\xc3\x28\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"\xed\xa0\x80\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"\\ud800\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"tags\":[1]}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"tags\":\"a\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"tags\":[\"bad tag!\"]}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"priority\":\"meh\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"a\\nb\",\"body\":\"b\"}", 400 },
        { "POST", "/api/v1/tickets", J, "{\"subject\":\"s\",\"body\":\"b\",\"requester_id\":\"zz\"}", 0 },
        { "POST", "/api/v1/tickets", "text/plain", "{\"subject\":\"s\",\"body\":\"b\"}", 415 },
        { "POST", "/api/v1/tickets", "application/json; charset=latin1", "{}", 415 },
        { "POST", "/api/v1/tickets", NULL, "{\"subject\":\"s\",\"body\":\"b\"}", 415 },
        { "PATCH", tpath, J, "{\"priority\":99999999999999999999999}", 400 },
        { "PATCH", tpath, J, "{\"priority\":1e400}", 400 },
        { "PATCH", tpath, J, "{\"status\":true}", 400 },
        { "PATCH", tpath, J, "{}", 400 },
        { "PATCH", tpath, J, "{\"status\":\"pending\"}", 403 }, /* customer: not allowed */
        { "PATCH", tpath, J, "{\"status\":\"new\"}", 200 },     /* no change: no transition */
        { "PATCH", "/api/v1/tickets/abc", J, "{\"status\":\"closed\"}", 400 },
        { "GET", "/api/v1/tickets/0", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets/-1", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets/007", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets/99999999999999999999999", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets/999999999", NULL, NULL, 404 },
        { "GET", "/api/v1/tickets/1%00", NULL, NULL, -1 },
        { "GET", "/api/v1/tickets?status=nope", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?stauts=open", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?status=open&status=new", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?limit=-5", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?limit=abc", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?cursor=%ff%fe", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?cursor=YzE6ZDotNQ", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?updated_since=yesterday", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?updated_since=2026-02-31T00:00:00Z", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?q=%c3%28", NULL, NULL, 400 },
        { "GET", "/api/v1/tickets?assignee=bob", NULL, NULL, 400 },
        { "POST", cpath, J, "{\"body\":\"\"}", 400 },
        { "POST", cpath, J, "{\"body\":\"x\",\"internal\":\"yes\"}", 400 },
        { "POST", cpath, "multipart/form-data", "--b--", 400 },
        { "POST", cpath, "multipart/form-data; boundary=", "--b--", 400 },
        { "POST", cpath, "multipart/form-data; boundary=b", "garbage", 400 },
        { "POST", "/api/v1/auth/login", J, "{\"email\":[],\"password\":{}}", 400 },
        { "POST", "/api/v1/auth/refresh", J, "{\"refresh_token\":null}", 400 },
        { "GET", "/api/v1/users/../../etc/passwd", NULL, NULL, 404 },
        { "DELETE", tpath, NULL, NULL, 405 },
        { "PUT", "/api/v1/tickets", J, "{}", 405 },
        { "GET", "/api/v2/tickets", NULL, NULL, 404 },
        { "GET", "/api/v1/tickets/", NULL, NULL, 404 },
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_input *c = &cases[i];
        struct http h;
        http_req(s, c->method, c->path, s->cust1.access, c->ctype, c->body,
                 c->body ? strlen(c->body) : 0, NULL, &h);
        bool ok = c->expect > 0   ? h.status == c->expect
                  : c->expect == 0 ? (h.status >= 400 && h.status < 500)
                                   : (h.status >= 200 && h.status < 500);
        if (ok && h.status >= 400 && jint(&h, "status") != h.status)
            ok = false;
        if (!ok) {
            print_error("case %zu %s %s [%s]: HTTP %ld, expected %ld: %.*s\n", i, c->method,
                        c->path, c->body ? c->body : "", h.status, c->expect, (int)h.body.len,
                        h.body.data ? h.body.data : "");
            failures++;
        }
        http_clear(&h);
    }
    if (failures)
        fail_msg("%d malformed inputs answered wrongly", failures);

    /* Deep nesting and a huge body. */
    struct buf deep = BUF_INIT;
    for (int i = 0; i < 100000; i++)
        buf_putc(&deep, '[');
    struct http h;
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, J, deep.data, deep.len, NULL, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    buf_free(&deep);
    size_t big = 3u << 20; /* over max_request_bytes (2 MiB) */
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    const char *const expect100[] = { "Expect: 100-continue", NULL };
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, J, huge, big, expect100, &h);
    EXPECT_PROBLEM(&h, 413, NULL);
    http_clear(&h);
    /* Without Expect, and chunked (no Content-Length): still a 413. */
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, J, huge, big, NULL, &h);
    EXPECT_PROBLEM(&h, 413, NULL);
    http_clear(&h);
    const char *const chunked[] = { "Transfer-Encoding: chunked", NULL };
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, J, huge, big, chunked, &h);
    EXPECT_PROBLEM(&h, 413, NULL);
    http_clear(&h);
    free(huge);
    /* The server is still fine. */
    http_get(s, "/healthz", NULL, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_pagination_concurrent_inserts),
        cmocka_unit_test(test_malformed_inputs),
    };
    int failed = api_http_run("api_http_stress", tests, sizeof tests / sizeof tests[0]);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

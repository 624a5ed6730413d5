/* test_api_conventions.c - what every client of the REST API can rely
 * on: CORS (preflight, allowed origins, no credentials), the client
 * address only through trusted proxies, rate limits per address and per
 * token with RateLimit/Retry-After, Idempotency-Key on POST (both
 * stores), every validation error at once, Link headers on lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/api/api_fixture.h"

#define STATUS(h, want)                                                                        \
    do {                                                                                       \
        if ((h)->status != (want))                                                             \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status, (want),    \
                     (int)(h)->body.len, (h)->body.data ? (h)->body.data : "");              \
    } while (0)

#define ORIGIN "https://app.example.com"

static const char *const extra_conf =
    "cors_allowed_origins = " ORIGIN ", https://other.example.org\n"
    "trusted_proxies = 127.0.0.1/32, 10.9.0.0/16\n"
    "rate_limit_per_address = 30\n"
    "rate_limit_per_token = 15\n"
    "rate_limit_window = 60\n";

static void test_cors(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char v[512];
    const char *pre[] = { "Origin: " ORIGIN, "Access-Control-Request-Method: POST",
                          "Access-Control-Request-Headers: authorization, content-type",
                          "X-Forwarded-For: 198.51.100.1", NULL };
    http_req(s, "OPTIONS", "/api/v1/tickets", NULL, NULL, NULL, 0, pre, &h);
    STATUS(&h, 204);
    assert_string_equal(http_header(&h, "Access-Control-Allow-Origin", v, sizeof v), ORIGIN);
    assert_non_null(strstr(http_header(&h, "Access-Control-Allow-Methods", v, sizeof v), "POST"));
    assert_non_null(strstr(http_header(&h, "Access-Control-Allow-Headers", v, sizeof v), "Authorization"));
    assert_string_equal(http_header(&h, "Access-Control-Allow-Credentials", v, sizeof v), "");
    assert_string_equal(http_header(&h, "Access-Control-Max-Age", v, sizeof v), "600");
    http_clear(&h);

    /* Another origin: answered, but nothing that lets a browser through. */
    const char *evil[] = { "Origin: https://evil.example.net", "Access-Control-Request-Method: POST",
                           "X-Forwarded-For: 198.51.100.1", NULL };
    http_req(s, "OPTIONS", "/api/v1/tickets", NULL, NULL, NULL, 0, evil, &h);
    STATUS(&h, 204);
    assert_string_equal(http_header(&h, "Access-Control-Allow-Origin", v, sizeof v), "");
    http_clear(&h);
    const char *unknown[] = { "Origin: " ORIGIN, "X-Forwarded-For: 198.51.100.1", NULL };
    http_req(s, "OPTIONS", "/api/v1/nowhere", NULL, NULL, NULL, 0, unknown, &h);
    STATUS(&h, 404);
    http_clear(&h);

    /* A real request from an allowed origin names it and exposes headers. */
    http_req(s, "GET", "/api/v1/tickets", s->agent1.access, NULL, NULL, 0, unknown, &h);
    STATUS(&h, 200);
    assert_string_equal(http_header(&h, "Access-Control-Allow-Origin", v, sizeof v), ORIGIN);
    assert_string_equal(http_header(&h, "Vary", v, sizeof v), "Origin");
    assert_non_null(strstr(http_header(&h, "Access-Control-Expose-Headers", v, sizeof v), "ETag"));
    http_clear(&h);
}

/* The address a personal access token was last used from. */
static void last_addr(struct tdsrv *s, const char *pat, const char *xff_line, char *out, size_t len)
{
    struct http h;
    const char *hdrs[] = { xff_line, NULL };
    http_req(s, "GET", "/api/v1/me", pat, NULL, NULL, 0, xff_line ? hdrs : NULL, &h);
    STATUS(&h, 200);
    http_clear(&h);
    http_get(s, "/api/v1/tokens", s->agent2.access, &h);
    STATUS(&h, 200);
    json_t *t = json_array_get(json_object_get(h.json, "items"), 0);
    snprintf(out, len, "%s", json_string_value(json_object_get(t, "last_used_addr")));
    http_clear(&h);
}

static void test_trusted_proxies(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    http_json(s, "POST", "/api/v1/tokens", s->agent2.access, &h,
              "{\"name\":\"addr probe\",\"scopes\":[\"read\"]}");
    STATUS(&h, 201);
    char pat[64], addr[80];
    snprintf(pat, sizeof pat, "%s", jstr(&h, "token"));
    http_clear(&h);
    /* From a trusted proxy (127.0.0.1): the rightmost untrusted address. */
    last_addr(s, pat, "X-Forwarded-For: 203.0.113.66, 198.51.100.23", addr, sizeof addr);
    assert_string_equal(addr, "198.51.100.23");
    /* Our own proxies in the chain are skipped, a forged left part is not believed. */
    last_addr(s, pat, "X-Forwarded-For: 1.2.3.4, 198.51.100.24, 10.9.8.7", addr, sizeof addr);
    assert_string_equal(addr, "198.51.100.24");
    last_addr(s, pat, "Forwarded: for=192.0.2.60;proto=https, for=\"[2001:db8::17]:4711\"", addr,
              sizeof addr);
    assert_string_equal(addr, "2001:db8::17");
    /* Padding the left part does not push the real client out. */
    char padded[600] = "X-Forwarded-For: ";
    for (int i = 0; i < 30; i++)
        strcat(padded, "6.6.6.6, ");
    strcat(padded, "198.51.100.25");
    last_addr(s, pat, padded, addr, sizeof addr);
    assert_string_equal(addr, "198.51.100.25");
    /* No header: the proxy itself. */
    last_addr(s, pat, NULL, addr, sizeof addr);
    assert_string_equal(addr, "127.0.0.1");
}

static void test_rate_limits(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char v[256];
    /* Per address: 30 a minute, counted per forwarded client. */
    const char *a[] = { "X-Forwarded-For: 198.51.100.200", NULL };
    for (int i = 0; i < 30; i++) {
        http_req(s, "GET", "/healthz", NULL, NULL, NULL, 0, a, &h);
        STATUS(&h, 200);
        if (i == 0) {
            assert_string_equal(http_header(&h, "RateLimit-Policy", v, sizeof v), "30;w=60");
            assert_non_null(strstr(http_header(&h, "RateLimit", v, sizeof v), "remaining=29"));
        }
        http_clear(&h);
    }
    http_req(s, "GET", "/healthz", NULL, NULL, NULL, 0, a, &h);
    STATUS(&h, 429);
    assert_string_equal(jstr(&h, "type"), "urn:ticketd:problem:rate_limited");
    assert_true(atoi(h.retry_after) >= 1 && atoi(h.retry_after) <= 60);
    assert_non_null(strstr(http_header(&h, "RateLimit", v, sizeof v), "remaining=0"));
    http_clear(&h);
    const char *b[] = { "X-Forwarded-For: 198.51.100.201", NULL };
    http_req(s, "GET", "/healthz", NULL, NULL, NULL, 0, b, &h);
    STATUS(&h, 200);
    http_clear(&h);

    /* Per token: 15 a minute, whatever the address. */
    char hdr[64];
    for (int i = 0; i < 16; i++) {
        snprintf(hdr, sizeof hdr, "X-Forwarded-For: 198.51.100.%d", 10 + i);
        const char *c[] = { hdr, NULL };
        http_req(s, "GET", "/api/v1/me", s->admin.access, NULL, NULL, 0, c, &h);
        if (i < 15) {
            STATUS(&h, 200);
        } else {
            STATUS(&h, 429);
            assert_true(atoi(h.retry_after) >= 1);
        }
        http_clear(&h);
    }
    /* Someone else's token is not affected. */
    const char *d[] = { "X-Forwarded-For: 198.51.100.99", NULL };
    http_req(s, "GET", "/api/v1/me", s->cust1.access, NULL, NULL, 0, d, &h);
    STATUS(&h, 200);
    http_clear(&h);
}

static void test_all_errors_at_once(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    const char *x[] = { "X-Forwarded-For: 198.51.100.150", NULL };
    const char *body = "{\"subject\":\"s\",\"body\":\"b\",\"priority\":\"asap\",\"colour\":\"red\"}";
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", body, strlen(body),
             x, &h);
    STATUS(&h, 400);
    json_t *errs = json_object_get(h.json, "errors");
    assert_int_equal(json_array_size(errs), 2);
    bool colour = false, prio = false;
    for (size_t i = 0; i < 2; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(errs, i), "field"));
        colour = colour || strcmp(f, "colour") == 0;
        prio = prio || strcmp(f, "priority") == 0;
    }
    assert_true(colour && prio);
    http_clear(&h);
}

static void test_link_headers(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char v[512];
    const char *x[] = { "X-Forwarded-For: 198.51.100.151", NULL };
    for (int i = 0; i < 3; i++) {
        const char *body = "{\"subject\":\"linked\",\"body\":\"b\"}";
        http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", body,
                 strlen(body), x, &h);
        STATUS(&h, 201);
        http_clear(&h);
    }
    http_req(s, "GET", "/api/v1/tickets?limit=2&q=linked", s->agent1.access, NULL, NULL, 0, x, &h);
    STATUS(&h, 200);
    http_header(&h, "Link", v, sizeof v);
    char want[256];
    snprintf(want, sizeof want, "</api/v1/tickets?cursor=%s&", jstr(&h, "next_cursor"));
    assert_int_equal(strncmp(v, want, strlen(want)), 0);
    assert_non_null(strstr(v, "limit=2"));
    assert_non_null(strstr(v, "q=linked"));
    assert_non_null(strstr(v, "rel=\"next\""));
    http_clear(&h);
}

/* Idempotency-Key: on both stores. */
static void test_idempotency(void **state)
{
    struct tdsrv *s = *state;
    struct http h1, h2, h3;
    const char *body = "{\"subject\":\"once only\",\"body\":\"retry me\"}";
    const char *k[] = { "Idempotency-Key: 5b3a-retry-1", "X-Forwarded-For: 198.51.100.152", NULL };
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", body,
             strlen(body), k, &h1);
    STATUS(&h1, 201);
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", body,
             strlen(body), k, &h2);
    STATUS(&h2, 201);
    char v[64];
    assert_string_equal(http_header(&h2, "Idempotent-Replayed", v, sizeof v), "true");
    assert_int_equal(jint(&h1, "number"), jint(&h2, "number"));
    assert_string_equal(h1.location, h2.location);
    assert_string_equal(h1.etag, h2.etag);
    long long number = jint(&h1, "number");
    http_clear(&h1);
    http_clear(&h2);
    /* One ticket only. */
    http_get(s, "/api/v1/tickets?q=once%20only", s->agent1.access, &h3);
    assert_int_equal(json_array_size(json_object_get(h3.json, "items")), 1);
    http_clear(&h3);
    /* The same key with another body: refused. */
    const char *other = "{\"subject\":\"something else\",\"body\":\"x\"}";
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", other,
             strlen(other), k, &h3);
    STATUS(&h3, 422);
    http_clear(&h3);
    /* Keys are per user: cust2 with the same key makes its own ticket. */
    http_req(s, "POST", "/api/v1/tickets", s->cust2.access, "application/json", body,
             strlen(body), k, &h3);
    STATUS(&h3, 201);
    assert_true(jint(&h3, "number") != number);
    http_clear(&h3);
    /* Comments too; and a failed first try (404) is kept as such. */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", number);
    const char *c = "{\"body\":\"only once\"}";
    const char *kc[] = { "Idempotency-Key: comment-1", "X-Forwarded-For: 198.51.100.152", NULL };
    http_req(s, "POST", path, s->agent1.access, "application/json", c, strlen(c), kc, &h1);
    STATUS(&h1, 201);
    http_req(s, "POST", path, s->agent1.access, "application/json", c, strlen(c), kc, &h2);
    STATUS(&h2, 201);
    assert_string_equal(jstr(&h1, "id"), jstr(&h2, "id"));
    http_clear(&h1);
    http_clear(&h2);
    http_get(s, path, s->agent1.access, &h3);
    size_t n_only = 0;
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(h3.json, "items"), i, it)
        n_only += strcmp(json_string_value(json_object_get(it, "body")), "only once") == 0;
    assert_int_equal(n_only, 1);
    http_clear(&h3);
    char longkey[400] = "Idempotency-Key: ";
    memset(longkey + strlen(longkey), 'k', 300);
    const char *bad[] = { longkey, "X-Forwarded-For: 198.51.100.152", NULL };
    http_req(s, "POST", "/api/v1/tickets", s->cust1.access, "application/json", body,
             strlen(body), bad, &h3);
    STATUS(&h3, 400);
    http_clear(&h3);
}

static int setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (s == NULL || !tdsrv_start(s, b, extra_conf)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}
static int setup_sqlite(void **state) { return setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongo(void **state) { return setup(state, STORE_BACKEND_MONGODB); }
static int teardown(void **state)
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
    const struct CMUnitTest http_only[] = {
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_rate_limits),
        cmocka_unit_test(test_all_errors_at_once),
        cmocka_unit_test(test_link_headers),
        cmocka_unit_test(test_idempotency),
    };
    const struct CMUnitTest stored[] = {
        cmocka_unit_test(test_idempotency),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_conventions/sqlite", http_only, setup_sqlite,
                                              teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_conventions/mongodb", stored, setup_mongo,
                                              teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

/* test_api_session.c - the web console's cookie-mode session
 * (api/routes_session.c) on a real ticketd, against each store backend.
 *
 * The refresh token never appears in a body, only in an HttpOnly,
 * SameSite=Strict cookie scoped to /api/v1/auth/cookie; the CSRF guard
 * refuses requests without X-Ticketd-Csrf, from another Origin or
 * another site, and non-JSON bodies; refresh rotates the cookie and a
 * replayed old cookie kills the family; logout revokes and clears. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/api/api_fixture.h"

#define LOGIN_BODY "{\"email\":\"agent1@example.com\",\"password\":\"" API_PW "\"}"

/* The td_refresh value of the Set-Cookie header ("" when absent). */
static void cookie_value(const struct http *h, char *out, size_t len)
{
    char sc[768];
    http_header(h, "Set-Cookie", sc, sizeof sc);
    out[0] = '\0';
    if (strncmp(sc, "td_refresh=", 11) != 0)
        return;
    snprintf(out, len, "%.*s", (int)strcspn(sc + 11, ";"), sc + 11);
}

static long post(const struct tdsrv *s, const char *path, const char *body, const char *cookie,
                 const char *extra, struct http *h)
{
    char ck[128];
    snprintf(ck, sizeof ck, "Cookie: td_refresh=%s", cookie ? cookie : "");
    const char *hdrs[] = { "X-Ticketd-Csrf: 1", extra ? extra : "X-Other: 1",
                           cookie ? ck : "X-None: 1", NULL };
    return http_req(s, "POST", path, NULL, "application/json", body, strlen(body), hdrs, h);
}

static void session_flow(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL))
        fail_msg("ticketd did not start");
    struct http h;
    char sc[768], c1[128], c2[128];

    /* CSRF guard: the custom header, the Origin, the site, the body type. */
    assert_int_equal(http_req(&s, "POST", "/api/v1/auth/cookie/login", NULL, "application/json",
                              LOGIN_BODY, strlen(LOGIN_BODY), NULL, &h), 403);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login", LOGIN_BODY, NULL,
                          "Origin: http://evil.example", &h), 403);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login", LOGIN_BODY, NULL,
                          "Sec-Fetch-Site: cross-site", &h), 403);
    http_clear(&h);
    const char *form_hdrs[] = { "X-Ticketd-Csrf: 1", NULL };
    assert_int_equal(http_req(&s, "POST", "/api/v1/auth/cookie/login", NULL,
                              "application/x-www-form-urlencoded", "a=b", 3, form_hdrs, &h), 415);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/refresh", "{}", NULL, NULL, &h), 401);
    http_clear(&h);

    /* Login: an access token, the refresh token only in the cookie. */
    char origin[128];
    snprintf(origin, sizeof origin, "Origin: %s", s.base);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login", LOGIN_BODY, NULL, origin, &h), 200);
    assert_non_null(jstr(&h, "access_token"));
    assert_null(json_object_get(h.json, "refresh_token"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(h.json, "user"), "email")),
                        "agent1@example.com");
    http_header(&h, "Set-Cookie", sc, sizeof sc);
    assert_non_null(strstr(sc, "; Path=/api/v1/auth/cookie;"));
    assert_non_null(strstr(sc, "; HttpOnly"));
    assert_non_null(strstr(sc, "; SameSite=Strict"));
    assert_null(strstr(sc, "Secure")); /* 127.0.0.1: a loopback host */
    cookie_value(&h, c1, sizeof c1);
    assert_int_equal(strlen(c1), 43);
    char access[API_TOKEN_MAX];
    snprintf(access, sizeof access, "%s", jstr(&h, "access_token"));
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/me", access, &h), 200);
    http_clear(&h);

    /* Behind a TLS proxy with a real host name the cookie is Secure. */
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login", LOGIN_BODY, NULL,
                          "Host: support.example.com", &h), 200);
    http_header(&h, "Set-Cookie", sc, sizeof sc);
    assert_non_null(strstr(sc, "; Secure"));
    http_clear(&h);

    /* Refresh rotates; the old cookie replayed revokes the family. */
    assert_int_equal(post(&s, "/api/v1/auth/cookie/refresh", "{}", c1, NULL, &h), 200);
    assert_non_null(jstr(&h, "access_token"));
    assert_null(json_object_get(h.json, "refresh_token"));
    cookie_value(&h, c2, sizeof c2);
    assert_int_equal(strlen(c2), 43);
    assert_string_not_equal(c1, c2);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/refresh", "{}", c1, NULL, &h), 401);
    http_header(&h, "Set-Cookie", sc, sizeof sc);
    assert_non_null(strstr(sc, "td_refresh=; ")); /* cleared */
    assert_non_null(strstr(sc, "Max-Age=0"));
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/refresh", "{}", c2, NULL, &h), 401);
    http_clear(&h);

    /* Logout revokes: a new session, logged out, cannot refresh. */
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login", LOGIN_BODY, NULL, NULL, &h), 200);
    cookie_value(&h, c1, sizeof c1);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/logout", "{}", c1, NULL, &h), 204);
    http_header(&h, "Set-Cookie", sc, sizeof sc);
    assert_non_null(strstr(sc, "Max-Age=0"));
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/refresh", "{}", c1, NULL, &h), 401);
    http_clear(&h);
    assert_int_equal(post(&s, "/api/v1/auth/cookie/logout", "{}", NULL, NULL, &h), 204);
    http_clear(&h);

    /* Wrong password: the login endpoint's answer, no cookie. */
    assert_int_equal(post(&s, "/api/v1/auth/cookie/login",
                          "{\"email\":\"agent1@example.com\",\"password\":\"wrong wrong wrong\"}",
                          NULL, NULL, &h), 401);
    assert_string_equal(http_header(&h, "Set-Cookie", sc, sizeof sc), "");
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

static void session_sqlite(void **state)
{
    (void)state;
    session_flow(STORE_BACKEND_SQLITE);
}

static void session_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    session_flow(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_sqlite),
        cmocka_unit_test(session_mongodb),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

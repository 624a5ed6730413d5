/* test_api_http_auth.c - the REST API's credentials over real HTTP, once per storage backend:
 * the JWT attack list, tokens dying on disable and role change, refresh rotation / reuse
 * detection / logout, and failed-login rate limiting on a server of its own (http_fixture.h). */
#include "tests/api/http_fixture.h"

/* ---- JWT attacks -------------------------------------------------------------- */

struct claims {
    const char *iss, *aud, *sub, *role;
    long ver, iat, nbf, exp;
};

static struct claims good_claims(const struct tdsrv *s)
{
    long now = (long)time(NULL);
    struct claims c = { "ticketd", "ticketd-api", s->agent1.u.id, "agent", 1, now, now, now + 600 };
    (void)s;
    return c;
}

/* A token signed by libjwt with alg and key. */
static char *forge(jwt_alg_t alg, const void *key, size_t keylen, const struct claims *c)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    if (c->iss)
        jwt_add_grant(j, "iss", c->iss);
    if (c->aud)
        jwt_add_grant(j, "aud", c->aud);
    if (c->sub)
        jwt_add_grant(j, "sub", c->sub);
    if (c->role)
        jwt_add_grant(j, "role", c->role);
    jwt_add_grant(j, "jti", "0123456789abcdef");
    jwt_add_grant_int(j, "ver", c->ver);
    jwt_add_grant_int(j, "iat", c->iat);
    jwt_add_grant_int(j, "nbf", c->nbf);
    jwt_add_grant_int(j, "exp", c->exp);
    assert_int_equal(jwt_set_alg(j, alg, key, (int)keylen), 0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    assert_non_null(t);
    return t; /* free() */
}

static void b64url(const void *data, size_t len, struct buf *out)
{
    char tmp[4096];
    sodium_bin2base64(tmp, sizeof tmp, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_puts(out, tmp);
}

/* header.payload.HMAC-SHA256(secret) built by hand. */
static char *forge_raw(const char *header, const char *payload, const char *secret, bool sign)
{
    struct buf b = BUF_INIT;
    b64url(header, strlen(header), &b);
    buf_putc(&b, '.');
    b64url(payload, strlen(payload), &b);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)b.data, b.len);
    crypto_auth_hmacsha256_final(&st, mac);
    buf_putc(&b, '.');
    if (sign)
        b64url(mac, sizeof mac, &b);
    return buf_steal(&b);
}

static void expect_401(struct tdsrv *s, const char *token, const char *reason, int line)
{
    struct http h;
    http_get(s, "/api/v1/me", token, &h);
    expect_problem(&h, 401, reason, line);
    if (strstr(h.www_auth, "Bearer") == NULL)
        fail_msg("line %d: no WWW-Authenticate: Bearer header", line);
    http_clear(&h);
}
#define EXPECT_401(tok, reason) expect_401(s, (tok), (reason), __LINE__)

static void test_jwt_attacks(void **state)
{
    struct tdsrv *s = SRV(state);
    struct claims c = good_claims(s);
    c.ver = s->agent1.u.token_version;
    char *t;

    /* Control: a correctly forged token (we know the secret) works. */
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &c);
    struct http h;
    http_get(s, "/api/v1/me", t, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    free(t);

    t = forge(JWT_ALG_NONE, NULL, 0, &c);
    EXPECT_401(t, "alg none");
    free(t);
    t = forge(JWT_ALG_HS512, s->secret, strlen(s->secret), &c);
    EXPECT_401(t, "wrong algorithm");
    free(t);
    t = forge(JWT_ALG_HS384, s->secret, strlen(s->secret), &c);
    EXPECT_401(t, "wrong algorithm");
    free(t);
    t = forge(JWT_ALG_HS256, "another secret that is long enough!!", 36, &c);
    EXPECT_401(t, "bad signature");
    free(t);

    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"iss\":\"ticketd\",\"aud\":\"ticketd-api\",\"sub\":\"%s\",\"role\":\"agent\","
             "\"jti\":\"x1\",\"ver\":%ld,\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld}",
             c.sub, c.ver, c.iat, c.nbf, c.exp);
    /* Algorithm confusion: RS256 in the header, HMAC with the secret. */
    t = forge_raw("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, s->secret, true);
    EXPECT_401(t, "wrong algorithm");
    free(t);
    t = forge_raw("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", payload, s->secret, true);
    EXPECT_401(t, "wrong algorithm");
    free(t);
    t = forge_raw("{\"alg\":\"None\"}", payload, s->secret, false);
    EXPECT_401(t, "alg none");
    free(t);
    t = forge_raw("{\"alg\":\"none\"}", payload, s->secret, true);
    EXPECT_401(t, "alg none");
    free(t);
    t = forge_raw("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload, s->secret, true);
    EXPECT_401(t, "critical");
    free(t);
    /* The by-hand builder is right: the same, properly, works. */
    t = forge_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, s->secret, true);
    http_get(s, "/api/v1/me", t, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* Signature stripped or cut short. */
    *strrchr(t, '.') = '\0';
    EXPECT_401(t, "malformed token");
    free(t);
    t = forge_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, s->secret, true);
    t[strlen(t) - 5] = '\0';
    EXPECT_401(t, "bad signature");
    free(t);
    /* One payload bit flipped. */
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &c);
    char *dot = strchr(t, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    EXPECT_401(t, NULL);
    free(t);

    struct claims bad = c;
    bad.exp = (long)time(NULL) - 3600;
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "token expired");
    free(t);
    bad = c;
    bad.nbf = (long)time(NULL) + 3600;
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "not yet valid");
    free(t);
    bad = c;
    bad.iss = "evil";
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "wrong issuer");
    free(t);
    bad = c;
    bad.aud = "another-service";
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "wrong audience");
    free(t);
    bad = c;
    bad.sub = NULL;
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "malformed token");
    free(t);
    bad = c;
    bad.sub = "00000000000000000000beef"; /* no such user */
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "no longer exists");
    free(t);
    bad = c;
    bad.ver = c.ver + 1; /* a version the user does not have */
    t = forge(JWT_ALG_HS256, s->secret, strlen(s->secret), &bad);
    EXPECT_401(t, "token revoked");
    free(t);

    /* Malformed tokens and headers. */
    EXPECT_401("abc", "malformed token");
    EXPECT_401("a.b", "malformed token");
    EXPECT_401("a.b.c.d", "malformed token");
    EXPECT_401("!!!.@@@.###", "malformed token");
    EXPECT_401("e30.e30.", "malformed token");
    EXPECT_401("bm90IGpzb24.e30.c2ln", "malformed token");
    EXPECT_401("", NULL);
    http_req(s, "GET", "/api/v1/me", NULL, NULL, NULL, 0,
             (const char *const[]){ "Authorization: Basic YWRtaW46YWRtaW4=", NULL }, &h);
    EXPECT_PROBLEM(&h, 401, "Bearer");
    http_clear(&h);
    http_get(s, "/api/v1/me", NULL, &h);
    EXPECT_PROBLEM(&h, 401, "missing bearer token");
    http_clear(&h);
}

/* Disabled by another process (here: this test, writing the store
 * itself, as `ticketd user` would): the server, which keeps users for a
 * moment (api/user_cache.c), refuses the account within one second,
 * whatever the credential - its access token and its personal access
 * token alike. */
static void test_disabled_elsewhere_refused_within_a_second(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"elsewhere.agent@example.com\",\"role\":\"agent\",\"password\":\"" API_PW "\"}");
    EXPECT_STATUS(&h, 201);
    char id[TD_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", jstr(&h, "id"));
    http_clear(&h);
    struct tduser a;
    memset(&a, 0, sizeof a);
    a.u.email = (char *)"elsewhere.agent@example.com";
    assert_true(tdsrv_login(s, &a));
    http_json(s, "POST", "/api/v1/tokens", a.access, &h, "{\"name\":\"script\",\"scopes\":[\"read\"]}");
    EXPECT_STATUS(&h, 201);
    char pat[64];
    snprintf(pat, sizeof pat, "%s", jstr(&h, "token"));
    http_clear(&h);
    const char *creds[] = { a.access, pat };
    for (int i = 0; i < 6; i++) { /* the server now has the user at hand */
        http_get(s, "/api/v1/me", creds[i % 2], &h);
        EXPECT_STATUS(&h, 200);
        http_clear(&h);
    }
    struct td_err err;
    struct store *st = NULL;
    assert_true(store_open(s->store_uri, &st, &err));
    struct td_core core;
    core_defaults(&core, st);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (!user_set_disabled(&core, NULL, id, true, &err))
        fail_msg("disable: %s", err.msg);
    store_close(st);
    for (int c = 0; c < 2; c++) {
        long long waited = 0;
        long status = 200;
        while (status == 200 && waited < 3000) {
            status = http_get(s, "/api/v1/me", creds[c], &h);
            http_clear(&h);
            clock_gettime(CLOCK_MONOTONIC, &ts);
            waited = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0;
            if (status == 200) {
                struct timespec nap = { 0, 20 * 1000 * 1000 };
                nanosleep(&nap, NULL);
            }
        }
        if (status != 401 || waited > 1000)
            fail_msg("a user disabled elsewhere still got %ld after %lld ms with its %s", status,
                     waited, c == 0 ? "access token" : "personal access token");
    }
}

/* The value of one /metrics sample (-1: none). */
static double metric(struct tdsrv *s, const char *name)
{
    struct http h;
    assert_int_equal(http_get(s, "/metrics", NULL, &h), 200);
    double v = -1;
    size_t n = strlen(name);
    for (const char *p = h.body.data; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            v = strtod(p + n + 1, NULL);
    http_clear(&h);
    return v;
}

/* A personal access token's requests find their owner in the user cache
 * as an access token's do: a burst of them reads the user from the store
 * about once, not once each. */
static void test_pat_requests_use_the_user_cache(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    http_json(s, "POST", "/api/v1/tokens", s->agent2.access, &h,
              "{\"name\":\"burst\",\"scopes\":[\"read\"]}");
    EXPECT_STATUS(&h, 201);
    char pat[64];
    snprintf(pat, sizeof pat, "%s", jstr(&h, "token"));
    http_clear(&h);
    const char *reads = "ticketd_store_operation_duration_seconds_count{op=\"user_get\"}";
    double before = metric(s, reads);
    for (int i = 0; i < 20; i++) {
        http_get(s, "/api/v1/me", pat, &h);
        EXPECT_STATUS(&h, 200);
        http_clear(&h);
    }
    double used = metric(s, reads) - before;
    if (used > 10) /* a refill per USER_CACHE_TTL_MS at most, even slowed by ASan */
        fail_msg("20 requests with one token read the user %.0f times", used);
}

/* Disabling a user or changing their role kills their tokens at once. */
static void test_tokens_die_on_account_change(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"temp.agent@example.com\",\"role\":\"agent\",\"password\":\"" API_PW "\"}");
    EXPECT_STATUS(&h, 201);
    struct tduser a;
    memset(&a, 0, sizeof a);
    a.u.email = (char *)"temp.agent@example.com";
    char id[TD_ID_LEN + 1], path[96];
    snprintf(id, sizeof id, "%s", jstr(&h, "id"));
    http_clear(&h);
    assert_true(tdsrv_login(s, &a));
    snprintf(path, sizeof path, "/api/v1/users/%s", id);

    http_json(s, "PATCH", path, s->admin.access, &h, "{\"disabled\":true}");
    EXPECT_STATUS(&h, 200);
    assert_true(json_is_true(json_object_get(h.json, "disabled")));
    http_clear(&h);
    expect_401(s, a.access, "disabled", __LINE__);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", a.refresh);
    EXPECT_PROBLEM(&h, 401, NULL);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"temp.agent@example.com\",\"password\":\"" API_PW "\"}");
    EXPECT_PROBLEM(&h, 401, NULL);
    http_clear(&h);

    http_json(s, "PATCH", path, s->admin.access, &h, "{\"disabled\":false}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* Enabled again, the old token still does not come back. */
    expect_401(s, a.access, "token revoked", __LINE__);
    assert_true(tdsrv_login(s, &a));
    http_get(s, "/api/v1/tickets", a.access, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* A role change: the agent token dies; a new login is a customer. */
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"role\":\"customer\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    expect_401(s, a.access, "token revoked", __LINE__);
    assert_true(tdsrv_login(s, &a));
    http_get(s, "/api/v1/me", a.access, &h);
    assert_string_equal(jstr(&h, "role"), "customer");
    http_clear(&h);
    /* Admins cannot lock themselves out. */
    snprintf(path, sizeof path, "/api/v1/users/%s", s->admin.u.id);
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"disabled\":true}");
    EXPECT_PROBLEM(&h, 403, NULL);
    http_clear(&h);
}

/* ---- refresh tokens ---------------------------------------------------------- */

static long refresh(struct tdsrv *s, const char *token, char *fresh, size_t len)
{
    struct http h;
    long st = http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", token);
    if (st == 200 && fresh) {
        assert_non_null(jstr(&h, "access_token"));
        snprintf(fresh, len, "%s", jstr(&h, "refresh_token"));
    } else if (st != 200) {
        EXPECT_PROBLEM(&h, 401, NULL);
    }
    http_clear(&h);
    return st;
}

static void test_refresh_rotation(void **state)
{
    struct tdsrv *s = SRV(state);
    struct tduser u;
    memset(&u, 0, sizeof u);
    u.u.email = s->cust2.u.email;
    assert_true(tdsrv_login(s, &u));
    char r1[128], r2[128], r3[128], other[128];
    snprintf(r1, sizeof r1, "%s", u.refresh);
    /* An unrelated login (another family) must survive the reuse below. */
    struct tduser v;
    memset(&v, 0, sizeof v);
    v.u.email = s->cust2.u.email;
    assert_true(tdsrv_login(s, &v));
    snprintf(other, sizeof other, "%s", v.refresh);

    assert_int_equal(refresh(s, r1, r2, sizeof r2), 200);
    assert_string_not_equal(r1, r2);
    assert_int_equal(refresh(s, r2, r3, sizeof r3), 200);
    /* r1 again: a replay. The whole family dies, r3 included. */
    struct http h;
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", r1);
    EXPECT_PROBLEM(&h, 401, "already used");
    http_clear(&h);
    assert_int_equal(refresh(s, r3, NULL, 0), 401);
    assert_int_equal(refresh(s, r2, NULL, 0), 401);
    /* The other login is untouched. */
    assert_int_equal(refresh(s, other, r2, sizeof r2), 200);

    /* Logout revokes the family; it is idempotent. */
    http_json(s, "POST", "/api/v1/auth/logout", NULL, &h, "{\"refresh_token\":\"%s\"}", r2);
    EXPECT_STATUS(&h, 204);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/logout", NULL, &h, "{\"refresh_token\":\"%s\"}", r2);
    EXPECT_STATUS(&h, 204);
    http_clear(&h);
    assert_int_equal(refresh(s, r2, NULL, 0), 401);

    /* Garbage and unknown tokens. */
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h,
              "{\"refresh_token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
    EXPECT_PROBLEM(&h, 401, "unknown refresh token");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"short\"}");
    EXPECT_PROBLEM(&h, 401, "malformed");
    http_clear(&h);
    /* An access token is not a refresh token. */
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", u.access);
    EXPECT_PROBLEM(&h, 401, NULL);
    http_clear(&h);

    /* A password change ends the other sessions (their refresh tokens). */
    assert_true(tdsrv_login(s, &u));
    assert_true(tdsrv_login(s, &v));
    char path[96];
    snprintf(path, sizeof path, "/api/v1/users/%s", s->cust2.u.id);
    http_json(s, "PATCH", path, u.access, &h,
              "{\"password\":\"" API_PW "\",\"current_password\":\"" API_PW "\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    assert_int_equal(refresh(s, v.refresh, NULL, 0), 401);
    expect_401(s, v.access, "token revoked", __LINE__);
    /* The fixture's cust2 tokens died with it: log in again. */
    assert_true(tdsrv_login(s, &s->cust2));
}

/* ---- login rate limiting (a server of its own: it locks out 127.0.0.1) ---- */

static void login_as(struct tdsrv *s, const char *email, const char *pw, struct http *h)
{
    http_json(s, "POST", "/api/v1/auth/login", NULL, h, "{\"email\":\"%s\",\"password\":\"%s\"}",
              email, pw);
}

static void test_login_rate_limits(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE,
                     "login_max_failures_per_account = 3\nlogin_max_failures_per_address = 7\n"
                     "login_window = 600\n"))
        fail_msg("ticketd did not start");
    struct http h;
    /* Account limit: 3 failures on agent1, then even the right password
     * waits; other accounts are unaffected. */
    for (int i = 0; i < 3; i++) {
        login_as(&s, "agent1@example.com", "wrong password!", &h);
        EXPECT_PROBLEM(&h, 401, NULL);
        http_clear(&h);
    }
    login_as(&s, "AGENT1@example.com", API_PW, &h);
    EXPECT_PROBLEM(&h, 429, NULL);
    assert_true(atoi(h.retry_after) > 0 && atoi(h.retry_after) <= 600);
    http_clear(&h);
    login_as(&s, "agent2@example.com", API_PW, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* Address limit: 4 more failures (7 in all) from this address, on
     * various accounts, then nobody logs in from here. */
    const char *accts[] = { "cust1@example.org", "cust2@example.org", "nobody@example.org",
                            "admin@example.com" };
    for (int i = 0; i < 4; i++) {
        login_as(&s, accts[i], "wrong password!", &h);
        EXPECT_PROBLEM(&h, 401, NULL);
        http_clear(&h);
    }
    login_as(&s, "agent2@example.com", API_PW, &h);
    EXPECT_PROBLEM(&h, 429, "too many failed logins");
    http_clear(&h);
    /* Tokens already issued keep working. */
    http_get(&s, "/api/v1/me", s.admin.access, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_attacks),
        cmocka_unit_test(test_tokens_die_on_account_change),
        cmocka_unit_test(test_disabled_elsewhere_refused_within_a_second),
        cmocka_unit_test(test_pat_requests_use_the_user_cache),
        cmocka_unit_test(test_refresh_rotation),
    };
    int failed = api_http_run("api_http_auth", tests, sizeof tests / sizeof tests[0]);
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_login_rate_limits),
    };
    failed += cmocka_run_group_tests_name("api_http/ratelimit", own_server, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

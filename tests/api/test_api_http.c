/* test_api_http.c - the REST API over real HTTP against a real ticketd
 * process, once per storage backend (SQLite, MongoDB test server; narrow
 * with TICKETD_TEST_BACKENDS like the store tests).
 *
 * Covers: the full happy flow with its history, the role table (every
 * endpoint x every role x own/other ticket), the JWT attack list, refresh
 * rotation / reuse detection / logout, tokens dying on disable and role
 * change, registration vs a mail-created account, ETag/If-Match, two
 * agents claiming at once, pagination under concurrent inserts,
 * attachments and their visibility, malformed input (never a 5xx), and
 * failed-login rate limiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/api/api_fixture.h"

#define SRV(state) ((struct tdsrv *)*(state))

/* Fails the test with the response when the status is not `want`. */
#define EXPECT_STATUS(h, want)                                                           \
    do {                                                                                 \
        if ((h)->status != (want))                                                       \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status,      \
                     (int)(want), (int)((h)->body.len > 600 ? 600 : (h)->body.len),       \
                     (h)->body.data ? (h)->body.data : "");                              \
    } while (0)

/* A problem document of this status whose detail contains `reason`. */
static void expect_problem(const struct http *h, long status, const char *reason, int line)
{
    if (h->status != status)
        fail_msg("line %d: HTTP %ld, expected %ld: %.*s", line, h->status, status,
                 (int)h->body.len, h->body.data ? h->body.data : "");
    if (strncmp(h->content_type, "application/problem+json", 24) != 0)
        fail_msg("line %d: Content-Type '%s', expected application/problem+json", line,
                 h->content_type);
    if (jint(h, "status") != status || jstr(h, "type") == NULL || jstr(h, "title") == NULL)
        fail_msg("line %d: not a problem document: %.*s", line, (int)h->body.len, h->body.data);
    const char *detail = jstr(h, "detail");
    if (reason && (detail == NULL || strstr(detail, reason) == NULL))
        fail_msg("line %d: detail '%s' does not say '%s'", line, detail ? detail : "(none)",
                 reason);
}
#define EXPECT_PROBLEM(h, status, reason) expect_problem((h), (status), (reason), __LINE__)

/* Opens a ticket as u; returns its number. */
static int64_t open_ticket(struct tdsrv *s, const struct tduser *u, const char *subject)
{
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", u->access, &h,
              "{\"subject\":\"%s\",\"body\":\"please help\"}", subject);
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    assert_true(n > 0);
    http_clear(&h);
    return n;
}

/* Multipart comment with one file; returns the attachment id in id. */
static void upload(struct tdsrv *s, const struct tduser *u, int64_t ticket, bool internal,
                   const char *name, const void *data, size_t len, char id[TD_ID_LEN + 1])
{
    struct buf b = BUF_INIT;
    const char *bd = "XyZzyBoundary42";
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nfile attached\r\n", bd);
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"internal\"\r\n\r\n%s\r\n", bd,
               internal ? "true" : "false");
    /* The file name as a quoted-string: quotes and backslashes escaped. */
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"", bd);
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_puts(&b, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    buf_append(&b, data, len);
    buf_printf(&b, "\r\n--%s--\r\n", bd);
    char path[96], ct[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)ticket);
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", bd);
    struct http h;
    http_req(s, "POST", path, u->access, ct, b.data, b.len, NULL, &h);
    buf_free(&b);
    EXPECT_STATUS(&h, 201);
    json_t *atts = json_object_get(h.json, "attachments");
    assert_int_equal(json_array_size(atts), 1);
    snprintf(id, TD_ID_LEN + 1, "%s", json_string_value(json_object_get(json_array_get(atts, 0), "id")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(atts, 0), "size")), (long long)len);
    http_clear(&h);
}

/* ---- the happy flow -------------------------------------------------------- */

static void test_happy_flow(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A customer registers... */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"Happy.Customer@Example.org\",\"password\":\"correct horse battery\","
              "\"name\":\"Happy Customer\"}");
    EXPECT_STATUS(&h, 201);
    json_t *user = json_object_get(h.json, "user");
    assert_string_equal(json_string_value(json_object_get(user, "email")), "happy.customer@example.org");
    assert_string_equal(json_string_value(json_object_get(user, "role")), "customer");
    struct tduser c;
    memset(&c, 0, sizeof c);
    snprintf(c.access, sizeof c.access, "%s", jstr(&h, "access_token"));
    char cid[TD_ID_LEN + 1];
    snprintf(cid, sizeof cid, "%s", json_string_value(json_object_get(user, "id")));
    http_clear(&h);
    http_get(s, "/api/v1/me", c.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "id"), cid);
    http_clear(&h);

    /* ... opens a ticket, ... */
    int64_t n = open_ticket(s, &c, "The printer is on fire");
    char path[128];
    /* ... an agent claims it ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    http_req(s, "POST", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "assignee_id"), s->agent1.u.id);
    assert_string_equal(jstr(&h, "status"), "open");
    http_clear(&h);
    /* ... and answers, ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"Unplug it, we are on our way.\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    /* (and sets it pending, waiting for the customer) */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_json(s, "PATCH", path, s->agent1.access, &h, "{\"status\":\"pending\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* ... the customer replies (which reopens it) ... */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, c.access, &h, "{\"body\":\"Done, thanks! ✓\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "status"), "open");
    http_clear(&h);
    /* ... and closes it. */
    http_json(s, "PATCH", path, c.access, &h, "{\"status\":\"closed\"}");
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "status"), "closed");
    http_clear(&h);

    /* The history shows each step, in order, with its actor. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    struct {
        const char *kind, *actor, *new_value;
    } want[] = {
        { "created", cid, "The printer is on fire" },
        { "comment", cid, NULL },
        { "claim", s->agent1.u.id, s->agent1.u.id },
        { "status", s->agent1.u.id, "open" },
        { "comment", s->agent1.u.id, NULL },
        { "status", s->agent1.u.id, "pending" },
        { "comment", cid, NULL },
        { "status", cid, "open" },
        { "status", cid, "closed" },
    };
    json_t *items = json_object_get(h.json, "items");
    if (json_array_size(items) != sizeof want / sizeof want[0])
        fail_msg("history has %zu events, expected %zu: %s", json_array_size(items),
                 sizeof want / sizeof want[0], h.body.data);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *e = json_array_get(items, i);
        assert_string_equal(json_string_value(json_object_get(e, "kind")), want[i].kind);
        assert_string_equal(json_string_value(json_object_get(e, "actor_id")), want[i].actor);
        assert_int_equal(json_integer_value(json_object_get(e, "seq")), (long long)i + 1);
        if (want[i].new_value)
            assert_string_equal(json_string_value(json_object_get(e, "new")), want[i].new_value);
    }
    http_clear(&h);

    /* The conversation, as the customer sees it. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(s, path, c.access, &h);
    EXPECT_STATUS(&h, 200);
    items = json_object_get(h.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "body")),
                        "Done, thanks! ✓");
    http_clear(&h);
}

/* ---- the role table ----------------------------------------------------------- */

enum who { ANON, CUST_OWN, CUST_OTHER, AGENT, ADMIN, N_WHO };
static const char *const who_name[] = { "anonymous", "customer/own", "customer/other", "agent",
                                        "admin" };

struct role_row {
    const char *method;
    const char *path; /* {t} ticket, {a} public / {ai} internal attachment, {v} victim user */
    const char *body; /* {agent} agent1's id, {n} a unique number */
    bool fresh;       /* changes the ticket: a new one per cell */
    long expect[N_WHO];
};

static const struct role_row role_rows[] = {
    { "GET", "/healthz", NULL, false, { 200, 200, 200, 200, 200 } },
    { "GET", "/api/v1/openapi.json", NULL, false, { 200, 200, 200, 200, 200 } },
    { "POST", "/api/v1/auth/logout", "{\"refresh_token\":\"not-a-token\"}", false,
      { 204, 204, 204, 204, 204 } },
    { "GET", "/api/v1/me", NULL, false, { 401, 200, 200, 200, 200 } },
    { "GET", "/api/v1/tickets", NULL, false, { 401, 200, 200, 200, 200 } },
    { "POST", "/api/v1/tickets", "{\"subject\":\"role table\",\"body\":\"b\"}", false,
      { 401, 201, 201, 201, 201 } },
    { "GET", "/api/v1/tickets/{t}", NULL, false, { 401, 200, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"priority\":\"high\"}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"tags\":[\"vip\"]}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"status\":\"pending\"}", true, { 401, 403, 404, 200, 200 } },
    { "PATCH", "/api/v1/tickets/{t}", "{\"status\":\"closed\"}", true, { 401, 200, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/claim", NULL, true, { 401, 403, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/assign", "{\"assignee_id\":\"{agent}\"}", true,
      { 401, 403, 404, 200, 200 } },
    { "GET", "/api/v1/tickets/{t}/history", NULL, false, { 401, 200, 404, 200, 200 } },
    { "GET", "/api/v1/tickets/{t}/comments", NULL, false, { 401, 200, 404, 200, 200 } },
    { "POST", "/api/v1/tickets/{t}/comments", "{\"body\":\"public reply\"}", false,
      { 401, 201, 404, 201, 201 } },
    { "POST", "/api/v1/tickets/{t}/comments", "{\"body\":\"note\",\"internal\":true}", false,
      { 401, 403, 404, 201, 201 } },
    { "GET", "/api/v1/attachments/{a}", NULL, false, { 401, 200, 404, 200, 200 } },
    { "GET", "/api/v1/attachments/{ai}", NULL, false, { 401, 404, 404, 200, 200 } },
    { "GET", "/api/v1/users", NULL, false, { 401, 403, 403, 403, 200 } },
    { "POST", "/api/v1/users", "{\"email\":\"made{n}@example.org\",\"role\":\"agent\"}", false,
      { 401, 403, 403, 403, 201 } },
    { "GET", "/api/v1/users/{v}", NULL, false, { 401, 403, 403, 403, 200 } },
    { "PATCH", "/api/v1/users/{v}", "{\"role\":\"customer\"}", false, { 401, 403, 403, 403, 200 } },
    { "PATCH", "/api/v1/users/{v}", "{\"disabled\":false}", false, { 401, 403, 403, 403, 200 } },
};

struct role_target {
    int64_t ticket;
    char att[TD_ID_LEN + 1], att_internal[TD_ID_LEN + 1];
};

/* A ticket of owner with a public attachment (by the owner) and an
 * internal note's attachment (by agent2). */
static void make_target(struct tdsrv *s, const struct tduser *owner, struct role_target *t)
{
    t->ticket = open_ticket(s, owner, "role target");
    upload(s, owner, t->ticket, false, "public.txt", "public", 6, t->att);
    upload(s, &s->agent2, t->ticket, true, "internal.txt", "secret", 6, t->att_internal);
}

static void subst(char *out, size_t len, const char *tmpl, const struct role_target *t,
                  const char *victim, const char *agent, int n)
{
    struct buf b = BUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{t}", 3) == 0) {
            buf_printf(&b, "%lld", (long long)t->ticket);
            p += 3;
        } else if (strncmp(p, "{a}", 3) == 0) {
            buf_puts(&b, t->att);
            p += 3;
        } else if (strncmp(p, "{ai}", 4) == 0) {
            buf_puts(&b, t->att_internal);
            p += 4;
        } else if (strncmp(p, "{v}", 3) == 0) {
            buf_puts(&b, victim);
            p += 3;
        } else if (strncmp(p, "{agent}", 7) == 0) {
            buf_puts(&b, agent);
            p += 7;
        } else if (strncmp(p, "{n}", 3) == 0) {
            buf_printf(&b, "%d", n);
            p += 3;
        } else {
            buf_putc(&b, *p++);
        }
    }
    snprintf(out, len, "%s", b.data ? b.data : "");
    buf_free(&b);
}

static void test_role_table(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A user for the user-management rows, so no fixture user changes. */
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"victim@example.org\",\"role\":\"customer\"}");
    EXPECT_STATUS(&h, 201);
    char victim[TD_ID_LEN + 1];
    snprintf(victim, sizeof victim, "%s", jstr(&h, "id"));
    http_clear(&h);

    struct role_target own, other;
    make_target(s, &s->cust1, &own);
    make_target(s, &s->cust2, &other);
    const struct tduser *actor[N_WHO] = { NULL, &s->cust1, &s->cust1, &s->agent1, &s->admin };
    int failures = 0, cells = 0, n = 0;
    for (size_t r = 0; r < sizeof role_rows / sizeof role_rows[0]; r++) {
        const struct role_row *row = &role_rows[r];
        for (int w = 0; w < N_WHO; w++) {
            struct role_target fresh;
            const struct role_target *t = w == CUST_OTHER ? &other : &own;
            if (row->fresh && strstr(row->path, "{t}")) {
                fresh.ticket = open_ticket(s, w == CUST_OTHER ? &s->cust2 : &s->cust1, "fresh");
                fresh.att[0] = fresh.att_internal[0] = '\0';
                t = &fresh;
            }
            char path[256], body[256];
            subst(path, sizeof path, row->path, t, victim, s->agent1.u.id, n);
            subst(body, sizeof body, row->body ? row->body : "", t, victim, s->agent1.u.id, n++);
            http_req(s, row->method, path, actor[w] ? actor[w]->access : NULL,
                     row->body ? "application/json" : NULL, row->body ? body : NULL,
                     strlen(body), NULL, &h);
            cells++;
            if (h.status != row->expect[w]) {
                print_error("%s %s as %s: HTTP %ld, expected %ld: %.*s\n", row->method, row->path,
                            who_name[w], h.status, row->expect[w], (int)h.body.len,
                            h.body.data ? h.body.data : "");
                failures++;
            } else if (h.status >= 400 &&
                       (jint(&h, "status") != h.status ||
                        strncmp(h.content_type, "application/problem+json", 24) != 0)) {
                print_error("%s %s as %s: error is not problem+json\n", row->method, row->path,
                            who_name[w]);
                failures++;
            }
            http_clear(&h);
        }
    }
    if (failures)
        fail_msg("%d of %d role table cells wrong", failures, cells);

    /* A customer's list holds only their own tickets, whatever they ask. */
    char q[160];
    snprintf(q, sizeof q, "/api/v1/tickets?limit=100&requester=%s", s->cust2.u.id);
    http_get(s, q, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        assert_string_equal(json_string_value(json_object_get(t, "requester_id")), s->cust1.u.id);
    http_clear(&h);
    /* A customer's comment list has no internal notes. */
    snprintf(q, sizeof q, "/api/v1/tickets/%lld/comments", (long long)own.ticket);
    http_get(s, q, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        assert_false(json_is_true(json_object_get(t, "internal")));
    http_clear(&h);
    http_get(s, q, s->agent1.access, &h);
    bool saw_internal = false;
    json_array_foreach(json_object_get(h.json, "items"), i, t)
        saw_internal |= json_is_true(json_object_get(t, "internal"));
    assert_true(saw_internal);
    http_clear(&h);
}

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

/* Disabled by another process (here: this test, writing the store
 * itself, as `ticketd user` would): the server, which keeps users for a
 * moment, refuses the account's token within one second. */
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
    for (int i = 0; i < 3; i++) { /* the server now has the user at hand */
        http_get(s, "/api/v1/me", a.access, &h);
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
    long long waited = 0;
    long status = 200;
    while (status == 200 && waited < 3000) {
        status = http_get(s, "/api/v1/me", a.access, &h);
        http_clear(&h);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        waited = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0;
        if (status == 200) {
            struct timespec nap = { 0, 20 * 1000 * 1000 };
            nanosleep(&nap, NULL);
        }
    }
    if (status != 401 || waited > 1000)
        fail_msg("a user disabled elsewhere still got %ld after %lld ms", status, waited);
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
    http_json(s, "PATCH", path, u.access, &h, "{\"password\":\"" API_PW "\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    assert_int_equal(refresh(s, v.refresh, NULL, 0), 401);
    expect_401(s, v.access, "token revoked", __LINE__);
    /* The fixture's cust2 tokens died with it: log in again. */
    assert_true(tdsrv_login(s, &s->cust2));
}

/* ---- registration ---------------------------------------------------------------- */

static void test_register(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    /* A customer the mail gateway created (no password): registering the
     * address must not hand over their tickets. */
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"from.mail@example.org\",\"role\":\"customer\"}");
    EXPECT_STATUS(&h, 201);
    assert_false(json_is_true(json_object_get(h.json, "has_password")));
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"FROM.MAIL@example.org\",\"password\":\"i am not them at all\"}");
    EXPECT_PROBLEM(&h, 409, "already exists");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"from.mail@example.org\",\"password\":\"i am not them at all\"}");
    EXPECT_PROBLEM(&h, 401, NULL);
    http_clear(&h);
    /* An existing account with a password, too. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"%s\",\"password\":\"whatever whatever\"}", s->cust1.u.email);
    EXPECT_PROBLEM(&h, 409, NULL);
    http_clear(&h);
    /* Core's rules: bad address, short password. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"not an address\",\"password\":\"long enough password\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"short@example.org\",\"password\":\"short\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    /* Registration cannot choose a role. */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"sneaky@example.org\",\"password\":\"long enough password\",\"role\":\"admin\"}");
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
}

/* ---- ETag / If-Match ---------------------------------------------------------- */

static void test_etag_if_match(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, &s->cust1, "etag");
    char path[64], etag[64], stale[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    struct http h;
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    snprintf(etag, sizeof etag, "%s", h.etag);
    char want[32];
    snprintf(want, sizeof want, "\"%lld\"", jint(&h, "version"));
    assert_string_equal(etag, want);
    http_clear(&h);

    char hdr[96];
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
    const char *const ifm[] = { hdr, NULL };
    const char *body = "{\"priority\":\"urgent\"}";
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), ifm, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_not_equal(h.etag, etag);
    snprintf(stale, sizeof stale, "%s", etag);
    snprintf(etag, sizeof etag, "%s", h.etag);
    http_clear(&h);
    /* The old ETag again: 412, nothing written. */
    body = "{\"priority\":\"low\"}";
    http_req(s, "PATCH", path, s->agent2.access, "application/json", body, strlen(body), ifm, &h);
    EXPECT_PROBLEM(&h, 412, "changed by someone else");
    http_clear(&h);
    http_get(s, path, s->agent1.access, &h);
    assert_string_equal(jstr(&h, "priority"), "urgent");
    assert_string_equal(h.etag, etag);
    http_clear(&h);
    /* Weak or garbage tags never match; * matches anything. */
    const char *const weak[] = { "If-Match: W/\"999\"", NULL };
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), weak, &h);
    EXPECT_PROBLEM(&h, 412, NULL);
    http_clear(&h);
    const char *const star[] = { "If-Match: *", NULL };
    http_req(s, "PATCH", path, s->agent1.access, "application/json", body, strlen(body), star, &h);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    (void)stale;
}

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

/* ---- filters ---------------------------------------------------------------- */

static size_t count_items(struct tdsrv *s, const char *token, const char *query)
{
    struct http h;
    char path[400];
    snprintf(path, sizeof path, "/api/v1/tickets?limit=100&%s", query);
    http_get(s, path, token, &h);
    EXPECT_STATUS(&h, 200);
    size_t n = json_array_size(json_object_get(h.json, "items"));
    http_clear(&h);
    return n;
}

static void test_filters(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"Filter Zebra unique\",\"body\":\"body words\",\"tags\":[\"ZebraTag\"],"
              "\"priority\":\"urgent\",\"queue\":\"zebra-queue\"}");
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, s->agent1.access, &h,
              "{\"body\":\"secret quokka remark\",\"internal\":true}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    const char *tok = s->agent1.access;
    assert_int_equal(count_items(s, tok, "q=zebra%20UNIQUE"), 1);
    assert_int_equal(count_items(s, tok, "tag=zebratag"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&priority=urgent&status=new"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&priority=low"), 0);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=none"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=me"), 0);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&updated_since=2000-01-01T00:00:00Z"), 1);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&updated_since=2999-01-01T00:00:00%2B02:00"), 0);
    /* The internal note is searchable by staff, not by the customer. */
    assert_int_equal(count_items(s, tok, "q=quokka"), 1);
    assert_int_equal(count_items(s, s->cust1.access, "q=quokka"), 0);
    assert_int_equal(count_items(s, s->cust1.access, "q=zebra"), 1);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    http_req(s, "POST", path, tok, NULL, NULL, 0, NULL, &h);
    http_clear(&h);
    assert_int_equal(count_items(s, tok, "queue=zebra-queue&assignee=me"), 1);
    char q[96];
    snprintf(q, sizeof q, "queue=zebra-queue&assignee=%s", s->agent1.u.id);
    assert_int_equal(count_items(s, tok, q), 1);
    snprintf(q, sizeof q, "queue=zebra-queue&requester=%s", s->cust1.u.id);
    assert_int_equal(count_items(s, tok, q), 1);
}

/* ---- attachments --------------------------------------------------------------- */

static void test_attachments(void **state)
{
    struct tdsrv *s = SRV(state);
    int64_t n = open_ticket(s, &s->cust1, "attachments");
    unsigned char bin[3000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7);
    bin[10] = 0;
    char id[TD_ID_LEN + 1], path[96];
    upload(s, &s->cust1, n, false, "Grüße \"quoted\".bin", bin, sizeof bin, id);
    snprintf(path, sizeof path, "/api/v1/attachments/%s", id);
    struct http h;
    http_get(s, path, s->cust1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(h.body.len, sizeof bin);
    assert_memory_equal(h.body.data, bin, sizeof bin);
    assert_string_equal(h.content_type, "application/octet-stream");
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_PROBLEM(&h, 404, NULL);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/ffffffffffffffffffffffff", s->agent1.access, &h);
    EXPECT_PROBLEM(&h, 404, NULL);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/nothex", s->agent1.access, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    /* The comment lists the attachment with its download URL. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(s, path, s->cust1.access, &h);
    json_t *last = json_array_get(json_object_get(h.json, "items"), 1);
    json_t *att = json_array_get(json_object_get(last, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "name")), "Grüße \"quoted\".bin");
    http_clear(&h);
    /* Form fields are as strict as JSON. */
    const char *bad = "--b\r\nContent-Disposition: form-data; name=\"surprise\"\r\n\r\nx\r\n--b--\r\n";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", bad, strlen(bad),
             NULL, &h);
    EXPECT_PROBLEM(&h, 400, NULL);
    http_clear(&h);
    bad = "--b\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nunterminated";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", bad, strlen(bad),
             NULL, &h);
    EXPECT_PROBLEM(&h, 400, "malformed");
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

/* ---- main ---------------------------------------------------------------------- */

static int group_setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (!tdsrv_start(s, b, NULL)) {
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
    if (s == NULL) /* the setup failed and cleaned up */
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    /* A failing teardown fails the group: ticketd did not exit cleanly. */
    return clean ? 0 : -1;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_flow),
        cmocka_unit_test(test_role_table),
        cmocka_unit_test(test_jwt_attacks),
        cmocka_unit_test(test_tokens_die_on_account_change),
        cmocka_unit_test(test_disabled_elsewhere_refused_within_a_second),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_etag_if_match),
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_pagination_concurrent_inserts),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_malformed_inputs),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_login_rate_limits),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_http/sqlite", tests, setup_sqlite, group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_http/mongodb", tests, setup_mongo, group_teardown);
    failed += cmocka_run_group_tests_name("api_http/ratelimit", own_server, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

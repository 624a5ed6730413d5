/* test_api_tokens.c - personal access tokens end to end, on both stores:
 * issued once (secret in the response only), sent as Bearer td_pat_...,
 * the owner's role narrowed by scopes, last use recorded, revoked through
 * the API and the CLI, ended at once by a password change or disabling
 * the owner, service accounts, expiry. */
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

/* POST /tokens as u (its password session); fills secret and id. */
static void issue(struct tdsrv *s, const char *access, const char *body, char secret[64],
                  char id[32])
{
    struct http h;
    http_json(s, "POST", "/api/v1/tokens", access, &h, "%s", body);
    STATUS(&h, 201);
    assert_non_null(jstr(&h, "token"));
    assert_int_equal(strncmp(jstr(&h, "token"), "td_pat_", 7), 0);
    assert_int_equal(strlen(jstr(&h, "token")), 50);
    snprintf(secret, 64, "%s", jstr(&h, "token"));
    snprintf(id, 32, "%s", jstr(&h, "id"));
    http_clear(&h);
}

static void test_tokens(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char sec[64], id[32];

    /* An admin's read token: reads, acts as an agent, cannot write. */
    issue(s, s->admin.access, "{\"name\":\"export\",\"scopes\":[\"read\"]}", sec, id);
    http_get(s, "/api/v1/me", sec, &h);
    STATUS(&h, 200);
    assert_string_equal(jstr(&h, "id"), s->admin.u.id);
    assert_string_equal(jstr(&h, "role"), "agent");
    http_clear(&h);
    http_get(s, "/api/v1/webhooks", sec, &h); /* admin-only: narrowed away */
    STATUS(&h, 403);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", sec, &h, "{\"subject\":\"s\",\"body\":\"b\"}");
    STATUS(&h, 403);
    assert_string_equal(jstr(&h, "type"), "urn:ticketd:problem:insufficient_scope");
    assert_non_null(strstr(h.www_auth, "insufficient_scope"));
    http_clear(&h);

    /* The list shows it with its last use, never the secret. */
    http_get(s, "/api/v1/tokens", sec, &h);
    STATUS(&h, 200);
    json_t *items = json_object_get(h.json, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *t0 = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "id")), id);
    assert_string_equal(json_string_value(json_object_get(t0, "last_used_addr")), "127.0.0.1");
    assert_true(json_is_string(json_object_get(t0, "last_used_at")));
    assert_null(json_object_get(t0, "token"));
    assert_null(strstr(h.body.data, sec + 7));
    http_clear(&h);

    /* An access token cannot issue tokens. */
    http_json(s, "POST", "/api/v1/tokens", sec, &h, "{\"name\":\"x\",\"scopes\":[\"read\"]}");
    STATUS(&h, 403);
    http_clear(&h);

    /* An admin token with the admin scope keeps admin rights. */
    char asec[64], aid[32];
    issue(s, s->admin.access, "{\"name\":\"ops\",\"scopes\":[\"admin\"]}", asec, aid);
    http_get(s, "/api/v1/users", asec, &h);
    STATUS(&h, 200);
    http_clear(&h);
    /* Not for a customer, though. */
    http_json(s, "POST", "/api/v1/tokens", s->cust1.access, &h,
              "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
    STATUS(&h, 400);
    http_clear(&h);

    /* A customer's write token opens a ticket as that customer. */
    char csec[64], cid[32];
    issue(s, s->cust1.access, "{\"name\":\"crm\",\"scopes\":[\"write\"]}", csec, cid);
    http_json(s, "POST", "/api/v1/tickets", csec, &h, "{\"subject\":\"via token\",\"body\":\"b\"}");
    STATUS(&h, 201);
    assert_string_equal(jstr(&h, "requester_id"), s->cust1.u.id);
    http_clear(&h);

    /* Someone else's token: not found for them; revoking ends it. */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tokens/%s", cid);
    http_req(s, "DELETE", path, s->cust2.access, NULL, NULL, 0, NULL, &h);
    STATUS(&h, 404);
    http_clear(&h);
    http_req(s, "DELETE", path, s->cust1.access, NULL, NULL, 0, NULL, &h);
    STATUS(&h, 204);
    http_clear(&h);
    http_get(s, "/api/v1/me", csec, &h);
    STATUS(&h, 401);
    assert_non_null(strstr(jstr(&h, "detail"), "revoked"));
    http_clear(&h);

    /* Garbage with the prefix is a 401, not a JWT parse. */
    http_get(s, "/api/v1/me", "td_pat_nonsense", &h);
    STATUS(&h, 401);
    http_clear(&h);
    http_get(s, "/api/v1/me", "td_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &h);
    STATUS(&h, 401);
    http_clear(&h);

    /* Bad input is reported field by field. */
    http_json(s, "POST", "/api/v1/tokens", s->cust2.access, &h,
              "{\"name\":\"x\",\"scopes\":[\"root\"],\"expires_at\":\"2001-01-01T00:00:00Z\"}");
    STATUS(&h, 400);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tokens", s->cust2.access, &h,
              "{\"name\":\"x\",\"scopes\":[\"read\"],\"expires_at\":\"2001-01-01T00:00:00Z\"}");
    STATUS(&h, 400);
    http_clear(&h);
}

static void test_tokens_end_with_the_account(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char sec[64], id[32], sec2[64], id2[32];

    /* A password change ends the owner's tokens at once. */
    issue(s, s->cust2.access, "{\"name\":\"a\",\"scopes\":[\"read\"]}", sec, id);
    http_get(s, "/api/v1/me", sec, &h);
    STATUS(&h, 200);
    http_clear(&h);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/users/%s", s->cust2.u.id);
    http_json(s, "PATCH", path, s->cust2.access, &h,
              "{\"password\":\"another long password\",\"current_password\":\"" API_PW "\"}");
    STATUS(&h, 200);
    http_clear(&h);
    http_get(s, "/api/v1/me", sec, &h);
    STATUS(&h, 401);
    http_clear(&h);

    /* Disabling the owner too. */
    issue(s, s->agent2.access, "{\"name\":\"b\",\"scopes\":[\"write\"]}", sec2, id2);
    http_get(s, "/api/v1/tickets", sec2, &h);
    STATUS(&h, 200);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s", s->agent2.u.id);
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"disabled\":true}");
    STATUS(&h, 200);
    http_clear(&h);
    http_get(s, "/api/v1/tickets", sec2, &h);
    STATUS(&h, 401);
    http_clear(&h);
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"disabled\":false}");
    STATUS(&h, 200);
    http_clear(&h);
    http_get(s, "/api/v1/tickets", sec2, &h); /* re-enabling does not revive it */
    STATUS(&h, 401);
    http_clear(&h);
}

static void test_service_account_and_expiry(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    /* An admin makes a service account (no password) and its token. */
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"chatbot@example.com\",\"name\":\"Chat bot\",\"role\":\"agent\"}");
    STATUS(&h, 201);
    char bot[32];
    snprintf(bot, sizeof bot, "%s", jstr(&h, "id"));
    http_clear(&h);
    char body[256], sec[64], id[32];
    snprintf(body, sizeof body, "{\"name\":\"chat\",\"scopes\":[\"write\"],\"user_id\":\"%s\"}", bot);
    issue(s, s->admin.access, body, sec, id);
    http_get(s, "/api/v1/me", sec, &h);
    STATUS(&h, 200);
    assert_string_equal(jstr(&h, "email"), "chatbot@example.com");
    http_clear(&h);
    /* Not for a person with a password, nor by a non-admin. */
    snprintf(body, sizeof body, "{\"name\":\"x\",\"scopes\":[\"read\"],\"user_id\":\"%s\"}",
             s->cust1.u.id);
    http_json(s, "POST", "/api/v1/tokens", s->admin.access, &h, "%s", body);
    STATUS(&h, 403);
    http_clear(&h);
    snprintf(body, sizeof body, "{\"name\":\"x\",\"scopes\":[\"read\"],\"user_id\":\"%s\"}", bot);
    http_json(s, "POST", "/api/v1/tokens", s->agent1.access, &h, "%s", body);
    STATUS(&h, 403);
    http_clear(&h);
    /* Admins see it in the bot's list. */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tokens?user_id=%s", bot);
    http_get(s, path, s->admin.access, &h);
    STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1);
    http_clear(&h);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 403);
    http_clear(&h);

    /* Expiry: works until expires_at, then 401. */
    time_t soon = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&soon, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"name\":\"short\",\"scopes\":[\"read\"],\"expires_at\":\"%s\"}",
             when);
    char esec[64], eid[32];
    issue(s, s->agent1.access, body, esec, eid);
    http_get(s, "/api/v1/me", esec, &h);
    STATUS(&h, 200);
    http_clear(&h);
    long long deadline = api_now_ms() + 6000;
    long st;
    do {
        usleep(200 * 1000);
        st = http_get(s, "/api/v1/me", esec, &h);
        http_clear(&h);
    } while (st == 200 && api_now_ms() < deadline);
    assert_int_equal(st, 401);
}

/* `ticketd token add|list|revoke` against the same store. */
static void test_cli(void **state)
{
    struct tdsrv *s = *state;
    char bin[PATH_MAX], cmd[PATH_MAX * 2], line[512], secret[64] = "", id[32] = "";
    assert_true(api_ticketd_path(bin, sizeof bin));
    snprintf(cmd, sizeof cmd,
             "%s --config %s token add --email agent1@example.com --name cli --scopes read,write",
             bin, s->conf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "td_pat_", 7) == 0)
            snprintf(secret, sizeof secret, "%.60s", line);
        else if (id[0] == '\0')
            snprintf(id, sizeof id, "%.24s", line);
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(strlen(secret), 50);
    struct http h;
    http_get(s, "/api/v1/me", secret, &h);
    STATUS(&h, 200);
    assert_string_equal(jstr(&h, "email"), "agent1@example.com");
    http_clear(&h);

    snprintf(cmd, sizeof cmd, "%s --config %s token list --email agent1@example.com", bin, s->conf);
    p = popen(cmd, "r");
    assert_non_null(p);
    bool listed = false;
    while (fgets(line, sizeof line, p))
        listed = listed || (strstr(line, id) != NULL && strstr(line, "read,write") != NULL &&
                            strstr(line, "127.0.0.1") != NULL && strstr(line, "td_pat_") == NULL);
    assert_int_equal(pclose(p), 0);
    assert_true(listed);

    snprintf(cmd, sizeof cmd, "%s --config %s token revoke %s >/dev/null", bin, s->conf, id);
    assert_int_equal(system(cmd), 0);
    http_get(s, "/api/v1/me", secret, &h);
    STATUS(&h, 401);
    http_clear(&h);
}

static int setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (s == NULL || !tdsrv_start(s, b, NULL)) {
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_tokens_end_with_the_account),
        cmocka_unit_test(test_service_account_and_expiry),
        cmocka_unit_test(test_cli),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_tokens/sqlite", tests, setup_sqlite, teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_tokens/mongodb", tests, setup_mongo, teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

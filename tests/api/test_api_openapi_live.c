/* test_api_openapi_live.c - a real ticketd (SQLite) answers a scripted
 * session; each response's status must be documented for its operation in
 * api/openapi.json and its body must validate against the documented
 * schema (openapi_check.h). */
#include "tests/api/openapi_check.h"

/* ---- 4: live responses ---------------------------------------------------------- */

struct live {
    struct tdsrv *s;
    json_t *doc;
    int checked, failures;
};

/* The response h of method+pattern must be documented and valid. */
static void live_check(struct live *l, const char *method, const char *pattern,
                       const struct http *h, int line)
{
    char m[16], st[8], ct[128];
    lower(m, method, sizeof m);
    snprintf(st, sizeof st, "%ld", h->status);
    l->checked++;
    json_t *op = json_object_get(json_object_get(json_object_get(l->doc, "paths"), pattern), m);
    json_t *resp = json_object_get(json_object_get(op, "responses"), st);
    if (resp == NULL) {
        print_error("line %d: %s %s answered %s, which is not documented: %.*s\n", line, method,
                    pattern, st, (int)h->body.len, h->body.data ? h->body.data : "");
        l->failures++;
        return;
    }
    json_t *content = json_object_get(resp, "content");
    if (content == NULL) {
        if (h->body.len != 0) {
            print_error("line %d: %s %s %s: documented without a body, got one\n", line, method,
                        pattern, st);
            l->failures++;
        }
        return;
    }
    snprintf(ct, sizeof ct, "%.*s", (int)strcspn(h->content_type, ";"), h->content_type);
    /* Documented media types may carry parameters (text/plain;
     * version=0.0.4): compare the type/subtype only. */
    json_t *media = NULL;
    const char *key;
    json_t *mv;
    json_object_foreach(content, key, mv) {
        if (media == NULL && strncmp(key, ct, strlen(ct)) == 0 &&
            (key[strlen(ct)] == '\0' || key[strlen(ct)] == ';'))
            media = mv;
    }
    if (media == NULL && json_object_get(content, "application/octet-stream") != NULL)
        return; /* any bytes (attachments keep their own type) */
    if (media == NULL) {
        print_error("line %d: %s %s %s: Content-Type %s is not documented\n", line, method,
                    pattern, st, ct);
        l->failures++;
        return;
    }
    if (strcmp(ct, "application/json") != 0 && strcmp(ct, "application/problem+json") != 0)
        return;
    char where[256], err[512];
    snprintf(where, sizeof where, "%s %s %s (line %d)", method, pattern, st, line);
    if (h->json == NULL || !check(l->doc, json_object_get(media, "schema"), h->json, where, err, sizeof err, 0)) {
        print_error("%s: %s\n", where, h->json ? err : "body is not JSON");
        l->failures++;
    }
}

#define LIVE(method, pattern, h) live_check(&l, (method), (pattern), (h), __LINE__)

static void test_live_responses(void **state)
{
    (void)state;
    struct tdsrv srv;
    struct tdsrv *s = &srv;
    /* An SLA policy for the session's low-priority ticket: its "sla"
     * object is checked against the schema too, not only null. */
    if (!tdsrv_start(s, STORE_BACKEND_SQLITE,
                     "[calendar office]\ntimezone = Europe/Berlin\nmon = 09:00-17:00\n"
                     "[sla low]\npriority = low\nfirst_response = 4h\nresolution = 2d\n"
                     "calendar = office\n"))
        fail_msg("ticketd did not start");
    struct live l = { s, load_doc(), 0, 0 };
    struct http h;
    char path[160];
    const char *J = "application/json";

    http_get(s, "/healthz", NULL, &h);
    LIVE("GET", "/healthz", &h);
    http_clear(&h);
    http_get(s, "/readyz", NULL, &h);
    LIVE("GET", "/readyz", &h);
    http_clear(&h);
    http_get(s, "/metrics", NULL, &h);
    LIVE("GET", "/metrics", &h);
    http_clear(&h);
    http_get(s, "/api/v1/openapi.json", NULL, &h);
    LIVE("GET", "/api/v1/openapi.json", &h);
    size_t doc_len;
    const char *doc_text = openapi_doc(&doc_len);
    assert_int_equal(h.body.len, doc_len);
    assert_memory_equal(h.body.data, doc_text, doc_len);
    http_clear(&h);

    /* auth */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\",\"name\":\"Live\"}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\"}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h, "{\"email\":1}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_req(s, "POST", "/api/v1/auth/register", NULL, "text/plain", "x", 1, NULL, &h);
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\"}");
    LIVE("POST", "/api/v1/auth/login", &h);
    char refresh[128];
    snprintf(refresh, sizeof refresh, "%s", jstr(&h, "refresh_token") ? jstr(&h, "refresh_token") : "");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"wrong wrong wrong\"}");
    LIVE("POST", "/api/v1/auth/login", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/refresh", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/refresh", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/logout", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/logout", &h);
    http_clear(&h);
    http_get(s, "/api/v1/me", s->cust1.access, &h);
    LIVE("GET", "/api/v1/me", &h);
    http_clear(&h);
    http_get(s, "/api/v1/me", "garbage", &h);
    LIVE("GET", "/api/v1/me", &h);
    http_clear(&h);

    /* tickets */
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"live\",\"body\":\"b\",\"tags\":[\"x\"],\"priority\":\"low\"}");
    LIVE("POST", "/api/v1/tickets", &h);
    long long n = jint(&h, "number");
    assert_non_null(strstr(h.body.data, "\"sla\":null")); /* a customer sees no SLA */
    http_clear(&h);
    char tpath[64];
    snprintf(tpath, sizeof tpath, "/api/v1/tickets/%lld", n);
    http_get(s, tpath, s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    assert_non_null(strstr(h.body.data, "\"first_response_due\":\"")); /* staff: the policy applied */
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h, "{\"subject\":\"\",\"body\":\"b\"}");
    LIVE("POST", "/api/v1/tickets", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"s\",\"body\":\"b\",\"requester_id\":\"%s\"}", s->cust2.u.id);
    LIVE("POST", "/api/v1/tickets", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets?limit=1", s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets?limit=nope", s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", n);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    char etag[96];
    snprintf(etag, sizeof etag, "If-Match: %s", h.etag);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets/x", s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->cust1.access, &h, "{\"priority\":\"high\"}");
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    const char *const ifm[] = { etag, NULL };
    const char *body = "{\"priority\":\"high\",\"subject\":\"live 2\"}";
    http_req(s, "PATCH", path, s->agent1.access, J, body, strlen(body), ifm, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_req(s, "PATCH", path, s->agent1.access, J, body, strlen(body), ifm, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_req(s, "PATCH", path, s->agent1.access, "text/plain", body, strlen(body), NULL, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", n);
    http_req(s, "POST", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    http_req(s, "POST", path, s->agent2.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    http_req(s, "POST", path, s->cust1.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/assign", n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"assignee_id\":null}");
    LIVE("POST", "/api/v1/tickets/{number}/assign", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"assignee_id\":\"%s\"}", s->cust1.u.id);
    LIVE("POST", "/api/v1/tickets/{number}/assign", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"note\",\"internal\":true}");
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    const char *form = "--b\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"x.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", form, strlen(form),
             NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    char att[TD_ID_LEN + 1] = "";
    json_t *a = json_array_get(json_object_get(h.json, "attachments"), 0);
    snprintf(att, sizeof att, "%s", a ? json_string_value(json_object_get(a, "id")) : "");
    http_clear(&h);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"body\":\"n\",\"internal\":true}");
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", n);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/history", &h);
    http_clear(&h);
    /* conversations: participants and merge (routes_participants.c,
     * routes_merge.c) */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants", n);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"emails\":[\"cc.live@example.org\"]}");
    LIVE("POST", "/api/v1/tickets/{number}/participants", &h);
    assert_int_equal(h.status, 200);
    json_t *first = json_array_get(json_object_get(h.json, "items"), 0);
    char pid[TD_ID_LEN + 1];
    snprintf(pid, sizeof pid, "%s", json_string_value(json_object_get(first, "id")));
    http_clear(&h);
    http_json(s, "POST", path, s->cust1.access, &h, "{}");
    LIVE("POST", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants/%s", n, pid);
    http_req(s, "DELETE", path, s->cust2.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/tickets/{number}/participants/{user_id}", &h);
    http_clear(&h);
    http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/tickets/{number}/participants/{user_id}", &h);
    assert_int_equal(h.status, 204);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h, "{\"subject\":\"dup\",\"body\":\"b\"}");
    long long dup = jint(&h, "number");
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/merge", dup);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"into\":%lld}", n);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", n);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    assert_int_equal(h.status, 200);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", dup + 100);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", dup);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/history", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", dup);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    assert_int_equal(jint(&h, "merged_into"), n);
    http_clear(&h);

    /* agents' aliases (routes_aliases.c); this server sends no mail */
    snprintf(path, sizeof path, "/api/v1/users/%.24s/aliases", s->agent1.u.id);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    assert_int_equal(h.status, 201);
    http_clear(&h);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"email\":\"al@phone.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    assert_int_equal(h.status, 503);
    http_clear(&h);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%.24s/aliases/al@home.example", s->agent1.u.id);
    http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/users/{id}/aliases/{email}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/auth/aliases/confirm?token=nope", NULL, &h);
    LIVE("GET", "/api/v1/auth/aliases/confirm", &h);
    http_clear(&h);

    snprintf(path, sizeof path, "/api/v1/attachments/%s", att);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    assert_int_equal(h.status, 200);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/zz", s->cust2.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    http_clear(&h);

    /* users */
    http_get(s, "/api/v1/users?role=agent", s->admin.access, &h);
    LIVE("GET", "/api/v1/users", &h);
    http_clear(&h);
    http_get(s, "/api/v1/users", s->agent1.access, &h);
    LIVE("GET", "/api/v1/users", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"new.agent@example.com\",\"role\":\"agent\",\"password\":\"" API_PW "\"}");
    LIVE("POST", "/api/v1/users", &h);
    char uid[TD_ID_LEN + 1];
    snprintf(uid, sizeof uid, "%s", jstr(&h, "id") ? jstr(&h, "id") : "");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"new.agent@example.com\",\"role\":\"agent\"}");
    LIVE("POST", "/api/v1/users", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s", uid);
    http_get(s, path, s->admin.access, &h);
    LIVE("GET", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/users/ffffffffffffffffffffffff", s->admin.access, &h);
    LIVE("GET", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"role\":\"admin\",\"disabled\":true}");
    LIVE("PATCH", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->agent1.access, &h, "{\"disabled\":false}");
    LIVE("PATCH", "/api/v1/users/{id}", &h);
    http_clear(&h);

    json_decref(l.doc);
    bool clean = tdsrv_stop(s);
    if (l.failures)
        fail_msg("%d of %d live responses do not match api/openapi.json", l.failures, l.checked);
    assert_true(clean);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_responses),
    };
    int failed = cmocka_run_group_tests_name("api_openapi_live", tests, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

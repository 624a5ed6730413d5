/* test_api_conversation.c - participants, comment cc, merge and agents'
 * aliases over real HTTP against a real ticketd, once per storage
 * backend: a customer who is a participant reads the ticket and its
 * public comments (never the internal notes), a comment's cc adds
 * people, each change is in the history, a merged ticket says where it
 * went, and an agent's own alias counts only after the mailed link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/store/store.h"
#include "tests/api/api_fixture.h"

#define SRV(state) ((struct tdsrv *)*(state))

#define EXPECT_STATUS(h, want)                                                           \
    do {                                                                                 \
        if ((h)->status != (want))                                                       \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status,      \
                     (int)(want), (int)((h)->body.len > 600 ? 600 : (h)->body.len),       \
                     (h)->body.data ? (h)->body.data : "");                              \
    } while (0)

static int64_t open_ticket(struct tdsrv *s, const struct tduser *u, const char *subject)
{
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", u->access, &h,
              "{\"subject\":\"%s\",\"body\":\"please help\"}", subject);
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    return n;
}

static size_t history_count(struct tdsrv *s, int64_t n, const char *kind, const char **link)
{
    struct http h;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    json_t *items = json_object_get(h.json, "items");
    size_t k = 0, i;
    json_t *e;
    static char last_link[64];
    json_array_foreach(items, i, e) {
        const char *ki = json_string_value(json_object_get(e, "kind"));
        if (ki && strcmp(ki, kind) == 0) {
            k++;
            const char *l = json_string_value(json_object_get(e, "link"));
            snprintf(last_link, sizeof last_link, "%s", l ? l : "");
        }
    }
    http_clear(&h);
    if (link)
        *link = last_link;
    return k;
}

static void test_participant_reads_conversation(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    char path[128];
    int64_t n = open_ticket(s, &s->cust1, "shared problem");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 404); /* before: not even its existence */
    http_clear(&h);

    /* An agent's public reply cc's cust2 in; an internal note follows. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_json(s, "POST", path, s->agent1.access, &h,
              "{\"body\":\"looping in your colleague\",\"cc\":[\"%s\"]}", s->cust2.u.email);
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"secret\",\"internal\":true}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);

    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    json_t *ids = json_object_get(h.json, "participant_ids");
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), s->cust2.u.id);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 2); /* no note */
    http_clear(&h);
    /* ... and it is in their list. */
    http_get(s, "/api/v1/tickets?q=shared", s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1);
    http_clear(&h);
    /* cust2 answers; may not add people; may leave. */
    http_json(s, "POST", path, s->cust2.access, &h, "{\"body\":\"thanks, same here\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants", (long long)n);
    http_json(s, "POST", path, s->cust2.access, &h, "{\"emails\":[\"third@example.org\"]}");
    EXPECT_STATUS(&h, 403);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants/%s", (long long)n, s->cust2.u.id);
    http_req(s, "DELETE", path, s->cust2.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 204);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 404);
    http_clear(&h);
    assert_int_equal(history_count(s, n, "participant_added", NULL), 1);
    assert_int_equal(history_count(s, n, "participant_removed", NULL), 1);
}

static void test_merge(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    char path[128];
    int64_t target = open_ticket(s, &s->cust1, "original");
    int64_t source = open_ticket(s, &s->cust2, "duplicate");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/merge", (long long)source);
    http_json(s, "POST", path, s->cust2.access, &h, "{\"into\":%lld}", (long long)target);
    EXPECT_STATUS(&h, 403);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", (long long)target);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(jint(&h, "number"), target);
    http_clear(&h);
    /* Again (a retry): the same answer. */
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", (long long)target);
    EXPECT_STATUS(&h, 200);
    http_clear(&h);

    /* The source says where it went; its requester now reads the target. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)source);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(jint(&h, "merged_into"), target);
    assert_string_equal(jstr(&h, "status"), "closed");
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)target);
    http_get(s, path, s->cust2.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 2);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)source);
    http_json(s, "POST", path, s->cust2.access, &h, "{\"body\":\"late\"}");
    EXPECT_STATUS(&h, 409);
    http_clear(&h);
    const char *link = NULL;
    assert_int_equal(history_count(s, target, "merged_from", &link), 1);
    char want[64];
    snprintf(want, sizeof want, "/api/v1/tickets/%lld", (long long)source);
    assert_string_equal(link, want);
    assert_int_equal(history_count(s, source, "merged_into", NULL), 1);
}

/* The confirmation token in the alias_confirm row queued for `to`. */
static void confirm_token(struct tdsrv *s, const char *to, char *out, size_t len)
{
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(s->store_uri, &st, &err));
    struct td_outbox_list l = { NULL, 0 };
    assert_true(st->ops->outbox_list(st, -1, 0, &l, &err));
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].kind, "alias_confirm") != 0 || strcmp(l.v[i].recipient, to) != 0)
            continue;
        json_t *p = json_loads(l.v[i].payload, 0, NULL);
        json_t *vars = json_object_get(p, "vars");
        snprintf(out, len, "%s", json_string_value(json_object_get(vars, "confirm_token")));
        const char *link = json_string_value(json_object_get(vars, "confirm_link"));
        assert_non_null(strstr(link, "https://help.example.com/confirm?token="));
        json_decref(p);
    }
    outbox_list_clear(&l);
    store_close(st);
    assert_true(out[0] != '\0');
}

static void test_aliases(void **state)
{
    struct tdsrv *s = SRV(state);
    struct http h;
    char path[160];
    /* The agent adds their own: waits for the link mailed to it. */
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases", s->agent1.u.id);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"email\":\"Al@Phone.example\"}");
    EXPECT_STATUS(&h, 201);
    assert_false(json_is_true(json_object_get(h.json, "confirmed")));
    http_clear(&h);
    char token[128];
    confirm_token(s, "al@phone.example", token, sizeof token);
    snprintf(path, sizeof path, "/api/v1/auth/aliases/confirm?token=%s", token);
    http_get(s, path, NULL, &h);
    EXPECT_STATUS(&h, 200);
    assert_true(json_is_true(json_object_get(h.json, "confirmed")));
    http_clear(&h);
    http_get(s, path, NULL, &h);
    EXPECT_STATUS(&h, 404); /* once only */
    http_clear(&h);
    /* An admin's is confirmed at once; customers have none; an account's
     * own address is no alias; someone else's alias is taken. */
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases", s->agent1.u.id);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    EXPECT_STATUS(&h, 201);
    assert_true(json_is_true(json_object_get(h.json, "confirmed")));
    http_clear(&h);
    http_json(s, "POST", path, s->agent2.access, &h, "{\"email\":\"x@y.example\"}");
    EXPECT_STATUS(&h, 403);
    http_clear(&h);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"%s\"}", s->cust1.u.email);
    EXPECT_STATUS(&h, 400);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases", s->agent2.u.id);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    EXPECT_STATUS(&h, 409);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases", s->cust1.u.id);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"c@y.example\"}");
    EXPECT_STATUS(&h, 400);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases", s->agent1.u.id);
    http_get(s, path, s->agent1.access, &h);
    EXPECT_STATUS(&h, 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 2);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s/aliases/al@home.example", s->agent1.u.id);
    http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    EXPECT_STATUS(&h, 204);
    http_clear(&h);
}

static int group_setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (!tdsrv_start(s, b, "[notify]\nsupport_address = support@example.com\n"
                           "alias_confirm_url = https://help.example.com/confirm?token=\n")) {
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
        cmocka_unit_test(test_participant_reads_conversation),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_aliases),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_conversation/sqlite", tests, setup_sqlite,
                                              group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_conversation/mongodb", tests, setup_mongo,
                                              group_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

/* test_api_erase.c - POST /api/v1/users/{id}/erase on both stores: a
 * customer's personal data is gone from the account, their comments,
 * their attachments and the outbox; the tickets stay and their history
 * records the erasure; only admins may, only customers are erased. */
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

static void test_erase(void **state)
{
    struct tdsrv *s = *state;
    struct http h;
    char path[128];
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"Printer\",\"body\":\"Call me on +49 30 1234567, Ann\"}");
    STATUS(&h, 201);
    long long n = jint(&h, "number");
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"We will call you\"}");
    STATUS(&h, 201);
    http_clear(&h);
    /* An attachment of hers. */
    const char *ctype = "multipart/form-data; boundary=XyZ";
    const char *mp = "--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nmy id card\r\n"
                     "--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"id.txt\"\r\n"
                     "Content-Type: text/plain\r\n\r\nANN 123\r\n--XyZ--\r\n";
    http_req(s, "POST", path, s->cust1.access, ctype, mp, strlen(mp), NULL, &h);
    STATUS(&h, 201);
    char att[32];
    snprintf(att, sizeof att, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(h.json, "attachments"), 0), "id")));
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/attachments/%s", att);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 200);
    http_clear(&h);
    /* A mail waiting for her in the outbox. */
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(s->store_uri, &st, &err));
    struct td_outbox o;
    memset(&o, 0, sizeof o);
    snprintf(o.id, sizeof o.id, "0123456789abcdef01234567");
    o.kind = (char *)"reply_to_requester";
    o.ticket = n;
    o.recipient = (char *)"cust1@example.org";
    o.payload = (char *)"{\"vars\":{\"recipient_email\":\"cust1@example.org\"}}";
    o.state = OUTBOX_PENDING;
    o.next_attempt = o.created = 1000;
    assert_true(st->ops->outbox_insert(st, &o, &err));

    /* Not for agents; not for staff accounts. */
    snprintf(path, sizeof path, "/api/v1/users/%s/erase", s->cust1.u.id);
    http_json(s, "POST", path, s->agent1.access, &h, NULL);
    STATUS(&h, 403);
    http_clear(&h);
    char staff[128];
    snprintf(staff, sizeof staff, "/api/v1/users/%s/erase", s->agent2.u.id);
    http_json(s, "POST", staff, s->admin.access, &h, NULL);
    STATUS(&h, 400);
    http_clear(&h);

    http_json(s, "POST", path, s->admin.access, &h, NULL);
    STATUS(&h, 200);
    json_t *u = json_object_get(h.json, "user");
    char want[80];
    snprintf(want, sizeof want, "erased-%s@erased.invalid", s->cust1.u.id);
    assert_string_equal(json_string_value(json_object_get(u, "email")), want);
    assert_string_equal(json_string_value(json_object_get(u, "name")), "Erased customer");
    assert_true(json_is_true(json_object_get(u, "disabled")));
    assert_true(json_is_false(json_object_get(u, "has_password")));
    assert_int_equal(jint(&h, "comments"), 2);
    assert_int_equal(jint(&h, "attachments"), 1);
    assert_int_equal(jint(&h, "outbox_rows"), 1);
    assert_true(jint(&h, "tickets") >= 1);
    http_clear(&h);

    /* Her session is over. */
    http_get(s, "/api/v1/me", s->cust1.access, &h);
    STATUS(&h, 401);
    http_clear(&h);
    /* The ticket stays; her words are gone, the agent's are not. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", n);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 200);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 200);
    assert_null(strstr(h.body.data, "1234567"));
    assert_null(strstr(h.body.data, "my id card"));
    assert_null(strstr(h.body.data, "id.txt"));
    assert_non_null(strstr(h.body.data, "We will call you"));
    assert_non_null(strstr(h.body.data, "[erased]"));
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/attachments/%s", att);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 404);
    http_clear(&h);
    /* Recorded in the history, by the admin. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", n);
    http_get(s, path, s->agent1.access, &h);
    STATUS(&h, 200);
    json_t *items = json_object_get(h.json, "items");
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "erased");
    assert_string_equal(json_string_value(json_object_get(last, "actor_id")), s->admin.u.id);
    http_clear(&h);
    /* The outbox: no address, no content, not sent. */
    struct td_outbox_list l = { NULL, 0 };
    assert_true(st->ops->outbox_list(st, -1, 0, &l, &err));
    bool found = false;
    for (size_t i = 0; i < l.n; i++) {
        assert_null(strstr(l.v[i].recipient, "cust1@"));
        assert_null(strstr(l.v[i].payload ? l.v[i].payload : "", "cust1@"));
        if (strcmp(l.v[i].id, o.id) == 0) {
            found = true;
            assert_int_equal(l.v[i].state, OUTBOX_FAILED);
        }
    }
    assert_true(found);
    outbox_list_clear(&l);
    store_close(st);
    /* Again: nothing left to do, no error. */
    snprintf(path, sizeof path, "/api/v1/users/%s/erase", s->cust1.u.id);
    http_json(s, "POST", path, s->admin.access, &h, NULL);
    STATUS(&h, 200);
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
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_erase) };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_erase/sqlite", tests, setup_sqlite, teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_erase/mongodb", tests, setup_mongo, teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

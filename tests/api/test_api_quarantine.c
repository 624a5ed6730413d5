/* test_api_quarantine.c - the quarantine over HTTP for admins
 * (api/routes_quarantine.c) on a real ticketd, against each store
 * backend: list, show (the head as safe text), raw download, retry (the
 * mail gateway ingests it again: an auto-reply becomes a ticket and
 * leaves the quarantine) and delete; everyone but admins gets 403. The
 * entries are written straight into the store, as the gateway would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/id.h"
#include "core/store/store.h"
#include "tests/api/api_fixture.h"


static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return (unsigned char *)b.data;
}

static void put_entry(const struct tdsrv *s, char id[TD_ID_LEN + 1], const char *reason,
                      unsigned char *raw, size_t len)
{
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(s->store_uri, &st, &err));
    struct td_quarantine q;
    memset(&q, 0, sizeof q);
    id_new(q.id);
    q.mailbox = (char *)"support";
    q.uidvalidity = 1;
    q.uid = 7;
    q.msg_key = (char *)"<ooo-0001@mail.gmail.com>";
    q.reason = (char *)reason;
    q.sender = (char *)"Anna \x1b[31mSchmidt <anna.schmidt@gmail.com>";
    q.subject = (char *)"Automatic reply: Printer on floor 3 prints blank pages";
    q.raw = raw;
    q.raw_len = q.raw_size = len;
    q.attempts = 1;
    q.created = q.updated = td_now();
    assert_true(st->ops->quarantine_put(st, &q, &err));
    store_close(st);
    snprintf(id, TD_ID_LEN + 1, "%s", q.id);
}

static void quarantine_flow(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL) || !tdsrv_login(&s, &s.admin) || !tdsrv_login(&s, &s.agent1))
        fail_msg("ticketd did not start");
    size_t len;
    unsigned char *raw = read_all("tests/data/mail/autoreply.eml", &len);
    char id1[TD_ID_LEN + 1], id2[TD_ID_LEN + 1], path[160];
    put_entry(&s, id1, "automatic mail (Auto-Submitted: auto-replied)", raw, len);
    put_entry(&s, id2, "a second one, to delete", raw, len);
    struct http h;

    /* Admins only. */
    assert_int_equal(http_get(&s, "/api/v1/quarantine", s.agent1.access, &h), 403);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/quarantine/%s/retry", id1);
    assert_int_equal(http_json(&s, "POST", path, s.agent1.access, &h, "{}"), 403);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/quarantine", NULL, &h), 401);
    http_clear(&h);

    assert_int_equal(http_get(&s, "/api/v1/quarantine", s.admin.access, &h), 200);
    json_t *items = json_object_get(h.json, "items");
    assert_int_equal(json_array_size(items), 2);
    bool seen = false;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "id")), id1) == 0) {
            seen = true;
            /* the escape character of the stored sender is shown as '?' */
            assert_string_equal(json_string_value(json_object_get(e, "sender")),
                                "Anna ?[31mSchmidt <anna.schmidt@gmail.com>");
            assert_int_equal(json_integer_value(json_object_get(e, "size")), len);
        }
    }
    assert_true(seen);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/quarantine?limit=1", s.admin.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1);
    assert_non_null(jstr(&h, "next_cursor"));
    http_clear(&h);

    /* Show: the head as text. Raw: the bytes, as a download. */
    snprintf(path, sizeof path, "/api/v1/quarantine/%s", id1);
    assert_int_equal(http_get(&s, path, s.admin.access, &h), 200);
    assert_non_null(strstr(jstr(&h, "head"), "Auto-Submitted: auto-replied"));
    assert_true(json_is_false(json_object_get(h.json, "head_truncated")));
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/quarantine/%s/raw", id1);
    assert_int_equal(http_get(&s, path, s.admin.access, &h), 200);
    assert_string_equal(h.content_type, "message/rfc822");
    char v[256];
    assert_non_null(strstr(http_header(&h, "Content-Disposition", v, sizeof v), "attachment"));
    assert_int_equal(h.body.len, len);
    assert_memory_equal(h.body.data, raw, len);
    http_clear(&h);

    /* Retry: the gateway ingests it; an auto-reply becomes a ticket. */
    snprintf(path, sizeof path, "/api/v1/quarantine/%s/retry", id1);
    assert_int_equal(http_json(&s, "POST", path, s.admin.access, &h, "{}"), 200);
    assert_string_equal(jstr(&h, "result"), "ticket");
    long long number = jint(&h, "ticket");
    assert_true(number > 0);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", number);
    assert_int_equal(http_get(&s, path, s.agent1.access, &h), 200);
    assert_non_null(strstr(jstr(&h, "subject"), "Printer on floor 3"));
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/quarantine/%s", id1);
    assert_int_equal(http_get(&s, path, s.admin.access, &h), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/quarantine/%s/retry", id1);
    assert_int_equal(http_json(&s, "POST", path, s.admin.access, &h, "{}"), 404);
    http_clear(&h);

    /* Delete. */
    snprintf(path, sizeof path, "/api/v1/quarantine/%s", id2);
    assert_int_equal(http_req(&s, "DELETE", path, s.agent1.access, NULL, NULL, 0, NULL, &h), 403);
    http_clear(&h);
    assert_int_equal(http_req(&s, "DELETE", path, s.admin.access, NULL, NULL, 0, NULL, &h), 204);
    http_clear(&h);
    assert_int_equal(http_get(&s, path, s.admin.access, &h), 404);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/quarantine/not-an-id", s.admin.access, &h), 400);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/api/v1/quarantine", s.admin.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 0);
    http_clear(&h);
    free(raw);
    assert_true(tdsrv_stop(&s));
}

static void quarantine_sqlite(void **state)
{
    (void)state;
    quarantine_flow(STORE_BACKEND_SQLITE);
}

static void quarantine_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    quarantine_flow(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quarantine_sqlite),
        cmocka_unit_test(quarantine_mongodb),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

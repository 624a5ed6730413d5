/* test_api_console.c - what the API gained for the web console, on a
 * real ticketd against each store backend:
 *   - agents read anyone's id, name, email and role and list the staff
 *     (the assignee picker); customers only themselves; admins search and
 *     page the users with a total;
 *   - ?include=users embeds requester and assignee (no agent address for
 *     a customer);
 *   - several statuses in one filter (status=new,pending), merged in
 *     number order across cursor pages, and ?count=true;
 *   - comments and history in pages with a total;
 *   - sort=-updated across pages; staff move a ticket to another queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/api/api_fixture.h"

static struct tdsrv *srv(void **state)
{
    return *state;
}

static int64_t open_ticket(struct tdsrv *s, const struct tduser *u, const char *subject)
{
    struct http h;
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", u->access, &h,
                               "{\"subject\":\"%s\",\"body\":\"b\"}", subject), 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    return n;
}

static void set_status(struct tdsrv *s, int64_t n, const char *status)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    struct http h;
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"status\":\"%s\"}", status),
                     200);
    http_clear(&h);
}

static json_t *items(const struct http *h)
{
    return json_object_get(h->json, "items");
}

static void users_directory(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[128];
    /* An agent lists the staff, brief. */
    assert_int_equal(http_get(s, "/api/v1/users", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 3);
    assert_int_equal(jint(&h, "total"), 3);
    size_t i;
    json_t *u;
    json_array_foreach(items(&h), i, u) {
        assert_string_not_equal(json_string_value(json_object_get(u, "role")), "customer");
        assert_null(json_object_get(u, "disabled"));
        assert_non_null(json_object_get(u, "email"));
    }
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/users?role=agent", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 2);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/users?role=customer", s->agent1.access, &h), 403);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/users", s->cust1.access, &h), 403);
    http_clear(&h);
    /* One user: agents brief, the user themself whole, others' not found. */
    snprintf(path, sizeof path, "/api/v1/users/%s", s->cust1.u.id);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    assert_string_equal(jstr(&h, "email"), "cust1@example.org");
    assert_string_equal(jstr(&h, "role"), "customer");
    assert_null(json_object_get(h.json, "has_password"));
    http_clear(&h);
    assert_int_equal(http_get(s, path, s->cust1.access, &h), 200);
    assert_non_null(json_object_get(h.json, "has_password"));
    http_clear(&h);
    assert_int_equal(http_get(s, path, s->cust2.access, &h), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s", s->agent1.u.id);
    assert_int_equal(http_get(s, path, s->cust1.access, &h), 404);
    http_clear(&h);
    /* Admins: search and pages with a total. */
    assert_int_equal(http_get(s, "/api/v1/users?q=CUST&limit=1", s->admin.access, &h), 200);
    assert_int_equal(jint(&h, "total"), 2);
    assert_int_equal(json_array_size(items(&h)), 1);
    assert_non_null(json_object_get(json_array_get(items(&h), 0), "has_password"));
    char first[64];
    snprintf(first, sizeof first, "%s", json_string_value(json_object_get(json_array_get(items(&h), 0), "email")));
    assert_non_null(jstr(&h, "next_cursor"));
    snprintf(path, sizeof path, "/api/v1/users?q=CUST&limit=1&cursor=%s", jstr(&h, "next_cursor"));
    http_clear(&h);
    assert_int_equal(http_get(s, path, s->admin.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 1);
    assert_string_not_equal(json_string_value(json_object_get(json_array_get(items(&h), 0), "email")), first);
    assert_true(json_is_null(json_object_get(h.json, "next_cursor")));
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/users?cursor=bogus", s->admin.access, &h), 400);
    http_clear(&h);
}

static void include_users(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[128];
    int64_t n = open_ticket(s, &s->cust1, "embed me");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)n);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, "{}"), 200);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld?include=users", (long long)n);
    assert_int_equal(http_get(s, path, s->agent2.access, &h), 200);
    json_t *req = json_object_get(h.json, "requester"), *asg = json_object_get(h.json, "assignee");
    assert_string_equal(json_string_value(json_object_get(req, "email")), "cust1@example.org");
    assert_string_equal(json_string_value(json_object_get(asg, "email")), "agent1@example.com");
    assert_string_equal(json_string_value(json_object_get(asg, "role")), "agent");
    assert_true(h.etag[0] == '"');
    http_clear(&h);
    /* The customer: themself, and their agent without an address. */
    assert_int_equal(http_get(s, path, s->cust1.access, &h), 200);
    asg = json_object_get(h.json, "assignee");
    assert_string_equal(json_string_value(json_object_get(asg, "id")), s->agent1.u.id);
    assert_null(json_object_get(asg, "email"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(h.json, "requester"), "email")),
                        "cust1@example.org");
    http_clear(&h);
    /* Without include nothing is embedded; a bad include is 400. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    assert_null(json_object_get(h.json, "requester"));
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld?include=everything", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 400);
    http_clear(&h);
    /* Lists too; an unassigned ticket has assignee null. */
    int64_t m = open_ticket(s, &s->cust2, "unassigned");
    assert_int_equal(http_get(s, "/api/v1/tickets?include=users&limit=2", s->agent1.access, &h), 200);
    json_t *t0 = json_array_get(items(&h), 0), *t1 = json_array_get(items(&h), 1);
    assert_int_equal(json_integer_value(json_object_get(t0, "number")), m);
    assert_true(json_is_null(json_object_get(t0, "assignee")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(t0, "requester"), "email")),
                        "cust2@example.org");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t1, "assignee"), "email")),
                        "agent1@example.com");
    http_clear(&h);
}

static void multi_status(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    int64_t t[6];
    const char *st[6] = { "new", "pending", "open", "pending", "new", "resolved" };
    for (int i = 0; i < 6; i++) {
        t[i] = open_ticket(s, &s->cust1, "multi");
        if (strcmp(st[i], "new") != 0)
            set_status(s, t[i], st[i]);
    }
    /* new or pending, newest first, one per page: t4 t3 t1 t0. */
    const int64_t want[] = { t[4], t[3], t[1], t[0] };
    char path[256] = "/api/v1/tickets?status=new,pending&q=multi&limit=1";
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
        assert_int_equal(json_array_size(items(&h)), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(items(&h), 0), "number")),
                         want[i]);
        const char *next = jstr(&h, "next_cursor");
        if (i < 3) {
            assert_non_null(next);
            snprintf(path, sizeof path, "/api/v1/tickets?status=new,pending&q=multi&limit=1&cursor=%s",
                     next);
        } else {
            assert_null(next);
        }
        http_clear(&h);
    }
    /* Oldest first, and the count. */
    assert_int_equal(http_get(s, "/api/v1/tickets?status=pending,new,new&q=multi&sort=number&count=true",
                              s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items(&h), 0), "number")), t[0]);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items(&h), 3), "number")), t[4]);
    assert_int_equal(jint(&h, "total"), 4);
    assert_true(json_is_false(json_object_get(h.json, "total_capped")));
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?q=multi&count=true&limit=2", s->agent1.access, &h), 200);
    assert_int_equal(jint(&h, "total"), 6);
    assert_int_equal(json_array_size(items(&h)), 2);
    http_clear(&h);
    /* A customer's count is of their own tickets only. */
    assert_int_equal(http_get(s, "/api/v1/tickets?status=new,pending&count=true", s->cust2.access, &h), 200);
    assert_int_equal(jint(&h, "total"), (long long)json_array_size(items(&h)));
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?status=new,bogus", s->agent1.access, &h), 400);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?status=new,", s->agent1.access, &h), 400);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?count=yes", s->agent1.access, &h), 400);
    http_clear(&h);
}

static void sort_updated(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    int64_t a = open_ticket(s, &s->cust1, "by update a");
    int64_t b = open_ticket(s, &s->cust1, "by update b");
    int64_t c = open_ticket(s, &s->cust1, "by update c");
    usleep(5000);
    set_status(s, a, "pending"); /* a is now the last changed */
    usleep(5000);
    set_status(s, b, "open");    /* then b */
    /* Last changed first, across pages of one; several statuses merged. */
    const int64_t want[] = { b, a, c };
    char path[256] = "/api/v1/tickets?sort=-updated&status=new,open,pending&limit=1";
    size_t seen = 0;
    while (seen < 3) {
        assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
        assert_int_equal(json_array_size(items(&h)), 1);
        int64_t n = json_integer_value(json_object_get(json_array_get(items(&h), 0), "number"));
        if (n != want[seen])
            fail_msg("sort=-updated: ticket %lld where %lld was due", (long long)n, (long long)want[seen]);
        seen++;
        const char *next = jstr(&h, "next_cursor");
        if (seen < 3) {
            assert_non_null(next);
            snprintf(path, sizeof path, "/api/v1/tickets?sort=-updated&status=new,open,pending&limit=1&cursor=%s", next);
        }
        http_clear(&h);
    }
    /* The newest change is first, on the first page. */
    assert_int_equal(http_get(s, "/api/v1/tickets?sort=-updated&limit=1", s->agent1.access, &h), 200);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items(&h), 0), "number")), b);
    char other[200];
    snprintf(other, sizeof other, "/api/v1/tickets?sort=-number&cursor=%s", jstr(&h, "next_cursor"));
    http_clear(&h);
    assert_int_equal(http_get(s, other, s->agent1.access, &h), 400); /* not a number cursor */
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?sort=-updated&q=update", s->agent1.access, &h), 400);
    http_clear(&h);
}

static void move_queue(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[96];
    int64_t n = open_ticket(s, &s->cust1, "to the hardware queue");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)n);
    assert_int_equal(http_json(s, "PATCH", path, s->cust1.access, &h, "{\"queue\":\"hardware\"}"), 403);
    http_clear(&h);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"queue\":\"hardware\"}"), 200);
    assert_string_equal(jstr(&h, "queue"), "hardware");
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?queue=hardware", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 1);
    http_clear(&h);
    char big[200];
    memset(big, 'q', 100);
    big[100] = '\0';
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"queue\":\"%s\"}", big), 400);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    json_t *last = json_array_get(items(&h), json_array_size(items(&h)) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "queue");
    assert_string_equal(json_string_value(json_object_get(last, "old")), "");
    assert_string_equal(json_string_value(json_object_get(last, "new")), "hardware");
    http_clear(&h);
}

static void paged_comments_history(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[256];
    int64_t n = open_ticket(s, &s->cust1, "paged");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)n);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"one\"}"), 201);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h,
                               "{\"body\":\"note\",\"internal\":true}"), 201);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"two\"}"), 201);
    http_clear(&h);
    /* Staff: 4 (the opening body, one, note, two) in pages of 3. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments?limit=3", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 3);
    assert_int_equal(jint(&h, "total"), 4);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments?limit=3&cursor=%s", (long long)n,
             jstr(&h, "next_cursor"));
    http_clear(&h);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(items(&h)), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items(&h), 0), "body")), "two");
    assert_true(json_is_null(json_object_get(h.json, "next_cursor")));
    http_clear(&h);
    /* The customer: no note, so 3 in all. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments?limit=2", (long long)n);
    assert_int_equal(http_get(s, path, s->cust1.access, &h), 200);
    assert_int_equal(jint(&h, "total"), 3);
    http_clear(&h);
    /* History pages the same way. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    long long events = jint(&h, "total");
    assert_true(events >= 4);
    assert_int_equal(json_array_size(items(&h)), (size_t)events);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history?limit=1", (long long)n);
    size_t seen = 0;
    while (path[0]) {
        assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
        seen += json_array_size(items(&h));
        const char *next = jstr(&h, "next_cursor");
        if (next)
            snprintf(path, sizeof path, "/api/v1/tickets/%lld/history?limit=1&cursor=%s",
                     (long long)n, next);
        else
            path[0] = '\0';
        http_clear(&h);
        assert_true(seen <= (size_t)events);
    }
    assert_int_equal(seen, (size_t)events);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history?limit=0", (long long)n);
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 400);
    http_clear(&h);
}

static int setup(void **state, enum store_backend b)
{
    if (!store_fixture_wanted(b))
        return 0;
    struct tdsrv *s = calloc(1, sizeof *s);
    if (s == NULL || !tdsrv_start(s, b, NULL) || !tdsrv_login(s, &s->admin) ||
        !tdsrv_login(s, &s->agent1) || !tdsrv_login(s, &s->agent2) || !tdsrv_login(s, &s->cust1) ||
        !tdsrv_login(s, &s->cust2))
        return -1;
    *state = s;
    return 0;
}

static int setup_sqlite(void **state)
{
    return setup(state, STORE_BACKEND_SQLITE);
}

static int setup_mongodb(void **state)
{
    return setup(state, STORE_BACKEND_MONGODB);
}

static int teardown(void **state)
{
    struct tdsrv *s = *state;
    if (s == NULL)
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    return clean ? 0 : -1;
}

#define SKIP_UNLESS_UP(state)                                                                     \
    do {                                                                                          \
        if (*(state) == NULL)                                                                     \
            skip();                                                                               \
    } while (0)

static void t_users(void **state) { SKIP_UNLESS_UP(state); users_directory(state); }
static void t_include(void **state) { SKIP_UNLESS_UP(state); include_users(state); }
static void t_multi(void **state) { SKIP_UNLESS_UP(state); multi_status(state); }
static void t_paged(void **state) { SKIP_UNLESS_UP(state); paged_comments_history(state); }
static void t_sort(void **state) { SKIP_UNLESS_UP(state); sort_updated(state); }
static void t_queue(void **state) { SKIP_UNLESS_UP(state); move_queue(state); }

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_users),
        cmocka_unit_test(t_include),
        cmocka_unit_test(t_multi),
        cmocka_unit_test(t_paged),
        cmocka_unit_test(t_sort),
        cmocka_unit_test(t_queue),
    };
    int rc = cmocka_run_group_tests_name("console_api_sqlite", tests, setup_sqlite, teardown);
    rc |= cmocka_run_group_tests_name("console_api_mongodb", tests, setup_mongodb, teardown);
    curl_global_cleanup();
    return rc;
}

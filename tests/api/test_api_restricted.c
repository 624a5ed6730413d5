/* test_api_restricted.c - agents an admin restricted to their groups
 * (core/scope.h), over HTTP on a real ticketd against each store:
 *   - only admins set the flag, only on agents; it shows on the user;
 *   - a restricted agent lists, searches, counts, reads, changes and
 *     answers the tickets of their groups and those assigned to them; any
 *     other is left out of lists and is 404 (as if it did not exist), and
 *     so are its comments, history and followers; the event stream does
 *     not announce the others' changes to them;
 *   - lifting the flag gives the other tickets back;
 *   - an unrestricted agent sees everything as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "tests/api/api_fixture.h"

static struct tdsrv *srv(void **state)
{
    return *state;
}

static int64_t open_in(struct tdsrv *s, const char *queue, const char *subject)
{
    struct http h;
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", s->agent2.access, &h,
                               "{\"subject\":\"%s\",\"body\":\"b\",\"requester_id\":\"%s\","
                               "\"queue\":\"%s\"}", subject, s->cust1.u.id, queue), 201);
    int64_t n = jint(&h, "number");
    http_clear(&h);
    return n;
}

static long get_ticket(struct tdsrv *s, const struct tduser *u, int64_t n, const char *suffix)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld%s", (long long)n, suffix);
    struct http h;
    long st = http_get(s, path, u->access, &h);
    http_clear(&h);
    return st;
}

/* ---- the event stream, read over a raw socket (as test_api_events) ---- */
struct stream {
    int fd;
    struct buf got;
};

static void stream_open(const struct tdsrv *s, const char *token, struct stream *st)
{
    memset(st, 0, sizeof *st);
    int port = atoi(strrchr(s->base, ':') + 1);
    st->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(st->fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(st->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                     "Authorization: Bearer %s\r\n\r\n", token);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(send(st->fd, req, (size_t)n, 0), n);
}

/* Reads until needle shows up (true) or ms pass (false). */
static bool stream_wait(struct stream *st, const char *needle, int ms)
{
    long long deadline = api_now_ms() + ms;
    for (;;) {
        if (st->got.data && strstr(st->got.data, needle))
            return true;
        long long left = deadline - api_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = { .fd = st->fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = recv(st->fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            return false;
        buf_append(&st->got, chunk, (size_t)n);
    }
}

static void stream_close(struct stream *st)
{
    close(st->fd);
    buf_free(&st->got);
}

static void restricted_agent(void **state)
{
    struct tdsrv *s = srv(state);
    struct http h;
    char path[160];
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h, "{\"key\":\"billing\"}"), 201);
    http_clear(&h);
    assert_int_equal(http_json(s, "POST", "/api/v1/groups", s->admin.access, &h, "{\"key\":\"hardware\"}"), 201);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/groups/billing/members/%s", s->agent1.u.id);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, NULL), 200);
    http_clear(&h);
    int64_t mine = open_in(s, "billing", "in my group");
    int64_t other = open_in(s, "hardware", "not my group");
    int64_t assigned = open_in(s, "hardware", "assigned to me");
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/assign", (long long)assigned);
    assert_int_equal(http_json(s, "POST", path, s->admin.access, &h, "{\"assignee_id\":\"%s\"}",
                               s->agent1.u.id), 200);
    http_clear(&h);

    /* Who sets the flag, on whom. */
    snprintf(path, sizeof path, "/api/v1/users/%s", s->agent1.u.id);
    assert_int_equal(http_json(s, "PATCH", path, s->agent2.access, &h, "{\"restricted\":true}"), 403);
    http_clear(&h);
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/api/v1/users/%s", s->cust2.u.id);
    assert_int_equal(http_json(s, "PATCH", cpath, s->admin.access, &h, "{\"restricted\":true}"), 400);
    http_clear(&h);
    assert_int_equal(get_ticket(s, &s->agent1, other, ""), 200); /* not yet */
    assert_int_equal(http_json(s, "PATCH", path, s->admin.access, &h, "{\"restricted\":true}"), 200);
    assert_true(json_is_true(json_object_get(h.json, "restricted")));
    http_clear(&h);

    /* Reading. */
    assert_int_equal(get_ticket(s, &s->agent1, mine, ""), 200);
    assert_int_equal(get_ticket(s, &s->agent1, assigned, ""), 200);
    assert_int_equal(get_ticket(s, &s->agent1, other, ""), 404);
    assert_int_equal(get_ticket(s, &s->agent1, other, "/comments"), 404);
    assert_int_equal(get_ticket(s, &s->agent1, other, "/history"), 404);
    assert_int_equal(get_ticket(s, &s->agent1, other, "/participants"), 404);
    assert_int_equal(get_ticket(s, &s->agent2, other, ""), 200); /* unrestricted */

    /* Listing, filtering, counting and searching: the same tickets. */
    assert_int_equal(http_get(s, "/api/v1/tickets?count=true", s->agent1.access, &h), 200);
    json_t *items = json_object_get(h.json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(jint(&h, "total"), 2);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        int64_t num = json_integer_value(json_object_get(it, "number"));
        assert_true(num == mine || num == assigned);
    }
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?queue=hardware", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?q=group", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 1); /* "in my group" */
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets?sort=-updated", s->agent1.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 2);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/tickets", s->agent2.access, &h), 200);
    assert_int_equal(json_array_size(json_object_get(h.json, "items")), 3);
    http_clear(&h);

    /* Changing and answering. */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)other);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"priority\":\"high\"}"), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)other);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"peek\"}"), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", (long long)other);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/followers/me", (long long)other);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, NULL), 404);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)mine);
    assert_int_equal(http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"on it\"}"), 201);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)assigned);
    assert_int_equal(http_json(s, "PATCH", path, s->agent1.access, &h, "{\"priority\":\"high\"}"), 200);
    http_clear(&h);

    /* The event stream: a change outside the groups is not announced to
     * the restricted agent; one inside is. */
    struct stream ev1, ev2;
    stream_open(s, s->agent1.access, &ev1);
    stream_open(s, s->agent2.access, &ev2);
    assert_true(stream_wait(&ev1, "retry: 3000", 5000));
    assert_true(stream_wait(&ev2, "retry: 3000", 5000));
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)other);
    assert_int_equal(http_json(s, "PATCH", path, s->agent2.access, &h, "{\"priority\":\"urgent\"}"), 200);
    http_clear(&h);
    char want[64];
    snprintf(want, sizeof want, "\"number\":%lld,", (long long)other);
    assert_true(stream_wait(&ev2, want, 10000));
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", (long long)mine);
    assert_int_equal(http_json(s, "PATCH", path, s->agent2.access, &h, "{\"priority\":\"urgent\"}"), 200);
    http_clear(&h);
    snprintf(want, sizeof want, "\"number\":%lld,", (long long)mine);
    assert_true(stream_wait(&ev1, want, 10000));
    snprintf(want, sizeof want, "\"number\":%lld,", (long long)other);
    assert_null(strstr(ev1.got.data, want));
    stream_close(&ev1);
    stream_close(&ev2);

    /* Lifted: everything again. */
    snprintf(path, sizeof path, "/api/v1/users/%s", s->agent1.u.id);
    assert_int_equal(http_json(s, "PATCH", path, s->admin.access, &h, "{\"restricted\":false}"), 200);
    assert_true(json_is_false(json_object_get(h.json, "restricted")));
    http_clear(&h);
    assert_int_equal(get_ticket(s, &s->agent1, other, ""), 200);
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

static int setup_sqlite(void **state) { return setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongodb(void **state) { return setup(state, STORE_BACKEND_MONGODB); }

static int teardown(void **state)
{
    struct tdsrv *s = *state;
    if (s == NULL)
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    return clean ? 0 : -1;
}

static void t_restricted(void **state)
{
    if (*state == NULL)
        skip();
    restricted_agent(state);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_restricted),
    };
    int rc = cmocka_run_group_tests_name("restricted_api_sqlite", tests, setup_sqlite, teardown);
    rc |= cmocka_run_group_tests_name("restricted_api_mongodb", tests, setup_mongodb, teardown);
    curl_global_cleanup();
    return rc;
}

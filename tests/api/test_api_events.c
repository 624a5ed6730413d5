/* test_api_events.c - GET /api/v1/events (api/events.c), the SSE stream,
 * on a real ticketd against each store backend, read over a raw socket
 * the way a browser's fetch() reads it:
 *   - staff see every ticket change as it happens (within seconds);
 *   - a customer sees changes of their own tickets only;
 *   - Last-Event-ID replays what happened while away;
 *   - no token is 401; ticketd stops cleanly with streams open;
 *   - a client that stops reading is dropped, one that reads is not
 *     (SQLite only: it is about the server, not the store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "core/id.h"
#include "core/store/store.h"
#include "tests/api/api_fixture.h"

struct stream {
    int fd;
    struct buf got;
};

/* rcvbuf > 0: a small receive buffer, for a client that reads slowly. */
static void stream_open_buf(const struct tdsrv *s, const char *token, const char *last_id,
                            struct stream *st, int rcvbuf)
{
    memset(st, 0, sizeof *st);
    int port = atoi(strrchr(s->base, ':') + 1);
    st->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(st->fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(st->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(st->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                     "Authorization: Bearer %s\r\n%s%s%s\r\n",
                     token, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
                     last_id ? "\r\n" : "");
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(send(st->fd, req, (size_t)n, 0), n);
}

static void stream_open(const struct tdsrv *s, const char *token, const char *last_id,
                        struct stream *st)
{
    stream_open_buf(s, token, last_id, st, 0);
}

static void stream_close(struct stream *st)
{
    close(st->fd);
    buf_free(&st->got);
}

/* Reads until needle shows up (true) or ms pass (false). */
static bool stream_wait(struct stream *st, const char *needle, int ms)
{
    long long deadline = api_now_ms() + ms;
    for (;;) {
        if (st->got.data && strstr(st->got.data, needle))
            return true;
        long long left = deadline - api_now_ms();
        if (left <= 0) {
            fprintf(stderr, "no '%s' in: %s\n", needle, st->got.data ? st->got.data : "");
            return false;
        }
        struct pollfd p = { .fd = st->fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = recv(st->fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            fprintf(stderr, "stream closed; got: %s\n", st->got.data ? st->got.data : "");
            return false;
        }
        buf_append(&st->got, chunk, (size_t)n);
    }
}

static long long open_ticket(struct tdsrv *s, struct tduser *u, const char *subject)
{
    struct http h;
    assert_int_equal(http_json(s, "POST", "/api/v1/tickets", u->access, &h,
                               "{\"subject\":\"%s\",\"body\":\"b\"}", subject), 201);
    long long n = jint(&h, "number");
    http_clear(&h);
    return n;
}

/* The ticket's current version (its ETag). */
static long long version_of(struct tdsrv *s, long long n)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", n);
    struct http h;
    assert_int_equal(http_get(s, path, s->agent1.access, &h), 200);
    long long v = jint(&h, "version");
    http_clear(&h);
    return v;
}

static void events_flow(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL) || !tdsrv_login(&s, &s.agent1) ||
        !tdsrv_login(&s, &s.cust1) || !tdsrv_login(&s, &s.cust2))
        fail_msg("ticketd did not start");
    struct http h;
    assert_int_equal(http_get(&s, "/api/v1/events", NULL, &h), 401);
    http_clear(&h);

    struct stream agent, c1, c2;
    stream_open(&s, s.agent1.access, NULL, &agent);
    stream_open(&s, s.cust1.access, NULL, &c1);
    stream_open(&s, s.cust2.access, NULL, &c2);
    assert_true(stream_wait(&agent, "text/event-stream", 5000));
    assert_true(stream_wait(&c2, "retry: 3000", 5000));

    long long n1 = open_ticket(&s, &s.cust1, "live one");
    char want[96];
    snprintf(want, sizeof want, "\"number\":%lld,\"version\":%lld,", n1, version_of(&s, n1));
    assert_true(stream_wait(&agent, want, 10000));
    assert_true(stream_wait(&c1, want, 10000));
    /* A comment is version 2, seen by both. */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n1);
    assert_int_equal(http_json(&s, "POST", path, s.agent1.access, &h, "{\"body\":\"on it\"}"), 201);
    http_clear(&h);
    snprintf(want, sizeof want, "\"number\":%lld,\"version\":%lld,", n1, version_of(&s, n1));
    assert_true(stream_wait(&agent, want, 10000));
    assert_true(stream_wait(&c1, want, 10000));
    /* cust2's own ticket reaches cust2; cust1's never did. */
    long long n2 = open_ticket(&s, &s.cust2, "other customer");
    snprintf(want, sizeof want, "\"number\":%lld,", n2);
    assert_true(stream_wait(&c2, want, 10000));
    snprintf(want, sizeof want, "\"number\":%lld,", n1);
    assert_null(strstr(c2.got.data, want));
    snprintf(want, sizeof want, "\"number\":%lld,", n2);
    assert_false(stream_wait(&c1, want, 1500));

    /* Resume: the id of the first event, then what came after it. */
    const char *id = strstr(agent.got.data, "id: ");
    assert_non_null(id);
    char last[32];
    snprintf(last, sizeof last, "%.*s", (int)strcspn(id + 4, "\n"), id + 4);
    stream_close(&agent);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", n1);
    assert_int_equal(http_json(&s, "PATCH", path, s.agent1.access, &h, "{\"priority\":\"high\"}"), 200);
    http_clear(&h);
    stream_open(&s, s.agent1.access, last, &agent);
    snprintf(want, sizeof want, "\"number\":%lld,\"version\":%lld,", n1, version_of(&s, n1));
    assert_true(stream_wait(&agent, want, 5000));
    snprintf(want, sizeof want, "\"number\":%lld,", n2);
    assert_true(stream_wait(&agent, want, 5000));
    /* A resume point that is no number is refused. */
    stream_close(&c1);
    stream_open(&s, s.cust1.access, "yesterday", &c1);
    assert_true(stream_wait(&c1, "400 Bad Request", 5000));

    /* Streams still open: ticketd must still stop at once and cleanly. */
    long long t0 = api_now_ms();
    assert_true(tdsrv_stop(&s));
    assert_true(api_now_ms() - t0 < 8000);
    stream_close(&agent);
    stream_close(&c1);
    stream_close(&c2);
}

/* Tickets written straight into the store, as fast as it takes them. */
static void burst(const struct tdsrv *s, int n)
{
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(s->store_uri, &st, &err));
    for (int i = 0; i < n; i++) {
        struct td_ticket t;
        memset(&t, 0, sizeof t);
        assert_true(st->ops->ticket_next_number(st, &t.number, &err));
        t.subject = (char *)"burst";
        t.status = STATUS_NEW;
        t.priority = PRIORITY_NORMAL;
        snprintf(t.requester_id, sizeof t.requester_id, "%s", s->cust1.u.id);
        t.queue = (char *)"";
        t.created = t.updated = td_now();
        t.version = 1;
        struct td_event ev;
        memset(&ev, 0, sizeof ev);
        ev.ticket = t.number;
        ev.kind = EVENT_CREATED;
        ev.new_value = (char *)"new";
        ev.at = t.created;
        assert_true(st->ops->ticket_insert(st, &t, &ev, &err));
    }
    store_close(st);
}

/* A client that stops reading is dropped once the changes it has not
 * taken pass the ring (bounded memory); one that reads keeps up. */
static void slow_client(enum store_backend backend)
{
    struct tdsrv s;
    if (!tdsrv_start(&s, backend, NULL) || !tdsrv_login(&s, &s.agent1))
        fail_msg("ticketd did not start");
    struct stream slow, fast;
    stream_open_buf(&s, s.agent1.access, NULL, &slow, 1024);
    stream_open(&s, s.agent1.access, NULL, &fast);
    assert_true(stream_wait(&slow, "retry: 3000", 5000));
    assert_true(stream_wait(&fast, "retry: 3000", 5000));
    /* Far more than the ring (4096) and what socket buffers hold. */
    for (int round = 0; round < 6; round++) {
        burst(&s, 1000);
        stream_wait(&fast, "no such text", 700); /* the fast one keeps reading */
    }
    /* The slow client now reads: what was buffered, then the end. */
    long long deadline = api_now_ms() + 20000;
    bool closed = false;
    char chunk[65536];
    while (!closed && api_now_ms() < deadline) {
        struct pollfd p = { .fd = slow.fd, .events = POLLIN };
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t n = recv(slow.fd, chunk, sizeof chunk, 0);
        closed = n <= 0;
        if (n > 0)
            buf_append(&slow.got, chunk, (size_t)n);
    }
    if (!closed) {
        size_t events = 0;
        for (const char *q = slow.got.data; q && (q = strstr(q, "event: ticket")); q++)
            events++;
        fail_msg("the slow client was not dropped; it read %zu bytes, %zu events", slow.got.len, events);
    }
    /* The fast one is still served. */
    long long n = open_ticket(&s, &s.agent1, "after the burst");
    char want[64];
    snprintf(want, sizeof want, "\"number\":%lld,", n);
    assert_true(stream_wait(&fast, want, 10000));
    stream_close(&slow);
    assert_true(tdsrv_stop(&s));
    stream_close(&fast);
}

static void slow_sqlite(void **state)
{
    (void)state;
    slow_client(STORE_BACKEND_SQLITE);
}

static void events_sqlite(void **state)
{
    (void)state;
    events_flow(STORE_BACKEND_SQLITE);
}

static void events_mongodb(void **state)
{
    (void)state;
    if (!store_fixture_wanted(STORE_BACKEND_MONGODB))
        skip();
    events_flow(STORE_BACKEND_MONGODB);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_sqlite),
        cmocka_unit_test(events_mongodb),
        cmocka_unit_test(slow_sqlite),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

/* test_api_hardening.c - the HTTP layer against an attacker, with raw
 * sockets (curl would tidy up the very bytes under test):
 *
 *  - request smuggling (RFC 9112 6.3): two different Content-Length
 *    headers, Content-Length with Transfer-Encoding, "Content-Length : 2"
 *    (space before the colon). Each must be answered with one 400 and a
 *    closed connection: the bytes after the headers must never be parsed
 *    as a second request.
 *  - slowloris: 2,000 connections from one address trickling header
 *    bytes; a client from another loopback address is still answered
 *    promptly, and the trickling connections are shed.
 *
 * One ticketd per test, SQLite (nothing here touches storage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "tests/api/api_fixture.h"

/* A TCP connection to the server from src (a 127.x.y.z address), or -1. */
static int raw_connect(const struct tdsrv *s, const char *src, bool nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    a.sin_port = htons((uint16_t)s->proc.port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the server closes (true) or timeout_ms pass (false). */
static bool raw_read_all(int fd, struct buf *out, int timeout_ms)
{
    long long deadline = api_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - api_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char b[4096];
        ssize_t n = read(fd, b, sizeof b);
        if (n == 0)
            return true;
        if (n < 0)
            return errno == ECONNRESET;
        buf_append(out, b, (size_t)n);
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Sends req on a fresh connection; the server must answer exactly one
 * 400 and close. */
static void expect_one_400_and_close(const struct tdsrv *s, const char *req, int line)
{
    int fd = raw_connect(s, NULL, false);
    if (fd < 0)
        fail_msg("line %d: connect: %s", line, strerror(errno));
    size_t len = strlen(req);
    if (write(fd, req, len) != (ssize_t)len)
        fail_msg("line %d: write: %s", line, strerror(errno));
    struct buf b = BUF_INIT;
    bool closed = raw_read_all(fd, &b, 5000);
    close(fd);
    buf_append(&b, "", 1);
    const char *r = b.data ? b.data : "";
    size_t n = count(r, "HTTP/1.");
    bool ok = closed && n == 1 && strncmp(r, "HTTP/1.1 400", 12) == 0;
    if (!ok)
        fail_msg("line %d: want one 400 and a closed connection; got %zu responses, %s:\n%.600s",
                 line, n, closed ? "closed" : "still open", r);
    buf_free(&b);
}

#define SECOND "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST_HEAD "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

static void test_request_smuggling(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");
    /* Two different lengths: which one frames the body is ambiguous. */
    expect_one_400_and_close(&s, POST_HEAD "Content-Length: 2\r\nContent-Length: 37\r\n\r\n{}" SECOND,
                             __LINE__);
    /* Content-Length and Transfer-Encoding together. */
    expect_one_400_and_close(&s, POST_HEAD "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                                           "0\r\n\r\n" SECOND, __LINE__);
    expect_one_400_and_close(&s, POST_HEAD "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                                           "0\r\n\r\n" SECOND, __LINE__);
    /* Whitespace between a field name and the colon (RFC 9112 5.1). */
    expect_one_400_and_close(&s, POST_HEAD "Content-Length : 2\r\n\r\n{}" SECOND, __LINE__);
    expect_one_400_and_close(&s, "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n" SECOND, __LINE__);
    /* A transfer coding other than chunked alone. */
    expect_one_400_and_close(&s, POST_HEAD "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" SECOND,
                             __LINE__);

    /* Still fine: one length, twice the same; plain keep-alive pipelining. */
    int fd = raw_connect(&s, NULL, false);
    assert_true(fd >= 0);
    const char *ok = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(write(fd, ok, strlen(ok)), (ssize_t)strlen(ok));
    struct buf b = BUF_INIT;
    assert_true(raw_read_all(fd, &b, 5000));
    close(fd);
    buf_append(&b, "", 1);
    assert_int_equal(count(b.data, "HTTP/1.1 200"), 2);
    buf_free(&b);
    assert_true(tdsrv_stop(&s));
}

/* ---- slowloris ----------------------------------------------------------- */

#define SLOW_CONNS 2000

static void test_slowloris(void **state)
{
    (void)state;
    /* 2,000 client sockets here plus ticketd's (it inherits the limit). */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 3 * SLOW_CONNS) {
        rl.rlim_cur = rl.rlim_max < 3 * SLOW_CONNS ? rl.rlim_max : 3 * SLOW_CONNS;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < SLOW_CONNS + 200)
        skip();
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");
    static int fds[SLOW_CONNS];
    size_t opened = 0;
    /* The attacker: one address, each connection a started request that
     * never ends. */
    for (size_t i = 0; i < SLOW_CONNS; i++) {
        fds[i] = raw_connect(&s, "127.0.0.2", true);
        if (fds[i] < 0)
            break;
        opened++;
    }
    assert_int_equal(opened, SLOW_CONNS);
    long long t0 = api_now_ms();
    size_t sent = 0;
    for (size_t i = 0; i < opened; i++) {
        struct pollfd p = { fds[i], POLLOUT, 0 };
        if (poll(&p, 1, 2000) == 1 && send(fds[i], "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL) == 23)
            sent++;
    }
    fprintf(stderr, "slowloris: %zu connections opened, %zu started a request (%lld ms)\n", opened,
            sent, api_now_ms() - t0);
    /* A well-behaved client elsewhere is answered, again and again, while
     * they trickle. */
    int answered = 0;
    long long worst = 0;
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < opened; i += 50)
            if (send(fds[i], "X-A: b\r\n", 8, MSG_NOSIGNAL) < 0) {
                /* shed by the server: fine */
            }
        long long t = api_now_ms();
        struct http h;
        /* curl binds 127.0.0.1, the other address. */
        if (http_get(&s, "/healthz", NULL, &h) == 200)
            answered++;
        http_clear(&h);
        long long ms = api_now_ms() - t;
        if (ms > worst)
            worst = ms;
        usleep(200 * 1000);
    }
    fprintf(stderr, "slowloris: %d of 8 answered, slowest %lld ms\n", answered, worst);
    assert_int_equal(answered, 8);
    assert_true(worst < 3000);
    /* Most of the attacker's connections were refused or closed. */
    size_t alive = 0;
    for (size_t i = 0; i < opened; i++) {
        char c;
        ssize_t n = recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        if (n < 0 && errno == EAGAIN)
            alive++;
        close(fds[i]);
    }
    fprintf(stderr, "slowloris: %zu of %zu attacker connections still open\n", alive, opened);
    assert_true(alive <= 256);
    assert_true(tdsrv_stop(&s));
}

/* A connection that trickles, never idle, is cut at the deadline. True
 * if the server closed it within limit_ms. */
static bool trickle_until_closed(const struct tdsrv *s, const char *start, long long limit_ms)
{
    int fd = raw_connect(s, NULL, false);
    if (fd < 0 || send(fd, start, strlen(start), MSG_NOSIGNAL) < 0)
        return false;
    long long t0 = api_now_ms();
    bool closed = false;
    while (!closed && api_now_ms() - t0 < limit_ms) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 300) == 1) {
            char b[512];
            ssize_t n = read(fd, b, sizeof b);
            closed = n <= 0;
        } else if (send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
            closed = true;
        }
    }
    close(fd);
    return closed;
}

static void test_slow_headers_and_body_cut(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE,
                     "connection_timeout = 30\nheader_timeout = 1\nbody_timeout = 2\n"))
        fail_msg("ticketd did not start");
    /* Headers one byte at a time: cut after ~1 s, well before the idle
     * timeout of 30 s. */
    assert_true(trickle_until_closed(&s, "GET /healthz HTTP/1.1\r\nX-Slow: ", 5000));
    /* A body one byte at a time. */
    assert_true(trickle_until_closed(&s, POST_HEAD "Content-Length: 100000\r\n\r\n{", 6000));
    /* A normal request still works. */
    struct http h;
    assert_int_equal(http_get(&s, "/healthz", NULL, &h), 200);
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_smuggling),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_slow_headers_and_body_cut),
    };
    int failed = cmocka_run_group_tests_name("api_hardening", tests, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

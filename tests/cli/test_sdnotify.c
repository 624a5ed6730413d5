/* test_sdnotify.c - systemd readiness and the watchdog (issue 14), with a
 * real `ticketd api` and a datagram socket standing in for systemd's
 * $NOTIFY_SOCKET:
 * - READY=1 (with STATUS and MAINPID) arrives once the API answers, not
 *   before;
 * - with $WATCHDOG_USEC, WATCHDOG=1 keeps arriving, at about half the
 *   interval;
 * - SIGHUP is RELOADING=1 then READY=1; SIGTERM is STOPPING=1;
 * - $WATCHDOG_PID naming another process turns the watchdog off;
 * - the abstract namespace ("@name") works too.
 * docker/ticketd.service is Type=notify with WatchdogSec (checked by
 * systemd-analyze in docker/lint.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/cli_run.h"
#include "tests/support/harness.h"

struct ctx {
    char dir[256];
    char bin[PATH_MAX];
    char conf[400];
    char sock_path[300];
    int sock;
    int port;
    struct harness_server srv;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next datagram within timeout_ms into buf; false on timeout. */
static bool next_msg(struct ctx *c, char *buf, size_t len, int timeout_ms)
{
    struct pollfd p = { c->sock, POLLIN, 0 };
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    ssize_t n = recv(c->sock, buf, len - 1, 0);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* Reads datagrams until one contains want (bounded); counts watchdog
 * pings seen on the way in *pings when not NULL. */
static bool await(struct ctx *c, const char *want, int timeout_ms, int *pings)
{
    long long deadline = now_ms() + timeout_ms;
    char buf[512];
    while (now_ms() < deadline) {
        if (!next_msg(c, buf, sizeof buf, (int)(deadline - now_ms())))
            return false;
        if (pings && strcmp(buf, "WATCHDOG=1") == 0)
            (*pings)++;
        if (strstr(buf, want))
            return true;
    }
    return false;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL || !harness_tempdir(c->dir, sizeof c->dir) || !cli_ticketd_path(c->bin, sizeof c->bin))
        return -1;
    c->port = harness_free_port();
    snprintf(c->conf, sizeof c->conf, "%s/ticketd.conf", c->dir);
    FILE *f = fopen(c->conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "[store]\nuri = sqlite:%s/t.db\n[log]\nlevel = warn\n[api]\nport = %d\n"
               "jwt_secret = test-jwt-secret-0123456789abcdef0123456789\n", c->dir, c->port);
    fclose(f);
    c->sock = -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    harness_stop(&c->srv);
    if (c->sock >= 0)
        close(c->sock);
    harness_rmtree(c->dir);
    free(c);
    return 0;
}

/* Binds the stand-in for systemd's socket; abstract: "@..." name. */
static void bind_socket(struct ctx *c, bool abstract)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    socklen_t salen;
    if (abstract) {
        snprintf(c->sock_path, sizeof c->sock_path, "@ticketd-test-%ld", (long)getpid());
        memcpy(sa.sun_path, c->sock_path, strlen(c->sock_path));
        sa.sun_path[0] = '\0';
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(c->sock_path));
    } else {
        int n = snprintf(c->sock_path, sizeof c->sock_path, "%s/notify", c->dir);
        assert_true(n > 0 && (size_t)n < sizeof sa.sun_path);
        memcpy(sa.sun_path, c->sock_path, (size_t)n);
        salen = sizeof sa;
    }
    c->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(c->sock >= 0);
    assert_int_equal(bind(c->sock, (struct sockaddr *)&sa, salen), 0);
}

/* Starts `ticketd api` with the notify environment. */
static void start(struct ctx *c, const char *watchdog_usec, const char *watchdog_pid)
{
    assert_true(harness_tempdir(c->srv.dir, sizeof c->srv.dir));
    setenv("NOTIFY_SOCKET", c->sock_path, 1);
    if (watchdog_usec)
        setenv("WATCHDOG_USEC", watchdog_usec, 1);
    if (watchdog_pid)
        setenv("WATCHDOG_PID", watchdog_pid, 1);
    const char *argv[] = { c->bin, "--config", c->conf, "api", NULL };
    bool ok = harness_spawn(&c->srv, argv);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_true(ok);
}

static void ready_watchdog_reload_stop(void **state)
{
    struct ctx *c = *state;
    bind_socket(c, false);
    start(c, "200000", NULL); /* 200 ms: pings every ~100 ms */
    char buf[512];
    assert_true(next_msg(c, buf, sizeof buf, 15000));
    if (strstr(buf, "READY=1") == NULL || strstr(buf, "STATUS=serving (api, store sqlite)") == NULL)
        fail_msg("first message: %s", buf);
    char mainpid[64];
    snprintf(mainpid, sizeof mainpid, "MAINPID=%ld", (long)c->srv.pid);
    assert_non_null(strstr(buf, mainpid));
    /* ready means serving: the port answers now, without waiting */
    int fd = harness_connect(c->port, 1000);
    assert_true(fd >= 0);
    close(fd);

    long long t0 = now_ms();
    int pings = 0;
    while (pings < 5 && now_ms() - t0 < 5000)
        if (next_msg(c, buf, sizeof buf, 1000) && strcmp(buf, "WATCHDOG=1") == 0)
            pings++;
    long long took = now_ms() - t0;
    fprintf(stderr, "5 watchdog pings in %lld ms\n", took);
    assert_int_equal(pings, 5);
    assert_true(took >= 350 && took < 2500); /* ~100 ms apart */

    assert_int_equal(kill(c->srv.pid, SIGHUP), 0);
    assert_true(await(c, "RELOADING=1", 5000, NULL));
    assert_true(await(c, "READY=1", 5000, NULL));
    assert_int_equal(kill(c->srv.pid, SIGTERM), 0);
    assert_true(await(c, "STOPPING=1", 5000, NULL));
}

static void watchdog_for_another_pid_is_off_and_abstract_works(void **state)
{
    struct ctx *c = *state;
    bind_socket(c, true);
    start(c, "100000", "1"); /* pid 1 is not ticketd */
    char buf[512];
    assert_true(next_msg(c, buf, sizeof buf, 15000));
    assert_non_null(strstr(buf, "READY=1"));
    /* no pings: nothing in 500 ms (five intervals) */
    assert_false(next_msg(c, buf, sizeof buf, 500));
    assert_int_equal(kill(c->srv.pid, SIGTERM), 0);
    assert_true(await(c, "STOPPING=1", 5000, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ready_watchdog_reload_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(watchdog_for_another_pid_is_off_and_abstract_works, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

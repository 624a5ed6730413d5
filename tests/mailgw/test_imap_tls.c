/* test_imap_tls.c - mailgw/imap.c over TLS: implicit TLS and STARTTLS
 * reach the server, the certificate chain and the host name are checked
 * (an unknown CA or a wrong name is refused before the password is
 * sent), tls_verify = no is the explicit way around. Against a small
 * fake IMAP server (tls_imap_server.py) with a throwaway CA, because the
 * harness's Dovecot speaks no TLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "mailgw/imap.h"
#include "tests/support/harness.h"

static char dir[256];
static char ca[400];
static int implicit_port, starttls_port;
static pid_t server;

static int start_server(void **state)
{
    (void)state;
    if (!harness_tempdir(dir, sizeof dir))
        return -1;
    implicit_port = harness_free_port();
    starttls_port = harness_free_port();
    char script[1100], p1[16], p2[16];
    snprintf(script, sizeof script, "%s/../mailgw/tls_imap_server.py", harness_support_dir());
    snprintf(p1, sizeof p1, "%d", implicit_port);
    snprintf(p2, sizeof p2, "%d", starttls_port);
    server = fork();
    if (server < 0)
        return -1;
    if (server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/usr/bin/python3", "python3", script, dir, p1, p2, (char *)NULL);
        _exit(127);
    }
    char ready[400];
    snprintf(ready, sizeof ready, "%s/ready", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    for (int i = 0; i < 300; i++) { /* at most 15 s: two RSA keys */
        struct stat st;
        if (stat(ready, &st) == 0)
            return 0;
        if (waitpid(server, NULL, WNOHANG) == server) {
            fprintf(stderr, "tls_imap_server.py exited early\n");
            server = 0;
            return -1;
        }
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "tls_imap_server.py did not come up\n");
    return -1;
}

static int stop_server(void **state)
{
    (void)state;
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
    }
    harness_rmtree(dir);
    return 0;
}

static struct mailbox_settings box(const char *host, int port, enum imap_tls tls, bool verify,
                                   const char *ca_file)
{
    struct mailbox_settings b;
    memset(&b, 0, sizeof b);
    b.name = (char *)"tls";
    b.host = (char *)host;
    b.port = port;
    b.tls = tls;
    b.tls_verify = verify;
    b.ca_file = (char *)ca_file;
    b.user = (char *)"alice";
    b.password = (char *)"secret";
    b.folder = (char *)"INBOX";
    return b;
}

static void expect_ok(struct mailbox_settings b)
{
    struct imap *s = NULL;
    struct td_err err = { 0 };
    if (!imap_open(&b, &s, &err))
        fail_msg("imap_open: %s", err.msg);
    uint32_t v = 0;
    assert_true(imap_select(s, "INBOX", &v, &err));
    assert_int_equal(v, 42);
    uint32_t *uids = NULL;
    size_t n = 5;
    assert_true(imap_search_after(s, 0, &uids, &n, &err));
    assert_int_equal(n, 0);
    free(uids);
    imap_close(s);
}

static void expect_refused(struct mailbox_settings b, const char *words)
{
    struct imap *s = NULL;
    struct td_err err = { 0 };
    if (imap_open(&b, &s, &err)) {
        imap_close(s);
        fail_msg("connected although it should not (%s)", words);
    }
    assert_int_equal(err.code, TD_UNAVAILABLE);
    print_message("refused: %s\n", err.msg);
    if (strstr(err.msg, words) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, words);
}

static void test_implicit_tls_verified(void **state)
{
    (void)state;
    expect_ok(box("localhost", implicit_port, IMAP_TLS_IMPLICIT, true, ca));
}

static void test_starttls_verified(void **state)
{
    (void)state;
    expect_ok(box("localhost", starttls_port, IMAP_TLS_STARTTLS, true, ca));
    struct mailbox_settings b = box("localhost", starttls_port, IMAP_TLS_STARTTLS, true, ca);
    b.auth = IMAP_AUTH_PLAIN;
    expect_ok(b);
}

static void test_unknown_ca_refused(void **state)
{
    (void)state;
    /* the system store does not know the test CA */
    expect_refused(box("localhost", implicit_port, IMAP_TLS_IMPLICIT, true, NULL), "certificate");
    expect_refused(box("localhost", starttls_port, IMAP_TLS_STARTTLS, true, NULL), "certificate");
}

static void test_wrong_name_refused(void **state)
{
    (void)state;
    /* the certificate is for "localhost", not for the address */
    expect_refused(box("127.0.0.1", implicit_port, IMAP_TLS_IMPLICIT, true, ca), "certificate");
}

static void test_verification_can_be_switched_off(void **state)
{
    (void)state;
    expect_ok(box("127.0.0.1", implicit_port, IMAP_TLS_IMPLICIT, false, NULL));
}

static void test_plain_login_refused(void **state)
{
    (void)state;
    struct mailbox_settings b = box("localhost", starttls_port, IMAP_TLS_NONE, true, NULL);
    b.password = (char *)"wrong";
    struct imap *s = NULL;
    struct td_err err = { 0 };
    assert_false(imap_open(&b, &s, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as ticketd serve does: a closed server is an error, not a signal */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_implicit_tls_verified),
        cmocka_unit_test(test_starttls_verified),
        cmocka_unit_test(test_unknown_ca_refused),
        cmocka_unit_test(test_wrong_name_refused),
        cmocka_unit_test(test_verification_can_be_switched_off),
        cmocka_unit_test(test_plain_login_refused),
    };
    return cmocka_run_group_tests_name("imap_tls", tests, start_server, stop_server);
}

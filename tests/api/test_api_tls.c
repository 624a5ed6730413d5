/* test_api_tls.c - HTTPS in ticketd (issue 14), on a real `ticketd api`
 * with certificates made here by openssl(1), checked with curl(1)
 * --cacert as an operator would:
 * - the API answers over TLS with the configured chain (and the CA of
 *   another certificate is refused);
 * - SIGHUP loads renewed files in place: the next handshake shows the
 *   new certificate, the listener never went away;
 * - a reload with a key that is not the certificate's keeps the running
 *   one and logs tls_reload_failed;
 * - check-config refuses a certificate without a key and a key that does
 *   not match (exit 3, naming the key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/cli_run.h"
#include "tests/support/harness.h"

struct ctx {
    char dir[256];
    char bin[PATH_MAX];
    struct harness_server srv;
    int port;
};

static bool sh(const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof full, "timeout 60 sh -c '%s' >/dev/null 2>&1", cmd);
    return system(full) == 0;
}

/* A CA "name" and a server certificate for 127.0.0.1 it signed:
 * DIR/name-ca.pem, DIR/name.pem, DIR/name.key. */
static void make_cert(const char *dir, const char *name)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout %s-ca.key -out %s-ca.pem "
             "-days 2 -subj \"/CN=%s test CA\" && "
             "openssl req -newkey rsa:2048 -nodes -keyout %s.key -out %s.csr -subj /CN=localhost && "
             "printf \"subjectAltName=IP:127.0.0.1,DNS:localhost\\n\" > %s.ext && "
             "openssl x509 -req -in %s.csr -CA %s-ca.pem -CAkey %s-ca.key -CAcreateserial "
             "-out %s.pem -days 2 -extfile %s.ext",
             dir, name, name, name, name, name, name, name, name, name, name, name);
    if (!sh(cmd))
        fail_msg("openssl could not make the %s certificate", name);
}

static void install(const char *dir, const char *cert, const char *key)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cd %s && cp %s.pem live.pem && cp %s.key live.key", dir, cert, key);
    assert_true(sh(cmd));
}

/* curl's exit code: 0 and HTTP 200 on /healthz is success. */
static int curl_with(struct ctx *c, const char *ca)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "timeout 20 curl -sS -o /dev/null -w %%{http_code} --max-time 10 --cacert %s/%s-ca.pem "
             "https://127.0.0.1:%d/healthz 2>/dev/null",
             c->dir, ca, c->port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char code[16] = "";
    if (fgets(code, sizeof code, p) == NULL)
        code[0] = '\0';
    int rc = pclose(p);
    int exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (exit_code == 0 && strcmp(code, "200") != 0)
        return 100; /* TLS was fine, the answer was not */
    return exit_code;
}

static size_t log_count(struct ctx *c, const char *needle)
{
    char path[400];
    snprintf(path, sizeof path, "%s/server.log", c->srv.dir);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

static bool wait_log(struct ctx *c, const char *needle, size_t n)
{
    for (int i = 0; i < 500; i++) { /* 10 s */
        if (log_count(c, needle) >= n)
            return true;
        usleep(20 * 1000);
    }
    return false;
}

static void write_conf(struct ctx *c, const char *path, const char *tls_lines)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[store]\nuri = sqlite:%s/t.db\n[core]\npassword_cost = min\n[log]\nlevel = info\n"
            "[api]\nport = %d\njwt_secret = test-jwt-secret-0123456789abcdef0123456789\n%s",
            c->dir, c->port, tls_lines);
    fclose(f);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL || !harness_tempdir(c->dir, sizeof c->dir) || !cli_ticketd_path(c->bin, sizeof c->bin))
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    harness_stop(&c->srv);
    harness_rmtree(c->dir);
    free(c);
    return 0;
}

static void https_and_reload_on_sighup(void **state)
{
    struct ctx *c = *state;
    make_cert(c->dir, "one");
    make_cert(c->dir, "two");
    install(c->dir, "one", "one");
    c->port = harness_free_port();
    char conf[400], tls[900];
    snprintf(conf, sizeof conf, "%s/ticketd.conf", c->dir);
    snprintf(tls, sizeof tls, "tls_cert_file = %s/live.pem\ntls_key_file = %s/live.key\n", c->dir, c->dir);
    write_conf(c, conf, tls);
    assert_true(harness_tempdir(c->srv.dir, sizeof c->srv.dir));
    const char *argv[] = { c->bin, "--config", conf, "api", NULL };
    assert_true(harness_spawn(&c->srv, argv));
    assert_true(harness_wait_ready(&c->srv, c->port, NULL, NULL, 15000));
    assert_true(wait_log(c, "event=ready", 1));

    assert_int_equal(curl_with(c, "one"), 0);
    assert_int_equal(curl_with(c, "two"), 60); /* CURLE_PEER_FAILED_VERIFICATION */

    /* renewed files, SIGHUP: the new certificate, same listener */
    install(c->dir, "two", "two");
    assert_int_equal(kill(c->srv.pid, SIGHUP), 0);
    assert_true(wait_log(c, "event=tls_reloaded", 1));
    assert_int_equal(curl_with(c, "two"), 0);
    assert_int_equal(curl_with(c, "one"), 60);

    /* a key that is not the certificate's: the running pair stays */
    install(c->dir, "one", "two");
    assert_int_equal(kill(c->srv.pid, SIGHUP), 0);
    assert_true(wait_log(c, "event=tls_reload_failed", 1));
    assert_true(log_count(c, "is not the key of the certificate") >= 1);
    assert_int_equal(curl_with(c, "two"), 0);
    assert_int_equal(log_count(c, "event=ready"), 1); /* never restarted */
}

static void check_config_refuses_bad_pairs(void **state)
{
    struct ctx *c = *state;
    make_cert(c->dir, "one");
    make_cert(c->dir, "two");
    c->port = harness_free_port();
    char conf[400], tls[900];
    snprintf(conf, sizeof conf, "%s/bad.conf", c->dir);
    struct {
        const char *fmt;
        const char *expect;
    } cases[] = {
        { "tls_cert_file = %s/one.pem\n", "tls_cert_file and tls_key_file go together" },
        { "tls_cert_file = %s/one.pem\ntls_key_file = %s/two.key\n", "[api] tls_key_file:" },
        { "tls_cert_file = %s/one.key\ntls_key_file = %s/one.key\n", "[api] tls_cert_file:" },
        { "tls_cert_file = %s/none.pem\ntls_key_file = %s/one.key\n", "cannot read" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(tls, sizeof tls, cases[i].fmt, c->dir, c->dir);
        write_conf(c, conf, tls);
        struct cli_result r;
        cli_run(c->bin, c->dir, NULL, (const char *const[]){ "--config", conf, "check-config", NULL }, NULL,
                20000, &r);
        if (r.status != 3 || cli_lines(r.err.data) != 1 || strstr(r.err.data, cases[i].expect) == NULL)
            fail_msg("case %zu: exit %d: %s (expected 3 and '%s')", i, r.status, r.err.data, cases[i].expect);
        cli_result_clear(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(https_and_reload_on_sighup, setup, teardown),
        cmocka_unit_test_setup_teardown(check_config_refuses_bad_pairs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

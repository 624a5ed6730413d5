/* test_deploy_files.c - docker/lint.sh passes: the Dockerfile, compose
 * file and systemd unit are consistent with the tree and the built
 * binary (what can be checked without a Docker engine; see lint.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static void lint_passes(void **state)
{
    (void)state;
    char exe[PATH_MAX - 64], cmd[3 * PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) { /* BUILD/tests/docker/test_deploy_files -> BUILD */
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    /* bounded: lint.sh runs a few local tools, no network */
    snprintf(cmd, sizeof cmd, "timeout -k 5 120 bash %s/../../docker/lint.sh %s/ticketd 2>&1",
             harness_support_dir(), exe);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024];
    while (fgets(line, sizeof line, p))
        fputs(line, stderr);
    int rc = pclose(p);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(lint_passes) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

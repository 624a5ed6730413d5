/* test_cli_group.c - `ticketd group add|list|show|remove|member-add|
 * member-remove` on every store: the real binary writes what core reads
 * back, exit codes match `user`'s (2 for a bad command line or value, 1
 * for no such group or agent or a taken key), and only staff join; and
 * `ticketd user restrict|unrestrict` (agents only). Each run is bounded. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/group.h"
#include "core/user.h"
#include "tests/support/harness.h"
#include "tests/support/store_fixture.h"

#define RUN_TIMEOUT_MS 20000
#define FX(state) ((struct store_fixture *)*(state))

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* BUILD/tests/cli/<test> -> BUILD/ticketd */
static void ticketd_path(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(out, len, "%s/ticketd", exe);
}

/* Exit status of `ticketd --config conf args...` (stdout/stderr to
 * /dev/null), or -1 when it had to be killed. */
static int run_cmd(const char *conf, const char *cmd, const char *a1, const char *a2,
                   const char *a3)
{
    char bin[PATH_MAX + 16];
    ticketd_path(bin, sizeof bin);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        unsetenv("TICKETD_CONFIG");
        execl(bin, bin, "--config", conf, cmd, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    long long deadline = mono_ms() + RUN_TIMEOUT_MS;
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && mono_ms() < deadline)
        usleep(10000);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void groups_from_the_command_line(void **state)
{
    struct store_fixture *fx = FX(state);
    struct td_core core;
    core_defaults(&core, fx->st);
    core.pw_cost = PASSWORD_COST_MIN;
    struct td_err err;
    struct td_user agent, cust;
    struct user_new ua = { "al@example.com", "Al", ROLE_AGENT, NULL };
    struct user_new uc = { "c@example.org", NULL, ROLE_CUSTOMER, NULL };
    assert_true(user_create(&core, NULL, &ua, &agent, &err));
    assert_true(user_create(&core, NULL, &uc, &cust, &err));

    char dir[256], conf[400];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(conf, sizeof conf, "%s/ticketd.conf", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "[store]\nuri = %s\n", fx->uri);
    fclose(f);

    assert_int_equal(run_cmd(conf, "group", "add", "billing", "Billing"), 0);
    assert_int_equal(run_cmd(conf, "group", "add", "billing", NULL), 1);   /* taken */
    assert_int_equal(run_cmd(conf, "group", "add", "bad key", NULL), 2);   /* a bad value */
    assert_int_equal(run_cmd(conf, "group", "frobnicate", NULL, NULL), 2);
    assert_int_equal(run_cmd(conf, "group", "show", NULL, NULL), 2);
    assert_int_equal(run_cmd(conf, "group", "list", NULL, NULL), 0);
    assert_int_equal(run_cmd(conf, "group", "--help", NULL, NULL), 0);
    assert_int_equal(run_cmd(conf, "group", "member-add", "billing", "al@example.com"), 0);
    assert_int_equal(run_cmd(conf, "group", "member-add", "billing", "al@example.com"), 0);
    assert_int_equal(run_cmd(conf, "group", "member-add", "billing", "c@example.org"), 2);
    assert_int_equal(run_cmd(conf, "group", "member-add", "billing", "nobody@example.org"), 1);
    assert_int_equal(run_cmd(conf, "group", "member-add", "nope", "al@example.com"), 1);
    assert_int_equal(run_cmd(conf, "group", "show", "billing", NULL), 0);
    assert_int_equal(run_cmd(conf, "group", "show", "nope", NULL), 1);

    struct td_group g;
    assert_true(fx->st->ops->group_get(fx->st, "billing", &g, &err));
    assert_string_equal(g.name, "Billing");
    assert_int_equal(g.members.n, 1);
    assert_string_equal(g.members.v[0], agent.id);
    group_clear(&g);

    assert_int_equal(run_cmd(conf, "group", "member-remove", "billing", "al@example.com"), 0);
    assert_int_equal(run_cmd(conf, "group", "member-remove", "billing", "al@example.com"), 1);
    assert_true(fx->st->ops->group_get(fx->st, "billing", &g, &err));
    assert_int_equal(g.members.n, 0);
    group_clear(&g);
    assert_int_equal(run_cmd(conf, "group", "remove", "billing", NULL), 0);
    assert_int_equal(run_cmd(conf, "group", "remove", "billing", NULL), 1);
    assert_false(fx->st->ops->group_get(fx->st, "billing", &g, &err));
    assert_int_equal(err.code, TD_NOT_FOUND);

    /* An agent restricted to their groups, and back; only agents. */
    assert_int_equal(run_cmd(conf, "user", "restrict", "--email", "al@example.com"), 0);
    struct td_user u;
    assert_true(fx->st->ops->user_get(fx->st, agent.id, &u, &err));
    assert_true(u.restricted);
    user_clear(&u);
    assert_int_equal(run_cmd(conf, "user", "restrict", "--email", "c@example.org"), 2);
    assert_int_equal(run_cmd(conf, "user", "restrict", "--email", "nobody@example.org"), 1);
    assert_int_equal(run_cmd(conf, "user", "unrestrict", "--email", "al@example.com"), 0);
    assert_true(fx->st->ops->user_get(fx->st, agent.id, &u, &err));
    assert_false(u.restricted);
    user_clear(&u);

    user_clear(&agent);
    user_clear(&cust);
    harness_rmtree(dir);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(groups_from_the_command_line, store_fixture_setup,
                                        store_fixture_teardown),
    };
    return store_fixture_run_all("cli_group", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

/* test_cli_ticket.c - `ticketd ticket merge SOURCE TARGET` and `ticketd
 * alias add|list|remove` on every store: the real binary merges what core
 * opened, running it again is harmless, an operator's alias is confirmed
 * at once, and bad arguments are exit code 2. Each run is bounded. */
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

#include "core/alias.h"
#include "core/core.h"
#include "core/ticket.h"
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

static int run(const char *conf, const char *a1, const char *a2, const char *a3)
{
    return run_cmd(conf, "ticket", a1, a2, a3);
}

static void merge_from_the_command_line(void **state)
{
    struct store_fixture *fx = FX(state);
    struct td_core core;
    core_defaults(&core, fx->st);
    core.pw_cost = PASSWORD_COST_MIN;
    struct td_err err;
    struct td_user a, b;
    struct user_new ua = { "a@example.org", NULL, ROLE_CUSTOMER, NULL };
    struct user_new ub = { "b@example.org", NULL, ROLE_CUSTOMER, NULL };
    assert_true(user_create(&core, NULL, &ua, &a, &err));
    assert_true(user_create(&core, NULL, &ub, &b, &err));
    struct ticket_new ta = { .subject = "original", .body = "x" };
    struct ticket_new tb = { .subject = "duplicate", .body = "y" };
    struct td_ticket t;
    assert_true(ticket_open(&core, &a, &ta, &t, &err));
    int64_t target = t.number;
    ticket_clear(&t);
    assert_true(ticket_open(&core, &b, &tb, &t, &err));
    int64_t source = t.number;
    ticket_clear(&t);

    char dir[256], conf[400];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(conf, sizeof conf, "%s/ticketd.conf", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "[store]\nuri = %s\n", fx->uri);
    fclose(f);
    char s[32], d[32];
    snprintf(s, sizeof s, "%lld", (long long)source);
    snprintf(d, sizeof d, "#%lld", (long long)target);
    assert_int_equal(run(conf, "merge", s, d), 0);
    assert_int_equal(run(conf, "merge", s, d), 0); /* again: finished already */
    assert_int_equal(run(conf, "merge", s, "x"), 2);
    assert_int_equal(run(conf, "split", s, d), 2);
    assert_int_equal(run(conf, "merge", s, s), 2);   /* into itself */
    assert_int_equal(run(conf, "merge", s, "999"), 1); /* no such ticket */

    assert_true(fx->st->ops->ticket_get(fx->st, source, &t, &err));
    assert_int_equal(t.merged_into, target);
    ticket_clear(&t);
    assert_true(fx->st->ops->ticket_get(fx->st, target, &t, &err));
    assert_int_equal(t.participants.n, 1);
    assert_string_equal(t.participants.v[0], b.id);
    ticket_clear(&t);
    struct td_comment_list cl = { NULL, 0 };
    assert_true(fx->st->ops->comment_list(fx->st, target, true, &cl, &err));
    assert_int_equal(cl.n, 2);
    comment_list_clear(&cl);
    /* Aliases: an operator's is confirmed at once; customers have none. */
    struct td_user agent;
    struct user_new ug = { "al@example.com", NULL, ROLE_AGENT, NULL };
    assert_true(user_create(&core, NULL, &ug, &agent, &err));
    assert_int_equal(run_cmd(conf, "alias", "add", "al@example.com", "al@phone.example"), 0);
    assert_int_equal(run_cmd(conf, "alias", "add", "a@example.org", "x@phone.example"), 1);
    assert_int_equal(run_cmd(conf, "alias", "add", "al@example.com", NULL), 2);
    struct td_alias al;
    assert_true(fx->st->ops->alias_get(fx->st, "al@phone.example", &al, &err));
    assert_true(al.confirmed);
    assert_string_equal(al.user_id, agent.id);
    alias_clear(&al);
    assert_int_equal(run_cmd(conf, "alias", "list", "al@example.com", NULL), 0);
    assert_int_equal(run_cmd(conf, "alias", "remove", "al@example.com", "al@phone.example"), 0);
    assert_false(fx->st->ops->alias_get(fx->st, "al@phone.example", &al, &err));
    user_clear(&agent);
    user_clear(&a);
    user_clear(&b);
    harness_rmtree(dir);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(merge_from_the_command_line, store_fixture_setup,
                                        store_fixture_teardown),
    };
    return store_fixture_run_all("cli_ticket", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}

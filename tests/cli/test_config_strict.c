/* test_config_strict.c - the configuration and the one-shot commands
 * behave as README promises (issue 14):
 * - a TICKETD_* variable that is no key stops ticketd like an unknown key
 *   (exit 3, one line naming it), for check-config and for serve;
 * - a key set twice says "duplicate", not "unknown"; "k" with "k_file"
 *   (in the file or in the environment) is an error; a key file that
 *   cannot be read names the key;
 * - every `user` verb has the same exit codes (0 done, 1 no such user or
 *   a clash, 2 bad arguments or value) and `user passwd` reads stdin;
 * - commands other than the daemons print no info log lines, even at
 *   [log] level = debug;
 * - --version names the commit and the store schema versions.
 * Runs the real BUILD/ticketd with the example config, its store, secrets
 * and templates redirected by TICKETD_* variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/store.h"
#include "tests/support/cli_run.h"
#include "tests/support/harness.h"

#define T_MS 20000

struct ctx {
    char dir[256];
    char bin[PATH_MAX];
    char example[PATH_MAX];
    char store_env[400];
    char tdir_env[PATH_MAX + 64];
};

static struct ctx *C;

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL || !harness_tempdir(c->dir, sizeof c->dir) || !cli_ticketd_path(c->bin, sizeof c->bin))
        return -1;
    snprintf(c->example, sizeof c->example, "%s/../../docker/ticketd.conf.example", harness_support_dir());
    snprintf(c->store_env, sizeof c->store_env, "TICKETD_STORE_URI=sqlite:%s/t.db", c->dir);
    snprintf(c->tdir_env, sizeof c->tdir_env, "TICKETD_NOTIFY_BUILTIN_TEMPLATES_DIR=%s/../../templates",
             harness_support_dir());
    C = c;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    harness_rmtree(c->dir);
    free(c);
    return 0;
}

/* ticketd --config conf ARGS with the example's redirections plus extra
 * (one NAME=value or NULL). */
static void run(struct cli_result *r, const char *conf, const char *extra, const char *stdin_text,
                const char *const *args)
{
    const char *env[] = { C->store_env, C->tdir_env,
                          "TICKETD_API_JWT_SECRET=test-jwt-secret-0123456789abcdef0123456789",
                          "TICKETD_NOTIFY_REPLY_SECRET=test-reply-secret-0123456789abcdef012345",
                          "TICKETD_MAILBOX_SUPPORT_PASSWORD=test-imap-password", extra, NULL };
    const char *argv[16] = { "--config", conf ? conf : C->example };
    size_t n = 2;
    for (; args && *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    cli_run(C->bin, C->dir, env, argv, stdin_text, T_MS, r);
}

/* The example with text appended, as DIR/name. */
static const char *conf_with(const char *name, const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", C->dir, name);
    FILE *in = fopen(C->example, "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        fwrite(chunk, 1, n, out);
    fprintf(out, "\n%s", text);
    fclose(in);
    fclose(out);
    return path;
}

static void expect_refused(struct cli_result *r, const char *what, const char *needle)
{
    if (r->status != 3 || cli_lines(r->err.data) != 1 || strncmp(r->err.data, "ticketd: ", 9) != 0 ||
        strstr(r->err.data, needle) == NULL)
        fail_msg("%s: exit %d, stderr: %s (expected exit 3, one line with '%s')", what, r->status,
                 r->err.data, needle);
    cli_result_clear(r);
}

static void unknown_environment_variable_stops_ticketd(void **state)
{
    (void)state;
    struct cli_result r;
    run(&r, NULL, NULL, NULL, (const char *const[]){ "check-config", NULL });
    if (r.status != 0)
        fail_msg("the example fails: %s", r.err.data);
    cli_result_clear(&r);
    run(&r, NULL, "TICKETD_API_PROT=8080", NULL, (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "check-config", "unknown environment variable TICKETD_API_PROT");
    run(&r, NULL, "TICKETD_API_PROT=8080", NULL, (const char *const[]){ "serve", NULL });
    expect_refused(&r, "serve", "TICKETD_API_PROT");
    /* a known key's _FILE form and a dynamic section are keys */
    run(&r, NULL, "TICKETD_MAILBOX_SUPPORT_FOLDER=INBOX", NULL, (const char *const[]){ "check-config", NULL });
    assert_int_equal(r.status, 0);
    cli_result_clear(&r);
    /* the test suite's own switches are not keys, and not errors */
    run(&r, NULL, "TICKETD_MONGO_MOCK_DEBUG=0", NULL, (const char *const[]){ "check-config", NULL });
    assert_int_equal(r.status, 0);
    cli_result_clear(&r);
    run(&r, NULL, "TICKETD_MAILBOX_NOSUCH_HOST=x", NULL, (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "check-config", "TICKETD_MAILBOX_NOSUCH_HOST");
}

static void duplicate_and_double_keys(void **state)
{
    (void)state;
    struct cli_result r;
    run(&r, conf_with("dup.conf", "[api]\nbind = 127.0.0.1\n"), NULL, NULL,
        (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "a key set twice", "duplicate key [api] bind (first set on line");
    run(&r, conf_with("both.conf", "[smtp]\npassword = x\npassword_file = /etc/passwd\n"), NULL, NULL,
        (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "key and key_file", "[smtp] password and password_file");
    run(&r, NULL, "TICKETD_API_JWT_SECRET_FILE=/etc/hostname", NULL,
        (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "both in the environment", "TICKETD_API_JWT_SECRET and TICKETD_API_JWT_SECRET_FILE");
}

static void unreadable_key_file_names_the_key(void **state)
{
    (void)state;
    struct cli_result r;
    /* [smtp] password_file is read through config_str(): the failure is
     * kept and reported, not taken for "no password" */
    run(&r, conf_with("smtp.conf", "[smtp]\npassword_file = /nonexistent/smtp.pw\n"), NULL, NULL,
        (const char *const[]){ "check-config", NULL });
    expect_refused(&r, "missing smtp password file", "[smtp] password_file: cannot open /nonexistent/smtp.pw");
    /* a required one */
    const char *env[] = { C->store_env, C->tdir_env, "TICKETD_API_JWT_SECRET_FILE=/nonexistent/jwt",
                          "TICKETD_NOTIFY_REPLY_SECRET=test-reply-secret-0123456789abcdef012345",
                          "TICKETD_MAILBOX_SUPPORT_PASSWORD=x", NULL };
    cli_run(C->bin, C->dir, env, (const char *const[]){ "--config", C->example, "check-config", NULL },
            NULL, T_MS, &r);
    expect_refused(&r, "missing jwt secret file", "[api] jwt_secret_file: cannot open /nonexistent/jwt");
}

struct user_case {
    const char *stdin_text;
    const char *args[8];
    int status;
    const char *err; /* substring of stderr, or NULL: stderr empty */
};

static void user_exit_codes_are_consistent(void **state)
{
    (void)state;
    static const struct user_case cases[] = {
        { "first password 1\n", { "user", "add", "--email", "u1@example.org", "--password-stdin" }, 0, NULL },
        { NULL, { "user", "list" }, 0, NULL },
        /* a clash or nobody: 1 */
        { NULL, { "user", "add", "--email", "u1@example.org" }, 1, "already exists" },
        { NULL, { "user", "disable", "--email", "nobody@example.org" }, 1, "no user" },
        { NULL, { "user", "enable", "--email", "nobody@example.org" }, 1, "no user" },
        { NULL, { "user", "set-role", "--email", "nobody@example.org", "--role", "agent" }, 1, "no user" },
        { "x long password\n", { "user", "passwd", "--email", "nobody@example.org" }, 1, "no user" },
        /* bad arguments or values: 2 */
        { NULL, { "user", "add", "--email", "not-an-address" }, 2, "email" },
        { NULL, { "user", "add" }, 2, "--email is required" },
        { NULL, { "user", "add", "--email", "a@example.org", "--role", "boss" }, 2, "unknown role" },
        { NULL, { "user", "set-role", "--email", "u1@example.org" }, 2, "--role is required" },
        { NULL, { "user", "frobnicate", "--email", "u1@example.org" }, 2, "unknown command" },
        { "short\n", { "user", "passwd", "--email", "u1@example.org" }, 2, "at least" },
        { NULL, { "user", "passwd", "--email", "u1@example.org" }, 2, "cannot read the password" },
        /* done: 0 */
        { "second password 2\n", { "user", "passwd", "--email", "u1@example.org" }, 0, NULL },
        { NULL, { "user", "set-role", "--email", "u1@example.org", "--role", "agent" }, 0, NULL },
        { NULL, { "user", "disable", "--email", "u1@example.org" }, 0, NULL },
        { NULL, { "user", "enable", "--email", "u1@example.org" }, 0, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct user_case *uc = &cases[i];
        struct cli_result r;
        /* debug: a one-shot command still prints no log lines */
        run(&r, NULL, "TICKETD_LOG_LEVEL=debug", uc->stdin_text, uc->args);
        bool ok = r.status == uc->status &&
                  (uc->err ? cli_lines(r.err.data) == 1 && strstr(r.err.data, uc->err) != NULL
                           : r.err.data[0] == '\0');
        if (!ok)
            fail_msg("case %zu (%s %s): exit %d, stderr: '%s' (expected %d, '%s')", i, uc->args[0],
                     uc->args[1], r.status, r.err.data, uc->status, uc->err ? uc->err : "");
        cli_result_clear(&r);
    }
}

static void one_shot_commands_log_nothing(void **state)
{
    (void)state;
    struct cli_result r;
    run(&r, NULL, "TICKETD_LOG_LEVEL=debug", NULL, (const char *const[]){ "check-config", NULL });
    assert_int_equal(r.status, 0);
    if (r.err.data[0] != '\0')
        fail_msg("check-config printed: %s", r.err.data);
    cli_result_clear(&r);
    run(&r, NULL, "TICKETD_LOG_LEVEL=debug", NULL, (const char *const[]){ "quarantine", "list", NULL });
    assert_int_equal(r.status, 0);
    if (r.err.data[0] != '\0')
        fail_msg("quarantine list printed: %s", r.err.data);
    cli_result_clear(&r);
}

static void version_names_commit_and_schema(void **state)
{
    (void)state;
    struct cli_result r;
    cli_run(C->bin, C->dir, NULL, (const char *const[]){ "--version", NULL }, NULL, T_MS, &r);
    assert_int_equal(r.status, 0);
    char want[128];
    snprintf(want, sizeof want, "store schema: sqlite %d, mongodb %d\n", store_sqlite_schema_version(),
             store_mongo_schema_version());
    if (strstr(r.out.data, "(commit ") == NULL || strstr(r.out.data, want) == NULL)
        fail_msg("--version said: %s", r.out.data);
    /* built in a git checkout: a hash, not "unknown" */
    assert_null(strstr(r.out.data, "(commit unknown)"));
    cli_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_environment_variable_stops_ticketd),
        cmocka_unit_test(duplicate_and_double_keys),
        cmocka_unit_test(unreadable_key_file_names_the_key),
        cmocka_unit_test(user_exit_codes_are_consistent),
        cmocka_unit_test(one_shot_commands_log_nothing),
        cmocka_unit_test(version_names_commit_and_schema),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_config_example.c - docker/ticketd.conf.example is complete and
 * true, and a bad configuration is refused the way README promises.
 *
 * Runs the real BUILD/ticketd:
 * - `check-config` on the example (and on docker/ticketd.compose.conf) passes (with the store, the secrets and
 *   the template directory redirected by TICKETD_* variables): every key
 *   set there is one some module reads;
 * - `check-config --keys` lists every key ticketd reads; each must be
 *   shown in the example (set, or as a "#key = default" line), and each
 *   "#key" line there must be a real key;
 * - bad configs (unknown key, bad number, bad enum, out of range from the
 *   environment, missing or unreadable secret, malformed line) give exit
 *   code 3 and exactly one line on stderr naming the key, for
 *   check-config and for serve (before any work starts).
 * Every child runs with a bounded wait and is killed past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/strv.h"
#include "tests/support/harness.h"

#define RUN_TIMEOUT_MS 20000

struct ctx {
    char dir[256];
    char ticketd[PATH_MAX];
    char example[PATH_MAX];
    char templates[PATH_MAX];
    char store_env[400];
};

struct result {
    int status; /* exit code, or -1 killed / not run */
    struct buf out, err;
};

static void result_clear(struct result *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
}

static bool slurp(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(b, chunk, n);
    fclose(f);
    if (b->data == NULL)
        buf_puts(b, "");
    return true;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs ticketd with args and extra "NAME=value" environment entries
 * (NULL-terminated); the redirections of the example are always set
 * unless bare is true. */
static void run(struct ctx *c, struct result *r, bool bare, const char *const *env,
                const char *const *args)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout", c->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", c->dir);
    const char *argv[16];
    size_t n = 0;
    argv[n++] = c->ticketd;
    for (; args && *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        /* nothing of the caller's ticketd settings leaks in */
        unsetenv("TICKETD_CONFIG");
        for (char **ev = environ; *ev;) {
            if (strncmp(*ev, "TICKETD_", 8) == 0 && strncmp(*ev, "TICKETD_SRCDIR=", 15) != 0 &&
                strncmp(*ev, "TICKETD_TEST", 12) != 0) {
                char name[256];
                size_t len = strcspn(*ev, "=");
                snprintf(name, sizeof name, "%.*s", (int)len, *ev);
                unsetenv(name);
                continue; /* environ changed under us: look at the same slot again */
            }
            ev++;
        }
        if (!bare) {
            putenv(c->store_env);
            setenv("TICKETD_API_JWT_SECRET", "test-jwt-secret-0123456789abcdef0123456789", 1);
            setenv("TICKETD_NOTIFY_REPLY_SECRET", "test-reply-secret-0123456789abcdef012345", 1);
            setenv("TICKETD_NOTIFY_BUILTIN_TEMPLATES_DIR", c->templates, 1);
            setenv("TICKETD_MAILBOX_SUPPORT_PASSWORD", "test-imap-password", 1);
        }
        for (; env && *env; env++)
            putenv((char *)*env);
        execv(c->ticketd, (char *const *)argv);
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
        fail_msg("ticketd %s did not exit within %d ms", args && args[0] ? args[0] : "", RUN_TIMEOUT_MS);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    assert_true(slurp(out_path, &r->out));
    assert_true(slurp(err_path, &r->err));
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL || !harness_tempdir(c->dir, sizeof c->dir))
        return -1;
    /* BUILD/ticketd from BUILD/tests/cli/test_config_example */
    char exe[PATH_MAX - 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return -1;
        *slash = '\0';
    }
    snprintf(c->ticketd, sizeof c->ticketd, "%s/ticketd", exe);
    snprintf(c->example, sizeof c->example, "%s/../../docker/ticketd.conf.example",
             harness_support_dir());
    snprintf(c->templates, sizeof c->templates, "%s/../../templates", harness_support_dir());
    snprintf(c->store_env, sizeof c->store_env, "TICKETD_STORE_URI=sqlite:%s/t.db", c->dir);
    if (access(c->ticketd, X_OK) != 0 || access(c->example, R_OK) != 0) {
        fprintf(stderr, "setup: need %s and %s\n", c->ticketd, c->example);
        return -1;
    }
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

static void example_passes_check_config(void **state)
{
    struct ctx *c = *state;
    struct result r;
    run(c, &r, false, NULL, (const char *const[]){ "--config", c->example, "check-config", NULL });
    if (r.status != 0)
        fail_msg("check-config on the example: exit %d: %s", r.status, r.err.data);
    assert_non_null(strstr(r.out.data, "config ok"));
    result_clear(&r);
}

/* docker/ticketd.compose.conf, the file compose mounts, is valid too. */
static void compose_config_passes_check_config(void **state)
{
    struct ctx *c = *state;
    char conf[PATH_MAX];
    snprintf(conf, sizeof conf, "%s/../../docker/ticketd.compose.conf", harness_support_dir());
    struct result r;
    run(c, &r, false, NULL, (const char *const[]){ "--config", conf, "check-config", NULL });
    if (r.status != 0)
        fail_msg("check-config on %s: exit %d: %s", conf, r.status, r.err.data);
    result_clear(&r);
}

/* "section key", with a trailing "_file" dropped: "x_file" documents x. */
static void norm_key(const char *section, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    if (kl > 5 && strcmp(key + kl - 5, "_file") == 0)
        kl -= 5;
    snprintf(out, len, "%s %.*s", section, (int)kl, key);
}

/* Every key of the example, set or shown as "#key = ...". */
static void example_keys(const char *path, struct strv *keys)
{
    struct buf text = BUF_INIT;
    assert_true(slurp(path, &text));
    char section[128] = "";
    char *save = NULL;
    for (char *line = strtok_r(text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '[') {
            char *end = strchr(line, ']');
            assert_non_null(end);
            snprintf(section, sizeof section, "%.*s", (int)(end - line - 1), line + 1);
            continue;
        }
        if (*line == '#' || *line == ';')
            line++;
        while (*line == ' ')
            line++;
        size_t kl = 0;
        while (line[kl] == '_' || islower((unsigned char)line[kl]) || isdigit((unsigned char)line[kl]))
            kl++;
        size_t sp = kl;
        while (line[sp] == ' ' || line[sp] == '\t')
            sp++;
        if (kl == 0 || line[sp] != '=' || section[0] == '\0')
            continue;
        char key[128], norm[300];
        snprintf(key, sizeof key, "%.*s", (int)kl, line);
        norm_key(section, key, norm, sizeof norm);
        if (!strv_contains(keys, norm))
            strv_push(keys, norm);
    }
    buf_free(&text);
}

static void example_documents_every_key(void **state)
{
    struct ctx *c = *state;
    struct result r;
    run(c, &r, false, NULL,
        (const char *const[]){ "--config", c->example, "check-config", "--keys", NULL });
    if (r.status != 0)
        fail_msg("check-config --keys: exit %d: %s", r.status, r.err.data);
    struct strv read = STRV_INIT, shown = STRV_INIT;
    char *save = NULL;
    for (char *line = strtok_r(r.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char section[128], key[128], norm[300];
        assert_int_equal(sscanf(line, "[%127[^]]] %127s", section, key), 2);
        norm_key(section, key, norm, sizeof norm);
        if (!strv_contains(&read, norm))
            strv_push(&read, norm);
    }
    assert_true(read.n > 40);
    example_keys(c->example, &shown);
    int missing = 0;
    for (size_t i = 0; i < read.n; i++)
        if (!strv_contains(&shown, read.v[i])) {
            fprintf(stderr, "not in the example: %s\n", read.v[i]);
            missing++;
        }
    for (size_t i = 0; i < shown.n; i++)
        if (!strv_contains(&read, shown.v[i])) {
            fprintf(stderr, "in the example but read by nobody: %s\n", shown.v[i]);
            missing++;
        }
    assert_int_equal(missing, 0);
    strv_clear(&read);
    strv_clear(&shown);
    result_clear(&r);
}

struct bad_case {
    const char *conf;     /* NULL: the example */
    const char *env;      /* one NAME=value or NULL */
    const char *expect;   /* substring of the one stderr line */
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void check_refused(struct ctx *c, const struct bad_case *bc, const char *cmd)
{
    char conf[300];
    const char *path = c->example;
    if (bc->conf) { /* the example with the bad lines appended (the last value wins) */
        struct buf text = BUF_INIT;
        assert_true(slurp(c->example, &text));
        buf_puts(&text, "\n");
        buf_puts(&text, bc->conf);
        snprintf(conf, sizeof conf, "%s/bad.conf", c->dir);
        write_file(conf, text.data);
        buf_free(&text);
        path = conf;
    }
    struct result r;
    run(c, &r, false, (const char *const[]){ bc->env, NULL },
        (const char *const[]){ "--config", path, cmd, NULL });
    size_t lines = 0;
    for (const char *p = r.err.data; *p; p++)
        lines += *p == '\n';
    if (r.status != 3 || lines != 1 || strncmp(r.err.data, "ticketd: ", 9) != 0 ||
        strstr(r.err.data, bc->expect) == NULL)
        fail_msg("%s with %s%s: exit %d, stderr (%zu lines): %s (expected exit 3 and one line "
                 "with '%s')",
                 cmd, bc->conf ? "a bad config" : "the example", bc->env ? " and env" : "",
                 r.status, lines, r.err.data, bc->expect);
    result_clear(&r);
}

static void bad_config_is_one_line_exit_3(void **state)
{
    struct ctx *c = *state;
    static const struct bad_case cases[] = {
        { "[api]\nprot = 8080\n", NULL, "unknown key [api] prot" },
        { "[api]\nport = eighty\n", NULL, "[api] port" },
        { "[api]\nport = 99999\n", NULL, "[api] port" },
        { "[log]\nlevel = loud\n", NULL, "[log] level" },
        { "[core]\npassword_cost = extreme\n", NULL, "[core] password_cost" },
        { "[smtp]\nstarttls = maybe\n", NULL, "[smtp] starttls" },
        { NULL, "TICKETD_API_THREADS=0", "[api] threads" },
        { NULL, "TICKETD_NOTIFY_SUPPORT_ADDRESS=not an address", "support_address" },
        { "[api\nport = 1\n", NULL, "malformed section header" },
        { "[api]\njust words\n", NULL, "expected 'key = value'" },
        { "[route broken]\nsubject = (unclosed\ngroup = billing\n", NULL,
          "[route broken] subject: bad pattern" },
        { "[route nogroup]\nto = billing@example.com\n", NULL, "[route nogroup] group" },
        /* SLAs (core/sla_config.c) */
        { "[sla x]\npriority = urgent\nfirst_response = 4hours\n", NULL, "[sla x] first_response" },
        { "[calendar c]\ntimezone = Mars/Olympus\nmon = 09:00-17:00\n", NULL, "[calendar c] timezone" },
        { "[calendar c]\ntimezone = UTC\n", NULL, "no business hours" },
        { "[sla x]\npriority = low\nresolution = 1d\ncalender = c\n", NULL,
          "unknown key [sla x] calender" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_refused(c, &cases[i], "check-config");
    /* serve refuses before it starts anything: same line, same code */
    check_refused(c, &cases[0], "serve");
    check_refused(c, &cases[6], "serve");
}

static void missing_secrets_are_named(void **state)
{
    struct ctx *c = *state;
    /* the example's secret files do not exist here: without the
     * redirections, the first secret read says which file */
    char env_store[420];
    snprintf(env_store, sizeof env_store, "%s", c->store_env);
    char tdir[PATH_MAX + 64];
    snprintf(tdir, sizeof tdir, "TICKETD_NOTIFY_BUILTIN_TEMPLATES_DIR=%s", c->templates);
    struct result r;
    run(c, &r, true, (const char *const[]){ env_store, tdir, NULL },
        (const char *const[]){ "--config", c->example, "check-config", NULL });
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err.data, "/etc/ticketd/"));
    result_clear(&r);
    /* an API without any jwt secret */
    char conf[300];
    snprintf(conf, sizeof conf, "%s/nosecret.conf", c->dir);
    write_file(conf, "[notify]\nsupport_address = s@example.com\n[smtp]\nurl = smtp://127.0.0.1:1\n");
    run(c, &r, true, (const char *const[]){ env_store, tdir, NULL },
        (const char *const[]){ "--config", conf, "check-config", NULL });
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err.data, "[api] jwt_secret is required"));
    result_clear(&r);
}

/* The store's files are created 0600; check-config warns (and still
 * passes) when one is wider. */
static void check_config_warns_about_wide_modes(void **state)
{
    struct ctx *c = *state;
    struct result r;
    mode_t old = umask(022);
    run(c, &r, false, NULL, (const char *const[]){ "--config", c->example, "check-config", NULL });
    umask(old);
    if (r.status != 0)
        fail_msg("check-config: exit %d: %s", r.status, r.err.data);
    assert_true(r.err.data == NULL || strstr(r.err.data, "warning") == NULL);
    result_clear(&r);
    char db[300];
    snprintf(db, sizeof db, "%s/t.db", c->dir);
    struct stat sb;
    assert_int_equal(stat(db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(chmod(db, 0644), 0);
    run(c, &r, false, NULL, (const char *const[]){ "--config", c->example, "check-config", NULL });
    if (r.status != 0)
        fail_msg("check-config: exit %d: %s", r.status, r.err.data);
    if (r.err.data == NULL || strstr(r.err.data, "warning") == NULL || strstr(r.err.data, "0644") == NULL)
        fail_msg("check-config did not warn about %s at 0644: %s", db, r.err.data ? r.err.data : "");
    result_clear(&r);
    assert_int_equal(chmod(db, 0600), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_passes_check_config),
        cmocka_unit_test(example_documents_every_key),
        cmocka_unit_test(compose_config_passes_check_config),
        cmocka_unit_test(bad_config_is_one_line_exit_3),
        cmocka_unit_test(missing_secrets_are_named),
        cmocka_unit_test(check_config_warns_about_wide_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

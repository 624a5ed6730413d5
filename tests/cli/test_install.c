/* test_install.c - `make install` with PREFIX and DESTDIR, and the man
 * pages (issue 14):
 * - installs into a fresh DESTDIR with PREFIX=/opt/td: binary, templates,
 *   man pages, docs with the example config, the systemd unit pointing at
 *   that PREFIX, and the config (never overwritten by a second install);
 * - the installed binary runs from there, from a directory without any
 *   templates: it finds PREFIX/share/ticketd/templates next to itself;
 * - ticketd.8 has a subsection for every command `ticketd --help` lists,
 *   ticketd.conf.5 an entry for every key `check-config --keys` lists, and
 *   man(1) renders both without a warning;
 * - make uninstall leaves only the config.
 * make is told the binary and pages are up to date (-o): the test
 * installs what this build made, it never rebuilds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strv.h"
#include "tests/support/cli_run.h"
#include "tests/support/harness.h"

#define T_MS 60000

struct ctx {
    char dir[256];
    char root[PATH_MAX];  /* the source tree */
    char build[PATH_MAX]; /* BUILD, absolute */
    char bin[PATH_MAX];   /* BUILD/ticketd */
    char dest[PATH_MAX];  /* DESTDIR */
    char installed[PATH_MAX + 32];
};

static struct ctx *C;

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL || !harness_tempdir(c->dir, sizeof c->dir) || !cli_ticketd_path(c->bin, sizeof c->bin))
        return -1;
    if (realpath(harness_support_dir(), c->root) == NULL)
        return -1;
    *strrchr(c->root, '/') = '\0'; /* tests/support -> tests */
    *strrchr(c->root, '/') = '\0'; /* -> root */
    snprintf(c->build, sizeof c->build, "%s", c->bin);
    *strrchr(c->build, '/') = '\0';
    snprintf(c->dest, sizeof c->dest, "%s/dest", c->dir);
    snprintf(c->installed, sizeof c->installed, "%s/opt/td/bin/ticketd", c->dest);
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

/* TICKETD_COMMIT=<what BUILD was built with>: make must not see a new
 * commit and rebuild anything (tests install what the build made). */
static void commit_arg(const char *build, char *out, size_t len)
{
    char path[PATH_MAX + 16], c[128] = "unknown";
    snprintf(path, sizeof path, "%s/commit.stamp", build);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(c, sizeof c, f) == NULL)
            snprintf(c, sizeof c, "unknown");
        fclose(f);
    }
    c[strcspn(c, "\n")] = '\0';
    snprintf(out, len, "TICKETD_COMMIT=%s", c);
}

static void make(const char *target)
{
    char destdir[PATH_MAX + 16], build[PATH_MAX + 16], o1[PATH_MAX + 8], o2[PATH_MAX + 16],
        o3[PATH_MAX + 24];
    snprintf(destdir, sizeof destdir, "DESTDIR=%s", C->dest);
    snprintf(build, sizeof build, "BUILD=%s", C->build);
    snprintf(o1, sizeof o1, "%s/ticketd", C->build);
    snprintf(o2, sizeof o2, "%s/man/ticketd.8", C->build);
    snprintf(o3, sizeof o3, "%s/man/ticketd.conf.5", C->build);
    char commit[160];
    commit_arg(C->build, commit, sizeof commit);
    struct cli_result r;
    cli_run("/usr/bin/make", C->dir, NULL,
            (const char *const[]){ "-s", "-C", C->root, target, "PREFIX=/opt/td", destdir, build, commit,
                                   "-o", o1, "-o", o2, "-o", o3, NULL },
            NULL, T_MS, &r);
    if (r.status != 0)
        fail_msg("make %s: exit %d: %s%s", target, r.status, r.out.data, r.err.data);
    cli_result_clear(&r);
}

static bool exists(const char *rel, mode_t *mode)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s%s", C->dest, rel);
    struct stat sb;
    if (stat(p, &sb) != 0)
        return false;
    if (mode)
        *mode = sb.st_mode & 07777;
    return true;
}

static char *slurp(const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s%s", C->dest, rel);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_steal(&b);
}

static void install_lays_out_the_tree(void **state)
{
    (void)state;
    make("install");
    static const struct { const char *path; mode_t mode; } files[] = {
        { "/opt/td/bin/ticketd", 0755 },
        { "/opt/td/share/ticketd/templates/ticket_created_ack.txt", 0644 },
        { "/opt/td/share/man/man8/ticketd.8", 0644 },
        { "/opt/td/share/man/man5/ticketd.conf.5", 0644 },
        { "/opt/td/share/doc/ticketd/ticketd.conf.example", 0644 },
        { "/opt/td/share/doc/ticketd/README.md", 0644 },
        { "/opt/td/lib/systemd/system/ticketd.service", 0644 },
        { "/etc/ticketd/ticketd.conf", 0640 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        mode_t m = 0;
        if (!exists(files[i].path, &m) || m != files[i].mode)
            fail_msg("%s: %s (mode %o, want %o)", files[i].path, exists(files[i].path, NULL) ? "bad mode" : "missing",
                     (unsigned)m, (unsigned)files[i].mode);
    }
    char *unit = slurp("/opt/td/lib/systemd/system/ticketd.service");
    assert_non_null(strstr(unit, "ExecStart=/opt/td/bin/ticketd serve"));
    assert_null(strstr(unit, "/usr/bin/ticketd"));
    free(unit);
    /* a second install keeps an edited config */
    char conf[PATH_MAX * 2];
    snprintf(conf, sizeof conf, "%s/etc/ticketd/ticketd.conf", C->dest);
    FILE *f = fopen(conf, "a");
    assert_non_null(f);
    fputs("# edited by the admin\n", f);
    fclose(f);
    make("install");
    char *text = slurp("/etc/ticketd/ticketd.conf");
    assert_non_null(strstr(text, "# edited by the admin"));
    free(text);
}

static void installed_binary_runs_from_destdir(void **state)
{
    (void)state;
    char conf[PATH_MAX * 2], store[PATH_MAX + 32], cwd[PATH_MAX];
    snprintf(conf, sizeof conf, "%s/etc/ticketd/ticketd.conf", C->dest);
    snprintf(store, sizeof store, "TICKETD_STORE_URI=sqlite:%s/i.db", C->dir);
    const char *env[] = { store, "TICKETD_API_JWT_SECRET=test-jwt-secret-0123456789abcdef0123456789",
                          "TICKETD_NOTIFY_REPLY_SECRET=test-reply-secret-0123456789abcdef012345",
                          "TICKETD_MAILBOX_SUPPORT_PASSWORD=x", NULL };
    /* from a directory with no templates/ in it: only PREFIX's are found */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(C->dir), 0);
    struct cli_result r;
    cli_run(C->installed, C->dir, env, (const char *const[]){ "--config", conf, "check-config", NULL },
            NULL, T_MS, &r);
    assert_int_equal(chdir(cwd), 0);
    if (r.status != 0)
        fail_msg("installed check-config: exit %d: %s", r.status, r.err.data);
    cli_result_clear(&r);
    cli_run(C->installed, C->dir, NULL, (const char *const[]){ "--version", NULL }, NULL, T_MS, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out.data, "store schema:"));
    cli_result_clear(&r);
}

static void man_pages_cover_commands_and_keys(void **state)
{
    (void)state;
    char *man8 = slurp("/opt/td/share/man/man8/ticketd.8");
    char *man5 = slurp("/opt/td/share/man/man5/ticketd.conf.5");
    struct cli_result r;
    cli_run(C->bin, C->dir, NULL, (const char *const[]){ "--help", NULL }, NULL, T_MS, &r);
    assert_int_equal(r.status, 0);
    int missing = 0, commands = 0;
    char *save = NULL;
    bool in_cmds = false;
    for (char *line = strtok_r(r.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "commands:") == 0) {
            in_cmds = true;
            continue;
        }
        if (!in_cmds || strncmp(line, "  ", 2) != 0 || line[2] == '-') {
            in_cmds = in_cmds && strncmp(line, "  ", 2) == 0;
            continue;
        }
        char want[128];
        snprintf(want, sizeof want, ".SS %.*s\n", (int)strcspn(line + 2, " "), line + 2);
        commands++;
        if (strstr(man8, want) == NULL) {
            fprintf(stderr, "ticketd.8 lacks %s", want);
            missing++;
        }
    }
    cli_result_clear(&r);
    assert_true(commands >= 5);
    /* every key ticketd reads */
    char example[PATH_MAX + 64], store[PATH_MAX + 32], tdir[PATH_MAX + 64];
    snprintf(example, sizeof example, "%s/docker/ticketd.conf.example", C->root);
    snprintf(store, sizeof store, "TICKETD_STORE_URI=sqlite:%s/k.db", C->dir);
    snprintf(tdir, sizeof tdir, "TICKETD_NOTIFY_BUILTIN_TEMPLATES_DIR=%s/templates", C->root);
    const char *env[] = { store, tdir, "TICKETD_API_JWT_SECRET=test-jwt-secret-0123456789abcdef0123456789",
                          "TICKETD_NOTIFY_REPLY_SECRET=test-reply-secret-0123456789abcdef012345",
                          "TICKETD_MAILBOX_SUPPORT_PASSWORD=x", NULL };
    cli_run(C->bin, C->dir, env, (const char *const[]){ "--config", example, "check-config", "--keys", NULL },
            NULL, T_MS, &r);
    if (r.status != 0)
        fail_msg("check-config --keys: %s", r.err.data);
    int keys = 0;
    save = NULL;
    for (char *line = strtok_r(r.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char section[128], key[128], entry[300], entry_file[300];
        if (sscanf(line, "[%127[^]]] %127s", section, key) != 2)
            continue;
        keys++;
        /* roff escapes '-' and the page names "foo_file" for a secret */
        snprintf(entry, sizeof entry, "\\fB%s\\fR", key);
        snprintf(entry_file, sizeof entry_file, "\\fB%s_file\\fR", key);
        if (strstr(man5, entry) == NULL && strstr(man5, entry_file) == NULL) {
            fprintf(stderr, "ticketd.conf.5 lacks [%s] %s\n", section, key);
            missing++;
        }
    }
    cli_result_clear(&r);
    assert_true(keys > 40);
    assert_int_equal(missing, 0);
    free(man8);
    free(man5);
    /* man renders both without a warning */
    const char *pages[] = { "/opt/td/share/man/man8/ticketd.8", "/opt/td/share/man/man5/ticketd.conf.5" };
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX * 2], cmd[PATH_MAX * 3];
        snprintf(path, sizeof path, "%s%s", C->dest, pages[i]);
        snprintf(cmd, sizeof cmd,
                 "LC_ALL=C.UTF-8 MANWIDTH=80 timeout 30 man --warnings -l '%s' 2>&1 >/dev/null", path);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char line[512];
        int warnings = 0;
        while (fgets(line, sizeof line, p)) {
            fprintf(stderr, "man %s: %s", pages[i], line);
            warnings++;
        }
        assert_int_equal(pclose(p), 0);
        assert_int_equal(warnings, 0);
    }
}

static void uninstall_keeps_the_config(void **state)
{
    (void)state;
    make("uninstall");
    assert_false(exists("/opt/td/bin/ticketd", NULL));
    assert_false(exists("/opt/td/share/ticketd", NULL));
    assert_false(exists("/opt/td/share/man/man8/ticketd.8", NULL));
    assert_true(exists("/etc/ticketd/ticketd.conf", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(install_lays_out_the_tree),
        cmocka_unit_test(installed_binary_runs_from_destdir),
        cmocka_unit_test(man_pages_cover_commands_and_keys),
        cmocka_unit_test(uninstall_keeps_the_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

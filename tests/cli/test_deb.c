/* test_deb.c - `make deb` (issue 14, optional item): a Debian package
 * built offline with dpkg-deb from the install tree.
 * - control: Package ticketd, the version of core/app.h, Depends naming
 *   the packages of the libraries the binary links (libmicrohttpd12,
 *   libsqlite3-0, ...) and adduser;
 * - contents: /usr/bin/ticketd, the templates, gzipped man pages, the
 *   unit in /lib/systemd/system, the config as a conffile;
 * - unpacked (dpkg-deb -x, nothing installed on this machine), its
 *   binary runs.
 * lintian is not run (not part of DEB_PKGS). */
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

#include "core/app.h"
#include "tests/support/cli_run.h"
#include "tests/support/harness.h"

#define T_MS 120000

static void run_ok(const char *dir, const char *const *argv, struct cli_result *r)
{
    cli_run(argv[0], dir, NULL, argv + 1, NULL, T_MS, r);
    if (r->status != 0)
        fail_msg("%s %s: exit %d: %s%s", argv[0], argv[1], r->status, r->out.data, r->err.data);
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

static void make_deb_builds_a_whole_package(void **state)
{
    (void)state;
    char dir[256], bin[PATH_MAX], root[PATH_MAX], build[PATH_MAX];
    assert_true(harness_tempdir(dir, sizeof dir));
    assert_true(cli_ticketd_path(bin, sizeof bin));
    assert_non_null(realpath(harness_support_dir(), root));
    *strrchr(root, '/') = '\0';
    *strrchr(root, '/') = '\0';
    snprintf(build, sizeof build, "%s", bin);
    *strrchr(build, '/') = '\0';
    char a_build[PATH_MAX + 8], a_out[300], o1[PATH_MAX + 8], o2[PATH_MAX + 16], o3[PATH_MAX + 24];
    snprintf(a_build, sizeof a_build, "BUILD=%s", build);
    snprintf(a_out, sizeof a_out, "DEB_OUT=%s", dir);
    snprintf(o1, sizeof o1, "%s/ticketd", build);
    snprintf(o2, sizeof o2, "%s/man/ticketd.8", build);
    snprintf(o3, sizeof o3, "%s/man/ticketd.conf.5", build);
    char commit[160];
    commit_arg(build, commit, sizeof commit);
    struct cli_result r;
    run_ok(dir, (const char *const[]){ "/usr/bin/make", "-s", "-C", root, "deb", a_build, a_out, commit, "-o", o1,
                                       "-o", o2, "-o", o3, NULL },
           &r);
    cli_result_clear(&r);

    char deb[600];
    FILE *p = popen("dpkg --print-architecture", "r");
    char arch[32] = "";
    assert_non_null(fgets(arch, sizeof arch, p));
    pclose(p);
    arch[strcspn(arch, "\n")] = '\0';
    snprintf(deb, sizeof deb, "%s/ticketd_%s_%s.deb", dir, TICKETD_VERSION, arch);
    assert_int_equal(access(deb, R_OK), 0);

    run_ok(dir, (const char *const[]){ "/usr/bin/dpkg-deb", "--field", deb, NULL }, &r);
    const char *want_fields[] = { "Package: ticketd\n", "Version: " TICKETD_VERSION "\n", "adduser",
                                  "libmicrohttpd12 (>= ", "libsqlite3-0 (>= ", "libjansson4 (>= " };
    for (size_t i = 0; i < sizeof want_fields / sizeof want_fields[0]; i++)
        if (strstr(r.out.data, want_fields[i]) == NULL)
            fail_msg("control lacks '%s':\n%s", want_fields[i], r.out.data);
    cli_result_clear(&r);

    run_ok(dir, (const char *const[]){ "/usr/bin/dpkg-deb", "--contents", deb, NULL }, &r);
    const char *want_files[] = { " ./usr/bin/ticketd\n", " ./usr/share/ticketd/templates/password_reset.txt\n",
                                 " ./usr/share/man/man8/ticketd.8.gz\n", " ./usr/share/man/man5/ticketd.conf.5.gz\n",
                                 " ./lib/systemd/system/ticketd.service\n", " ./etc/ticketd/ticketd.conf\n",
                                 " ./usr/share/doc/ticketd/copyright\n" };
    for (size_t i = 0; i < sizeof want_files / sizeof want_files[0]; i++)
        if (strstr(r.out.data, want_files[i]) == NULL)
            fail_msg("the package lacks%s", want_files[i]);
    cli_result_clear(&r);

    char x[400];
    snprintf(x, sizeof x, "%s/x", dir);
    run_ok(dir, (const char *const[]){ "/usr/bin/dpkg-deb", "--ctrl-tarfile", deb, NULL }, &r);
    cli_result_clear(&r);
    run_ok(dir, (const char *const[]){ "/usr/bin/dpkg-deb", "-e", deb, x, NULL }, &r);
    cli_result_clear(&r);
    char conffiles[500];
    snprintf(conffiles, sizeof conffiles, "%s/conffiles", x);
    FILE *f = fopen(conffiles, "r");
    assert_non_null(f);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "/etc/ticketd/ticketd.conf\n");

    snprintf(x, sizeof x, "%s/unpacked", dir);
    run_ok(dir, (const char *const[]){ "/usr/bin/dpkg-deb", "-x", deb, x, NULL }, &r);
    cli_result_clear(&r);
    char ubin[500];
    snprintf(ubin, sizeof ubin, "%s/usr/bin/ticketd", x);
    run_ok(dir, (const char *const[]){ ubin, "--version", NULL }, &r);
    assert_non_null(strstr(r.out.data, "store schema:"));
    cli_result_clear(&r);
    harness_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(make_deb_builds_a_whole_package) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

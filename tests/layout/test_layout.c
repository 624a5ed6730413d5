/* test_layout.c - the architecture rules of STYLE.md and README's layout,
 * read from the tree itself (the files git tracks), so a change that
 * breaks them fails here rather than in a reviewer's head:
 *
 * - no source or text file over MAX_LINES lines (data, fixtures, lock
 *   files and vendored code excepted);
 * - the adapters (api/, mailgw/, notify/) and core/ never include cli/;
 *   core/ never includes an adapter; api/ and mailgw/ never each other;
 * - core/ itself lists only the domain: storage lives in core/store/.
 *
 * Run from the repository root (tests/run.sh does), or with
 * TICKETD_SRCDIR pointing there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINES 600
#define MAX_FILES 20000

static char *files[MAX_FILES];
static size_t n_files;

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int load_files(void **state)
{
    (void)state;
    const char *root = getenv("TICKETD_SRCDIR");
    if (root && root[0] && chdir(root) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", root);
        return -1;
    }
    FILE *p = popen("git ls-files 2>/dev/null", "r");
    if (p == NULL)
        return -1;
    char line[4096];
    while (n_files < MAX_FILES && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0])
            files[n_files++] = strdup(line);
    }
    int rc = pclose(p);
    if (rc != 0 || n_files == 0) {
        fprintf(stderr, "git ls-files failed (rc %d, %zu files): run from the repository\n", rc,
                n_files);
        return -1;
    }
    return 0;
}

static int free_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_files; i++)
        free(files[i]);
    n_files = 0;
    return 0;
}

/* Files whose length is not ours to choose: test data and fixtures,
 * generated lock files, vendored libraries, binary assets. */
static bool length_exempt(const char *path)
{
    static const char *const exempt_suffixes[] = {
        "package-lock.json", ".eml", ".pem", ".crt", ".key", ".png", ".jpg", ".gif",
        ".ico", ".svg", ".woff2", ".gz", ".expected", NULL,
    };
    if (starts_with(path, "tests/data/") || strstr(path, "/vendor/") ||
        starts_with(path, "vendor/") || strstr(path, "/regressions/") ||
        starts_with(path, "bench/results/"))
        return true;
    for (size_t i = 0; exempt_suffixes[i]; i++)
        if (ends_with(path, exempt_suffixes[i]))
            return true;
    return false;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    long n = 0;
    int c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n')
            n++;
        last = c;
    }
    if (last != '\n')
        n++;
    fclose(f);
    return n;
}

static void test_no_file_over_max_lines(void **state)
{
    (void)state;
    int over = 0;
    for (size_t i = 0; i < n_files; i++) {
        if (length_exempt(files[i]))
            continue;
        long n = count_lines(files[i]);
        if (n > MAX_LINES) {
            fprintf(stderr, "%s: %ld lines (at most %d: split it by concept)\n", files[i], n,
                    MAX_LINES);
            over++;
        }
    }
    assert_int_equal(over, 0);
}

/* Every #include "X" of a C file under dir that names one of the
 * forbidden folders. */
static int forbidden_includes(const char *dir, const char *const *forbidden)
{
    int bad = 0;
    for (size_t i = 0; i < n_files; i++) {
        const char *path = files[i];
        if (!starts_with(path, dir) || !(ends_with(path, ".c") || ends_with(path, ".h")))
            continue;
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char line[1024];
        int lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            const char *s = line;
            while (*s == ' ' || *s == '\t')
                s++;
            if (!starts_with(s, "#include \""))
                continue;
            const char *inc = s + strlen("#include \"");
            for (size_t k = 0; forbidden[k]; k++)
                if (starts_with(inc, forbidden[k])) {
                    fprintf(stderr, "%s:%d includes %.*s: %s may not depend on %s\n", path,
                            lineno, (int)strcspn(inc, "\""), inc, dir, forbidden[k]);
                    bad++;
                }
        }
        fclose(f);
    }
    return bad;
}

static void test_core_depends_on_no_adapter(void **state)
{
    (void)state;
    static const char *const adapters[] = { "cli/", "api/", "mailgw/", "notify/", NULL };
    assert_int_equal(forbidden_includes("core/", adapters), 0);
}

static void test_adapters_do_not_include_cli(void **state)
{
    (void)state;
    static const char *const cli[] = { "cli/", NULL };
    static const char *const not_mailgw[] = { "cli/", "mailgw/", NULL };
    static const char *const not_api[] = { "cli/", "api/", NULL };
    int bad = forbidden_includes("api/", not_mailgw) + forbidden_includes("mailgw/", not_api) +
              forbidden_includes("notify/", cli);
    assert_int_equal(bad, 0);
}

static void test_core_lists_only_the_domain(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < n_files; i++) {
        const char *path = files[i];
        if (!starts_with(path, "core/") || strchr(path + 5, '/') != NULL)
            continue; /* only files directly in core/ */
        if (starts_with(path, "core/store")) {
            fprintf(stderr, "%s: storage belongs in core/store/\n", path);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_file_over_max_lines),
        cmocka_unit_test(test_core_depends_on_no_adapter),
        cmocka_unit_test(test_adapters_do_not_include_cli),
        cmocka_unit_test(test_core_lists_only_the_domain),
    };
    return cmocka_run_group_tests(tests, load_files, free_files);
}

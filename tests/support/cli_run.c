/* cli_run.c - see cli_run.h. */
#include "cli_run.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool cli_ticketd_path(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) { /* BUILD/tests/DIR/test_x -> BUILD */
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return false;
        *slash = '\0';
    }
    int m = snprintf(out, len, "%s/ticketd", exe);
    return m > 0 && (size_t)m < len && access(out, X_OK) == 0;
}

static void slurp(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(b, chunk, n);
    if (f)
        fclose(f);
    if (b->data == NULL)
        buf_puts(b, "");
}

static void clean_env(void)
{
    for (char **ev = environ; *ev;) {
        if (strncmp(*ev, "TICKETD_", 8) == 0 && strncmp(*ev, "TICKETD_SRCDIR=", 15) != 0 &&
            strncmp(*ev, "TICKETD_TEST_", 13) != 0) {
            char name[256];
            size_t len = strcspn(*ev, "=");
            snprintf(name, sizeof name, "%.*s", (int)len, *ev);
            unsetenv(name);
            continue; /* environ changed under us: the same slot again */
        }
        ev++;
    }
}

void cli_run(const char *bin, const char *dir, const char *const *env, const char *const *args,
             const char *stdin_text, int timeout_ms, struct cli_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    char out_path[PATH_MAX], err_path[PATH_MAX], in_path[PATH_MAX];
    snprintf(out_path, sizeof out_path, "%s/cli.stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/cli.stderr", dir);
    snprintf(in_path, sizeof in_path, "%s/cli.stdin", dir);
    if (stdin_text) {
        FILE *f = fopen(in_path, "w");
        if (f) {
            fputs(stdin_text, f);
            fclose(f);
        }
    }
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (; args && *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open(stdin_text ? in_path : "/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        clean_env();
        for (; env && *env; env++)
            putenv((char *)*env);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    long long deadline = mono_ms() + timeout_ms;
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && mono_ms() < deadline)
        usleep(10000);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        st = -1;
    }
    r->status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out_path, &r->out);
    slurp(err_path, &r->err);
}

void cli_result_clear(struct cli_result *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
}

size_t cli_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

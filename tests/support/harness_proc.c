/* harness_proc.c - server processes: start, wait until ready, stop.
 *
 * Invariants that keep test runs from leaking servers:
 * - every child runs in its own process group (pgid == pid), so stopping
 *   it also reaches whatever it forked (Dovecot's imap, lmtp, auth...);
 * - every child has PR_SET_PDEATHSIG = SIGKILL, so a test that crashes or
 *   is killed by run.sh's timeout takes its servers with it;
 * - every wait is bounded; a server that ignores TERM gets KILL.
 *
 * The child side of fork() only makes async-signal-safe calls: the test
 * process may have threads (mongoc's pool), and after fork only the
 * forking thread exists, possibly with malloc's lock held by a dead one. */
#include "tests/support/harness_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Environment for children: ours minus what would make /usr/bin/python3
 * load another interpreter's modules. The caller frees the array only. */
static char **child_env(void)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PYTHONPATH=", 11) == 0 ||
            strncmp(environ[i], "PYTHONHOME=", 11) == 0)
            continue;
        env[k++] = environ[i];
    }
    return env;
}

static void child_fail(const char *what)
{
    /* No stdio after fork: write() is async-signal-safe. */
    static const char prefix[] = "harness: child: ";
    ssize_t ignored = write(2, prefix, sizeof prefix - 1);
    ignored = write(2, what, strlen(what));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(127);
}

bool harness_spawn(struct harness_server *s, const char *const argv[])
{
    char log[320];
    if (!s->dir[0] || !harness_fmt(log, sizeof log, "%s/server.log", s->dir)) {
        fprintf(stderr, "harness: spawn %s: no usable server dir\n", argv[0]);
        return false;
    }
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char **env = child_env();
    if (logfd < 0 || nullfd < 0 || !env) {
        fprintf(stderr, "harness: spawn %s: %s\n", argv[0], strerror(errno));
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        free(env);
        return false;
    }

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* exec keeps ignored signals ignored; servers expect defaults. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            child_fail("prctl(PR_SET_PDEATHSIG) failed");
        if (getppid() != parent)        /* the test died before prctl */
            _exit(127);
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            child_fail("dup2 failed");
        /* The test's other descriptors (mongoc sockets...) stay out of the
         * server: mark them all close-on-exec. */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {     /* Linux >= 5.11 */
            for (int fd = 3; fd < 1024; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        execve(argv[0], (char *const *)argv, env);
        child_fail("execve failed (is the program installed?)");
    }
    int err = errno;
    close(logfd);
    close(nullfd);
    free(env);
    if (pid < 0) {
        fprintf(stderr, "harness: fork for %s: %s\n", argv[0], strerror(err));
        return false;
    }
    /* Also from the parent, so the group exists before we ever signal it
     * (EACCES once the child has exec'd is fine: it did it itself). */
    setpgid(pid, pid);
    s->pid = pid;
    harness_track_pid(pid);
    return true;
}

bool harness_probe_banner(int fd, const void *prefix, int timeout_ms)
{
    char line[512];
    const char *want = prefix;
    return harness_read_line(fd, line, sizeof line, timeout_ms) &&
           strncmp(line, want, strlen(want)) == 0;
}

/* Reaps s->pid if it has exited; describes how into why. */
static bool reaped(struct harness_server *s, char *why, size_t len)
{
    int st;
    if (s->pid <= 0 || waitpid(s->pid, &st, WNOHANG) != s->pid)
        return false;
    if (WIFEXITED(st))
        snprintf(why, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(why, len, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(why, len, "ended (wait status %d)", st);
    harness_untrack_pid(s->pid);
    s->pid = 0;
    return true;
}

bool harness_wait_ready(struct harness_server *s, int port, harness_probe_fn probe,
                        const void *arg, int timeout_ms)
{
    long long start = harness_now_ms(), deadline = start + timeout_ms;
    pid_t pid = s->pid;
    char why[128] = "did not accept connections";

    for (;;) {
        if (reaped(s, why, sizeof why))
            break;
        int fd = harness_connect(port, 250);
        if (fd >= 0) {
            long long left = deadline - harness_now_ms();
            bool ok = !probe || probe(fd, arg, (int)(left < 2000 ? (left > 0 ? left : 1) : 2000));
            close(fd);
            if (ok)
                return true;
            snprintf(why, sizeof why, "accepted but did not greet as expected");
        }
        if (harness_now_ms() >= deadline)
            break;
        usleep(20 * 1000);
    }
    fprintf(stderr, "harness: server pid %d on 127.0.0.1:%d not ready after %lld ms: %s\n",
            (int)pid, port, harness_now_ms() - start, why);
    harness_log_tail(s, 20);
    return false;
}

void harness_log_tail(const struct harness_server *s, int lines)
{
    char path[320], buf[4096];
    if (!s->dir[0] || !harness_fmt(path, sizeof path, "%s/server.log", s->dir))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof buf - 1)
        from = st.st_size - (off_t)(sizeof buf - 1);
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* Walk back over `lines` newlines (ignoring a final one). */
    char *p = buf + n;
    if (p > buf && p[-1] == '\n')
        p--;
    for (int seen = 0; p > buf; p--) {
        if (p[-1] == '\n' && ++seen == lines)
            break;
    }
    fprintf(stderr, "harness: last lines of %s:\n", path);
    for (char *line = p; *line;) {
        char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(stderr, "  | %.*s\n", len, line);
        line += len + (nl ? 1 : 0);
    }
}

bool harness_start_with_retries(struct harness_server *s, const char *what,
                                harness_try_fn try, const void *arg)
{
    for (int attempt = 1;; attempt++) {
        if (try(s, arg))
            return true;
        bool died = s->pid == 0;
        if (s->pid > 0) {
            pid_t pid = s->pid;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            harness_untrack_pid(pid);
            s->pid = 0;
        }
        if (!died || attempt >= HARNESS_START_ATTEMPTS) {
            fprintf(stderr, "harness: %s did not start\n", what);
            return false;
        }
        fprintf(stderr, "harness: %s exited during start-up; retrying on other ports\n", what);
    }
}

/* True once pid has exited, without reaping it: a zombie's pid (and so
 * its process group id) cannot be reused, so the group may still be
 * signalled safely afterwards. */
static bool exited_within(pid_t pid, int ms)
{
    long long deadline = harness_now_ms() + ms;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
            return errno == ECHILD;     /* not ours (any more): gone */
        if (info.si_pid == pid)
            return true;
        if (harness_now_ms() >= deadline)
            return false;
        usleep(5 * 1000);
    }
}

/* True if a process of group pgid still runs (zombies do not count:
 * they are dead and only wait for PID 1, which in a container may take a
 * while). Scans /proc: fine for a test machine's few hundred processes. */
static bool group_running(pid_t pgid)
{
    DIR *proc = opendir("/proc");
    bool found = false;
    if (!proc)
        return kill(-pgid, 0) == 0;
    for (struct dirent *e; !found && (e = readdir(proc));) {
        char path[64], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
            !harness_fmt(path, sizeof path, "/proc/%s/stat", e->d_name))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        /* "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'. */
        const char *p = strrchr(buf, ')');
        char state;
        int ppid, pgrp;
        if (p && sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3)
            found = pgrp == (int)pgid && state != 'Z' && state != 'X';
    }
    closedir(proc);
    return found;
}

void harness_stop(struct harness_server *s)
{
    if (!s)
        return;
    if (s->external)
        harness_mongo_drop_external(s);
    if (s->pid > 0) {
        pid_t pid = s->pid;
        if (kill(-pid, SIGTERM) != 0)
            kill(pid, SIGTERM);
        if (!exited_within(pid, HARNESS_STOP_GRACE_MS))
            fprintf(stderr, "harness: pid %d ignored SIGTERM for %d ms, killing it\n",
                    (int)pid, HARNESS_STOP_GRACE_MS);
        /* The server and whatever it forked and left behind. The leader is
         * not reaped yet, so its pid - the group id - cannot be reused. */
        kill(pid, SIGKILL);
        kill(-pid, SIGKILL);
        long long deadline = harness_now_ms() + 3000;
        while (group_running(pid) && harness_now_ms() < deadline)
            usleep(5 * 1000);
        if (exited_within(pid, 10) && !group_running(pid)) {
            waitpid(pid, NULL, 0);
            harness_untrack_pid(pid);
        } else
            fprintf(stderr, "harness: pid %d or its group survived SIGKILL (stuck in the kernel?)\n",
                    (int)pid);
    }
    /* Only now: nothing of the server can still write into the dir. */
    if (s->dir[0])
        harness_rmtree(s->dir);
    memset(s, 0, sizeof *s);
}

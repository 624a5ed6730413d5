/* harness.c - the harness's plumbing: temp dirs, free ports, a tiny
 * bounded socket client for test dialogues (SMTP, LMTP, IMAP by hand), and
 * the exit-time sweep.
 *
 * The sweep: a failing cmocka assertion longjmps out of a test, past its
 * harness_stop() and harness_rmtree(). So every server pid and temp dir is
 * also recorded here, and whatever is still recorded when the test process
 * exits is killed and removed (atexit). Only in the process that made
 * them: a forked child that exits must not sweep its parent's servers.
 *
 * Every socket call here has a deadline: a test that waits forever on a
 * server that never answers is worse than one that fails. Process handling
 * is in harness_proc.c, the servers in harness_mongo.c and harness_mail.c. */
#include "tests/support/harness_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEMP_PREFIX "ticketd-test."

#define MAX_TRACKED 128

struct tracked {
    pid_t owner;        /* process that recorded it; 0 = free slot */
    pid_t pid;          /* server pid, or 0 for a dir */
    char dir[256];
};

static struct tracked tracked[MAX_TRACKED];

static void sweep(void)
{
    pid_t me = getpid();
    /* Servers first, so nothing writes into a dir while it is removed. */
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (tracked[i].owner == me && tracked[i].pid > 0) {
            fprintf(stderr, "harness: at exit: killing server pid %d (test did not stop it)\n",
                    (int)tracked[i].pid);
            kill(-tracked[i].pid, SIGKILL);
            kill(tracked[i].pid, SIGKILL);
            for (int ms = 0; ms < 2000 && waitpid(tracked[i].pid, NULL, WNOHANG) == 0; ms += 5)
                usleep(5 * 1000);
            tracked[i].owner = 0;
        }
    }
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (tracked[i].owner == me && tracked[i].pid == 0) {
            char dir[256];
            memcpy(dir, tracked[i].dir, sizeof dir);
            tracked[i].owner = 0;
            harness_rmtree(dir);
        }
    }
}

static void track(pid_t pid, const char *dir)
{
    static bool registered;
    if (!registered) {
        registered = atexit(sweep) == 0;
        if (!registered)
            fprintf(stderr, "harness: atexit failed: servers of failed tests may linger\n");
    }
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (tracked[i].owner == 0) {
            tracked[i].owner = getpid();
            tracked[i].pid = pid;
            snprintf(tracked[i].dir, sizeof tracked[i].dir, "%s", dir ? dir : "");
            return;
        }
    }
    fprintf(stderr, "harness: over %d live servers and dirs; not tracking more\n", MAX_TRACKED);
}

void harness_track_pid(pid_t pid)
{
    track(pid, NULL);
}

void harness_untrack_pid(pid_t pid)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i].owner && tracked[i].pid == pid)
            tracked[i].owner = 0;
}

static void untrack_dir(const char *dir)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i].owner && tracked[i].pid == 0 && strcmp(tracked[i].dir, dir) == 0)
            tracked[i].owner = 0;
}

const char *harness_support_dir(void)
{
    static char dir[1024];
    const char *root = getenv("TICKETD_SRCDIR");
    char cwd[900];

    if (!root || !*root) {
        if (!getcwd(cwd, sizeof cwd))
            snprintf(cwd, sizeof cwd, ".");
        root = cwd;
    }
    if (!harness_fmt(dir, sizeof dir, "%s/tests/support", root))
        snprintf(dir, sizeof dir, "./tests/support");
    return dir;
}

bool harness_tempdir(char *out, size_t len)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    if (!harness_fmt(out, len, "%s/" TEMP_PREFIX "XXXXXX", base)) {
        fprintf(stderr, "harness: temp dir path too long under %s\n", base);
        return false;
    }
    if (!mkdtemp(out)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", out, strerror(errno));
        out[0] = '\0';
        return false;
    }
    track(0, out);
    return true;
}

static int rmtree_failures;

static int rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "harness: remove %s: %s\n", path, strerror(errno));
        rmtree_failures++;
    }
    return 0;
}

void harness_rmtree(const char *path)
{
    if (!path || !*path)
        return;
    /* The guard: a bug that passes "" or "/" or $HOME must not wipe it. */
    if (!strstr(path, "/" TEMP_PREFIX)) {
        fprintf(stderr, "harness: refusing to remove %s (not a harness temp dir)\n", path);
        return;
    }
    untrack_dir(path);
    rmtree_failures = 0;
    /* FTW_DEPTH: children before their directory; FTW_PHYS: never follow
     * a symlink out of the tree. */
    if (nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        fprintf(stderr, "harness: walking %s: %s\n", path, strerror(errno));
}

int harness_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t slen = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &slen) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

long long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool harness_fmt(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            out[0] = '\0';
        return false;
    }
    return true;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static bool wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

int harness_connect(int port, int timeout_ms)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    long long deadline = harness_now_ms() + timeout_ms;

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = 0;
        socklen_t elen = sizeof err;
        if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    /* Back to blocking: reads and writes below poll with their own
     * deadlines before each call. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool harness_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool harness_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    char *p = buf;
    while (len > 0) {
        if (!wait_fd(fd, POLLIN, deadline))
            return false;
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool harness_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    size_t used = 0;

    if (len == 0)
        return false;
    /* Byte by byte, so nothing after the line is consumed and callers can
     * mix line reads with harness_read_exact. Dialogues are short. */
    for (;;) {
        char c;
        if (!wait_fd(fd, POLLIN, deadline))
            break;
        ssize_t n = recv(fd, &c, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (c == '\n') {
            if (used > 0 && buf[used - 1] == '\r')
                used--;
            buf[used] = '\0';
            return true;
        }
        if (used + 1 >= len)
            break;
        buf[used++] = c;
    }
    buf[used] = '\0';
    return false;
}

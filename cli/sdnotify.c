/* sdnotify.c - systemd's readiness protocol (sd_notify(3)), written by
 * hand: one datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ('@' = the abstract namespace). Why not libsystemd's
 * sd_notify(): the protocol is this small and stable (systemd documents
 * it as an interface), and the same binary runs in containers and on
 * boxes without systemd, where linking libsystemd would be one more
 * runtime dependency doing nothing. Without $NOTIFY_SOCKET every call is
 * a no-op.
 *
 * The watchdog: with WatchdogSec= systemd sets $WATCHDOG_USEC (and
 * $WATCHDOG_PID); ticketd's main thread sends WATCHDOG=1 every half of
 * that, after a store ping returned (ok or not). So a main loop or store
 * handle that hangs gets ticketd killed and restarted; a store that is
 * merely down does not (that is /readyz's business, and a restart would
 * not bring it back). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

bool sdnotify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return true; /* not under systemd (Type=notify): nothing to tell */
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
        return false;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the name is not NUL-terminated */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ssize_t n;
    do
        n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)strlen(state);
}

int64_t sdnotify_watchdog_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL)
        return 0;
    if (pid != NULL && strtoll(pid, NULL, 10) != (long long)getpid())
        return 0; /* meant for another process (ExecStartPre, a child) */
    char *end;
    long long us = strtoll(usec, &end, 10);
    if (*end != '\0' || us <= 0)
        return 0;
    int64_t ms = (int64_t)(us / 2000); /* half the interval, in ms */
    return ms > 0 ? ms : 1;
}

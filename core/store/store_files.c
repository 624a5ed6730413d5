/* store_files.c - the embedded store's files are private.
 *
 * ticketd.db holds password hashes, reply-token secrets' effects and
 * every customer's mail; -wal and -shm hold recent pages of it. Created
 * under a umask of 022 they were 0644, readable by every local user. The
 * database file is therefore created 0600 before SQLite opens it; SQLite
 * gives the -wal, -shm and -journal files it creates the mode of the
 * database file (unix VFS, robust_open), so they follow. The process
 * umask is not touched: it is process-wide, and other threads may be
 * creating files at the same time. Existing files are left as they are
 * (an operator may want group access for backups); `ticketd check-config`
 * warns about any that group or others can read (store_file_modes_check).
 * Quarantined mail and attachments live inside the database, so this
 * covers them too. */
#include "core/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool store_file_precreate(const char *path, struct td_err *err)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0 ||
        strncmp(path, "file:", 5) == 0)
        return true;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    if (errno == EEXIST)
        return true;
    return td_fail(err, TD_UNAVAILABLE, "sqlite: cannot create %s: %s", path, strerror(errno));
}

size_t store_file_modes_check(const char *uri, void (*warn)(void *arg, const char *msg), void *arg)
{
    if (uri == NULL || strncmp(uri, "sqlite:", 7) != 0)
        return 0;
    const char *path = uri + 7;
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    size_t n = 0;
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        char p[4096];
        int w = snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof p || stat(p, &st) != 0)
            continue;
        if ((st.st_mode & 077) == 0)
            continue;
        char msg[4200];
        snprintf(msg, sizeof msg,
                 "%s has mode %04o: group or others can read the store (password hashes, "
                 "customer mail); chmod 600 it",
                 p, (unsigned)(st.st_mode & 07777));
        warn(arg, msg);
        n++;
    }
    return n;
}

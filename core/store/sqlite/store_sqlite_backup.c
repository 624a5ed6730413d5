/* store_sqlite_backup.c - `ticketd backup` and `ticketd restore` for the
 * SQLite store, and the file lock that keeps them apart.
 *
 * Backup uses SQLite's online backup API in one step (-1): it copies
 * every page inside a single read transaction, and in WAL mode a reader
 * never blocks the writers, so a backup taken while ticketd serves is
 * one consistent snapshot (what was committed when it started) and the
 * service does not pause. It is written to FILE.tmp, checked
 * (quick_check and the schema version), synced and renamed, so FILE is
 * either the old file or a whole backup, never half of one; mode 0600
 * (it holds password hashes).
 *
 * Restore must not swap a database under a running ticketd. Every handle
 * store_sqlite_open() makes holds a shared flock() on the database file
 * for its lifetime (sq_lock_shared); restore takes it exclusively without
 * waiting and refuses if it cannot: some ticketd (serve, api, a `user`
 * command...) has the database open. flock() locks are separate from the
 * POSIX locks SQLite itself uses, so the two never interfere. With the
 * lock held, restore copies FILE into PATH.restore, removes PATH-wal and
 * PATH-shm (a stale WAL must never be replayed onto other pages), and
 * renames the copy over PATH. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int sq_lock_shared(const char *path, struct td_err *err)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return -1; /* nothing on disk to guard */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1; /* sqlite reports what is wrong with the path */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            td_fail(err, TD_UNAVAILABLE, "sqlite: %s is being restored; try again when that is done", path);
            return -2;
        }
        return -1;
    }
    return fd;
}

/* Opens path read-only, checks it is a whole ticketd database this
 * binary can read, and returns its schema version (or -1). */
static int check_file(sqlite3 *db, const char *path, struct td_err *err)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        td_fail(err, TD_INVALID, "%s is not an intact SQLite database: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (v < 1) {
        td_fail(err, TD_INVALID, "%s is not a ticketd database (no schema version)", path);
        return -1;
    }
    if (v > store_sqlite_schema_version()) {
        td_fail(err, TD_INVALID,
                "%s is at schema version %d but this ticketd knows only up to version %d: "
                "restore it with the newer ticketd that wrote it", path, v,
                store_sqlite_schema_version());
        return -1;
    }
    return v;
}

/* Copies all of src's main database into a new file at dest. */
static bool copy_db(sqlite3 *src, const char *dest, const char *what, struct td_err *err)
{
    (void)unlink(dest);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    bool ok = rc == SQLITE_OK;
    if (!ok)
        td_fail(err, TD_UNAVAILABLE, "%s: cannot create %s: %s", what, dest, sqlite3_errstr(rc));
    sqlite3_backup *b = ok ? sqlite3_backup_init(dst, "main", src, "main") : NULL;
    if (ok && b == NULL)
        ok = td_fail(err, TD_INTERNAL, "%s: %s", what, sqlite3_errmsg(dst));
    if (b != NULL) {
        /* -1: all pages in one read transaction, one snapshot. BUSY
         * (a writer holds an exclusive lock, rare in WAL) is retried
         * within the busy timeout. */
        int waited = 0;
        while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            if (waited >= SQ_BUSY_TIMEOUT_MS)
                break;
            sqlite3_sleep(50);
            waited += 50;
        }
        if (rc != SQLITE_DONE)
            ok = td_fail(err, rc == SQLITE_BUSY ? TD_UNAVAILABLE : TD_INTERNAL, "%s: %s", what,
                         sqlite3_errstr(rc));
        if (sqlite3_backup_finish(b) != SQLITE_OK && ok)
            ok = td_fail(err, TD_INTERNAL, "%s: %s", what, sqlite3_errmsg(dst));
    }
    /* The copy is a standalone file: no WAL next to it. */
    if (ok && sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
        ok = td_fail(err, TD_INTERNAL, "%s: %s", what, sqlite3_errmsg(dst));
    if (ok && check_file(dst, dest, err) < 0)
        ok = false;
    if (sqlite3_close(dst) != SQLITE_OK && ok)
        ok = td_fail(err, TD_INTERNAL, "%s: cannot close %s", what, dest);
    if (ok) {
        int fd = open(dest, O_RDONLY | O_CLOEXEC);
        ok = fd >= 0 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok)
            td_fail(err, TD_UNAVAILABLE, "%s: cannot sync %s: %s", what, dest, strerror(errno));
    }
    if (!ok)
        (void)unlink(dest);
    return ok;
}

static bool tmp_name(char *out, size_t len, const char *path, const char *suffix, struct td_err *err)
{
    int n = snprintf(out, len, "%s%s", path, suffix);
    if (n < 0 || (size_t)n >= len)
        return td_fail(err, TD_INVALID, "path too long: %s", path);
    return true;
}

bool store_sqlite_backup(const char *db_path, const char *dest, struct td_err *err)
{
    char tmp[PATH_MAX];
    if (!tmp_name(tmp, sizeof tmp, dest, ".tmp", err))
        return false;
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(src);
        return td_fail(err, TD_UNAVAILABLE, "backup: cannot open %s: %s", db_path, sqlite3_errstr(rc));
    }
    (void)sqlite3_busy_timeout(src, SQ_BUSY_TIMEOUT_MS);
    mode_t old = umask(077); /* the backup holds password hashes */
    bool ok = copy_db(src, tmp, "backup", err);
    umask(old);
    sqlite3_close(src);
    if (ok && rename(tmp, dest) != 0) {
        ok = td_fail(err, TD_UNAVAILABLE, "backup: cannot rename %s to %s: %s", tmp, dest, strerror(errno));
        (void)unlink(tmp);
    }
    return ok;
}

bool store_sqlite_restore(const char *src_path, const char *db_path, struct td_err *err)
{
    char tmp[PATH_MAX], wal[PATH_MAX], shm[PATH_MAX];
    if (!tmp_name(tmp, sizeof tmp, db_path, ".restore", err) ||
        !tmp_name(wal, sizeof wal, db_path, "-wal", err) ||
        !tmp_name(shm, sizeof shm, db_path, "-shm", err))
        return false;
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(src);
        return td_fail(err, TD_INVALID, "restore: cannot open %s: %s", src_path, sqlite3_errstr(rc));
    }
    bool ok = check_file(src, src_path, err) >= 0;
    /* Nobody may have the database open while it is replaced. */
    int lock = -1;
    if (ok) {
        lock = open(db_path, O_RDONLY | O_CLOEXEC);
        if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0)
            ok = td_fail(err, TD_CONFLICT,
                         "restore: %s is in use by a running ticketd; stop it (systemctl stop "
                         "ticketd) and run restore again", db_path);
    }
    mode_t old = umask(077);
    ok = ok && copy_db(src, tmp, "restore", err);
    umask(old);
    sqlite3_close(src);
    if (ok && ((unlink(wal) != 0 && errno != ENOENT) || (unlink(shm) != 0 && errno != ENOENT)))
        ok = td_fail(err, TD_UNAVAILABLE, "restore: cannot remove %s: %s", wal, strerror(errno));
    if (ok && rename(tmp, db_path) != 0)
        ok = td_fail(err, TD_UNAVAILABLE, "restore: cannot rename %s to %s: %s", tmp, db_path,
                     strerror(errno));
    if (!ok)
        (void)unlink(tmp);
    if (lock >= 0)
        close(lock); /* releases the lock */
    return ok;
}

/* store_sqlite_walbuf.c - a VFS that gathers the writer's write-ahead
 * log appends into large writes.
 *
 * SQLite writes a commit's WAL frames one call at a time, two per page
 * (its 24-byte header, then the page), so a POST comment's group of ~6
 * comments cost ~200 pwrite() calls - most of the commit's time, and all
 * of it under the writer's lock that every other write waits on. This
 * VFS wraps another (the default: "unix") and, for WAL files only,
 * keeps appends that continue the previous one in a buffer, handing
 * them to the wrapped VFS in one write when:
 * - SQLite syncs the file (xSync): a commit with synchronous=FULL syncs
 *   its frames before it publishes them in the WAL index, so no reader
 *   can look for a frame that is still in the buffer, and a crash
 *   before the sync loses only frames SQLite never counted on;
 * - this connection reads, truncates, sizes, maps or closes the file,
 *   or asks it anything else (each of those sees the file as written);
 * - a write does not continue the buffered run, or would overflow it.
 * A failed deferred write is reported by the call that flushes it,
 * which is the commit's own sync - so the commit fails, as it would
 * have on the write itself.
 *
 * Every other file (the database, its shared memory, journals) is
 * opened by the wrapped VFS directly, with its own methods: nothing
 * but the WAL goes through this code. Only the writer connection uses
 * this VFS (store_sqlite.c); readers never write the log. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

struct walbuf_file {
    sqlite3_file base;       /* pMethods: walbuf_methods */
    sqlite3_file *real;      /* the wrapped VFS's file, right after this struct */
    unsigned char *buf;      /* allocated at the first buffered write */
    size_t cap;
    size_t len;              /* bytes buffered */
    sqlite3_int64 off;       /* where buf[0] goes in the file */
};

/* One registered shim per name: its wrapped VFS and buffer size. */
struct walbuf_vfs {
    sqlite3_vfs vfs;
    sqlite3_vfs *wrapped;
    size_t cap;
    char name[64];
};

static struct walbuf_file *wf(sqlite3_file *f)
{
    return (struct walbuf_file *)f;
}

/* Writes what is buffered; SQLITE_OK when nothing is left. */
static int walbuf_flush(struct walbuf_file *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    f->len = 0; /* on failure too: SQLite rewrites what it still needs */
    return rc;
}

static int walbuf_close(sqlite3_file *file)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    int rc2 = f->real->pMethods != NULL ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    if (f->buf != NULL)
        (void)munmap(f->buf, f->cap); /* ours, mapped at the first write */
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int walbuf_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

static int walbuf_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
    struct walbuf_file *f = wf(file);
    size_t n = (size_t)amt;
    bool continues = f->len > 0 && off == f->off + (sqlite3_int64)f->len;
    if (f->len > 0 && (!continues || f->len + n > f->cap)) {
        int rc = walbuf_flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (n > f->cap) /* larger than the buffer: as it comes */
        return f->real->pMethods->xWrite(f->real, data, amt, off);
    if (f->buf == NULL) {
        /* A mapping of its own, not the heap: from a malloc arena the
         * buffer kept the pages around it resident - the bench's peak
         * RSS rose 4-6 MB in its mail phase (39.6-40.5 MB, 35.6 MB with
         * the mapping). */
        void *p = mmap(NULL, f->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) /* no buffer: unbuffered, still correct */
            return f->real->pMethods->xWrite(f->real, data, amt, off);
        f->buf = p;
    }
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return SQLITE_OK;
}

static int walbuf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int walbuf_sync(sqlite3_file *file, int flags)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int walbuf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int walbuf_lock(sqlite3_file *file, int level)
{
    return wf(file)->real->pMethods->xLock(wf(file)->real, level);
}

static int walbuf_unlock(sqlite3_file *file, int level)
{
    return wf(file)->real->pMethods->xUnlock(wf(file)->real, level);
}

static int walbuf_check_reserved(sqlite3_file *file, int *out)
{
    return wf(file)->real->pMethods->xCheckReservedLock(wf(file)->real, out);
}

static int walbuf_file_control(sqlite3_file *file, int op, void *arg)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int walbuf_sector_size(sqlite3_file *file)
{
    return wf(file)->real->pMethods->xSectorSize(wf(file)->real);
}

static int walbuf_device_characteristics(sqlite3_file *file)
{
    return wf(file)->real->pMethods->xDeviceCharacteristics(wf(file)->real);
}

/* A WAL file has no shared memory and is never memory-mapped by SQLite,
 * but the methods of version 2 and 3 pass through all the same. */
static int walbuf_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    return wf(file)->real->pMethods->xShmMap(wf(file)->real, page, size, extend, out);
}

static int walbuf_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return wf(file)->real->pMethods->xShmLock(wf(file)->real, offset, n, flags);
}

static void walbuf_shm_barrier(sqlite3_file *file)
{
    wf(file)->real->pMethods->xShmBarrier(wf(file)->real);
}

static int walbuf_shm_unmap(sqlite3_file *file, int delete_flag)
{
    return wf(file)->real->pMethods->xShmUnmap(wf(file)->real, delete_flag);
}

static int walbuf_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
    struct walbuf_file *f = wf(file);
    int rc = walbuf_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int walbuf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    return wf(file)->real->pMethods->xUnfetch(wf(file)->real, off, p);
}

static const sqlite3_io_methods walbuf_methods = {
    .iVersion = 3,
    .xClose = walbuf_close,
    .xRead = walbuf_read,
    .xWrite = walbuf_write,
    .xTruncate = walbuf_truncate,
    .xSync = walbuf_sync,
    .xFileSize = walbuf_file_size,
    .xLock = walbuf_lock,
    .xUnlock = walbuf_unlock,
    .xCheckReservedLock = walbuf_check_reserved,
    .xFileControl = walbuf_file_control,
    .xSectorSize = walbuf_sector_size,
    .xDeviceCharacteristics = walbuf_device_characteristics,
    .xShmMap = walbuf_shm_map,
    .xShmLock = walbuf_shm_lock,
    .xShmBarrier = walbuf_shm_barrier,
    .xShmUnmap = walbuf_shm_unmap,
    .xFetch = walbuf_fetch,
    .xUnfetch = walbuf_unfetch,
};

static int walbuf_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                       int *out_flags)
{
    struct walbuf_vfs *v = (struct walbuf_vfs *)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) /* the wrapped VFS's own file, unwrapped */
        return v->wrapped->xOpen(v->wrapped, name, file, flags, out_flags);
    struct walbuf_file *f = wf(file);
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    f->cap = v->cap;
    int rc = v->wrapped->xOpen(v->wrapped, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* SQLite calls xClose only when pMethods is set; the wrapped
         * file's own close, if it set one, is ours to call. */
        if (f->real->pMethods != NULL)
            (void)f->real->pMethods->xClose(f->real);
        return rc;
    }
    /* Version 3 at most, and no method the wrapped file lacks. */
    if (f->real->pMethods->iVersion < 3) {
        (void)f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->base.pMethods = &walbuf_methods;
    return SQLITE_OK;
}

/* The rest of a VFS: the wrapped one's. */
static int walbuf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xDelete(w, name, sync_dir);
}

static int walbuf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xAccess(w, name, flags, out);
}

static int walbuf_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xFullPathname(w, name, n, out);
}

static void *walbuf_dl_open(sqlite3_vfs *vfs, const char *name)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xDlOpen(w, name);
}

static void walbuf_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    w->xDlError(w, n, out);
}

static void (*walbuf_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xDlSym(w, h, sym);
}

static void walbuf_dl_close(sqlite3_vfs *vfs, void *h)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    w->xDlClose(w, h);
}

static int walbuf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xRandomness(w, n, out);
}

static int walbuf_sleep(sqlite3_vfs *vfs, int us)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xSleep(w, us);
}

static int walbuf_current_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xCurrentTime(w, out);
}

static int walbuf_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    return w->xGetLastError != NULL ? w->xGetLastError(w, n, out) : 0;
}

static int walbuf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    sqlite3_vfs *w = ((struct walbuf_vfs *)vfs)->wrapped;
    if (w->iVersion >= 2 && w->xCurrentTimeInt64 != NULL)
        return w->xCurrentTimeInt64(w, out);
    double days;
    int rc = w->xCurrentTime(w, &days);
    *out = (sqlite3_int64)(days * 86400000.0);
    return rc;
}

/* Registered VFSes live as long as the process: SQLite keeps pointers
 * to them, and a connection may be open on one at exit. */
static pthread_mutex_t walbuf_lock_registry = PTHREAD_MUTEX_INITIALIZER;

bool sq_walbuf_register(const char *name, const char *wrapped, size_t cap, struct td_err *err)
{
    if (strlen(name) >= sizeof ((struct walbuf_vfs *)0)->name || cap == 0 ||
        cap > SQ_WALBUF_MAX_BYTES)
        return td_fail(err, TD_INTERNAL, "sqlite: bad WAL buffer VFS name or size");
    (void)pthread_mutex_lock(&walbuf_lock_registry); /* default mutex: cannot fail here */
    bool ok = true;
    if (sqlite3_vfs_find(name) == NULL) {
        sqlite3_vfs *w = sqlite3_vfs_find(wrapped);
        if (w == NULL) {
            ok = td_fail(err, TD_INTERNAL, "sqlite: no VFS named %s to wrap",
                         wrapped ? wrapped : "(default)");
        } else {
            struct walbuf_vfs *v = td_calloc(1, sizeof *v);
            v->wrapped = w;
            v->cap = cap;
            memcpy(v->name, name, strlen(name) + 1);
            v->vfs = (sqlite3_vfs){
                .iVersion = 2,
                .szOsFile = (int)sizeof(struct walbuf_file) + w->szOsFile,
                .mxPathname = w->mxPathname,
                .zName = v->name,
                .pAppData = NULL,
                .xOpen = walbuf_open,
                .xDelete = walbuf_delete,
                .xAccess = walbuf_access,
                .xFullPathname = walbuf_full_pathname,
                .xDlOpen = walbuf_dl_open,
                .xDlError = walbuf_dl_error,
                .xDlSym = walbuf_dl_sym,
                .xDlClose = walbuf_dl_close,
                .xRandomness = walbuf_randomness,
                .xSleep = walbuf_sleep,
                .xCurrentTime = walbuf_current_time,
                .xGetLastError = walbuf_last_error,
                .xCurrentTimeInt64 = walbuf_current_time64,
            };
            int rc = sqlite3_vfs_register(&v->vfs, 0);
            if (rc != SQLITE_OK) {
                free(v);
                ok = td_fail(err, TD_INTERNAL, "sqlite: cannot register the WAL buffer VFS (%s)",
                             sqlite3_errstr(rc));
            }
        }
    }
    (void)pthread_mutex_unlock(&walbuf_lock_registry);
    return ok;
}

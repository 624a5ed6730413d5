/* store_sqlite_checkpoint.c - copies the write-ahead log into the
 * database on a thread of its own, not inside a commit.
 *
 * SQLite's automatic checkpoint runs in the commit that crosses its
 * threshold, under the writer's lock: every write of every thread waits
 * while it copies up to SQ_WAL_CHECKPOINT_PAGES pages and syncs the
 * database. Those waits were the POST comment's p99 (20.6-22 ms with
 * it, 15-17 ms without, in alternating runs). So the writer connection's
 * commit hook only counts: once the log has grown by the threshold
 * since the last checkpoint, it wakes this thread, which checkpoints
 * (PASSIVE: it waits for nobody, and copies only what no reader still
 * needs from the log) on a connection of its own while writes go on.
 *
 * A PASSIVE checkpoint cannot copy frames a writer appends while it
 * runs, and SQLite starts the log over only when every frame is in the
 * database, so under steady writes the log would only grow. Once it is
 * SQ_WAL_BACKSTOP_PAGES long, the first commit that finds at most
 * SQ_WAL_CATCHUP_PAGES frames left to copy copies them itself, as
 * SQLite would, and the next write starts the log over; at twice that
 * length a commit checkpoints whatever is left. */
#include "store_sqlite_int.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SQ_CHECKPOINT_NICE 10

struct sq_checkpointer {
    sqlite3 *db; /* its own connection: checkpoints only */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool due;      /* under lock */
    bool stopping; /* under lock */
    atomic_int pending;    /* woken and not done yet: the hook need not wake it again */
    /* Frames of the log in the database after the thread's last
     * checkpoint: what it copied, not the log's length then (frames
     * readers still needed stay to be copied). */
    atomic_int copied;
    atomic_long runs;        /* completed by the thread */
    atomic_long inline_runs; /* completed by a commit (the backstop) */
};

/* The writer's commit hook: with the writer's lock held, after each
 * commit, with the log's length in frames. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_checkpointer *c = arg;
    int since = atomic_load(&c->copied);
    if (frames < since) { /* the log started over */
        atomic_store(&c->copied, 0);
        since = 0;
    }
    if (frames >= SQ_WAL_BACKSTOP_PAGES &&
        (frames - since <= SQ_WAL_CATCHUP_PAGES || frames >= 2 * SQ_WAL_BACKSTOP_PAGES)) {
        /* The thread has copied all but the last few frames: this
         * commit copies those, and the next write starts the log over.
         * Errors (SQLITE_BUSY: the thread is at it) change nothing for
         * the commit: a later one tries again. */
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
            atomic_fetch_add(&c->inline_runs, 1);
        return SQLITE_OK;
    }
    if ((frames - since >= SQ_WAL_CHECKPOINT_PAGES || frames >= SQ_WAL_BACKSTOP_PAGES) &&
        atomic_exchange(&c->pending, 1) == 0) {
        (void)pthread_mutex_lock(&c->lock); /* default mutex: fails only when misused */
        c->due = true;
        (void)pthread_cond_signal(&c->cond);
        (void)pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
}

static void *run(void *arg)
{
    struct sq_checkpointer *c = arg;
    /* Behind the request threads for the CPU: a checkpoint can wait,
     * a request's answer should not (Linux: per thread). The commit
     * backstop bounds the log if this thread starves. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SQ_CHECKPOINT_NICE) != 0)
        log_event(LOG_DEBUG, "sqlite_checkpoint_nice_failed", LF_S("error", strerror(errno)));
    for (;;) {
        (void)pthread_mutex_lock(&c->lock);
        while (!c->due && !c->stopping)
            (void)pthread_cond_wait(&c->cond, &c->lock);
        bool stop = c->stopping;
        c->due = false;
        (void)pthread_mutex_unlock(&c->lock);
        if (stop)
            return NULL;
        int log_frames = 0, in_db = 0;
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                           &in_db);
        if (rc == SQLITE_OK) {
            atomic_store(&c->copied, in_db);
            atomic_fetch_add(&c->runs, 1);
        } else if (rc != SQLITE_BUSY) { /* BUSY: the writer's backstop is at it */
            log_event(LOG_WARN, "sqlite_checkpoint_failed", LF_S("error", sqlite3_errmsg(c->db)));
        }
        atomic_store(&c->pending, 0);
    }
}

static void free_checkpointer(struct sq_checkpointer *c)
{
    if (c->db != NULL)
        (void)sqlite3_close_v2(c->db);
    (void)pthread_cond_destroy(&c->cond);
    (void)pthread_mutex_destroy(&c->lock);
    free(c);
}

bool sq_checkpointer_start(struct sq_store *s, const char *path, struct td_err *err)
{
    struct sq_checkpointer *c = td_calloc(1, sizeof *c);
    int e = pthread_mutex_init(&c->lock, NULL);
    if (e != 0) {
        free(c);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the checkpoint lock (error %d)", e);
    }
    e = pthread_cond_init(&c->cond, NULL);
    if (e != 0) {
        (void)pthread_mutex_destroy(&c->lock);
        free(c);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the checkpoint condition (error %d)", e);
    }
    atomic_init(&c->pending, 0);
    atomic_init(&c->copied, 0);
    atomic_init(&c->runs, 0);
    atomic_init(&c->inline_runs, 0);
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    /* synchronous=FULL: the checkpoint syncs the log before it copies
     * and the database after. A small cache: a checkpoint reads frames
     * into a buffer of its own, not through the page cache. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "PRAGMA synchronous = FULL; PRAGMA cache_size = -64", NULL,
                          NULL, NULL);
    if (rc != SQLITE_OK) {
        bool r = td_fail(err, TD_UNAVAILABLE, "sqlite: checkpoint connection to %s: %s", path,
                         c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        free_checkpointer(c);
        return r;
    }
    e = pthread_create(&c->thread, NULL, run, c);
    if (e != 0) {
        free_checkpointer(c);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot start the checkpoint thread (error %d)", e);
    }
    (void)pthread_setname_np(c->thread, "td-checkpoint");
    s->checkpointer = c;
    (void)sqlite3_wal_hook(s->db, on_commit, c); /* replaces wal_autocheckpoint */
    return true;
}

void sq_checkpointer_stop(struct sq_store *s)
{
    struct sq_checkpointer *c = s->checkpointer;
    if (c == NULL)
        return;
    (void)sqlite3_wal_hook(s->db, NULL, NULL);
    (void)pthread_mutex_lock(&c->lock);
    c->stopping = true;
    (void)pthread_cond_signal(&c->cond);
    (void)pthread_mutex_unlock(&c->lock);
    (void)pthread_join(c->thread, NULL);
    free_checkpointer(c);
    s->checkpointer = NULL;
}

long sq_checkpointer_runs(const struct sq_store *s, bool in_commits)
{
    if (s->checkpointer == NULL)
        return 0;
    return atomic_load(in_commits ? &s->checkpointer->inline_runs : &s->checkpointer->runs);
}

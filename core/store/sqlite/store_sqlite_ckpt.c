/* store_sqlite_ckpt.c - write-ahead-log checkpoints off the writer's path
 * (see store_sqlite_int.h, "Threads").
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the
 * WAL past 1000 pages: on the writer, while this store holds the
 * writer's lock, so every write of the group and every write queued
 * behind it waits while it copies pages into the database file and
 * fsyncs it (4 % of a POST comment's time, and its slowest commits).
 * Here the writer's commit hook only wakes a thread of the handle that
 * checkpoints on a connection of its own, in PASSIVE mode: it copies
 * what no reader still needs, beside the writer and the readers, and
 * never waits for either. SQLite restarts the WAL from its start once a
 * checkpoint has caught up, as before.
 *
 * A checkpoint moves committed pages only; a crash in the middle leaves
 * the WAL to finish it, as with SQLite's own. Should the thread fall
 * behind (or fail) until the WAL holds SQ_CKPT_INLINE_FRAMES, the commit
 * checkpoints inline as SQLite would, so the WAL stays bounded. */
#include "store_sqlite_int.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"


struct sq_ckpt {
    sqlite3 *db; /* the checkpointer's own connection */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool due, stop;
    bool failing; /* the last checkpoint failed: logged once per streak */
};

static void *ckpt_main(void *arg)
{
    struct sq_ckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->due && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stop)
            break;
        k->due = false;
        pthread_mutex_unlock(&k->mu);
        int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc == SQLITE_OK) {
            stats_store_checkpoint("background");
            k->failing = false;
        } else if (!k->failing) {
            k->failing = true;
            log_event(LOG_WARN, "sqlite_checkpoint_failed", LF_S("error", sqlite3_errmsg(k->db)),
                      LF_I("code", rc));
        }
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* sqlite3_wal_hook: after every commit of the writer, with the number of
 * pages now in the WAL. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_ckpt *k = arg;
    if (frames >= SQ_CKPT_INLINE_FRAMES) {
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
            stats_store_checkpoint("inline");
    } else if (frames >= SQ_CKPT_FRAMES) {
        pthread_mutex_lock(&k->mu);
        k->due = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

bool sq_ckpt_start(struct sq_store *s, const char *path, struct td_err *err)
{
    struct sq_ckpt *k = td_calloc(1, sizeof *k);
    int rc = sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        td_fail(err, TD_UNAVAILABLE, "sqlite: checkpoint connection to %s: %s", path,
                k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc));
        (void)sqlite3_close_v2(k->db);
        free(k);
        return false;
    }
    /* A connection learns that the file is in WAL mode from its first
     * read; until then a checkpoint on it does nothing at all. */
    rc = sqlite3_busy_timeout(k->db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(k->db, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        td_fail(err, TD_UNAVAILABLE, "sqlite: checkpoint connection to %s: %s", path,
                sqlite3_errmsg(k->db));
        (void)sqlite3_close_v2(k->db);
        free(k);
        return false;
    }
    (void)pthread_mutex_init(&k->mu, NULL); /* default attributes: cannot fail */
    (void)pthread_cond_init(&k->cv, NULL);
    int e = pthread_create(&k->thread, NULL, ckpt_main, k);
    if (e != 0) {
        (void)sqlite3_close_v2(k->db);
        (void)pthread_cond_destroy(&k->cv);
        (void)pthread_mutex_destroy(&k->mu);
        free(k);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot start the checkpoint thread (error %d)", e);
    }
    s->ckpt = k;
    /* Replaces the automatic checkpoint (which is a WAL hook too). */
    (void)sqlite3_wal_hook(s->db, on_commit, k);
    return true;
}

void sq_ckpt_stop(struct sq_store *s)
{
    struct sq_ckpt *k = s->ckpt;
    if (k == NULL)
        return;
    (void)sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    (void)pthread_join(k->thread, NULL);
    (void)sqlite3_close_v2(k->db);
    (void)pthread_cond_destroy(&k->cv);
    (void)pthread_mutex_destroy(&k->mu);
    free(k);
    s->ckpt = NULL;
}

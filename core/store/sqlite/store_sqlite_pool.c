/* store_sqlite_pool.c - the read connections of an SQLite store handle
 * (see store_sqlite_int.h, "Threads").
 *
 * Each reader is an ordinary connection to the same file with
 * query_only set (a read operation that tried to write would fail
 * loudly instead of racing the writer), SQ_MMAP_BYTES of memory-mapped
 * I/O (off by default: see store_sqlite_int.h) and a page cache of
 * SQ_READER_CACHE_KIB. A read takes the first
 * free reader, starting one further on each time so the load spreads;
 * when all are busy it waits for the one it started at. */
#include "store_sqlite_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

static bool reader_open(struct sq_conn *c, const char *path, struct td_err *err)
{
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return td_fail(err, TD_UNAVAILABLE, "sqlite: read connection to %s: %s", path,
                       c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    (void)sqlite3_extended_result_codes(c->db, 1); /* only fails on a NULL db */
    char pragmas[160];
    int n = snprintf(pragmas, sizeof pragmas,
                     "PRAGMA query_only = 1; PRAGMA mmap_size = %lld; PRAGMA cache_size = -%d;",
                     (long long)SQ_MMAP_BYTES, SQ_READER_CACHE_KIB);
    if (n < 0 || (size_t)n >= sizeof pragmas)
        return td_fail(err, TD_INTERNAL, "sqlite: reader pragmas truncated");
    rc = sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return td_fail(err, TD_INTERNAL, "sqlite: read connection setup: %s",
                       sqlite3_errmsg(c->db));
    return true;
}

bool sq_pool_open(struct sq_store *s, const char *path, struct td_err *err)
{
    if (strcmp(path, ":memory:") == 0)
        return true; /* a private database: the writer serves reads too */
    s->readers = td_calloc(SQ_READERS, sizeof *s->readers);
    for (size_t i = 0; i < SQ_READERS; i++) {
        int e = pthread_mutex_init(&s->readers[i].lock, NULL);
        if (e != 0)
            return td_fail(err, TD_INTERNAL, "sqlite: cannot create a reader lock (error %d)", e);
        s->n_readers = i + 1; /* its lock exists: sq_pool_close destroys it */
        if (!reader_open(&s->readers[i], path, err))
            return false;
    }
    return sq_group_open(s, err); /* with readers only: reads never run on the writer */
}

void sq_pool_close(struct sq_store *s)
{
    sq_group_close(s);
    for (size_t i = 0; i < s->n_readers; i++) {
        struct sq_conn *c = &s->readers[i];
        for (size_t k = 0; k < c->n_cache; k++)
            sqlite3_finalize(c->cache[k].stmt);
        free(c->cache);
        if (c->db != NULL)
            (void)sqlite3_close_v2(c->db);
        (void)pthread_mutex_destroy(&c->lock); /* unlocked: no op is running */
    }
    free(s->readers);
    s->readers = NULL;
    s->n_readers = 0;
}

struct sq_conn *sq_pool_take(struct sq_store *s)
{
    if (s->n_readers == 0)
        return NULL;
    unsigned start = __atomic_fetch_add(&s->next_reader, 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < s->n_readers; i++) {
        struct sq_conn *c = &s->readers[(start + i) % s->n_readers];
        if (pthread_mutex_trylock(&c->lock) == 0)
            return c;
    }
    struct sq_conn *c = &s->readers[start % s->n_readers];
    if (pthread_mutex_lock(&c->lock) != 0)
        return NULL; /* a default mutex fails only when misused: the caller reports */
    return c;
}

void sq_pool_give(struct sq_conn *c)
{
    (void)pthread_mutex_unlock(&c->lock); /* ours, taken by sq_pool_take */
}

/* store_sqlite_tx.c - errors, transactions and batches of the SQLite
 * backend (see store_sqlite_int.h, "Threads").
 *
 * An operation is sq_begin, statements, sq_end. On the writer a write is
 * BEGIN IMMEDIATE under the handle's lock; a read takes a connection of
 * the pool (store_sqlite_pool.c). Inside a batch (store.h batch_begin)
 * the thread holds the writer's transaction and each operation is a
 * SAVEPOINT in it, so a failed one undoes only itself; batches begun
 * inside it are savepoints too. Which connection and batch the calling
 * thread is in are thread-locals, set by sq_begin / batch_begin. */
#include "store_sqlite_int.h"
#include "core/stats.h"

/* ---- errors and transactions ---------------------------------------- */

/* The read connection the calling thread's operation holds, between
 * sq_begin(SQ_READ) and sq_end; NULL while it runs on the writer. */
static __thread struct sq_conn *tl_reader;

/* The store whose batch (store_sqlite_batch_begin) the calling thread has
 * open: its operations run inside that transaction, on the writer. */
static __thread struct sq_store *tl_batch;

/* Whether the calling thread's writer transaction is a write (counted). */
static __thread bool tl_write;

struct sq_conn *sq_reader(void)
{
    return tl_reader;
}

sqlite3 *sq_db(struct sq_store *s)
{
    return tl_reader != NULL ? tl_reader->db : s->db;
}

bool sq_fail(struct sq_store *s, int rc, const char *what, struct td_err *err)
{
    enum td_code code = TD_INTERNAL;
    int primary = rc & 0xff;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = TD_CONFLICT;
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        code = TD_UNAVAILABLE; /* busy_timeout already waited */
    else if (primary == SQLITE_CANTOPEN)
        code = TD_UNAVAILABLE;
    return td_fail(err, code, "sqlite: %s: %s", what,
                   s != NULL && sq_db(s) != NULL ? sqlite3_errmsg(sq_db(s)) : sqlite3_errstr(rc));
}

/* Runs fixed SQL text (no parameters) outside the statement cache. */
bool sq_exec_text(struct sq_store *s, const char *sql, const char *what, struct td_err *err)
{
    int rc = sqlite3_exec(sq_db(s), sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, what, err);
    return true;
}

bool sq_exec_fixed(struct sq_store *s, const char *sql, const char *what, struct td_err *err)
{
    sqlite3_stmt *stmt = sq_prepare(s, sql, err);
    if (stmt == NULL)
        return false;
    int rc = sqlite3_step(stmt);
    (void)sqlite3_reset(stmt); /* its error is rc's, reported below */
    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, what, err);
    return true;
}

bool sq_begin(struct sq_store *s, enum sq_tx kind, struct td_err *err)
{
    if (tl_batch == s) /* inside the batch's transaction: atomic on its own */
        return sq_exec_fixed(s, "SAVEPOINT op", "begin operation", err);
    tl_write = kind == SQ_WRITE;
    if (kind == SQ_READ && s->n_readers > 0) {
        struct sq_conn *c = sq_pool_take(s);
        if (c == NULL)
            return td_fail(err, TD_INTERNAL, "sqlite: reader lock failed");
        tl_reader = c;
        if (!sq_exec_fixed(s, "BEGIN", "begin transaction", err)) {
            tl_reader = NULL;
            sq_pool_give(c);
            return false;
        }
        return true;
    }
    if (kind == SQ_WRITE && s->group != NULL)
        return sq_group_begin(s, err); /* the writer, maybe sharing its commit */
    /* A default mutex fails only when misused (EINVAL): report, not hang. */
    int e = pthread_mutex_lock(&s->lock);
    if (e != 0)
        return td_fail(err, TD_INTERNAL, "sqlite: store lock failed (error %d)", e);
    const char *sql = kind == SQ_WRITE ? "BEGIN IMMEDIATE" : "BEGIN";
    if (!sq_exec_fixed(s, sql, "begin transaction", err)) {
        (void)pthread_mutex_unlock(&s->lock); /* ours, locked above */
        return false;
    }
    return true;
}

static void sq_rollback(struct sq_store *s)
{
    /* Some errors (SQLITE_FULL, IOERR, NOMEM) make SQLite roll back by
     * itself; a second ROLLBACK would only fail. Its own failure leaves
     * nothing to undo, so the original error is the one reported. */
    if (!sqlite3_get_autocommit(sq_db(s)))
        (void)sqlite3_exec(sq_db(s), "ROLLBACK", NULL, NULL, NULL);
}

bool sq_end(struct sq_store *s, bool ok, struct td_err *err)
{
    if (tl_batch == s) {
        /* Undo only this operation; the batch goes on. When SQLite rolled
         * the whole transaction back by itself, there is nothing to undo
         * here and batch_end reports it. */
        if (ok)
            ok = sq_exec_fixed(s, "RELEASE op", "end operation", err);
        if (!ok && !sqlite3_get_autocommit(s->db)) {
            (void)sqlite3_exec(s->db, "ROLLBACK TO op", NULL, NULL, NULL);
            (void)sqlite3_exec(s->db, "RELEASE op", NULL, NULL, NULL);
        }
        return ok;
    }
    if (tl_reader == NULL && sq_group_active())
        return sq_group_end(s, ok, err);
    if (ok)
        ok = tl_write ? sq_commit(s, err) : sq_exec_fixed(s, "COMMIT", "commit", err);
    if (ok && tl_write)
        stats_store_commit();
    if (!ok)
        sq_rollback(s);
    if (tl_reader != NULL) {
        struct sq_conn *c = tl_reader;
        tl_reader = NULL;
        sq_pool_give(c);
        return ok;
    }
    (void)pthread_mutex_unlock(&s->lock); /* ours, locked by sq_begin */
    return ok;
}

/* How deep the calling thread's batches are nested (see tl_batch). */
static __thread int tl_batch_depth;

bool store_sqlite_batch_begin(struct store *st, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (tl_batch == s) { /* nested: a savepoint of the outer batch */
        if (!sq_exec_fixed(s, "SAVEPOINT batch", "begin batch", err))
            return false;
        tl_batch_depth++;
        return true;
    }
    if (tl_batch != NULL)
        return td_fail(err, TD_INVALID, "sqlite: this thread has a batch open on another store");
    if (!sq_begin(s, SQ_WRITE, err)) /* the writer's lock, BEGIN IMMEDIATE */
        return false;
    tl_batch = s;
    tl_batch_depth = 1;
    return true;
}

bool store_sqlite_batch_end(struct store *st, bool commit, struct td_err *err)
{
    struct sq_store *s = sq_of(st);
    if (tl_batch != s)
        return td_fail(err, TD_INVALID, "sqlite: no batch is open on this thread");
    if (tl_batch_depth > 1) {
        tl_batch_depth--;
        if (commit && sq_exec_fixed(s, "RELEASE batch", "end batch", err))
            return true;
        if (!sqlite3_get_autocommit(s->db)) {
            (void)sqlite3_exec(s->db, "ROLLBACK TO batch", NULL, NULL, NULL);
            (void)sqlite3_exec(s->db, "RELEASE batch", NULL, NULL, NULL);
        }
        return !commit;
    }
    tl_batch = NULL;
    tl_batch_depth = 0;
    if (!commit) {
        (void)sq_end(s, false, err); /* a rollback asked for: it cannot fail to undo */
        td_err_clear(err);
        return true;
    }
    if (sqlite3_get_autocommit(s->db)) { /* SQLite gave up on it already */
        (void)sq_end(s, false, err);
        return td_fail(err, TD_INTERNAL, "sqlite: the batch was rolled back by an error");
    }
    return sq_end(s, true, err);
}

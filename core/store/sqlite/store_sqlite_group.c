/* store_sqlite_group.c - group commit on the SQLite writer (see
 * store_sqlite_int.h, "Threads").
 *
 * A commit costs an fsync (synchronous=FULL), and on this kind of disk
 * that, not the SQL, bounds how many writes a second ticketd does. So
 * top-level write operations and batches of a file-backed handle share
 * transactions: the first opens one (BEGIN IMMEDIATE) and runs in it
 * directly; each later operation runs inside a SAVEPOINT of it, so a
 * failing one undoes only itself (the first, failing, rolls back the
 * transaction, which holds nothing else yet);
 * when an operation ends while another thread is already waiting for
 * the writer, it leaves the transaction open for that thread and sleeps
 * until a later member commits; the member that finds nobody waiting
 * (or the group full, or old) commits for all and wakes them. Every
 * caller still returns only after its work is durable, and with the
 * commit's outcome: exactly the promise of one transaction each, at
 * one fsync per group. Nobody waits for company: an operation alone
 * commits at once, as before.
 *
 * Readers never see a group's work before its commit (they are other
 * connections). A ":memory:" handle has no readers (its reads run on
 * the writer) and does not group. */
#include "store_sqlite_int.h"
#include "core/mem.h"
#include "core/stats.h"

#include <stdatomic.h>
#include <time.h>

/* A group closes at this many members or this age, whoever waits. */
#define GROUP_MAX_MEMBERS 64
#define GROUP_MAX_MS 20
/* Outcomes of recent groups, by id: a member reads its own after the
 * commit; 256 later groups would have to settle before it wakes. */
#define GROUP_RING 256

struct sq_group {
    /* Guards settled and ok, and is settled_cv's: a member waits for its
     * commit on this lock, not the writer's, so the members a commit
     * wakes do not each take the writer's lock back (only to let it go)
     * while the next group's writers queue for it. Taken after the
     * writer's lock, never before. */
    pthread_mutex_t settle_lock;
    pthread_cond_t settled_cv;
    atomic_int waiting;  /* threads blocked on the writer's lock to write */
    bool open;           /* a transaction is open on the writer */
    uint64_t id;         /* the open group, or the last one */
    int members;         /* operations ended in the open group */
    int64_t started_ms;
    uint64_t settled;    /* every group up to this one is committed or failed */
    bool ok[GROUP_RING];
};

/* The group the calling thread's write operation is in (0: none). */
static __thread uint64_t tl_group;
/* Whether that operation began the group's transaction. It then runs
 * without the SAVEPOINT: nobody else's work is in the transaction yet,
 * so undoing only itself is a ROLLBACK. The savepoint cost every page it
 * changed a copy in SQLite's statement journal (in memory: temp_store),
 * kept until the savepoint ends - for a batch of 64 mails, 7 MB at the
 * peak of the bench's mail burst, and a memcpy per page of every write. */
static __thread bool tl_first;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool sq_group_open(struct sq_store *s, struct td_err *err)
{
    struct sq_group *g = td_calloc(1, sizeof *g);
    int e = pthread_mutex_init(&g->settle_lock, NULL);
    if (e != 0) {
        free(g);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the group commit lock (error %d)", e);
    }
    e = pthread_cond_init(&g->settled_cv, NULL);
    if (e != 0) {
        (void)pthread_mutex_destroy(&g->settle_lock);
        free(g);
        return td_fail(err, TD_INTERNAL, "sqlite: cannot create the group commit condition (error %d)", e);
    }
    atomic_init(&g->waiting, 0);
    s->group = g;
    return true;
}

void sq_group_close(struct sq_store *s)
{
    if (s->group == NULL)
        return;
    (void)pthread_cond_destroy(&s->group->settled_cv); /* nobody waits: no op is running */
    (void)pthread_mutex_destroy(&s->group->settle_lock);
    free(s->group);
    s->group = NULL;
}

bool sq_group_active(void)
{
    return tl_group != 0;
}

/* With the writer's lock held: the open group is over (ok: committed). */
static void settle(struct sq_group *g, bool ok)
{
    (void)pthread_mutex_lock(&g->settle_lock); /* default mutex: fails only when misused */
    g->settled = g->id;
    g->ok[g->id % GROUP_RING] = ok;
    (void)pthread_cond_broadcast(&g->settled_cv);
    (void)pthread_mutex_unlock(&g->settle_lock);
    g->open = false;
}

bool sq_group_begin(struct sq_store *s, struct td_err *err)
{
    struct sq_group *g = s->group;
    atomic_fetch_add(&g->waiting, 1);
    int e = pthread_mutex_lock(&s->lock); /* a default mutex: fails only when misused */
    atomic_fetch_sub(&g->waiting, 1);
    if (e != 0)
        return td_fail(err, TD_INTERNAL, "sqlite: store lock failed (error %d)", e);
    bool first = !g->open;
    if (first) {
        if (!sq_exec_fixed(s, "BEGIN IMMEDIATE", "begin transaction", err)) {
            (void)pthread_mutex_unlock(&s->lock); /* ours, locked above */
            return false;
        }
        g->open = true;
        g->id++;
        g->members = 0;
        g->started_ms = mono_ms();
    }
    tl_group = g->id;
    tl_first = first;
    if (!first && !sq_exec_fixed(s, "SAVEPOINT grp", "begin operation", err)) {
        struct td_err ignored;
        (void)sq_group_end(s, false, &ignored); /* leaves the group as it was */
        return false;
    }
    return true;
}

bool sq_group_end(struct sq_store *s, bool ok, struct td_err *err)
{
    struct sq_group *g = s->group;
    uint64_t mine = tl_group;
    bool first = tl_first;
    tl_group = 0;
    tl_first = false;
    if (ok && !first)
        ok = sq_exec_fixed(s, "RELEASE grp", "end operation", err);
    if (!ok && first) {
        /* The transaction holds this operation only: it ends here, and
         * the group with it (nobody else joined; the next begins anew). */
        if (!sqlite3_get_autocommit(s->db))
            (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        settle(g, false);
        (void)pthread_mutex_unlock(&s->lock);
        return false;
    }
    if (!ok && !sqlite3_get_autocommit(s->db)) { /* undo this operation only */
        (void)sqlite3_exec(s->db, "ROLLBACK TO grp", NULL, NULL, NULL);
        (void)sqlite3_exec(s->db, "RELEASE grp", NULL, NULL, NULL);
    }
    if (sqlite3_get_autocommit(s->db)) {
        /* SQLite rolled the whole transaction back (I/O error, full
         * disk...): every member's work is gone, and each is told. */
        settle(g, false);
        (void)pthread_mutex_unlock(&s->lock);
        return ok ? td_fail(err, TD_UNAVAILABLE, "sqlite: the transaction was rolled back by an error")
                  : false;
    }
    g->members++;
    if (atomic_load(&g->waiting) > 0 && g->members < GROUP_MAX_MEMBERS &&
        mono_ms() - g->started_ms < GROUP_MAX_MS) {
        /* Someone waits to write: the transaction stays open for it, and
         * the member that closes the group commits for this one too. */
        (void)pthread_mutex_lock(&g->settle_lock);
        (void)pthread_mutex_unlock(&s->lock);
        while (g->settled < mine)
            (void)pthread_cond_wait(&g->settled_cv, &g->settle_lock);
        bool committed = g->ok[mine % GROUP_RING];
        (void)pthread_mutex_unlock(&g->settle_lock);
        if (ok && !committed)
            return td_fail(err, TD_UNAVAILABLE, "sqlite: the shared commit failed");
        return ok;
    }
    struct td_err cerr;
    bool committed = sq_commit(s, &cerr);
    if (committed) {
        stats_store_commit();
    } else if (!sqlite3_get_autocommit(s->db)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    settle(g, committed);
    (void)pthread_mutex_unlock(&s->lock);
    if (ok && !committed && err != NULL)
        *err = cerr;
    return ok && committed;
}

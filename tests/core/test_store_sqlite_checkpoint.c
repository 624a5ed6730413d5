/* test_store_sqlite_checkpoint.c - the SQLite store copies its
 * write-ahead log into the database on a thread of its own
 * (store_sqlite_checkpoint.c): a commit that grows the log past the
 * checkpoint interval only wakes that thread, and under steady writes
 * the log still starts over once it is SQ_WAL_BACKSTOP_PAGES long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_sqlite_int.h"
#include "tests/support/harness.h"
#include "tests/support/sqlite_raw.h"

/* One commit on the store's writer of ~40 pages of new rows. */
static void grow_log(struct sq_store *s)
{
    sqlite_raw_exec_on(s->db, "BEGIN IMMEDIATE;"
                   "INSERT INTO junk (b) SELECT randomblob(3000) FROM "
                   "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
                   "SELECT i FROM n);"
                   "COMMIT");
}

/* Frames in the log now, asked on a connection of the test's own. */
static int log_frames(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    /* A read opens the log (a connection that has read nothing has
     * none, and says -1). */
    sqlite_raw_exec_on(db, "SELECT count(*) FROM sqlite_master");
    int log = -1, copied = -1;
    /* PASSIVE on a connection of its own: it copies what it can, and
     * says how long the log is. */
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied),
                     SQLITE_OK);
    sqlite3_close(db);
    return log;
}

/* A store on a fresh file, with a table to grow its log with. */
static struct sq_store *open_store(struct dbdir *d)
{
    dbdir_make(d);
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(d->uri, &st, &err));
    struct sq_store *s = sq_of(st);
    sqlite_raw_exec_on(s->db, "CREATE TABLE junk (b BLOB)");
    return s;
}

static void wait_for_runs(struct sq_store *s, long n)
{
    for (int i = 0; i < 500 && sq_checkpointer_runs(s, false) < n; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static void test_the_thread_checkpoints_not_the_commit(void **state)
{
    (void)state;
    struct dbdir d;
    struct sq_store *s = open_store(&d);
    /* Past the interval, well short of the backstop. */
    int commits = 0;
    while (commits * 40 < 2 * SQ_WAL_CHECKPOINT_PAGES) {
        grow_log(s);
        commits++;
    }
    wait_for_runs(s, 1);
    print_message("%d commits, %ld checkpoints by the thread, %ld by commits\n", commits,
                  sq_checkpointer_runs(s, false), sq_checkpointer_runs(s, true));
    assert_true(sq_checkpointer_runs(s, false) >= 1);
    assert_int_equal(sq_checkpointer_runs(s, true), 0);
    store_close(&s->base);
    harness_rmtree(d.dir);
}

static void test_the_log_starts_over_under_steady_writes(void **state)
{
    (void)state;
    struct dbdir d;
    struct sq_store *s = open_store(&d);
    /* Writes without a pause, until a commit past the backstop has
     * checkpointed (each commit lets the thread catch up a little, as
     * steady traffic would). */
    int commits = 0;
    while (commits < 3000 && sq_checkpointer_runs(s, true) == 0) {
        grow_log(s);
        commits++;
    }
    print_message("%d commits, %ld checkpoints by the thread, %ld by commits\n", commits,
                  sq_checkpointer_runs(s, false), sq_checkpointer_runs(s, true));
    assert_true(sq_checkpointer_runs(s, true) >= 1);
    /* The next write starts the log over: it is short again. */
    grow_log(s);
    int frames = log_frames(d.path);
    print_message("log after the backstop: %d frames\n", frames);
    assert_true(frames >= 0 && frames < SQ_WAL_CHECKPOINT_PAGES);
    sqlite_raw_exec_on(s->db, "PRAGMA integrity_check");
    store_close(&s->base);
    harness_rmtree(d.dir);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_thread_checkpoints_not_the_commit),
        cmocka_unit_test(test_the_log_starts_over_under_steady_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

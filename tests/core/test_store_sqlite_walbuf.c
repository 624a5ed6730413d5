/* test_store_sqlite_walbuf.c - the writer's WAL buffer VFS
 * (store_sqlite_walbuf.c), stacked on a VFS that counts the writes that
 * reach WAL files: a commit's frames reach the file in a few writes, not
 * two per page; each commit is in the file when it returns (another
 * connection, on the plain VFS, sees it, and so does a process that
 * finds the file after the writer died without closing); transactions
 * larger than the buffer, rolled back ones and checkpoints keep the
 * database intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/store/sqlite/store_sqlite_int.h"
#include "tests/support/harness.h"
#include "tests/support/sqlite_raw.h"

/* --- a VFS that counts xWrite calls on WAL files --- */

static sqlite3_vfs counting_vfs;
static sqlite3_io_methods counting_methods;
static const sqlite3_io_methods *plain_methods;
static int wal_writes;

static int counting_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    wal_writes++;
    return plain_methods->xWrite(f, data, amt, off);
}

static int counting_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                         int *out_flags)
{
    sqlite3_vfs *plain = vfs->pAppData;
    int rc = plain->xOpen(plain, name, f, flags, out_flags);
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL)) {
        if (plain_methods == NULL) {
            plain_methods = f->pMethods;
            counting_methods = *f->pMethods;
            counting_methods.xWrite = counting_write;
        }
        f->pMethods = &counting_methods;
    }
    return rc;
}

static void register_counting(void)
{
    if (sqlite3_vfs_find("test-counting") != NULL)
        return;
    sqlite3_vfs *plain = sqlite3_vfs_find(NULL);
    counting_vfs = *plain;
    counting_vfs.zName = "test-counting";
    counting_vfs.pAppData = plain;
    counting_vfs.xOpen = counting_open;
    counting_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&counting_vfs, 0), SQLITE_OK);
}

static void register_all(void)
{
    register_counting();
    struct td_err err;
    assert_true(sq_walbuf_register("test-walbuf", "test-counting", SQ_WALBUF_BYTES, &err));
    /* The unix VFS writes at most 0x1ffff bytes a call: more is refused. */
    assert_false(sq_walbuf_register("test-walbuf-big", NULL, SQ_WALBUF_MAX_BYTES + 1, &err));
}

/* --- helpers --- */

static int64_t count_rows(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static sqlite3 *open_writer(const char *path, const char *vfs)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    sqlite_raw_exec_on(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                "PRAGMA wal_autocheckpoint = 0;"
                "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)");
    return db;
}

/* n rows of ~200 bytes, in one transaction. */
static void insert_rows(sqlite3 *db, int n)
{
    sqlite_raw_exec_on(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (printf('%.200c', 'x'))",
                                        -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite_raw_exec_on(db, "COMMIT");
}

static void expect_intact(const char *path, int64_t rows)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(count_rows(db), rows);
    sqlite3_close(db);
}

/* Writes that reach WAL files for 20 commits of 40 rows (~3 pages
 * each) through the VFS named vfs. */
static int writes_for_commits(const char *vfs)
{
    struct dbdir d;
    dbdir_make(&d);
    const char *path = d.path;
    sqlite3 *db = open_writer(path, vfs);
    wal_writes = 0;
    for (int i = 0; i < 20; i++)
        insert_rows(db, 40);
    int n = wal_writes;
    sqlite3_close(db);
    expect_intact(path, 800);
    harness_rmtree(d.dir);
    return n;
}

static void test_a_commit_is_a_few_writes(void **state)
{
    (void)state;
    register_all();
    int plain = writes_for_commits("test-counting");
    int buffered = writes_for_commits("test-walbuf");
    /* Without the buffer: two per frame (header, page). With it: one
     * per commit, plus the log's header. */
    assert_true(plain >= 20 * 6);
    assert_true(buffered <= 20 + 2);
}

static void test_each_commit_is_seen_by_another_connection(void **state)
{
    (void)state;
    register_all();
    struct dbdir d;
    dbdir_make(&d);
    const char *path = d.path;
    sqlite3 *w = open_writer(path, "test-walbuf");
    sqlite3 *r = NULL;
    assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int i = 1; i <= 10; i++) {
        insert_rows(w, 7 * i);
        assert_int_equal(count_rows(r), 7 * i * (i + 1) / 2);
    }
    sqlite3_close(r);
    sqlite3_close(w);
    harness_rmtree(d.dir);
}

static void test_large_and_rolled_back_transactions(void **state)
{
    (void)state;
    register_all();
    struct dbdir d;
    dbdir_make(&d);
    const char *path = d.path;
    sqlite3 *w = open_writer(path, "test-walbuf");
    /* ~1.5 MB: many times the buffer, and past the page cache,
     * so SQLite spills frames it reads back before the commit. */
    sqlite_raw_exec_on(w, "PRAGMA cache_size = 20");
    insert_rows(w, 6000);
    sqlite_raw_exec_on(w, "BEGIN IMMEDIATE; INSERT INTO t (v) SELECT v FROM t; ROLLBACK");
    insert_rows(w, 10);
    sqlite_raw_exec_on(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    insert_rows(w, 5);
    assert_int_equal(count_rows(w), 6015);
    sqlite3_close(w);
    expect_intact(path, 6015);
    harness_rmtree(d.dir);
}

static void test_commits_outlive_a_writer_that_dies(void **state)
{
    (void)state;
    register_all();
    struct dbdir d;
    dbdir_make(&d);
    const char *path = d.path;
    sqlite3_close(open_writer(path, NULL));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sqlite3 *w = open_writer(path, "test-walbuf");
        for (int i = 0; i < 30; i++)
            insert_rows(w, 11);
        /* Half a transaction in the buffer, then death, unclosed. */
        sqlite_raw_exec_on(w, "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('lost')");
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_intact(path, 330);
    harness_rmtree(d.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_commit_is_a_few_writes),
        cmocka_unit_test(test_each_commit_is_seen_by_another_connection),
        cmocka_unit_test(test_large_and_rolled_back_transactions),
        cmocka_unit_test(test_commits_outlive_a_writer_that_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

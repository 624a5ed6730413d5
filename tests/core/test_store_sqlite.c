/* test_store_sqlite.c - what only the SQLite backend promises, beyond
 * the shared contract of tests/core/conformance.h: the file is WAL with a
 * versioned schema, a newer schema is refused, a writer blocked past
 * busy_timeout gets TD_UNAVAILABLE (and a reader is not blocked), and
 * several processes share one file without handing out a ticket number
 * or an outbox row twice; its files are created 0600 under umask 022
 * and check-config's mode check names any wider one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_sqlite_int.h" /* sq_open_at_version */
#include "tests/support/harness.h"
#include "tests/support/sqlite_raw.h"

struct fx {
    char dir[256];
    char path[300];
    char uri[320];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (fx == NULL || !harness_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    snprintf(fx->uri, sizeof fx->uri, "sqlite:%s", fx->path);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    harness_rmtree(fx->dir);
    free(fx);
    return 0;
}

#define MUST(call)                                                             \
    do {                                                                       \
        td_err_clear(&err);                                                    \
        if (!(call))                                                           \
            fail_msg("%s failed: %s: %s", #call, td_code_name(err.code),       \
                     err.msg);                                                 \
    } while (0)

/* One integer from a raw connection of our own. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static void user_fill(struct td_user *u, const char *email)
{
    memset(u, 0, sizeof *u);
    static unsigned n;
    snprintf(u->id, sizeof u->id, "%024x", ++n);
    u->email = td_strdup(email);
    u->name = td_strdup("x");
    u->created = u->updated = 1;
}

static void test_file_format(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    assert_string_equal(st->ops->name, "sqlite");
    store_close(st);

    int64_t version = raw_int(fx->path, "PRAGMA user_version");
    assert_true(version >= 1);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    /* Opening again migrates nothing and keeps the data. */
    MUST(store_open(fx->uri, &st, &err));
    struct td_user u;
    user_fill(&u, "keep@example.org");
    MUST(st->ops->user_insert(st, &u, &err));
    store_close(st);
    MUST(store_open(fx->uri, &st, &err));
    struct td_user got = { 0 };
    MUST(st->ops->user_get_by_email(st, "keep@example.org", &got, &err));
    store_close(st);
    assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), version);
    user_clear(&got);
    user_clear(&u);
}

/* The writer keeps statement journals in memory (store_sqlite.c, after
 * foreign_keys): they were a temp file's pwrite()s inside every comment.
 * Its checkpoint interval is SQ_WAL_CHECKPOINT_PAGES_STR; the readers'
 * page caches are SQ_READER_CACHE_KIB. */
static void test_writer_temp_store_memory(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(sq_of(st)->db, "PRAGMA temp_store", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 2); /* MEMORY */
    sqlite3_finalize(stmt);
    /* Its commits do not checkpoint (SQLite's automatic checkpoint is
     * off: its hook is the checkpoint thread's, test_store_sqlite_checkpoint). */
    assert_int_equal(sqlite3_prepare_v2(sq_of(st)->db, "PRAGMA wal_autocheckpoint", -1, &stmt,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);
    assert_non_null(sq_of(st)->checkpointer);
    /* SQLite keeps no memory statistics (store_sqlite.c: their mutex
     * serialised every allocation): with them, the open connections'
     * memory would show here. */
    sqlite3_int64 used = -1, peak = -1;
    assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &peak, 0), SQLITE_OK);
    assert_int_equal(used, 0);
    /* Each reader's page cache is SQ_READER_CACHE_KIB, not 2 MiB. */
    struct sq_store *s = sq_of(st);
    assert_int_equal(s->n_readers, SQ_READERS);
    for (size_t i = 0; i < s->n_readers; i++) {
        assert_int_equal(sqlite3_prepare_v2(s->readers[i].db, "PRAGMA cache_size", -1, &stmt,
                                            NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(stmt, 0), -SQ_READER_CACHE_KIB);
        sqlite3_finalize(stmt);
    }
    store_close(st);
}

static void count_warning(void *arg, const char *msg)
{
    assert_non_null(strstr(msg, "0644"));
    ++*(int *)arg;
}

static void test_file_modes(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    mode_t old = umask(022);
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    struct td_user u;
    user_fill(&u, "modes@example.org");
    MUST(st->ops->user_insert(st, &u, &err));
    user_clear(&u);
    /* While open, WAL mode keeps -wal and -shm next to the file. */
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        struct stat sb;
        if (stat(p, &sb) != 0)
            fail_msg("%s: missing", p);
        if ((sb.st_mode & 0777) != 0600)
            fail_msg("%s has mode %04o, want 0600", p, (unsigned)(sb.st_mode & 0777));
    }
    int warned = 0;
    assert_int_equal(store_file_modes_check(fx->uri, count_warning, &warned), 0);
    store_close(st);
    umask(old);
    assert_int_equal(chmod(fx->path, 0644), 0);
    assert_int_equal(store_file_modes_check(fx->uri, count_warning, &warned), 1);
    assert_int_equal(warned, 1);
    assert_int_equal(store_file_modes_check("mongodb://127.0.0.1/x", count_warning, &warned), 0);
}

static void test_newer_schema_refused(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    store_close(st);
    sqlite_raw_exec(fx->path, "PRAGMA user_version = 9999");
    st = NULL;
    td_err_clear(&err);
    assert_false(store_open(fx->uri, &st, &err));
    assert_null(st);
    /* TD_INVALID: exit 3, which systemd does not restart in a loop; the
     * message names both versions. */
    assert_int_equal(err.code, TD_INVALID);
    assert_non_null(strstr(err.msg, "schema version 9999"));
    char mine[64];
    snprintf(mine, sizeof mine, "up to version %d", store_sqlite_schema_version());
    assert_non_null(strstr(err.msg, mine));
}

/* A database as the first release left it (schema version 1, with
 * data) is brought up to date on open, keeping the data. */
static void test_old_schema_migrated(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(sq_open_at_version(fx->path, 1, &st, &err));
    store_close(st);
    /* The row as version 1's users table holds it (today's code writes
     * columns later migrations added, e.g. restricted in 12). */
    struct td_user u;
    user_fill(&u, "old@example.org");
    char sql[400];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (id, email, name, role, pw_hash, disabled, token_version, created, "
             "updated) VALUES ('%s', '%s', 'x', 'customer', NULL, 0, 0, 1, 1)", u.id, u.email);
    sqlite_raw_exec(fx->path, sql);
    assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM sqlite_master "
                                       "WHERE name = 'outbox_recipient'"), 0);

    MUST(store_open(fx->uri, &st, &err));
    struct td_user got = { 0 };
    MUST(st->ops->user_get(st, u.id, &got, &err));
    store_close(st);
    assert_true(raw_int(fx->path, "PRAGMA user_version") >= 2);
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM sqlite_master "
                                       "WHERE name = 'outbox_recipient'"), 1);
    user_clear(&got);
    user_clear(&u);
}

/* A read that takes long (here: a read transaction held open) stalls
 * neither other reads nor writes on the same handle: they run on other
 * connections of its pool. */
struct slow_read {
    struct store *st;
    atomic_bool started;
};

static void *hold_read(void *arg)
{
    struct slow_read *r = arg;
    struct td_err err;
    td_err_clear(&err);
    if (!sq_begin(sq_of(r->st), SQ_READ, &err))
        return NULL;
    atomic_store(&r->started, true);
    struct timespec ts = { 0, 800 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    (void)sq_end(sq_of(r->st), true, &err);
    return NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_slow_read_stalls_nobody(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    struct td_user u;
    user_fill(&u, "pool@example.org");
    MUST(st->ops->user_insert(st, &u, &err));

    struct slow_read r = { .st = st };
    atomic_init(&r.started, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hold_read, &r), 0);
    for (int i = 0; i < 2000 && !atomic_load(&r.started); i++) {
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&r.started));
    int64_t t0 = mono_ms();
    struct td_user got = { 0 };
    MUST(st->ops->user_get(st, u.id, &got, &err)); /* another read */
    int64_t read_ms = mono_ms() - t0;
    free(got.name);
    got.name = td_strdup("renamed");
    t0 = mono_ms();
    MUST(st->ops->user_update(st, &got, &err)); /* a write */
    int64_t write_ms = mono_ms() - t0;
    assert_int_equal(pthread_join(th, NULL), 0);
    if (read_ms > 400 || write_ms > 400)
        fail_msg("stalled behind a slow read: read %lld ms, write %lld ms", (long long)read_ms,
                 (long long)write_ms);
    user_clear(&got);
    user_clear(&u);
    store_close(st);
}

/* A batch: one transaction for many operations; a failed operation
 * inside undoes only itself; nothing is visible to other connections
 * before batch_end, and a rollback leaves nothing. */
static void test_batch(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    struct td_user a, b, dup, got = { 0 };
    user_fill(&a, "batch-a@example.org");
    user_fill(&b, "batch-b@example.org");
    user_fill(&dup, "batch-a@example.org");

    MUST(st->ops->batch_begin(st, &err));
    MUST(st->ops->user_insert(st, &a, &err));
    td_err_clear(&err);
    assert_false(st->ops->user_insert(st, &dup, &err)); /* undoes only itself */
    assert_int_equal(err.code, TD_CONFLICT);
    MUST(st->ops->user_insert(st, &b, &err));
    MUST(st->ops->user_get(st, b.id, &got, &err)); /* the batch sees its own writes */
    user_clear(&got);
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM users"), 0); /* others do not */
    struct td_user n1, n2;
    user_fill(&n1, "batch-n1@example.org");
    user_fill(&n2, "batch-n2@example.org");
    MUST(st->ops->batch_begin(st, &err)); /* nested: kept by the outer one */
    MUST(st->ops->user_insert(st, &n1, &err));
    MUST(st->ops->batch_end(st, true, &err));
    MUST(st->ops->batch_begin(st, &err)); /* nested and undone: only itself */
    MUST(st->ops->user_insert(st, &n2, &err));
    MUST(st->ops->batch_end(st, false, &err));
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM users"), 0);
    MUST(st->ops->batch_end(st, true, &err));
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM users"), 3); /* a, b, n1 */

    struct td_user c;
    user_fill(&c, "batch-c@example.org");
    MUST(st->ops->batch_begin(st, &err));
    MUST(st->ops->user_insert(st, &c, &err));
    MUST(st->ops->batch_end(st, false, &err)); /* rolled back */
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM users"), 3);
    td_err_clear(&err);
    assert_false(st->ops->batch_end(st, true, &err)); /* none open */
    MUST(st->ops->user_insert(st, &c, &err)); /* and the handle works as before */
    assert_int_equal(raw_int(fx->path, "SELECT COUNT(*) FROM users"), 4);
    user_clear(&n1);
    user_clear(&n2);
    user_clear(&a);
    user_clear(&b);
    user_clear(&c);
    user_clear(&dup);
    store_close(st);
}

static void test_unopenable_path(void **state)
{
    struct fx *fx = *state;
    struct td_err err = { 0 };
    char uri[400];
    snprintf(uri, sizeof uri, "sqlite:%s/no/such/dir/t.db", fx->dir);
    struct store *st = NULL;
    assert_false(store_open(uri, &st, &err));
    assert_null(st);
    assert_int_equal(err.code, TD_UNAVAILABLE);
}

/* Another connection holds the write lock: a reader goes on (WAL), a
 * writer waits busy_timeout and gets TD_UNAVAILABLE, having written
 * nothing; once the lock is gone the same write succeeds. */
static void test_busy_is_unavailable(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    struct td_user a, b, got = { 0 };
    user_fill(&a, "a@example.org");
    user_fill(&b, "b@example.org");
    MUST(st->ops->user_insert(st, &a, &err));

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE users SET name = 'locked'",
                                  NULL, NULL, NULL), SQLITE_OK);
    MUST(st->ops->user_get(st, a.id, &got, &err));
    assert_string_equal(got.name, "x"); /* the uncommitted change is invisible */
    user_clear(&got);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    td_err_clear(&err);
    assert_false(st->ops->user_insert(st, &b, &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(err.code, TD_UNAVAILABLE);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 4.0); /* it waited for the lock, it did not fail at once */

    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    td_err_clear(&err);
    assert_false(st->ops->user_get(st, b.id, &got, &err));
    assert_int_equal(err.code, TD_NOT_FOUND);
    MUST(st->ops->user_insert(st, &b, &err));
    store_close(st);
    user_clear(&a);
    user_clear(&b);
}

#define PROCS 3
#define NUMS 100
#define ROWS 60

/* A child process: its own handle on the file; allocates NUMS numbers
 * and claims outbox rows until none is due, writing what it got to fd as
 * lines "n <number>" and "o <id>". Exits 0 on success. */
static int child(const char *uri, int fd, int k)
{
    struct td_err err = { 0 };
    struct store *st = NULL;
    if (!store_open(uri, &st, &err))
        return 2;
    FILE *out = fdopen(fd, "w");
    if (out == NULL)
        return 3;
    int rc = 0;
    char owner[32];
    snprintf(owner, sizeof owner, "proc-%d", k);
    for (int i = 0; i < NUMS && rc == 0; i++) {
        int64_t n;
        if (st->ops->ticket_next_number(st, &n, &err))
            fprintf(out, "n %lld\n", (long long)n);
        else
            rc = 4;
    }
    while (rc == 0) {
        struct td_outbox o = { 0 };
        if (!st->ops->outbox_claim(st, owner, 1000, 60000, &o, &err)) {
            if (err.code != TD_NOT_FOUND)
                rc = 5;
            break;
        }
        fprintf(out, "o %s\n", o.id);
        if (!st->ops->outbox_finish(st, o.id, owner, OUTBOX_SENT, NULL, 0, &err))
            rc = 6;
        outbox_clear(&o);
    }
    if (rc != 0)
        fprintf(stderr, "child %d: %s: %s\n", k, td_code_name(err.code), err.msg);
    fclose(out);
    store_close(st);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_processes_share_file(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    struct store *st = NULL;
    MUST(store_open(fx->uri, &st, &err));
    for (int i = 0; i < ROWS; i++) {
        struct td_outbox o = { 0 };
        snprintf(o.id, sizeof o.id, "%024x", i + 1);
        o.kind = (char *)"k";
        o.recipient = (char *)"r@example.org";
        o.payload = (char *)"{}";
        o.next_attempt = i;
        o.created = i;
        MUST(st->ops->outbox_insert(st, &o, &err));
    }
    /* The children open their own handles; ours is closed first so no
     * connection crosses the fork. */
    store_close(st);

    pid_t pids[PROCS];
    FILE *in[PROCS];
    for (int k = 0; k < PROCS; k++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            close(p[0]);
            _exit(child(fx->uri, p[1], k));
        }
        close(p[1]);
        in[k] = fdopen(p[0], "r");
        assert_non_null(in[k]);
    }
    char **lines = td_calloc(PROCS * (NUMS + ROWS) + 1, sizeof *lines);
    size_t n_lines = 0, n_nums = 0, n_rows = 0;
    for (int k = 0; k < PROCS; k++) {
        char line[64];
        while (fgets(line, sizeof line, in[k]) != NULL) {
            assert_true(n_lines < (size_t)PROCS * (NUMS + ROWS));
            n_nums += line[0] == 'n';
            n_rows += line[0] == 'o';
            lines[n_lines++] = td_strdup(line);
        }
        fclose(in[k]);
        int status = 0;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %d failed (status %d)", k, status);
    }
    assert_int_equal(n_nums, PROCS * NUMS);
    assert_int_equal(n_rows, ROWS);
    qsort(lines, n_lines, sizeof *lines, cmp_str);
    for (size_t i = 1; i < n_lines; i++)
        if (strcmp(lines[i], lines[i - 1]) == 0)
            fail_msg("handed out twice: %s", lines[i]);
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i]);
    free(lines);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_file_format),
        T(test_writer_temp_store_memory),
        T(test_file_modes),
        T(test_newer_schema_refused),
        T(test_old_schema_migrated),
        T(test_unopenable_path),
        T(test_slow_read_stalls_nobody),
        T(test_batch),
        T(test_busy_is_unavailable),
        T(test_processes_share_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

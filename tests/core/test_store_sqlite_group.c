/* test_store_sqlite_group.c - group commit on the SQLite writer
 * (core/store/sqlite/store_sqlite_group.c): writes from many threads
 * share commits (fewer commits than writes), each caller still gets its
 * own outcome (a conflicting insert fails alone; the rest of its group
 * is kept), batches join groups like single writes, and a writer alone
 * commits at once (one commit per write). */
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

#include "core/buf.h"
#include "core/core.h"
#include "core/id.h"
#include "core/mem.h"
#include "core/stats.h"
#include "core/store/store.h"
#include "tests/support/harness.h"
#include "tests/support/store_commits.h"

#define THREADS 8
#define PER_THREAD 40

struct fx {
    char dir[256];
    char path[300];
    char uri[320];
    struct store *st;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct td_err err;
    if (fx == NULL || !harness_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    snprintf(fx->uri, sizeof fx->uri, "sqlite:%s", fx->path);
    if (!store_open(fx->uri, &fx->st, &err)) {
        harness_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    store_close(fx->st);
    harness_rmtree(fx->dir);
    free(fx);
    return 0;
}

static int64_t count_users(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM users", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

static bool insert_user(struct store *st, const char *email, struct td_err *err)
{
    struct td_user u;
    memset(&u, 0, sizeof u);
    id_new(u.id);
    u.email = (char *)email; /* borrowed: the store only reads */
    u.name = (char *)"Group";
    u.role = ROLE_CUSTOMER;
    u.token_version = 1;
    u.created = u.updated = td_now();
    td_err_clear(err);
    return st->ops->user_insert(st, &u, err);
}

struct worker {
    struct store *st;
    int k;
    atomic_int *wrong;     /* outcomes other than expected */
    atomic_int *conflicts; /* duplicates refused, as they must be */
};

/* PER_THREAD users; every fifth write also retries an address of its
 * own (TD_CONFLICT, alone); odd threads write in batches of three. */
static void *writer(void *arg)
{
    struct worker *w = arg;
    struct td_err err;
    char email[64];
    for (int i = 0; i < PER_THREAD; i++) {
        bool batch = w->k % 2 == 1 && i % 3 == 0;
        if (batch && !w->st->ops->batch_begin(w->st, &err)) {
            atomic_fetch_add(w->wrong, 1);
            continue;
        }
        snprintf(email, sizeof email, "g%d-%d@example.org", w->k, i);
        if (!insert_user(w->st, email, &err))
            atomic_fetch_add(w->wrong, 1);
        if (i % 5 == 4) {
            snprintf(email, sizeof email, "g%d-%d@example.org", w->k, i - 1);
            if (insert_user(w->st, email, &err) || err.code != TD_CONFLICT)
                atomic_fetch_add(w->wrong, 1);
            else
                atomic_fetch_add(w->conflicts, 1);
        }
        if (batch && !w->st->ops->batch_end(w->st, true, &err))
            atomic_fetch_add(w->wrong, 1);
    }
    return NULL;
}

static void test_concurrent_writes_share_commits(void **state)
{
    struct fx *fx = *state;
    atomic_int wrong, conflicts;
    atomic_init(&wrong, 0);
    atomic_init(&conflicts, 0);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    int64_t before = store_commits();
    for (int k = 0; k < THREADS; k++) {
        w[k] = (struct worker){ fx->st, k, &wrong, &conflicts };
        assert_int_equal(pthread_create(&t[k], NULL, writer, &w[k]), 0);
    }
    for (int k = 0; k < THREADS; k++)
        pthread_join(t[k], NULL);
    int64_t used = store_commits() - before;
    assert_int_equal(atomic_load(&wrong), 0);
    assert_int_equal(atomic_load(&conflicts), THREADS * (PER_THREAD / 5));
    assert_int_equal(count_users(fx->path), THREADS * PER_THREAD); /* every one, durable */
    print_message("%d writes (and %d refused) in %lld commits\n", THREADS * PER_THREAD,
                  THREADS * (PER_THREAD / 5), (long long)used);
    /* One commit each would be THREADS * PER_THREAD (less the batches'
     * sharing); groups make it far fewer. */
    if (used <= 0 || used >= THREADS * PER_THREAD * 3 / 4)
        fail_msg("%lld commits for %d writes from %d threads: not grouped", (long long)used,
                 THREADS * PER_THREAD, THREADS);
}

static void test_a_writer_alone_commits_at_once(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    char email[64];
    for (int i = 0; i < 10; i++) {
        int64_t before = store_commits();
        snprintf(email, sizeof email, "alone-%d@example.org", i);
        assert_true(insert_user(fx->st, email, &err));
        assert_int_equal(store_commits() - before, 1); /* durable before it returned */
        assert_int_equal(count_users(fx->path), i + 1);
    }
}

/* A write alone begins the transaction and runs in it without a
 * savepoint: when it fails, the rollback takes only it, the next write
 * begins afresh, and a batch alone still undoes only its failing
 * operation. */
static void test_a_failing_writer_alone(void **state)
{
    struct fx *fx = *state;
    struct td_err err;
    assert_true(insert_user(fx->st, "taken@example.org", &err));
    int64_t before = store_commits();
    assert_false(insert_user(fx->st, "taken@example.org", &err));
    assert_int_equal(err.code, TD_CONFLICT);
    assert_int_equal(store_commits() - before, 0);
    assert_true(insert_user(fx->st, "after@example.org", &err));
    assert_int_equal(count_users(fx->path), 2);

    /* A batch: the conflicting insert undoes itself, the others commit. */
    assert_true(fx->st->ops->batch_begin(fx->st, &err));
    assert_true(insert_user(fx->st, "batch-1@example.org", &err));
    assert_false(insert_user(fx->st, "taken@example.org", &err));
    assert_int_equal(err.code, TD_CONFLICT);
    assert_true(insert_user(fx->st, "batch-2@example.org", &err));
    assert_true(fx->st->ops->batch_end(fx->st, true, &err));
    assert_int_equal(count_users(fx->path), 4);

    /* A batch rolled back on purpose leaves nothing, and the store goes on. */
    assert_true(fx->st->ops->batch_begin(fx->st, &err));
    assert_true(insert_user(fx->st, "dropped@example.org", &err));
    assert_true(fx->st->ops->batch_end(fx->st, false, &err));
    assert_int_equal(count_users(fx->path), 4);
    assert_true(insert_user(fx->st, "last@example.org", &err));
    assert_int_equal(count_users(fx->path), 5);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_writes_share_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_writer_alone_commits_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_writer_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

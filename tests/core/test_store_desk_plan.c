/* test_store_desk_plan.c - the SQLite statements of store_sqlite_desk.c
 * are answered from their indexes (EXPLAIN QUERY PLAN): idle tickets by
 * a range of (status, updated) with no sort, the desk counts from the
 * covering (status, queue) index with no sort, the oldest open ticket by
 * one probe of (status, created). So the scheduler's reads stay cheap at
 * a million tickets. (MongoDB: the same shapes over the indexes made in
 * store_mongo.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/store/store.h"
#include "core/store/sqlite/store_sqlite_int.h"
#include "tests/support/harness.h"

/* Every detail line of the plan, joined by '\n' (caller frees). */
static char *plan_of(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", d ? d : "");
        assert_true(len < cap);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void expect_plan(const char *path, const char *sql, const char *index)
{
    char *p = plan_of(path, sql);
    if (strstr(p, index) == NULL || strstr(p, "TEMP B-TREE") != NULL || strstr(p, "SCAN tickets\n"))
        fail_msg("plan of %s:\n%s(expected %s, no sort, no scan)", sql, p, index);
    free(p);
}

static void test_plans(void **state)
{
    (void)state;
    char dir[256], path[300], uri[320];
    assert_true(harness_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(uri, &st, &err));
    store_close(st);
    expect_plan(path, sq_desk_idle_sql, "USING COVERING INDEX tickets_status_updated");
    expect_plan(path, sq_desk_counts_sql, "USING COVERING INDEX tickets_status_queue");
    expect_plan(path, sq_desk_oldest_sql, "USING COVERING INDEX tickets_status_created");
    harness_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_plans) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

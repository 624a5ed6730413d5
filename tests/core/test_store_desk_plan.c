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
#include "tests/support/sqlite_raw.h"

static void expect_plan(const char *path, const char *sql, const char *index)
{
    char *p = sqlite_plan_of_file(path, sql);
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

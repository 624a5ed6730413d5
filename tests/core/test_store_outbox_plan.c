/* test_store_outbox_plan.c - the SQLite outbox claim finds its row with
 * index probes (EXPLAIN QUERY PLAN): the first due pending row and the
 * first row whose lease ran out, each a search of outbox_due in the
 * claim's order, with no sort and no MULTI-INDEX OR. The claim used one
 * OR over both kinds, which SQLite answered by collecting and sorting
 * every pending row: each claim cost O(pending), 2 ms with 2600 mails
 * waiting, and the sender sent 330 mails/s (issue 11). Then it sorted
 * the rows of one next_attempt by created ("TEMP B-TREE FOR RIGHT PART
 * OF ORDER BY"), reading each from the table: rows planned together
 * share next_attempt, and with 227 000 planned by one reconciler pass a
 * claim took ~40 ms (migration 16 puts created in the index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/store.h"
#include "core/store/sqlite/store_sqlite_int.h"
#include "tests/support/harness.h"
#include "tests/support/sqlite_raw.h"

static void expect_probe(sqlite3 *db, const char *sql)
{
    char *p = sqlite_plan_of(db, sql);
    if ((strstr(p, "SEARCH outbox USING INDEX outbox_due") == NULL &&
         strstr(p, "SEARCH outbox USING COVERING INDEX outbox_due") == NULL) ||
        strstr(p, "MULTI-INDEX OR") != NULL || strstr(p, "TEMP B-TREE") != NULL ||
        strstr(p, "SCAN outbox") != NULL)
        fail_msg("plan of %s:\n%s(expected a search of outbox_due in order, no sort)", sql, p);
    free(p);
}

static void test_claim_probes(void **state)
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
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    expect_probe(db, sq_outbox_due_pending_sql);
    expect_probe(db, sq_outbox_due_expired_sql);
    sqlite3_close(db);
    harness_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_claim_probes) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

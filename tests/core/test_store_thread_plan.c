/* test_store_thread_plan.c - a ticket's thread of Message-IDs on SQLite
 * (migration 15): both ends of a thread are read from the covering index
 * ticket_msgids_thread alone, with no sort (EXPLAIN QUERY PLAN) - through
 * ticket_msgids_ticket each id was a lookup in a table whose rows of one
 * ticket lie on as many pages as it has mails. And a database of schema
 * 14 keeps its threads, in their order, when it is migrated. */
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

static void expect_covered(const char *path, const char *sql)
{
    char *p = sqlite_plan_of_file(path, sql);
    if (strstr(p, "USING COVERING INDEX ticket_msgids_thread") == NULL ||
        strstr(p, "TEMP B-TREE") != NULL || strstr(p, "SCAN ") != NULL)
        fail_msg("plan of %s:\n%s(expected the covering index ticket_msgids_thread, no sort)",
                 sql, p);
    free(p);
}

static void test_ends_from_the_index(void **state)
{
    (void)state;
    struct dbdir d;
    dbdir_make(&d);
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(d.uri, &st, &err));
    store_close(st);
    expect_covered(d.path, sq_thread_oldest_sql);
    expect_covered(d.path, sq_thread_newest_sql);
    harness_rmtree(d.dir);
}

static void expect_thread(struct store *st, int64_t ticket, size_t max, const char *const *want,
                          size_t n)
{
    struct strv got = STRV_INIT;
    struct td_err err;
    assert_true(st->ops->ticket_thread_ids(st, ticket, max, &got, &err));
    assert_int_equal(got.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got.v[i], want[i]);
    strv_clear(&got);
}

/* Two threads whose rows interleave, written as schema 14 holds them:
 * after the migration each reads in the order its ids were added, and
 * an id added afterwards comes last. */
static void test_schema_14_threads_keep_their_order(void **state)
{
    (void)state;
    struct dbdir d;
    dbdir_make(&d);
    struct store *st = NULL;
    struct td_err err;
    assert_true(sq_open_at_version(d.path, 14, &st, &err));
    store_close(st);
    sqlite_raw_exec(d.path,
             "INSERT INTO tickets (number, subject, status, priority, requester_id, assignee_id, "
             "queue, created, updated, version) VALUES "
             "(1, 'a', 'new', 'normal', '', '', 'default', 1, 1, 1),"
             "(2, 'b', 'new', 'normal', '', '', 'default', 1, 1, 1);"
             /* Names against the order: the order must come from the rows. */
             "INSERT INTO ticket_msgids (msgid, ticket) VALUES "
             "('<z1@x>', 1), ('<y2@x>', 2), ('<x1@x>', 1), ('<w2@x>', 2), ('<v1@x>', 1),"
             "('<u1@x>', 1);");
    assert_true(store_open(d.uri, &st, &err));
    const char *one[] = { "<z1@x>", "<x1@x>", "<v1@x>", "<u1@x>" };
    expect_thread(st, 1, 10, one, 4);
    const char *two[] = { "<y2@x>", "<w2@x>" };
    expect_thread(st, 2, 10, two, 2);
    /* The first and the newest: z1, then v1 and u1. */
    const char *ends[] = { "<z1@x>", "<v1@x>", "<u1@x>" };
    expect_thread(st, 1, 3, ends, 3);
    assert_true(st->ops->ticket_add_msgid(st, 1, "<a-new@x>", &err));
    assert_true(st->ops->ticket_add_msgid(st, 2, "<b-new@x>", &err));
    const char *one_more[] = { "<z1@x>", "<u1@x>", "<a-new@x>" };
    expect_thread(st, 1, 3, one_more, 3);
    const char *two_more[] = { "<y2@x>", "<w2@x>", "<b-new@x>" };
    expect_thread(st, 2, 10, two_more, 3);
    store_close(st);
    harness_rmtree(d.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ends_from_the_index),
        cmocka_unit_test(test_schema_14_threads_keep_their_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

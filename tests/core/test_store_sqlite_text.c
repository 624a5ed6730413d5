/* test_store_sqlite_text.c - the SQLite backend fills its search index
 * once per commit (store_sqlite_text_pending.c): a transaction's
 * documents wait in ticket_text_pending and are indexed together right
 * before its COMMIT, so a commit of many comments writes one FTS5
 * segment, not one each; no committed state has a pending document; and
 * a document changed before its commit is indexed with its last text.
 * What a search finds is the shared contract (test_store_list.c). */
#include "tests/core/conformance.h"

#include "core/core.h"
#include "core/store/sqlite/store_sqlite_int.h"
#include "tests/support/harness.h"
#include "tests/support/sqlite_raw.h"

/* One number from sql on the writer (inside the calling thread's open
 * transaction, if any). */
static int64_t count_on_writer(struct store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(sq_of(st)->db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

static void expect_found(struct store *st, const char *words, int64_t want)
{
    struct td_ticket_filter f = { .text = words };
    if (want)
        EXPECT_LIST(&f, want);
    else
        EXPECT_EMPTY(&f);
}

/* Twenty comments in one batch: queued while it runs, one segment at
 * its commit (each comment runs in a SAVEPOINT of the batch, at which
 * FTS5 would write out what it holds), nothing left queued after. */
static void test_one_segment_per_commit(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t = ticket_add(st, "Quarterly report", 10);
    assert_int_equal(count_on_writer(st, "SELECT count(*) FROM ticket_text_pending"), 0);
    int64_t rows0 = count_on_writer(st, "SELECT count(*) FROM ticket_text_data");
    MUST(st->ops->batch_begin(st, &err));
    char body[64];
    for (int i = 0; i < 20; i++) {
        snprintf(body, sizeof body, "zulu note number w%02d", i);
        comment_add(st, t, body, false, 20 + i);
    }
    assert_int_equal(count_on_writer(st, "SELECT count(*) FROM ticket_text_pending"), 20);
    MUST(st->ops->batch_end(st, true, &err));
    assert_int_equal(count_on_writer(st, "SELECT count(*) FROM ticket_text_pending"), 0);
    int64_t grown = count_on_writer(st, "SELECT count(*) FROM ticket_text_data") - rows0;
    print_message("search index rows written by the commit: %lld\n", (long long)grown);
    assert_true(grown >= 1 && grown <= 2); /* per comment and SAVEPOINT: 5 (merged) */
    expect_found(st, "zulu", t);
    expect_found(st, "w07", t);
    expect_found(st, "quarterly", t);
}

/* A comment written and then changed in one transaction is indexed with
 * its last text only; later changes take exactly that text back out
 * (FTS5 reports a contentless row deleted with other text as corrupt). */
static void test_changed_before_commit(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t = ticket_add(st, "Shipping", 10);
    struct td_comment c;
    comment_new(&c, t, "charlie delta secret", false, NULL, 20);
    struct td_event ev = comment_event(&c);
    MUST(st->ops->batch_begin(st, &err));
    MUST(st->ops->comment_insert(st, &c, &ev, &err));
    struct td_erasure e = { 0 };
    MUST(st->ops->erase_comments(st, c.author_id, "[erased] delta", &e, &err));
    erasure_clear(&e);
    MUST(st->ops->batch_end(st, true, &err));
    expect_found(st, "charlie", 0);
    expect_found(st, "secret", 0);
    expect_found(st, "erased delta", t);
    /* The next change removes the indexed text, not the first one. */
    memset(&e, 0, sizeof e);
    MUST(st->ops->erase_comments(st, c.author_id, "[gone]", &e, &err));
    erasure_clear(&e);
    expect_found(st, "erased", 0);
    expect_found(st, "delta", 0);
    expect_found(st, "gone", t);
    assert_int_equal(count_on_writer(st, "SELECT count(*) FROM ticket_text_pending"), 0);
    sqlite_raw_exec_on(sq_of(st)->db, "INSERT INTO ticket_text(ticket_text) VALUES ('integrity-check')");
    comment_clear(&c);
}

/* A transaction that rolls back leaves nothing queued and nothing
 * indexed. */
static void test_rollback_queues_nothing(void **state)
{
    struct store *st = FX(state)->st;
    struct td_err err;
    int64_t t = ticket_add(st, "Refund", 10);
    MUST(st->ops->batch_begin(st, &err));
    comment_add(st, t, "yankee words", false, 20);
    MUST(st->ops->batch_end(st, false, &err));
    assert_int_equal(count_on_writer(st, "SELECT count(*) FROM ticket_text_pending"), 0);
    expect_found(st, "yankee", 0);
    comment_add(st, t, "yankee again", false, 30);
    expect_found(st, "yankee", t);
}

int main(void)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
#define SQ(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup_sqlite, store_fixture_teardown)
    const struct CMUnitTest tests[] = {
        SQ(test_one_segment_per_commit),
        SQ(test_changed_before_commit),
        SQ(test_rollback_queues_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

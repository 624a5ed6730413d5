/* test_store_schema.c - on both backends: a database records the schema
 * version that wrote it, and a binary older than the database refuses to
 * open it with TD_INVALID (exit 3: a restart cannot help) naming both
 * versions (docs/upgrading.md). SQLite keeps the version in PRAGMA
 * user_version, MongoDB in meta {_id: "schema"}. */
#include "tests/support/store_fixture.h"

#include <mongoc/mongoc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int current(enum store_backend b)
{
    return b == STORE_BACKEND_SQLITE ? store_sqlite_schema_version() : store_mongo_schema_version();
}

/* Sets (set >= 0) and returns the version stored in f's database. */
static long long stored_version(struct store_fixture *f, long long set)
{
    long long v = -1;
    if (f->backend == STORE_BACKEND_SQLITE) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(f->uri + 7, &db), SQLITE_OK);
        if (set >= 0) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", set);
            assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        }
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
    }
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(f->uri, &e);
    assert_non_null(uri);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    assert_non_null(client);
    mongoc_collection_t *c = mongoc_client_get_collection(client, mongoc_uri_get_database(uri), "meta");
    bson_t *q = BCON_NEW("_id", BCON_UTF8("schema"));
    if (set >= 0) {
        bson_t *u = BCON_NEW("$set", "{", "version", BCON_INT64(set), "}");
        assert_true(mongoc_collection_update_one(c, q, u, NULL, NULL, &e));
        bson_destroy(u);
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, NULL, NULL);
    const bson_t *doc;
    bson_iter_t it;
    if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "version"))
        v = bson_iter_as_int64(&it);
    mongoc_cursor_destroy(cur);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    return v;
}

static void open_records_the_version(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(stored_version(f, -1), current(f->backend));
    /* opening again changes nothing */
    struct store *st = NULL;
    struct td_err err;
    assert_true(store_open(f->uri, &st, &err));
    store_close(st);
    assert_int_equal(stored_version(f, -1), current(f->backend));
}

static void newer_database_is_refused_naming_both(void **state)
{
    struct store_fixture *f = *state;
    stored_version(f, 4242);
    struct store *st = NULL;
    struct td_err err;
    td_err_clear(&err);
    assert_false(store_open(f->uri, &st, &err));
    assert_null(st);
    assert_int_equal(err.code, TD_INVALID);
    char mine[64];
    snprintf(mine, sizeof mine, "only up to version %d", current(f->backend));
    if (strstr(err.msg, "schema version 4242") == NULL || strstr(err.msg, mine) == NULL ||
        strstr(err.msg, "upgrading") == NULL)
        fail_msg("message: %s", err.msg);
    /* and the refused open did not lower it */
    assert_int_equal(stored_version(f, -1), 4242);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_records_the_version, store_fixture_setup,
                                        store_fixture_teardown),
        cmocka_unit_test_setup_teardown(newer_database_is_refused_naming_both, store_fixture_setup,
                                        store_fixture_teardown),
    };
    return store_fixture_run_all("store_schema", tests, sizeof tests / sizeof tests[0]);
}

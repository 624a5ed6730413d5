/* mongo_mock_fixture.h - what the MongoDB mock's own tests share: one mock
 * (or the real server of TICKETD_TEST_MONGO_URI) per test binary, reached
 * through the real C driver (a client pool, error API 2, as the backend
 * uses it), and a fresh collection per test.
 *
 * Every assertion of tests/harness/test_mongo_mock_*.c holds against a
 * real server too: run with TICKETD_TEST_MONGO_URI=mongodb://... to check
 * the tests themselves. If they pass on both, a backend test that passes
 * on the mock means something. */
#ifndef TD_TEST_MONGO_MOCK_FIXTURE_H
#define TD_TEST_MONGO_MOCK_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

struct fixture {
    struct harness_server srv;
    mongoc_client_pool_t *pool;
    mongoc_client_t *client;        /* popped for the current test */
    mongoc_database_t *db;
};

static struct fixture fx; /* one per test binary */

static inline int group_setup(void **state)
{
    (void)state;
    if (!harness_mongo_start(&fx.srv))
        return -1;
    mongoc_uri_t *uri = mongoc_uri_new(fx.srv.uri);
    fx.pool = uri ? mongoc_client_pool_new(uri) : NULL;
    mongoc_uri_destroy(uri);
    if (!fx.pool)
        return -1;
    mongoc_client_pool_set_error_api(fx.pool, MONGOC_ERROR_API_VERSION_2);
    return 0;
}

static inline int group_teardown(void **state)
{
    (void)state;
    mongoc_client_pool_destroy(fx.pool);
    harness_stop(&fx.srv);
    return 0;
}

static inline int test_setup(void **state)
{
    (void)state;
    fx.client = mongoc_client_pool_pop(fx.pool);
    fx.db = mongoc_client_get_default_database(fx.client);
    return 0;
}

static inline int test_teardown(void **state)
{
    (void)state;
    mongoc_database_destroy(fx.db);
    mongoc_client_pool_push(fx.pool, fx.client);
    return 0;
}

/* A fresh, empty collection (dropped if a previous run left it). */
static inline mongoc_collection_t *fresh(const char *name)
{
    mongoc_collection_t *c = mongoc_database_get_collection(fx.db, name);
    bson_error_t err;
    if (!mongoc_collection_drop(c, &err))
        assert_int_equal(err.code, 26);     /* ns not found: fine */
    return c;
}

static inline void create_index(mongoc_collection_t *c, bson_t *cmd)
{
    bson_error_t err;
    bson_t reply;
    if (!mongoc_collection_write_command_with_opts(c, cmd, NULL, &reply, &err))
        fail_msg("createIndexes: %s", err.message);
    bson_destroy(&reply);
    bson_destroy(cmd);
}

static inline int64_t get_int(const bson_t *doc, const char *path, bson_type_t want)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &it))
        fail_msg("no field %s", path);
    if (bson_iter_type(&it) != want)
        fail_msg("%s has BSON type 0x%02x, want 0x%02x", path, bson_iter_type(&it), want);
    return bson_iter_as_int64(&it);
}

static inline bson_t *find_one(mongoc_collection_t *c, bson_t *filter)
{
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    const bson_t *doc;
    bson_t *out = NULL;
    if (mongoc_cursor_next(cur, &doc))
        out = bson_copy(doc);
    bson_error_t err;
    if (mongoc_cursor_error(cur, &err))
        fail_msg("find: %s", err.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    return out;
}

#define MT(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

/* Runs tests as one group on one mock. */
static inline int mongo_mock_run(const struct CMUnitTest *tests, size_t n)
{
    mongoc_init();
    int failed = _cmocka_run_group_tests("mongo_mock", tests, n, group_setup, group_teardown);
    mongoc_cleanup();
    return failed;
}

#endif

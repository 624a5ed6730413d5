/* test_mongo_mock.c - proves the MongoDB mock behaves like mongod for what
 * ticketd's backend relies on, through the real C driver (a client pool,
 * error API 2, as the backend uses it).
 *
 * Every assertion here holds against a real server too: run with
 * TICKETD_TEST_MONGO_URI=mongodb://... to check the test itself. If this
 * file passes on both, a backend test that passes on the mock means
 * something. */
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

static struct fixture fx;

static int group_setup(void **state)
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

static int group_teardown(void **state)
{
    (void)state;
    mongoc_client_pool_destroy(fx.pool);
    harness_stop(&fx.srv);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    fx.client = mongoc_client_pool_pop(fx.pool);
    fx.db = mongoc_client_get_default_database(fx.client);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    mongoc_database_destroy(fx.db);
    mongoc_client_pool_push(fx.pool, fx.client);
    return 0;
}

/* A fresh, empty collection (dropped if a previous run left it). */
static mongoc_collection_t *fresh(const char *name)
{
    mongoc_collection_t *c = mongoc_database_get_collection(fx.db, name);
    bson_error_t err;
    if (!mongoc_collection_drop(c, &err))
        assert_int_equal(err.code, 26);     /* ns not found: fine */
    return c;
}

static void create_index(mongoc_collection_t *c, bson_t *cmd)
{
    bson_error_t err;
    bson_t reply;
    if (!mongoc_collection_write_command_with_opts(c, cmd, NULL, &reply, &err))
        fail_msg("createIndexes: %s", err.message);
    bson_destroy(&reply);
    bson_destroy(cmd);
}

static int64_t get_int(const bson_t *doc, const char *path, bson_type_t want)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &it))
        fail_msg("no field %s", path);
    if (bson_iter_type(&it) != want)
        fail_msg("%s has BSON type 0x%02x, want 0x%02x", path, bson_iter_type(&it), want);
    return bson_iter_as_int64(&it);
}

static bson_t *find_one(mongoc_collection_t *c, bson_t *filter)
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

/* ---- unique indexes and duplicate keys ---- */

static void test_unique_index_rejects_duplicate(void **state)
{
    bson_error_t err;
    bson_t reply;
    (void)state;
    mongoc_collection_t *c = fresh("users");
    create_index(c, BCON_NEW("createIndexes", "users", "indexes", "[", "{", "key", "{", "email",
                             BCON_INT32(1), "}", "name", "email_1", "unique", BCON_BOOL(true), "}",
                             "]"));
    bson_t *a = BCON_NEW("_id", BCON_INT32(1), "email", "a@example.org");
    bson_t *a2 = BCON_NEW("_id", BCON_INT32(2), "email", "a@example.org");
    assert_true(mongoc_collection_insert_one(c, a, NULL, NULL, &err));

    assert_false(mongoc_collection_insert_one(c, a2, NULL, &reply, &err));
    assert_int_equal(err.domain, MONGOC_ERROR_SERVER);
    assert_int_equal(err.code, 11000);
    assert_non_null(strstr(err.message, "E11000 duplicate key error"));
    assert_non_null(strstr(err.message, "index: email_1"));
    bson_destroy(&reply);

    /* Same _id: the _id index. */
    assert_false(mongoc_collection_insert_one(c, a, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    assert_non_null(strstr(err.message, "index: _id_"));

    /* Ordered insert_many stops at the duplicate, keeping what came before. */
    bson_t *b = BCON_NEW("_id", BCON_INT32(3), "email", "b@example.org");
    bson_t *d = BCON_NEW("_id", BCON_INT32(4), "email", "d@example.org");
    const bson_t *docs[] = { b, a2, d };
    assert_false(mongoc_collection_insert_many(c, docs, 3, NULL, &reply, &err));
    assert_int_equal(err.code, 11000);
    assert_int_equal(get_int(&reply, "insertedCount", BSON_TYPE_INT32), 1);
    bson_destroy(&reply);

    /* An update that would create a duplicate fails and changes nothing. */
    bson_t *sel = BCON_NEW("_id", BCON_INT32(3));
    bson_t *upd = BCON_NEW("$set", "{", "email", "a@example.org", "n", BCON_INT32(1), "}");
    assert_false(mongoc_collection_update_one(c, sel, upd, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    bson_t *got = find_one(c, BCON_NEW("_id", BCON_INT32(3)));
    assert_non_null(got);
    assert_false(bson_has_field(got, "n"));
    bson_destroy(got);

    /* findAndModify: the whole command fails with code 11000. */
    mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(fam, upd);
    assert_false(mongoc_collection_find_and_modify_with_opts(c, sel, fam, &reply, &err));
    assert_int_equal(err.domain, MONGOC_ERROR_SERVER);
    assert_int_equal(err.code, 11000);
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);

    /* A missing field is null to a (non-sparse) unique index: only one
     * document may lack "email". */
    bson_t *dup = BCON_NEW("_id", BCON_INT32(5), "nick", "x");
    bson_t *dup2 = BCON_NEW("_id", BCON_INT32(6), "nick", "x");
    assert_true(mongoc_collection_insert_one(c, dup, NULL, NULL, &err));
    assert_false(mongoc_collection_insert_one(c, dup2, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    assert_non_null(strstr(err.message, "dup key: { email: null }"));

    /* Building a unique index over existing duplicates fails. */
    bson_destroy(dup);
    bson_destroy(dup2);
    dup = BCON_NEW("_id", BCON_INT32(5), "email", "e5", "nick", "x");
    dup2 = BCON_NEW("_id", BCON_INT32(6), "email", "e6", "nick", "x");
    bson_t *sel5 = BCON_NEW("_id", BCON_INT32(5));
    assert_true(mongoc_collection_delete_one(c, sel5, NULL, NULL, &err));
    bson_destroy(sel5);
    assert_true(mongoc_collection_insert_one(c, dup, NULL, NULL, &err));
    assert_true(mongoc_collection_insert_one(c, dup2, NULL, NULL, &err));
    bson_t *ix = BCON_NEW("createIndexes", "users", "indexes", "[", "{", "key", "{", "nick",
                          BCON_INT32(1), "}", "name", "nick_1", "unique", BCON_BOOL(true), "}",
                          "]");
    assert_false(mongoc_collection_write_command_with_opts(c, ix, NULL, &reply, &err));
    assert_int_equal(err.code, 11000);
    bson_destroy(&reply);
    bson_destroy(ix);

    bson_destroy(dup);
    bson_destroy(dup2);
    bson_destroy(sel);
    bson_destroy(upd);
    bson_destroy(a);
    bson_destroy(a2);
    bson_destroy(b);
    bson_destroy(d);
    mongoc_collection_destroy(c);
}

static void test_sparse_and_partial_unique_indexes(void **state)
{
    bson_error_t err;
    (void)state;
    mongoc_collection_t *c = fresh("leases");
    create_index(c, BCON_NEW("createIndexes", "leases", "indexes", "[", "{", "key", "{", "token",
                             BCON_INT32(1), "}", "name", "token_1", "unique", BCON_BOOL(true),
                             "sparse", BCON_BOOL(true), "}", "{", "key", "{", "owner",
                             BCON_INT32(1), "}", "name", "owner_active", "unique",
                             BCON_BOOL(true), "partialFilterExpression", "{", "active",
                             BCON_BOOL(true), "}", "}", "]"));
    /* Missing sparse field: not indexed, so no conflict. */
    bson_t *d1 = BCON_NEW("_id", BCON_INT32(1), "owner", "w1", "active", BCON_BOOL(false));
    bson_t *d2 = BCON_NEW("_id", BCON_INT32(2), "owner", "w1", "active", BCON_BOOL(false));
    bson_t *d3 = BCON_NEW("_id", BCON_INT32(3), "owner", "w1", "active", BCON_BOOL(true));
    bson_t *d4 = BCON_NEW("_id", BCON_INT32(4), "owner", "w1", "active", BCON_BOOL(true));
    assert_true(mongoc_collection_insert_one(c, d1, NULL, NULL, &err));
    assert_true(mongoc_collection_insert_one(c, d2, NULL, NULL, &err));
    assert_true(mongoc_collection_insert_one(c, d3, NULL, NULL, &err));
    /* Only documents matching the partial filter are unique. */
    assert_false(mongoc_collection_insert_one(c, d4, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    assert_non_null(strstr(err.message, "owner_active"));
    bson_destroy(d1);
    bson_destroy(d2);
    bson_destroy(d3);
    bson_destroy(d4);
    mongoc_collection_destroy(c);
}

/* ---- atomic counters ---- */

static int64_t next_number(mongoc_collection_t *c, const char *id, bson_type_t want)
{
    bson_error_t err;
    bson_t reply;
    bson_t *query = BCON_NEW("_id", id);
    bson_t *update = want == BSON_TYPE_INT64
                         ? BCON_NEW("$inc", "{", "seq", BCON_INT64(1), "}")
                         : BCON_NEW("$inc", "{", "seq", BCON_INT32(1), "}");
    mongoc_find_and_modify_opts_t *o = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(o, update);
    mongoc_find_and_modify_opts_set_flags(o, MONGOC_FIND_AND_MODIFY_UPSERT |
                                                 MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    if (!mongoc_collection_find_and_modify_with_opts(c, query, o, &reply, &err))
        fail_msg("findAndModify: %s", err.message);
    int64_t n = get_int(&reply, "value.seq", want);
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(o);
    bson_destroy(update);
    bson_destroy(query);
    return n;
}

static void test_find_and_modify_counter(void **state)
{
    (void)state;
    mongoc_collection_t *c = fresh("counters");
    for (int64_t i = 1; i <= 5; i++)
        assert_int_equal(next_number(c, "ticket32", BSON_TYPE_INT32), i);
    for (int64_t i = 1; i <= 3; i++)
        assert_int_equal(next_number(c, "ticket64", BSON_TYPE_INT64), i);

    /* lastErrorObject and the pre-image: new=false returns the old doc. */
    bson_error_t err;
    bson_t reply;
    bson_t *query = BCON_NEW("_id", "ticket32");
    bson_t *update = BCON_NEW("$inc", "{", "seq", BCON_INT32(1), "}");
    mongoc_find_and_modify_opts_t *o = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(o, update);
    assert_true(mongoc_collection_find_and_modify_with_opts(c, query, o, &reply, &err));
    assert_int_equal(get_int(&reply, "value.seq", BSON_TYPE_INT32), 5);
    assert_int_equal(get_int(&reply, "lastErrorObject.n", BSON_TYPE_INT32), 1);
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(o);
    bson_destroy(update);
    bson_destroy(query);

    /* No match, no upsert: value is null. */
    query = BCON_NEW("_id", "nothing");
    update = BCON_NEW("$inc", "{", "seq", BCON_INT32(1), "}");
    o = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(o, update);
    assert_true(mongoc_collection_find_and_modify_with_opts(c, query, o, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "value"));
    assert_int_equal(bson_iter_type(&it), BSON_TYPE_NULL);
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(o);
    bson_destroy(update);
    bson_destroy(query);
    mongoc_collection_destroy(c);
}

struct worker {
    int64_t got[25];
};

static void *count_worker(void *arg)
{
    struct worker *w = arg;
    mongoc_client_t *cl = mongoc_client_pool_pop(fx.pool);
    mongoc_database_t *db = mongoc_client_get_default_database(cl);
    mongoc_collection_t *c = mongoc_database_get_collection(db, "conc");
    for (int i = 0; i < 25; i++)
        w->got[i] = next_number(c, "n", BSON_TYPE_INT32);
    mongoc_collection_destroy(c);
    mongoc_database_destroy(db);
    mongoc_client_pool_push(fx.pool, cl);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The pool's connections run concurrently; every number is handed out
 * exactly once. */
static void test_concurrent_counter(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    int64_t all[100];
    (void)state;
    mongoc_collection_t *c = fresh("conc");
    /* Create the counter first: concurrent upserts of one _id may race
     * on a real server. */
    assert_int_equal(next_number(c, "n", BSON_TYPE_INT32), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_worker, &w[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        memcpy(all + 25 * i, w[i].got, sizeof w[i].got);
    qsort(all, 100, sizeof all[0], cmp_i64);
    for (int i = 0; i < 100; i++)
        assert_int_equal(all[i], i + 2);
    mongoc_collection_destroy(c);
}

/* ---- BSON types ---- */

static void test_types_round_trip(void **state)
{
    static const uint8_t raw[] = { 0x00, 0x01, 0xfe, 0xff, 'x' };
    static const uint8_t uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                      0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
    bson_error_t err;
    bson_oid_t oid;
    bson_decimal128_t dec;
    (void)state;
    mongoc_collection_t *c = fresh("types");
    bson_oid_init(&oid, NULL);
    assert_true(bson_decimal128_from_string("12.50", &dec));
    bson_t *doc = BCON_NEW(
        "_id", BCON_INT32(1), "i32", BCON_INT32(7), "i64", BCON_INT64(7), "big",
        BCON_INT64(INT64_C(1) << 40), "dbl", BCON_DOUBLE(2.0), "frac", BCON_DOUBLE(2.5), "bin",
        BCON_BIN(BSON_SUBTYPE_BINARY, raw, sizeof raw), "uuid",
        BCON_BIN(BSON_SUBTYPE_UUID, uuid, sizeof uuid), "user",
        BCON_BIN(BSON_SUBTYPE_USER, raw, sizeof raw), "empty", BCON_BIN(BSON_SUBTYPE_BINARY, raw, 0),
        "at", BCON_DATE_TIME(INT64_C(1700000000123)), "t", BCON_BOOL(true), "f", BCON_BOOL(false),
        "nul", BCON_NULL, "s", BCON_UTF8("h\xc3\xa9llo \xe2\x9c\x93"), "oid", BCON_OID(&oid),
        "dec", BCON_DECIMAL128(&dec), "ts", BCON_TIMESTAMP(1700000000, 7), "doc", "{", "a",
        BCON_INT64(1), "b", "x", "c", "{", "d", BCON_DOUBLE(1.0), "}", "}", "arr", "[",
        BCON_INT32(1), BCON_INT64(2), BCON_DOUBLE(3.0), "four", BCON_BOOL(false), BCON_NULL, "[",
        BCON_INT32(5), "]", "]");
    assert_true(mongoc_collection_insert_one(c, doc, NULL, NULL, &err));

    /* mongod stores documents as given: byte for byte, order and types. */
    bson_t *got = find_one(c, BCON_NEW("_id", BCON_INT32(1)));
    assert_non_null(got);
    if (!bson_equal(doc, got)) {
        char *a = bson_as_canonical_extended_json(doc, NULL);
        char *b = bson_as_canonical_extended_json(got, NULL);
        fail_msg("round trip changed the document:\n sent %s\n  got %s", a, b);
    }
    bson_destroy(got);

    /* Queries by typed value find it: int64 and binary equality. */
    got = find_one(c, BCON_NEW("big", BCON_INT64(INT64_C(1) << 40), "bin",
                               BCON_BIN(BSON_SUBTYPE_BINARY, raw, sizeof raw)));
    assert_non_null(got);
    bson_destroy(got);

    /* Arithmetic keeps mongod's types: int stays int, long stays long,
     * double stays double, int overflow becomes long. */
    bson_t *sel = BCON_NEW("_id", BCON_INT32(1));
    bson_t *upd = BCON_NEW("$inc", "{", "i32", BCON_INT32(1), "i64", BCON_INT32(1), "dbl",
                           BCON_INT32(1), "doc.a", BCON_INT32(1), "newint", BCON_INT32(3),
                           "newlong", BCON_INT64(3), "}", "$mul", "{", "big", BCON_INT32(2), "}",
                           "$set", "{", "max", BCON_INT32(INT32_MAX), "}");
    assert_true(mongoc_collection_update_one(c, sel, upd, NULL, NULL, &err));
    bson_destroy(upd);
    upd = BCON_NEW("$inc", "{", "max", BCON_INT32(1), "}");
    assert_true(mongoc_collection_update_one(c, sel, upd, NULL, NULL, &err));
    got = find_one(c, BCON_NEW("_id", BCON_INT32(1)));
    assert_int_equal(get_int(got, "i32", BSON_TYPE_INT32), 8);
    assert_int_equal(get_int(got, "i64", BSON_TYPE_INT64), 8);
    assert_int_equal(get_int(got, "dbl", BSON_TYPE_DOUBLE), 3);
    assert_int_equal(get_int(got, "doc.a", BSON_TYPE_INT64), 2);
    assert_int_equal(get_int(got, "newint", BSON_TYPE_INT32), 3);
    assert_int_equal(get_int(got, "newlong", BSON_TYPE_INT64), 3);
    assert_int_equal(get_int(got, "big", BSON_TYPE_INT64), INT64_C(1) << 41);
    assert_int_equal(get_int(got, "max", BSON_TYPE_INT64), INT64_C(2147483648));
    bson_destroy(got);

    /* A failing operator leaves the whole document untouched. */
    bson_destroy(upd);
    upd = BCON_NEW("$set", "{", "touched", BCON_BOOL(true), "}", "$inc", "{", "s",
                   BCON_INT32(1), "}");
    assert_false(mongoc_collection_update_one(c, sel, upd, NULL, NULL, &err));
    assert_int_equal(err.code, 14);     /* TypeMismatch: "s" is a string */
    got = find_one(c, BCON_NEW("_id", BCON_INT32(1)));
    assert_false(bson_has_field(got, "touched"));
    bson_destroy(got);

    bson_destroy(upd);
    bson_destroy(sel);
    bson_destroy(doc);
    mongoc_collection_destroy(c);
}

/* ---- queries ---- */

static void expect_is(mongoc_collection_t *c, bson_t *filter, bson_t *opts, const int *want,
                      int n)
{
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t err;
    int i = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        assert_true(i < n);
        assert_int_equal(get_int(doc, "i", BSON_TYPE_INT32), want[i]);
        i++;
    }
    if (mongoc_cursor_error(cur, &err))
        fail_msg("find: %s", err.message);
    assert_int_equal(i, n);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
}

static void test_sort_skip_limit_and_batches(void **state)
{
    bson_error_t err;
    bson_t *docs[30];
    int want[30];
    (void)state;
    mongoc_collection_t *c = fresh("seq");
    for (int i = 0; i < 30; i++)        /* inserted out of order */
        docs[i] = BCON_NEW("i", BCON_INT32((i * 7) % 30), "g", BCON_INT32((i * 7) % 3));
    assert_true(mongoc_collection_insert_many(c, (const bson_t **)docs, 30, NULL, NULL, &err));
    for (int i = 0; i < 30; i++)
        bson_destroy(docs[i]);

    int page[] = { 26, 25, 24, 23, 22 };
    expect_is(c, bson_new(),
              BCON_NEW("sort", "{", "i", BCON_INT32(-1), "}", "skip", BCON_INT64(3), "limit",
                       BCON_INT64(5)),
              page, 5);

    /* batchSize 4 makes the driver fetch the rest with getMore. */
    for (int i = 0; i < 30; i++)
        want[i] = i;
    expect_is(c, bson_new(), BCON_NEW("sort", "{", "i", BCON_INT32(1), "}", "batchSize",
                                      BCON_INT32(4)),
              want, 30);

    int ones[] = { 28, 25, 22 };
    expect_is(c, BCON_NEW("g", BCON_INT32(1), "i", "{", "$gt", BCON_INT32(20), "}"),
              BCON_NEW("sort", "{", "i", BCON_INT32(-1), "}", "projection", "{", "_id",
                       BCON_INT32(0), "i", BCON_INT32(1), "}"),
              ones, 3);

    bson_t *filter = BCON_NEW("g", BCON_INT32(0));
    assert_int_equal(mongoc_collection_count_documents(c, filter, NULL, NULL, NULL, &err), 10);
    bson_destroy(filter);
    filter = bson_new();
    bson_t *opts = BCON_NEW("skip", BCON_INT64(25));
    assert_int_equal(mongoc_collection_count_documents(c, filter, opts, NULL, NULL, &err), 5);
    assert_int_equal(mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &err), 30);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(c);
}

static void expect_ids(mongoc_collection_t *c, bson_t *filter, bson_t *opts, const int *want,
                       int n)
{
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t err;
    int i = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        assert_true(i < n);
        assert_int_equal(get_int(doc, "_id", BSON_TYPE_INT32), want[i]);
        i++;
    }
    if (mongoc_cursor_error(cur, &err))
        fail_msg("find: %s", err.message);
    assert_int_equal(i, n);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
}

/* Query forms mongomock gets wrong unpatched. */
static void test_query_forms(void **state)
{
    bson_error_t err;
    (void)state;
    mongoc_collection_t *c = fresh("forms");
    bson_t *d1 = BCON_NEW("_id", BCON_INT32(1), "n", BCON_INT32(2), "tags", "[", "a", "]", "z",
                          BCON_INT32(0), "a", BCON_INT32(1), "b", "{", "y", BCON_INT32(2), "x",
                          BCON_INT32(1), "}");
    bson_t *d2 = BCON_NEW("_id", BCON_INT32(2), "n", BCON_INT64(2), "tags", "a");
    bson_t *d3 = BCON_NEW("_id", BCON_INT32(3), "n", BCON_DOUBLE(2.0), "tags", "[", "]");
    const bson_t *docs[] = { d1, d2, d3 };
    assert_true(mongoc_collection_insert_many(c, docs, 3, NULL, NULL, &err));

    int one[] = { 1 }, two[] = { 2 }, all[] = { 1, 2, 3 };
    expect_ids(c, BCON_NEW("n", "{", "$type", "long", "}"), bson_new(), two, 1);
    expect_ids(c, BCON_NEW("n", "{", "$type", "int", "}"), bson_new(), one, 1);
    expect_ids(c, BCON_NEW("n", "{", "$type", BCON_INT32(18), "}"), bson_new(), two, 1);
    expect_ids(c, BCON_NEW("n", BCON_INT32(2)), BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}"),
               all, 3);     /* numbers compare by value across types */
    expect_ids(c, BCON_NEW("tags", "{", "$size", BCON_INT32(1), "}"), bson_new(), one, 1);

    /* Projections keep the document's field order, _id first. */
    bson_t *opts = BCON_NEW("projection", "{", "b.x", BCON_INT32(1), "a", BCON_INT32(1), "b.y",
                            BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, d1 /* by _id etc. */, opts, NULL);
    const bson_t *doc;
    assert_true(mongoc_cursor_next(cur, &doc));
    char *json = bson_as_relaxed_extended_json(doc, NULL);
    assert_string_equal(json, "{ \"_id\" : 1, \"a\" : 1, \"b\" : { \"y\" : 2, \"x\" : 1 } }");
    bson_free(json);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);

    bson_destroy(d1);
    bson_destroy(d2);
    bson_destroy(d3);
    mongoc_collection_destroy(c);
}

/* ---- update operators and their reply counts ---- */

static void test_update_operators(void **state)
{
    bson_error_t err;
    bson_t reply;
    (void)state;
    mongoc_collection_t *c = fresh("upd");
    bson_t *doc = BCON_NEW("_id", "t1", "tags", "[", "a", "]", "watchers", "[", "w1", "]", "items",
                           "[", "{", "sku", "x", "qty", BCON_INT32(1), "}", "{", "sku", "y", "qty",
                           BCON_INT32(2), "}", "]");
    assert_true(mongoc_collection_insert_one(c, doc, NULL, NULL, &err));
    bson_destroy(doc);

    bson_t *sel = BCON_NEW("_id", "t1");
    bson_t *upd = BCON_NEW("$push", "{", "tags", "{", "$each", "[", "b", "c", "]", "}", "}",
                           "$addToSet", "{", "watchers", "w1", "}", "$set", "{", "state",
                           "open", "}");
    assert_true(mongoc_collection_update_one(c, sel, upd, NULL, &reply, &err));
    assert_int_equal(get_int(&reply, "matchedCount", BSON_TYPE_INT32), 1);
    assert_int_equal(get_int(&reply, "modifiedCount", BSON_TYPE_INT32), 1);
    bson_destroy(&reply);
    bson_destroy(upd);

    /* Positional $ updates the element the query matched. */
    bson_t *psel = BCON_NEW("_id", "t1", "items.sku", "y");
    upd = BCON_NEW("$inc", "{", "items.$.qty", BCON_INT32(5), "}", "$pull", "{", "tags", "b",
                   "}");
    assert_true(mongoc_collection_update_one(c, psel, upd, NULL, NULL, &err));
    bson_destroy(upd);
    bson_destroy(psel);

    bson_t *got = find_one(c, BCON_NEW("_id", "t1"));
    assert_int_equal(get_int(got, "items.1.qty", BSON_TYPE_INT32), 7);
    assert_int_equal(get_int(got, "items.0.qty", BSON_TYPE_INT32), 1);
    bson_iter_t it, arr;
    assert_true(bson_iter_init_find(&it, got, "tags") && bson_iter_recurse(&it, &arr));
    const char *want_tags[] = { "a", "c" };
    for (int i = 0; i < 2; i++) {
        assert_true(bson_iter_next(&arr));
        assert_string_equal(bson_iter_utf8(&arr, NULL), want_tags[i]);
    }
    assert_false(bson_iter_next(&arr));
    bson_destroy(got);

    /* A no-op update matches but modifies nothing. */
    upd = BCON_NEW("$set", "{", "state", "open", "}");
    assert_true(mongoc_collection_update_one(c, sel, upd, NULL, &reply, &err));
    assert_int_equal(get_int(&reply, "matchedCount", BSON_TYPE_INT32), 1);
    assert_int_equal(get_int(&reply, "modifiedCount", BSON_TYPE_INT32), 0);
    bson_destroy(&reply);
    bson_destroy(upd);

    /* Upsert: $setOnInsert applies only when inserting. */
    bson_t *sel2 = BCON_NEW("_id", "t2");
    upd = BCON_NEW("$set", "{", "state", "new", "}", "$setOnInsert", "{", "created",
                   BCON_BOOL(true), "}");
    bson_t *upsert = BCON_NEW("upsert", BCON_BOOL(true));
    assert_true(mongoc_collection_update_one(c, sel2, upd, upsert, &reply, &err));
    assert_int_equal(get_int(&reply, "matchedCount", BSON_TYPE_INT32), 0);
    assert_true(bson_iter_init_find(&it, &reply, "upsertedId"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "t2");
    bson_destroy(&reply);
    assert_true(mongoc_collection_update_one(c, sel2, upd, upsert, &reply, &err));
    assert_int_equal(get_int(&reply, "matchedCount", BSON_TYPE_INT32), 1);
    assert_false(bson_iter_init_find(&it, &reply, "upsertedId"));
    bson_destroy(&reply);
    got = find_one(c, BCON_NEW("_id", "t2"));
    bson_iter_init(&it, got);
    assert_true(bson_iter_next(&it));
    assert_string_equal(bson_iter_key(&it), "_id");     /* _id first, as mongod */
    assert_true(bson_has_field(got, "created"));
    bson_destroy(got);

    /* update_many and delete_many report their counts. */
    bson_t *all = bson_new();
    bson_t *flag = BCON_NEW("$set", "{", "flag", BCON_BOOL(true), "}");
    assert_true(mongoc_collection_update_many(c, all, flag, NULL, &reply, &err));
    assert_int_equal(get_int(&reply, "modifiedCount", BSON_TYPE_INT32), 2);
    bson_destroy(&reply);
    assert_true(mongoc_collection_delete_many(c, all, NULL, &reply, &err));
    assert_int_equal(get_int(&reply, "deletedCount", BSON_TYPE_INT32), 2);
    bson_destroy(&reply);

    bson_destroy(flag);
    bson_destroy(all);
    bson_destroy(upsert);
    bson_destroy(upd);
    bson_destroy(sel2);
    bson_destroy(sel);
    mongoc_collection_destroy(c);
}

/* ---- GridFS (attachments) ---- */

static void test_gridfs_round_trip(void **state)
{
    enum { LEN = 600 * 1000 };      /* three 255 KiB chunks */
    bson_error_t err;
    bson_value_t id;
    (void)state;
    mongoc_collection_t *files = fresh("fs.files"), *chunks = fresh("fs.chunks");
    uint8_t *data = malloc(LEN), *back = malloc(LEN + 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < LEN; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    mongoc_gridfs_bucket_t *bucket = mongoc_gridfs_bucket_new(fx.db, NULL, NULL, &err);
    assert_non_null(bucket);

    mongoc_stream_t *up =
        mongoc_gridfs_bucket_open_upload_stream(bucket, "attachment.bin", NULL, &id, &err);
    assert_non_null(up);
    assert_int_equal(mongoc_stream_write(up, data, LEN, 0), LEN);
    assert_int_equal(mongoc_stream_close(up), 0);
    assert_false(mongoc_gridfs_bucket_stream_error(up, &err));
    mongoc_stream_destroy(up);

    bson_t *filter = bson_new();
    BSON_APPEND_VALUE(filter, "files_id", &id);
    assert_int_equal(mongoc_collection_count_documents(chunks, filter, NULL, NULL, NULL, &err), 3);
    bson_destroy(filter);

    mongoc_stream_t *down = mongoc_gridfs_bucket_open_download_stream(bucket, &id, &err);
    assert_non_null(down);
    size_t got = 0;
    ssize_t n;
    while ((n = mongoc_stream_read(down, back + got, LEN + 1 - got, 1, 0)) > 0)
        got += (size_t)n;
    assert_true(n == 0);
    assert_int_equal(got, LEN);
    assert_memory_equal(back, data, LEN);
    mongoc_stream_destroy(down);

    assert_true(mongoc_gridfs_bucket_delete_by_id(bucket, &id, &err));
    assert_null(mongoc_gridfs_bucket_open_download_stream(bucket, &id, &err));

    bson_value_destroy(&id);
    mongoc_gridfs_bucket_destroy(bucket);
    free(data);
    free(back);
    mongoc_collection_destroy(files);
    mongoc_collection_destroy(chunks);
}

/* ---- commands and errors ---- */

static void test_commands_and_errors(void **state)
{
    bson_error_t err;
    bson_t reply;
    (void)state;
    bson_t *cmd = BCON_NEW("frobnicate", BCON_INT32(1));
    assert_false(mongoc_database_command_simple(fx.db, cmd, NULL, &reply, &err));
    assert_int_equal(err.domain, MONGOC_ERROR_SERVER);
    assert_int_equal(err.code, 59);
    bson_destroy(&reply);
    bson_destroy(cmd);

    mongoc_collection_t *c = fresh("misc");
    bson_t *doc = BCON_NEW("k", "v");
    assert_true(mongoc_collection_insert_one(c, doc, NULL, NULL, &err));
    bson_destroy(doc);
    char **names = mongoc_database_get_collection_names_with_opts(fx.db, NULL, &err);
    assert_non_null(names);
    bool found = false;
    for (char **p = names; *p; p++)
        found = found || strcmp(*p, "misc") == 0;
    assert_true(found);
    bson_strfreev(names);

    /* listIndexes, then drop; dropping again is "ns not found" (code 26),
     * as mongod before 7.0 answers. */
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
    const bson_t *ix;
    int n = 0;
    while (mongoc_cursor_next(cur, &ix))
        n++;
    assert_false(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);
    assert_int_equal(n, 1);
    assert_true(mongoc_collection_drop(c, &err));
    assert_false(mongoc_collection_drop(c, &err));
    assert_int_equal(err.code, 26);
    mongoc_collection_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unique_index_rejects_duplicate, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sparse_and_partial_unique_indexes, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_find_and_modify_counter, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_counter, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_types_round_trip, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_sort_skip_limit_and_batches, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_query_forms, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_update_operators, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_gridfs_round_trip, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_commands_and_errors, test_setup, test_teardown),
    };
    mongoc_init();
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    mongoc_cleanup();
    return failed;
}

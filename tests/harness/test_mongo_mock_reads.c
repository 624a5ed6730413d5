/* test_mongo_mock_reads.c - the MongoDB mock behaves like mongod (mongo_mock_fixture.h):
 * BSON types, queries (sort, skip, limit, batches, forms), GridFS, commands and errors. */
#include "tests/harness/mongo_mock_fixture.h"

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
        MT(test_types_round_trip),
        MT(test_sort_skip_limit_and_batches),
        MT(test_query_forms),
        MT(test_gridfs_round_trip),
        MT(test_commands_and_errors),
    };
    return mongo_mock_run(tests, sizeof tests / sizeof tests[0]);
}

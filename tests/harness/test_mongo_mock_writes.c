/* test_mongo_mock_writes.c - the MongoDB mock behaves like mongod (mongo_mock_fixture.h):
 * unique indexes and duplicate keys, atomic counters, update operators and their reply counts. */
#include "tests/harness/mongo_mock_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        MT(test_unique_index_rejects_duplicate),
        MT(test_sparse_and_partial_unique_indexes),
        MT(test_find_and_modify_counter),
        MT(test_concurrent_counter),
        MT(test_update_operators),
    };
    return mongo_mock_run(tests, sizeof tests / sizeof tests[0]);
}

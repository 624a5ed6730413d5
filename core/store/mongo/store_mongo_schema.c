/* store_mongo_schema.c - the schema version of a MongoDB database.
 *
 * MongoDB has no PRAGMA user_version, so the version lives in one
 * document, meta {_id: "schema", version: N}. On open:
 *   1. read it, creating it at this binary's version if the database is
 *      new (findAndModify with $setOnInsert: two processes starting at
 *      once agree on one document);
 *   2. a version above this binary's is refused, naming both: a newer
 *      ticketd may have changed what documents mean, and an older one
 *      would misread or damage them (docs/upgrading.md);
 *   3. otherwise, once the indexes of this version exist (store_mongo.c),
 *      raise it with $max, which never lowers a version another, newer
 *      process may have written meanwhile.
 * Version 1 is the layout of store_mongo_int.h. A change that older
 * binaries would misread raises MG_SCHEMA_VERSION. */
#include "store_mongo_int.h"

#define MG_META "meta"
#define MG_SCHEMA_VERSION 1

int store_mongo_schema_version(void)
{
    return MG_SCHEMA_VERSION;
}

bool mg_schema_check(struct store *st, struct td_err *err)
{
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_META);
    bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, set, out;
    bool found = false;
    bool ok = BSON_APPEND_UTF8(&query, "_id", "schema") &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$setOnInsert", &set) &&
              BSON_APPEND_INT64(&set, "version", MG_SCHEMA_VERSION) &&
              bson_append_document_end(&update, &set);
    if (!ok) {
        bson_init(&out);
        mg_fail_build(err, "schema version");
    } else {
        ok = mg_find_modify(c, &query, NULL, &update, true, &out, &found, err, "schema version");
    }
    int64_t v = 0;
    if (ok) {
        bson_iter_t it;
        if (!found || !bson_iter_init_find(&it, &out, "version") || !mg_iter_i64(&it, &v))
            ok = mg_fail_corrupt(err, "schema version", "version");
    }
    if (ok && v > MG_SCHEMA_VERSION)
        /* TD_INVALID: the wrong binary, which a restart cannot mend. */
        ok = td_fail(err, TD_INVALID,
                     "mongodb: the database is at schema version %lld but this ticketd knows "
                     "only up to version %d: run the newer ticketd that wrote it "
                     "(docs/upgrading.md)", (long long)v, MG_SCHEMA_VERSION);
    bson_destroy(&out);
    bson_destroy(&query);
    bson_destroy(&update);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    return ok;
}

bool mg_schema_raise(struct store *st, struct td_err *err)
{
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_META);
    bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, max;
    bool ok = BSON_APPEND_UTF8(&query, "_id", "schema") &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$max", &max) &&
              BSON_APPEND_INT64(&max, "version", MG_SCHEMA_VERSION) &&
              bson_append_document_end(&update, &max);
    if (!ok)
        mg_fail_build(err, "schema version");
    else
        ok = mg_update(c, &query, &update, false, NULL, err, "schema version");
    bson_destroy(&query);
    bson_destroy(&update);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    return ok;
}

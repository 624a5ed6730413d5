/* store_mongo_marks.c - how far a background job has got (store.h:
 * mark_get, mark_raise) on MongoDB.
 *
 * marks: {_id: name, value}. Raising is an update with upsert on
 *   {_id: name, value: {$lt: value}}:
 * when the mark is already at or past value, the upsert's insert of a
 * second document with that _id is refused as a duplicate key, and that
 * refusal is the answer "nothing to raise" - decided by the server, so
 * processes raising at once never move it back. */
#include "store_mongo_int.h"

#define MG_MARKS "marks"

bool mg_mark_get(struct store *st, const char *name, int64_t *value, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(name));
    bson_t doc;
    bool found = false;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_MARKS);
    bool ok = mg_find_one(c, filter, NULL, &doc, &found, err, "read mark");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(filter);
    int64_t v = 0;
    bson_iter_t it;
    if (ok && found && !(bson_iter_init_find(&it, &doc, "value") && mg_iter_i64(&it, &v)))
        ok = mg_fail_corrupt(err, "read mark", "value");
    bson_destroy(&doc);
    if (ok)
        *value = v;
    return ok;
}

bool mg_mark_raise(struct store *st, const char *name, int64_t value, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(name), "value", "{", "$lt", BCON_INT64(value), "}");
    bson_t *update = BCON_NEW("$set", "{", "value", BCON_INT64(value), "}");
    struct td_err e;
    td_err_clear(&e);
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_MARKS);
    bool ok = mg_update(c, filter, update, true, NULL, &e, "raise mark");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(update);
    bson_destroy(filter);
    if (!ok && e.code == TD_CONFLICT) /* already at or past value */
        return true;
    if (!ok && err)
        *err = e;
    return ok;
}

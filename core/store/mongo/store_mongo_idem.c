/* store_mongo_idem.c - Idempotency-Key records (api/idempotency.c) in
 * the MongoDB backend:
 *
 *   idempotency {_id: key, fingerprint, status, content_type|null,
 *                body|null, location|null, etag|null, created, expires}
 *
 * _id decides which of two concurrent first requests runs (a duplicate
 * key is TD_CONFLICT). */
#include "store_mongo_int.h"
#include "core/mem.h"

#include <string.h>

bool mg_idem_insert(struct store *st, const struct td_idem *r, struct td_err *err)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(r->key), "fingerprint", BCON_UTF8(r->fingerprint),
                           "status", BCON_INT64(r->status), "created", BCON_INT64(r->created),
                           "expires", BCON_INT64(r->expires));
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_IDEM);
    bool ok = mg_insert(c, doc, err, "insert idempotency key");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(doc);
    return ok;
}

static bool idem_parse(const bson_t *doc, struct td_idem *r, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(r, 0, sizeof *r);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read idempotency key", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0 || strcmp(k, "fingerprint") == 0) {
            const char *v = mg_iter_utf8(&it);
            ok = v != NULL && strlen(v) == TD_TOKEN_HASH_LEN;
            if (ok)
                memcpy(k[0] == '_' ? r->key : r->fingerprint, v, TD_TOKEN_HASH_LEN + 1);
        } else if (strcmp(k, "status") == 0) {
            ok = mg_iter_i64(&it, &r->status);
        } else if (strcmp(k, "content_type") == 0) {
            ok = mg_iter_str(&it, &r->content_type);
        } else if (strcmp(k, "body") == 0) {
            ok = mg_iter_str(&it, &r->body);
        } else if (strcmp(k, "location") == 0) {
            ok = mg_iter_str(&it, &r->location);
        } else if (strcmp(k, "etag") == 0) {
            ok = mg_iter_str(&it, &r->etag);
        } else if (strcmp(k, "created") == 0) {
            ok = mg_iter_i64(&it, &r->created);
        } else if (strcmp(k, "expires") == 0) {
            ok = mg_iter_i64(&it, &r->expires);
        }
        if (!ok)
            bad = k;
    }
    if (bad) {
        idem_clear(r);
        return mg_fail_corrupt(err, "read idempotency key", bad);
    }
    return true;
}

bool mg_idem_get(struct store *st, const char *key, struct td_idem *out, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    bson_t doc;
    bool found = false;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_IDEM);
    bool ok = mg_find_one(c, filter, NULL, &doc, &found, err, "read idempotency key");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_idem r;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such idempotency key");
    if (ok && (ok = idem_parse(&doc, &r, err)))
        *out = r;
    bson_destroy(&doc);
    bson_destroy(filter);
    return ok;
}

bool mg_idem_finish(struct store *st, const struct td_idem *r, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(r->key));
    bson_t update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_INT64(&set, "status", r->status) &&
             mg_put_str(&set, "content_type", r->content_type) && mg_put_str(&set, "body", r->body) &&
             mg_put_str(&set, "location", r->location) && mg_put_str(&set, "etag", r->etag);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "finish idempotency key");
    } else {
        int64_t matched = 0;
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_IDEM);
        ok = mg_update(c, filter, &update, false, &matched, err, "finish idempotency key");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (ok && matched == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no such idempotency key");
    }
    bson_destroy(&update);
    bson_destroy(filter);
    return ok;
}

bool mg_idem_delete(struct store *st, const char *key, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_IDEM);
    bool ok = mg_delete(c, filter, err, "delete idempotency key");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(filter);
    return ok;
}

bool mg_idem_purge(struct store *st, td_time before, int64_t *deleted, struct td_err *err)
{
    bson_t *filter = BCON_NEW("expires", "{", "$lt", BCON_INT64(before), "}");
    bson_t reply;
    bson_error_t e;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_IDEM);
    bool ok = mongoc_collection_delete_many(c, filter, NULL, &reply, &e);
    if (!ok) {
        mg_fail(err, &e, "purge idempotency keys");
    } else if (deleted) {
        bson_iter_t it;
        *deleted = bson_iter_init_find(&it, &reply, "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it)
                       ? bson_iter_as_int64(&it)
                       : 0;
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(filter);
    return ok;
}

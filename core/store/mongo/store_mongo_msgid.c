/* store_mongo_msgid.c - the Message-ID -> ticket map on MongoDB.
 *
 * {_id: Message-ID, ticket}: the _id index makes a second put of the same
 * Message-ID a duplicate key, which is how two gateways receiving the same
 * mail learn that only one of them may act on it. */
#include "store_mongo_int.h"

bool mg_msgid_put(struct store *st, const char *msgid, int64_t ticket, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok;

    if (msgid == NULL || *msgid == '\0')
        return td_fail(err, TD_INVALID, "empty Message-ID");
    if (!BSON_APPEND_UTF8(&doc, "_id", msgid) || !BSON_APPEND_INT64(&doc, "ticket", ticket)) {
        ok = mg_fail_build(err, "map Message-ID");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MSGIDS);
        ok = mg_insert(c, &doc, err, "map Message-ID");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&doc);
    return ok;
}

bool mg_msgid_get(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, "_id", msgid)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read Message-ID");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_MSGIDS);
    ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read Message-ID");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    bson_iter_t it;
    int64_t n = 0;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "Message-ID %.100s is not mapped", msgid);
    else if (ok && !(bson_iter_init_find(&it, &doc, "ticket") && mg_iter_i64(&it, &n)))
        ok = mg_fail_corrupt(err, "read Message-ID", "ticket");
    if (ok)
        *ticket = n;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

/* ---- the content digest (issue 15) ---------------------------------------
 * {digest} on the map's document: set once by {_id, digest: {$exists:
 * false}}, so the first mail's digest stays. */

bool mg_msgid_digest_set(struct store *st, const char *msgid, const char *digest,
                         struct td_err *err)
{
    if (msgid == NULL || digest == NULL || *digest == '\0')
        return td_fail(err, TD_INVALID, "a Message-ID digest needs a Message-ID and a digest");
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, ex, set;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", msgid) &&
              BSON_APPEND_DOCUMENT_BEGIN(&filter, "digest", &ex);
    if (ok) {
        ok = BSON_APPEND_BOOL(&ex, "$exists", false);
        ok = bson_append_document_end(&filter, &ex) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set))) {
        ok = BSON_APPEND_UTF8(&set, "digest", digest);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "record Message-ID digest");
    } else {
        int64_t matched = 0;
        bool found = false;
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MSGIDS);
        ok = mg_update(c, &filter, &update, false, &matched, err, "record Message-ID digest");
        if (ok && matched == 0) {
            bson_reinit(&filter);
            if (!BSON_APPEND_UTF8(&filter, "_id", msgid))
                ok = mg_fail_build(err, "record Message-ID digest");
            else if ((ok = mg_exists(c, &filter, &found, err, "record Message-ID digest")) &&
                     !found)
                ok = td_fail(err, TD_NOT_FOUND, "Message-ID %.100s is not mapped", msgid);
        }
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

bool mg_msgid_digest_get(struct store *st, const char *msgid, char **digest, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, "_id", msgid)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read Message-ID digest");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_MSGIDS);
    ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read Message-ID digest");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    bson_iter_t it;
    char *d = NULL;
    if (ok && found && bson_iter_init_find(&it, &doc, "digest") && !mg_iter_str(&it, &d))
        ok = mg_fail_corrupt(err, "read Message-ID digest", "digest");
    if (ok && d == NULL)
        ok = td_fail(err, TD_NOT_FOUND, "no digest for Message-ID %.100s", msgid);
    if (ok)
        *digest = d;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

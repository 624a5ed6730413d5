/* store_mongo_tokens.c - what the REST API adds to the MongoDB backend:
 * refresh tokens and the attachment -> comment lookup.
 *
 *   refresh_tokens {_id: hash, family, user_id, token_version, created,
 *                   expires, used_at (0 = unused), revoked}
 *
 * Rotation is a single findAndModify whose query is the guard
 * {_id: hash, used_at: 0, revoked: false}: the server applies the $set
 * to at most one matching document atomically, so of two concurrent
 * refreshes with one token exactly one gets the document back. The
 * other finds nothing, and a second lookup tells "used or revoked"
 * (TD_CONFLICT: a replay) from "unknown" (TD_NOT_FOUND). Revoking a
 * family is an updateMany; each document's update is atomic and the
 * operation is idempotent, which is all revocation needs. The indexes
 * (family, expires, comments' attachments.id) are created with the
 * backend's others in store_mongo.c. */
#include "store_mongo_int.h"

#include <string.h>

static bool token_parse(const bson_t *doc, struct td_refresh_token *t, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(t, 0, sizeof *t);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read refresh token", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0) {
            const char *h = mg_iter_utf8(&it);
            ok = h != NULL && strlen(h) == TD_TOKEN_HASH_LEN;
            if (ok)
                memcpy(t->hash, h, TD_TOKEN_HASH_LEN + 1);
        } else if (strcmp(k, "family") == 0) {
            ok = mg_iter_id(&it, t->family);
        } else if (strcmp(k, "user_id") == 0) {
            ok = mg_iter_id(&it, t->user_id);
        } else if (strcmp(k, "token_version") == 0) {
            ok = mg_iter_i64(&it, &t->token_version);
        } else if (strcmp(k, "created") == 0) {
            ok = mg_iter_i64(&it, &t->created);
        } else if (strcmp(k, "expires") == 0) {
            ok = mg_iter_i64(&it, &t->expires);
        } else if (strcmp(k, "used_at") == 0) {
            ok = mg_iter_i64(&it, &t->used_at);
        } else if (strcmp(k, "revoked") == 0) {
            ok = mg_iter_bool(&it, &t->revoked);
        }
        if (!ok)
            bad = k;
    }
    if (bad == NULL && (t->hash[0] == '\0' || t->family[0] == '\0' || t->user_id[0] == '\0'))
        bad = "_id, family or user_id";
    if (bad)
        return mg_fail_corrupt(err, "read refresh token", bad);
    return true;
}

bool mg_token_insert(struct store *st, const struct td_refresh_token *t, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(&doc, "_id", t->hash) && BSON_APPEND_UTF8(&doc, "family", t->family) &&
              BSON_APPEND_UTF8(&doc, "user_id", t->user_id) &&
              BSON_APPEND_INT64(&doc, "token_version", t->token_version) &&
              BSON_APPEND_INT64(&doc, "created", t->created) &&
              BSON_APPEND_INT64(&doc, "expires", t->expires) &&
              BSON_APPEND_INT64(&doc, "used_at", t->used_at) &&
              BSON_APPEND_BOOL(&doc, "revoked", t->revoked);
    if (!ok) {
        ok = mg_fail_build(err, "insert refresh token");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_TOKENS);
        ok = mg_insert(c, &doc, err, "insert refresh token");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&doc);
    return ok;
}

/* find_one {_id: hash} into *out; *found says whether there was one. */
static bool token_find(mongoc_collection_t *c, const char *hash, struct td_refresh_token *out,
                       bool *found, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    if (!BSON_APPEND_UTF8(&filter, "_id", hash)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read refresh token");
    }
    bool ok = mg_find_one(c, &filter, NULL, &doc, found, err, "read refresh token");
    if (ok && *found)
        ok = token_parse(&doc, out, err);
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

bool mg_token_get(struct store *st, const char *hash, struct td_refresh_token *out,
                  struct td_err *err)
{
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TOKENS);
    struct td_refresh_token t = { .used_at = 0 };
    bool found = false;
    bool ok = token_find(c, hash, &t, &found, err);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such refresh token");
    if (ok)
        *out = t;
    return ok;
}

bool mg_token_mark_used_if_unused(struct store *st, const char *hash, td_time now,
                                  struct td_refresh_token *out, struct td_err *err)
{
    bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, set, doc;
    bool ok = BSON_APPEND_UTF8(&query, "_id", hash) && BSON_APPEND_INT64(&query, "used_at", 0) &&
              BSON_APPEND_BOOL(&query, "revoked", false) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_INT64(&set, "used_at", now);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        bson_destroy(&update);
        bson_destroy(&query);
        return mg_fail_build(err, "rotate refresh token");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TOKENS);
    struct td_refresh_token t = { .used_at = 0 };
    bool found = false;
    ok = mg_find_modify(c, &query, NULL, &update, false, &doc, &found, err, "rotate refresh token");
    if (ok && found) {
        ok = token_parse(&doc, &t, err);
    } else if (ok) {
        /* Nothing unused matched: used/revoked, or never existed. */
        struct td_refresh_token old;
        bool exists = false;
        ok = token_find(c, hash, &old, &exists, err);
        if (ok)
            ok = exists ? td_fail(err, TD_CONFLICT, "refresh token already used or revoked")
                        : td_fail(err, TD_NOT_FOUND, "no such refresh token");
    }
    bson_destroy(&doc);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&update);
    bson_destroy(&query);
    if (ok)
        *out = t;
    return ok;
}

bool mg_token_revoke_family(struct store *st, const char *family, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
    bool ok = BSON_APPEND_UTF8(&filter, "family", family) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_BOOL(&set, "revoked", true);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "revoke refresh tokens");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_TOKENS);
        bson_error_t e;
        ok = mongoc_collection_update_many(c, &filter, &update, NULL, &reply, &e);
        if (!ok)
            mg_fail(err, &e, "revoke refresh tokens");
        bson_destroy(&reply); /* initialised by the driver on every path */
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

bool mg_token_purge(struct store *st, td_time before, int64_t *deleted, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, cmp, reply;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&filter, "expires", &cmp);
    if (ok) {
        ok = BSON_APPEND_INT64(&cmp, "$lt", before);
        ok = bson_append_document_end(&filter, &cmp) && ok;
    }
    if (!ok) {
        bson_destroy(&filter);
        return mg_fail_build(err, "purge refresh tokens");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TOKENS);
    bson_error_t e;
    ok = mongoc_collection_delete_many(c, &filter, NULL, &reply, &e);
    if (!ok) {
        mg_fail(err, &e, "purge refresh tokens");
    } else if (deleted) {
        bson_iter_t it;
        *deleted = bson_iter_init_find(&it, &reply, "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it)
                       ? bson_iter_as_int64(&it)
                       : 0;
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&filter);
    return ok;
}

bool mg_attachment_owner(struct store *st, const char *attachment_id, int64_t *ticket,
                         bool *internal, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, doc;
    bool ok = BSON_APPEND_UTF8(&filter, "attachments.id", attachment_id) &&
              BSON_APPEND_INT32(&proj, "ticket", 1) && BSON_APPEND_INT32(&proj, "internal", 1);
    if (!ok) {
        bson_destroy(&proj);
        bson_destroy(&filter);
        return mg_fail_build(err, "find attachment");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_COMMENTS);
    bool found = false;
    ok = mg_find_one(c, &filter, &proj, &doc, &found, err, "find attachment");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    int64_t tk = 0;
    bool in = false;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such attachment");
    if (ok) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, &doc, "ticket") || !mg_iter_i64(&it, &tk))
            ok = mg_fail_corrupt(err, "find attachment", "ticket");
        else if (!bson_iter_init_find(&it, &doc, "internal") || !mg_iter_bool(&it, &in))
            ok = mg_fail_corrupt(err, "find attachment", "internal");
    }
    bson_destroy(&doc);
    bson_destroy(&proj);
    bson_destroy(&filter);
    if (ok) {
        *ticket = tk;
        *internal = in;
    }
    return ok;
}

/* store_mongo_aliases.c - agents' extra sending addresses on MongoDB
 * (struct td_alias, store.h): one document per address, keyed by it (the
 * _id decides uniqueness); confirm is one findAndModify whose filter is
 * "this token, still unconfirmed, not expired", so it happens once. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool alias_doc(bson_t *d, const struct td_alias *a)
{
    return BSON_APPEND_UTF8(d, "_id", a->email) && BSON_APPEND_UTF8(d, "user_id", a->user_id) &&
           BSON_APPEND_BOOL(d, "confirmed", a->confirmed) &&
           BSON_APPEND_UTF8(d, "token_hash", a->token_hash) &&
           BSON_APPEND_INT64(d, "expires", a->expires) && BSON_APPEND_INT64(d, "created", a->created);
}

static bool alias_parse(const bson_t *doc, struct td_alias *a, struct td_err *err)
{
    bson_iter_t it;
    memset(a, 0, sizeof *a);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read alias", "(document)");
    const char *bad = NULL;
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0) {
            ok = mg_iter_str(&it, &a->email);
        } else if (strcmp(k, "user_id") == 0) {
            ok = mg_iter_id(&it, a->user_id);
        } else if (strcmp(k, "confirmed") == 0) {
            ok = mg_iter_bool(&it, &a->confirmed);
        } else if (strcmp(k, "token_hash") == 0) {
            const char *h = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : NULL;
            ok = h != NULL && (h[0] == '\0' || strlen(h) == TD_TOKEN_HASH_LEN);
            if (ok)
                memcpy(a->token_hash, h, strlen(h) + 1);
        } else if (strcmp(k, "expires") == 0) {
            ok = mg_iter_i64(&it, &a->expires);
        } else if (strcmp(k, "created") == 0) {
            ok = mg_iter_i64(&it, &a->created);
        }
        if (!ok)
            bad = k;
    }
    if (bad == NULL && a->email == NULL)
        bad = "_id";
    if (bad) {
        alias_clear(a);
        return mg_fail_corrupt(err, "read alias", bad);
    }
    return true;
}

bool mg_alias_insert(struct store *st, const struct td_alias *a, struct td_err *err)
{
    if (a->email == NULL || a->email[0] == '\0')
        return td_fail(err, TD_INVALID, "an alias needs an address");
    bson_t doc = BSON_INITIALIZER;
    bool ok = alias_doc(&doc, a);
    if (!ok) {
        ok = mg_fail_build(err, "insert alias");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_ALIASES);
        ok = mg_insert(c, &doc, err, "insert alias");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (!ok && err && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "%.200s is already an alias", a->email);
    }
    bson_destroy(&doc);
    return ok;
}

bool mg_alias_get(struct store *st, const char *email, struct td_alias *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    if (!BSON_APPEND_UTF8(&filter, "_id", email ? email : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read alias");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_ALIASES);
    bool found = false;
    bool ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read alias");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_alias a;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no alias %.200s", email ? email : "");
    if (ok && (ok = alias_parse(&doc, &a, err)))
        *out = a;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

static bool list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_alias_list *l = ctx;
    struct td_alias a;
    if (!alias_parse(doc, &a, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = a;
    return true;
}

bool mg_alias_list(struct store *st, const char *user_id, struct td_alias_list *out,
                   struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    bool ok = BSON_APPEND_UTF8(&filter, "user_id", user_id ? user_id : "") &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    if (ok) {
        ok = BSON_APPEND_INT32(&sort, "_id", 1);
        ok = bson_append_document_end(&opts, &sort) && ok;
    }
    struct td_alias_list l = { NULL, 0 };
    if (!ok) {
        ok = mg_fail_build(err, "list aliases");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_ALIASES);
        ok = mg_find_each(c, &filter, &opts, list_add, &l, err, "list aliases");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&opts);
    bson_destroy(&filter);
    if (!ok) {
        alias_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool mg_alias_delete(struct store *st, const char *email, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, reply;
    if (!BSON_APPEND_UTF8(&filter, "_id", email ? email : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "delete alias");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_ALIASES);
    bson_error_t e;
    bool ok = mongoc_collection_delete_one(c, &filter, NULL, &reply, &e);
    int64_t deleted = 0;
    if (!ok) {
        mg_fail(err, &e, "delete alias");
    } else {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &reply, "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it))
            deleted = bson_iter_as_int64(&it);
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&filter);
    if (ok && deleted == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no alias %.200s", email ? email : "");
    return ok;
}

bool mg_alias_confirm(struct store *st, const char *token_hash, td_time now,
                      struct td_alias *out, struct td_err *err)
{
    if (token_hash == NULL || strlen(token_hash) != TD_TOKEN_HASH_LEN)
        return td_fail(err, TD_NOT_FOUND, "no such alias");
    bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, set, gte, doc;
    bool ok = BSON_APPEND_UTF8(&query, "token_hash", token_hash) &&
              BSON_APPEND_BOOL(&query, "confirmed", false) &&
              BSON_APPEND_DOCUMENT_BEGIN(&query, "expires", &gte);
    if (ok) {
        ok = BSON_APPEND_INT64(&gte, "$gte", now);
        ok = bson_append_document_end(&query, &gte) && ok;
    }
    if (ok && BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set)) {
        ok = BSON_APPEND_BOOL(&set, "confirmed", true) && BSON_APPEND_UTF8(&set, "token_hash", "") &&
             BSON_APPEND_INT64(&set, "expires", 0);
        ok = bson_append_document_end(&update, &set) && ok;
    } else {
        ok = false;
    }
    if (!ok) {
        bson_destroy(&update);
        bson_destroy(&query);
        return mg_fail_build(err, "confirm alias");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_ALIASES);
    bool found = false;
    ok = mg_find_modify(c, &query, NULL, &update, false, &doc, &found, err, "confirm alias");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_alias a;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such alias");
    if (ok && (ok = alias_parse(&doc, &a, err)))
        *out = a;
    bson_destroy(&doc);
    bson_destroy(&update);
    bson_destroy(&query);
    return ok;
}

/* store_mongo_pat.c - personal access tokens (core/pat.c) in the MongoDB
 * backend:
 *
 *   api_tokens {_id: id, hash (unique), user_id, name, scopes,
 *               token_version, created, expires, last_used, last_addr,
 *               revoked}
 *
 * Every operation is one single-document write or a read; the unique
 * index on hash (store_mongo.c) makes a duplicate secret TD_CONFLICT. */
#include "store_mongo_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

static bool pat_parse(const bson_t *doc, struct td_pat *t, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(t, 0, sizeof *t);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read access token", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        int64_t v = 0;
        if (strcmp(k, "_id") == 0) {
            ok = mg_iter_id(&it, t->id);
        } else if (strcmp(k, "hash") == 0) {
            const char *h = mg_iter_utf8(&it);
            ok = h != NULL && strlen(h) == TD_TOKEN_HASH_LEN;
            if (ok)
                memcpy(t->hash, h, TD_TOKEN_HASH_LEN + 1);
        } else if (strcmp(k, "user_id") == 0) {
            ok = mg_iter_id(&it, t->user_id);
        } else if (strcmp(k, "name") == 0) {
            ok = mg_iter_str(&it, &t->name);
        } else if (strcmp(k, "scopes") == 0) {
            ok = mg_iter_i64(&it, &v);
            t->scopes = (unsigned)v;
        } else if (strcmp(k, "token_version") == 0) {
            ok = mg_iter_i64(&it, &t->token_version);
        } else if (strcmp(k, "created") == 0) {
            ok = mg_iter_i64(&it, &t->created);
        } else if (strcmp(k, "expires") == 0) {
            ok = mg_iter_i64(&it, &t->expires);
        } else if (strcmp(k, "last_used") == 0) {
            ok = mg_iter_i64(&it, &t->last_used);
        } else if (strcmp(k, "last_addr") == 0) {
            const char *a = mg_iter_utf8(&it);
            ok = a != NULL;
            if (ok)
                snprintf(t->last_addr, sizeof t->last_addr, "%s", a);
        } else if (strcmp(k, "revoked") == 0) {
            ok = mg_iter_bool(&it, &t->revoked);
        }
        if (!ok)
            bad = k;
    }
    if (bad == NULL && (t->id[0] == '\0' || t->hash[0] == '\0' || t->user_id[0] == '\0'))
        bad = "_id, hash or user_id";
    if (t->name == NULL)
        t->name = td_strdup("");
    if (bad) {
        pat_clear(t);
        return mg_fail_corrupt(err, "read access token", bad);
    }
    return true;
}

bool mg_pat_insert(struct store *st, const struct td_pat *t, struct td_err *err)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(t->id), "hash", BCON_UTF8(t->hash),
                           "user_id", BCON_UTF8(t->user_id), "name", BCON_UTF8(t->name ? t->name : ""),
                           "scopes", BCON_INT64((int64_t)t->scopes),
                           "token_version", BCON_INT64(t->token_version),
                           "created", BCON_INT64(t->created), "expires", BCON_INT64(t->expires),
                           "last_used", BCON_INT64(t->last_used),
                           "last_addr", BCON_UTF8(t->last_addr), "revoked", BCON_BOOL(t->revoked));
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_PATS);
    bool ok = mg_insert(c, doc, err, "insert access token");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(doc);
    return ok;
}

bool mg_pat_get_by_hash(struct store *st, const char *hash, struct td_pat *out,
                        struct td_err *err)
{
    bson_t *filter = BCON_NEW("hash", BCON_UTF8(hash));
    bson_t doc;
    bool found = false;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_PATS);
    bool ok = mg_find_one(c, filter, NULL, &doc, &found, err, "read access token");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_pat t;
    memset(&t, 0, sizeof t);
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such access token");
    if (ok)
        ok = pat_parse(&doc, &t, err);
    bson_destroy(&doc);
    bson_destroy(filter);
    if (ok)
        *out = t;
    return ok;
}

static bool list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_pat_list *l = ctx;
    struct td_pat t;
    if (!pat_parse(doc, &t, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = t;
    return true;
}

bool mg_pat_list(struct store *st, const char *user_id, struct td_pat_list *out,
                 struct td_err *err)
{
    bson_t *filter = user_id ? BCON_NEW("user_id", BCON_UTF8(user_id)) : bson_new();
    bson_t *opts = BCON_NEW("sort", "{", "created", BCON_INT32(-1), "_id", BCON_INT32(-1), "}");
    struct td_pat_list l = { NULL, 0 };
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_PATS);
    bool ok = mg_find_each(c, filter, opts, list_add, &l, err, "list access tokens");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(opts);
    bson_destroy(filter);
    if (!ok) {
        pat_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

/* One update_one by filter; TD_NOT_FOUND when it matched nothing. */
static bool update_one(struct store *st, bson_t *filter, bson_t *update, const char *what,
                       struct td_err *err)
{
    int64_t matched = 0;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_PATS);
    bool ok = mg_update(c, filter, update, false, &matched, err, what);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    if (ok && matched == 0)
        ok = td_fail(err, TD_NOT_FOUND, "no such access token");
    bson_destroy(update);
    bson_destroy(filter);
    return ok;
}

bool mg_pat_revoke(struct store *st, const char *id, const char *user_id, struct td_err *err)
{
    bson_t *filter = user_id ? BCON_NEW("_id", BCON_UTF8(id), "user_id", BCON_UTF8(user_id))
                             : BCON_NEW("_id", BCON_UTF8(id));
    bson_t *update = BCON_NEW("$set", "{", "revoked", BCON_BOOL(true), "}");
    return update_one(st, filter, update, "revoke access token", err);
}

bool mg_pat_touch(struct store *st, const char *id, td_time now, const char *addr,
                  struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *update = addr ? BCON_NEW("$set", "{", "last_used", BCON_INT64(now), "last_addr",
                                     BCON_UTF8(addr), "}")
                          : BCON_NEW("$set", "{", "last_used", BCON_INT64(now), "}");
    return update_one(st, filter, update, "record access token use", err);
}

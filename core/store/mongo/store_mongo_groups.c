/* store_mongo_groups.c - groups on MongoDB (store_groups.h): one document
 * per group, {_id: key, name, members[], created, updated}. The key is
 * the _id, so the database's own unique _id index decides that a key is
 * taken; membership is the members array, changed with $addToSet / $pull
 * in one single-document update (atomic, and a member is listed once
 * however callers race). An index on members serves "the groups of this
 * agent" (store_mongo.c). */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool group_parse(const bson_t *doc, struct td_group *g, struct td_err *err)
{
    bson_iter_t it;
    memset(g, 0, sizeof *g);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read group", "(document)");
    const char *bad = NULL;
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_str(&it, &g->key);
        else if (strcmp(k, "name") == 0)
            ok = mg_iter_str(&it, &g->name);
        else if (strcmp(k, "members") == 0)
            ok = mg_iter_strv(&it, &g->members);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &g->created);
        else if (strcmp(k, "updated") == 0)
            ok = mg_iter_i64(&it, &g->updated);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && g->key == NULL)
        bad = "_id";
    if (bad) {
        group_clear(g);
        return mg_fail_corrupt(err, "read group", bad);
    }
    return true;
}

bool mg_group_insert(struct store *st, const struct td_group *g, struct td_err *err)
{
    if (g->key == NULL || g->key[0] == '\0')
        return td_fail(err, TD_INVALID, "a group needs a key");
    /* Members listed once, as the SQLite primary key makes it there. */
    struct strv members = STRV_INIT;
    for (size_t i = 0; i < g->members.n; i++)
        if (!strv_contains(&members, g->members.v[i]))
            strv_push(&members, g->members.v[i]);
    bson_t doc = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(&doc, "_id", g->key) &&
              BSON_APPEND_UTF8(&doc, "name", g->name ? g->name : "") &&
              mg_put_strv(&doc, "members", &members) &&
              BSON_APPEND_INT64(&doc, "created", g->created) &&
              BSON_APPEND_INT64(&doc, "updated", g->updated);
    strv_clear(&members);
    if (!ok) {
        ok = mg_fail_build(err, "insert group");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
        ok = mg_insert(c, &doc, err, "insert group");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (!ok && err && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "group %.200s exists", g->key);
    }
    bson_destroy(&doc);
    return ok;
}

bool mg_group_get(struct store *st, const char *key, struct td_group *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    if (!BSON_APPEND_UTF8(&filter, "_id", key ? key : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read group");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
    bool found = false;
    bool ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read group");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_group g;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", key ? key : "");
    if (ok && (ok = group_parse(&doc, &g, err)))
        *out = g;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

static bool list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_group_list *l = ctx;
    struct td_group g;
    if (!group_parse(doc, &g, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = g;
    return true;
}

bool mg_group_list(struct store *st, struct td_group_list *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    struct td_group_list l = { NULL, 0 };
    bool ok = mg_put_sort(&opts, "_id", 1);
    if (!ok) {
        ok = mg_fail_build(err, "list groups");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
        ok = mg_find_each(c, &filter, &opts, list_add, &l, err, "list groups");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&opts);
    bson_destroy(&filter);
    if (!ok) {
        group_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

/* One update_one on the group named key whose filter may also require
 * member; TD_NOT_FOUND (with msg) when nothing matched. */
static bool group_change(struct store *st, const char *key, const char *member,
                         const bson_t *update, const char *what, const char *not_found,
                         struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", key ? key : "") &&
              (member == NULL || BSON_APPEND_UTF8(&filter, "members", member));
    int64_t matched = 0;
    if (!ok) {
        ok = mg_fail_build(err, what);
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
        ok = mg_update(c, &filter, update, false, &matched, err, what);
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&filter);
    if (ok && matched == 0)
        ok = td_fail(err, TD_NOT_FOUND, "%s", not_found);
    return ok;
}

static bool not_found_msg(char *buf, size_t size, const char *key, const char *member)
{
    if (member)
        snprintf(buf, size, "%.30s is no member of group %.200s", member, key ? key : "");
    else
        snprintf(buf, size, "no group %.200s", key ? key : "");
    return true;
}

bool mg_group_update(struct store *st, const struct td_group *g, struct td_err *err)
{
    bson_t update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_UTF8(&set, "name", g->name ? g->name : "") &&
             BSON_APPEND_INT64(&set, "updated", g->updated);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    char msg[256];
    not_found_msg(msg, sizeof msg, g->key, NULL);
    ok = ok ? group_change(st, g->key, NULL, &update, "update group", msg, err)
            : mg_fail_build(err, "update group");
    bson_destroy(&update);
    return ok;
}

bool mg_group_delete(struct store *st, const char *key, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, reply;
    if (!BSON_APPEND_UTF8(&filter, "_id", key ? key : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "delete group");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
    bson_error_t e;
    bool ok = mongoc_collection_delete_one(c, &filter, NULL, &reply, &e);
    int64_t deleted = 0;
    if (!ok) {
        mg_fail(err, &e, "delete group");
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
        ok = td_fail(err, TD_NOT_FOUND, "no group %.200s", key ? key : "");
    return ok;
}

static bool member_change(struct store *st, const char *key, const char *user_id, td_time now,
                          bool add, struct td_err *err)
{
    const char *uid = user_id ? user_id : "";
    bson_t update = BSON_INITIALIZER, op, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, add ? "$addToSet" : "$pull", &op);
    if (ok) {
        ok = BSON_APPEND_UTF8(&op, "members", uid);
        ok = bson_append_document_end(&update, &op) && ok;
    }
    if (ok && BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set)) {
        ok = BSON_APPEND_INT64(&set, "updated", now);
        ok = bson_append_document_end(&update, &set) && ok;
    } else {
        ok = false;
    }
    char msg[256];
    not_found_msg(msg, sizeof msg, key, add ? NULL : uid);
    ok = ok ? group_change(st, key, add ? NULL : uid, &update,
                           add ? "add group member" : "remove group member", msg, err)
            : mg_fail_build(err, "group member");
    bson_destroy(&update);
    return ok;
}

bool mg_group_member_add(struct store *st, const char *key, const char *user_id, td_time now,
                         struct td_err *err)
{
    return member_change(st, key, user_id, now, true, err);
}

bool mg_group_member_remove(struct store *st, const char *key, const char *user_id, td_time now,
                            struct td_err *err)
{
    return member_change(st, key, user_id, now, false, err);
}

static bool key_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
        return mg_fail_corrupt(err, "read group", "_id");
    strv_push(ctx, bson_iter_utf8(&it, NULL));
    return true;
}

bool mg_group_keys_of(struct store *st, const char *user_id, struct strv *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
    bool ok = BSON_APPEND_UTF8(&filter, "members", user_id ? user_id : "") &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "_id", 1) && bson_append_document_end(&opts, &proj);
    if (!ok) {
        ok = mg_fail_build(err, "groups of a member");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_GROUPS);
        ok = mg_find_each(c, &filter, &opts, key_add, out, err, "groups of a member");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&opts);
    bson_destroy(&filter);
    return ok;
}

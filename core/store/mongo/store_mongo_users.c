/* store_mongo_users.c - users on MongoDB.
 *
 * {_id: id, email, name, role, pw_hash|null, disabled, restricted, token_version,
 *  created, updated}. Email uniqueness is the unique index email_1 (core
 * lower-cases addresses before they get here), so a taken address is a
 * duplicate key on insert or update, never a read-then-write. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

/* Every field but _id, as written by both insert and update. */
static bool user_fields(bson_t *d, const struct td_user *u)
{
    return mg_put_str(d, "email", u->email) && mg_put_str(d, "name", u->name) &&
           BSON_APPEND_UTF8(d, "role", role_name(u->role)) &&
           mg_put_str(d, "pw_hash", u->pw_hash) && BSON_APPEND_BOOL(d, "disabled", u->disabled) &&
           BSON_APPEND_BOOL(d, "restricted", u->restricted) &&
           BSON_APPEND_INT64(d, "token_version", u->token_version) &&
           BSON_APPEND_INT64(d, "created", u->created) &&
           BSON_APPEND_INT64(d, "updated", u->updated);
}

static bool user_parse(const bson_t *doc, struct td_user *u, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;

    memset(u, 0, sizeof *u);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read user", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_id(&it, u->id);
        else if (strcmp(k, "email") == 0)
            ok = mg_iter_str(&it, &u->email);
        else if (strcmp(k, "name") == 0)
            ok = mg_iter_str(&it, &u->name);
        else if (strcmp(k, "role") == 0)
            ok = role_parse(mg_iter_utf8(&it), &u->role);
        else if (strcmp(k, "pw_hash") == 0)
            ok = mg_iter_str(&it, &u->pw_hash);
        else if (strcmp(k, "disabled") == 0)
            ok = mg_iter_bool(&it, &u->disabled);
        else if (strcmp(k, "restricted") == 0) /* absent before groups: false */
            ok = mg_iter_bool(&it, &u->restricted);
        else if (strcmp(k, "token_version") == 0)
            ok = mg_iter_i64(&it, &u->token_version);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &u->created);
        else if (strcmp(k, "updated") == 0)
            ok = mg_iter_i64(&it, &u->updated);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && u->email == NULL)
        bad = "email";
    if (bad) {
        /* bad points into doc, which outlives this call */
        user_clear(u);
        return mg_fail_corrupt(err, "read user", bad);
    }
    if (u->name == NULL)
        u->name = td_strdup("");
    return true;
}

bool mg_user_insert(struct store *st, const struct td_user *u, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok;

    if (!BSON_APPEND_UTF8(&doc, "_id", u->id) || !user_fields(&doc, u)) {
        ok = mg_fail_build(err, "insert user");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_USERS);
        ok = mg_insert(c, &doc, err, "insert user");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&doc);
    return ok;
}

bool mg_user_update(struct store *st, const struct td_user *u, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    int64_t matched = 0;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", u->id) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = user_fields(&set, u);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        mg_fail_build(err, "update user");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_USERS);
        ok = mg_update(c, &filter, &update, false, &matched, err, "update user");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (ok && matched == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no user %s", u->id);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

/* The one user matching {key: value}. */
static bool user_get_by(struct store *st, const char *key, const char *value,
                        struct td_user *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, key, value)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read user");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_USERS);
    ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read user");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such user");
    struct td_user u;
    if (ok && (ok = user_parse(&doc, &u, err)))
        *out = u;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

bool mg_user_get(struct store *st, const char *id, struct td_user *out, struct td_err *err)
{
    return user_get_by(st, "_id", id, out, err);
}

bool mg_user_get_by_email(struct store *st, const char *email_lower, struct td_user *out,
                          struct td_err *err)
{
    return user_get_by(st, "email", email_lower, out, err);
}

static bool user_list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_user_list *l = ctx;
    struct td_user u;
    if (!user_parse(doc, &u, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = u;
    return true;
}

bool mg_user_list(struct store *st, int role, struct td_user_list *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    struct td_user_list l = { NULL, 0 };
    bool ok = true;

    if (role >= 0) {
        if (role > ROLE_ADMIN)
            ok = td_fail(err, TD_INVALID, "no role %d", role);
        else if (!BSON_APPEND_UTF8(&filter, "role", role_name((enum td_role)role)))
            ok = mg_fail_build(err, "list users");
    }
    if (ok && !mg_put_sort(&opts, "email", 1))
        ok = mg_fail_build(err, "list users");
    if (ok) {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_USERS);
        ok = mg_find_each(c, &filter, &opts, user_list_add, &l, err, "list users");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    if (ok)
        *out = l;
    else
        user_list_clear(&l);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return ok;
}

/* store_mongo_desk.c - the scheduler's leases, idle tickets and the desk
 * counts on MongoDB (core/store/store_desk.h).
 *
 * leases: {_id: name, owner|null, until}. Acquiring is the mailbox
 * lease's update with upsert (store_mongo_mailbox.c) on
 *   {_id: name, $or: [{owner: null}, {owner: owner}, {until: {$lt: now}}]}:
 * when someone else holds it, the upsert's insert of a second document
 * with that _id is refused as a duplicate key - that is the TD_CONFLICT,
 * decided by the server, so several ticketd processes on one replica set
 * never hold it at once.
 *
 * The reads follow the indexes created in store_mongo.c:
 * {status: 1, updated: -1, _id: -1} (the list's) for idle tickets, walked
 * backwards (the cursor is one range of it),
 * {status, queue} for the counts ($match + $group over the index) and
 * {status, created} for the oldest open ticket (one probe per status). */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool lease_acquire(struct store *st, const char *name, const char *owner, td_time now,
                          int64_t ttl_ms, struct td_err *err)
{
    if (owner == NULL || *owner == '\0' || name == NULL || *name == '\0')
        return td_fail(err, TD_INVALID, "a lease needs a name and an owner");
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(name), "$or", "[",
                              "{", "owner", BCON_NULL, "}",
                              "{", "owner", BCON_UTF8(owner), "}",
                              "{", "until", "{", "$lt", BCON_INT64(now), "}", "}", "]");
    bson_t *update = BCON_NEW("$set", "{", "owner", BCON_UTF8(owner), "until",
                              BCON_INT64(now + ttl_ms), "}");
    struct td_err e;
    td_err_clear(&e);
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_LEASES);
    bool ok = mg_update(c, filter, update, true, NULL, &e, "acquire lease");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(update);
    bson_destroy(filter);
    if (!ok && e.code == TD_CONFLICT)
        td_fail(err, TD_CONFLICT, "lease %.100s is held by another process", name);
    else if (!ok && err)
        *err = e;
    return ok;
}

static bool lease_release(struct store *st, const char *name, const char *owner,
                          struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(name ? name : ""), "$or", "[",
                              "{", "owner", BCON_NULL, "}",
                              "{", "owner", BCON_UTF8(owner ? owner : ""), "}", "]");
    bson_t *update = BCON_NEW("$set", "{", "owner", BCON_NULL, "until", BCON_INT64(0), "}");
    bson_t *by_id = BCON_NEW("_id", BCON_UTF8(name ? name : ""));
    int64_t matched = 0;
    bool found = false;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_LEASES);
    bool ok = mg_update(c, filter, update, false, &matched, err, "release lease");
    /* Not matched: unknown (fine) or someone else's (refused). */
    if (ok && matched == 0 && (ok = mg_exists(c, by_id, &found, err, "release lease")) && found)
        ok = td_fail(err, TD_CONFLICT, "lease %.100s is not yours to release", name);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(by_id);
    bson_destroy(update);
    bson_destroy(filter);
    return ok;
}

static bool lease_get(struct store *st, const char *name, char **owner, td_time *until,
                      struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(name ? name : ""));
    bson_t doc;
    bool found = false;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_LEASES);
    bool ok = mg_find_one(c, filter, NULL, &doc, &found, err, "read lease");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(filter);
    char *o = NULL;
    td_time u = 0;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no lease %.100s", name ? name : "");
    bson_iter_t it;
    if (ok && bson_iter_init(&it, &doc)) {
        while (ok && bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "owner") == 0 && !mg_iter_str(&it, &o))
                ok = mg_fail_corrupt(err, "read lease", "owner");
            else if (strcmp(k, "until") == 0 && !mg_iter_i64(&it, &u))
                ok = mg_fail_corrupt(err, "read lease", "until");
        }
    }
    bson_destroy(&doc);
    if (!ok) {
        free(o);
        return false;
    }
    *owner = o;
    *until = u;
    return true;
}

static bool idle_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_idle_list *l = ctx;
    struct td_idle one = { 0, 0 };
    bson_iter_t it;
    bool have_n = false;
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "list idle tickets", "_id");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "_id") == 0)
            have_n = mg_iter_i64(&it, &one.number);
        else if (strcmp(k, "updated") == 0 && !mg_iter_i64(&it, &one.updated))
            return mg_fail_corrupt(err, "list idle tickets", "updated");
    }
    if (!have_n)
        return mg_fail_corrupt(err, "list idle tickets", "_id");
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = one;
    return true;
}

static bool ticket_idle(struct store *st, enum td_status status, td_time before,
                        td_time after_updated, int64_t after, size_t limit,
                        struct td_idle_list *out, struct td_err *err)
{
    if (limit == 0)
        limit = 100;
    if (limit > 1000)
        limit = 1000;
    /* (updated, _id) > (after_updated, after), and updated < before. */
    bson_t *filter = BCON_NEW("status", BCON_UTF8(status_name(status)),
                              "updated", "{", "$lt", BCON_INT64(before), "}",
                              "$or", "[",
                              "{", "updated", "{", "$gt", BCON_INT64(after_updated), "}", "}",
                              "{", "updated", BCON_INT64(after_updated),
                                   "_id", "{", "$gt", BCON_INT64(after), "}", "}",
                              "]");
    bson_t *opts = BCON_NEW("sort", "{", "updated", BCON_INT32(1), "_id", BCON_INT32(1), "}",
                            "projection", "{", "updated", BCON_INT32(1), "}",
                            "limit", BCON_INT64((int64_t)limit));
    struct td_idle_list l = { NULL, 0 };
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    bool ok = mg_find_each(c, filter, opts, idle_add, &l, err, "list idle tickets");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(opts);
    bson_destroy(filter);
    if (!ok) {
        idle_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

static bool count_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_desk_counts *dc = ctx;
    bson_iter_t it, id;
    const char *status = NULL, *queue = NULL;
    int64_t n = 0;
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &id)) {
        while (bson_iter_next(&id)) {
            if (strcmp(bson_iter_key(&id), "s") == 0)
                status = mg_iter_utf8(&id);
            else if (strcmp(bson_iter_key(&id), "q") == 0)
                queue = mg_iter_utf8(&id);
        }
    }
    if (!bson_iter_init_find(&it, doc, "n") || !mg_iter_i64(&it, &n))
        return mg_fail_corrupt(err, "count tickets", "n");
    enum td_status s;
    if (status == NULL || !status_parse(status, &s))
        return true; /* not ours to count */
    dc->v = td_realloc(dc->v, (dc->n + 1) * sizeof *dc->v);
    dc->v[dc->n].status = s;
    dc->v[dc->n].queue = td_strdup(queue ? queue : "");
    dc->v[dc->n].n = n;
    dc->n++;
    return true;
}

static bool oldest_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    td_time *oldest = ctx, t = 0;
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "created") || !mg_iter_i64(&it, &t))
        return mg_fail_corrupt(err, "oldest open ticket", "created");
    if (*oldest == 0 || t < *oldest)
        *oldest = t;
    return true;
}

static bool desk_counts(struct store *st, struct td_desk_counts *out, struct td_err *err)
{
    struct td_desk_counts dc = { NULL, 0, 0 };
    bson_t *pipeline = BCON_NEW("pipeline", "[",
        "{", "$match", "{", "status", "{", "$in", "[", BCON_UTF8("new"), BCON_UTF8("open"),
                                 BCON_UTF8("pending"), BCON_UTF8("resolved"), "]", "}", "}", "}",
        "{", "$group", "{", "_id", "{", "s", BCON_UTF8("$status"), "q", BCON_UTF8("$queue"), "}",
                            "n", "{", "$sum", BCON_INT32(1), "}", "}", "}",
        "]");
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    mongoc_cursor_t *cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    bool ok = mg_cursor_each(cur, count_add, &dc, err, "count tickets");
    static const char *const open_states[] = { "new", "open", "pending" };
    for (size_t i = 0; ok && i < 3; i++) {
        bson_t *filter = BCON_NEW("status", BCON_UTF8(open_states[i]));
        bson_t *opts = BCON_NEW("sort", "{", "created", BCON_INT32(1), "}",
                                "projection", "{", "created", BCON_INT32(1), "}",
                                "limit", BCON_INT64(1));
        ok = mg_find_each(c, filter, opts, oldest_add, &dc.oldest_open, err,
                          "oldest open ticket");
        bson_destroy(opts);
        bson_destroy(filter);
    }
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(pipeline);
    if (!ok) {
        desk_counts_clear(&dc);
        return false;
    }
    *out = dc;
    return true;
}

const struct store_desk_ops mg_desk_ops = {
    .lease_acquire = lease_acquire,
    .lease_release = lease_release,
    .lease_get = lease_get,
    .ticket_idle = ticket_idle,
    .desk_counts = desk_counts,
};

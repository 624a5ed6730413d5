/* store_mongo_webhooks.c - webhook endpoints and deliveries
 * (core/webhook.h) in the MongoDB backend:
 *
 *   webhooks            {_id: id, url, events[], secret, enabled, failures,
 *                        disabled_reason|null, created, updated}
 *   webhook_deliveries  {_id: id, endpoint_id, ticket, seq, type, payload,
 *                        state, attempts, next_attempt, owner|null,
 *                        lease_until, last_status, last_error|null,
 *                        created, finished}
 *
 * Every write is one document. The claim without transactions: find the
 * due rows in next_attempt order, skip each whose endpoint and ticket
 * has an unfinished row with a smaller seq (a count), and take the first
 * other with a findAndModify guarded by the state it was seen in - so
 * two claimers never take one row; a row seen due but taken meanwhile is
 * simply skipped. */
#include "store_mongo_int.h"
#include "core/mem.h"

#include <string.h>

#define CLAIM_CANDIDATES 50

/* ---- endpoints ---- */

static bool wh_parse(const bson_t *doc, struct td_webhook *w, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(w, 0, sizeof *w);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read webhook", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_id(&it, w->id);
        else if (strcmp(k, "url") == 0)
            ok = mg_iter_str(&it, &w->url);
        else if (strcmp(k, "events") == 0)
            ok = mg_iter_strv(&it, &w->events);
        else if (strcmp(k, "secret") == 0)
            ok = mg_iter_str(&it, &w->secret);
        else if (strcmp(k, "enabled") == 0)
            ok = mg_iter_bool(&it, &w->enabled);
        else if (strcmp(k, "failures") == 0)
            ok = mg_iter_i64(&it, &w->failures);
        else if (strcmp(k, "disabled_reason") == 0)
            ok = mg_iter_str(&it, &w->disabled_reason);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &w->created);
        else if (strcmp(k, "updated") == 0)
            ok = mg_iter_i64(&it, &w->updated);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && (w->id[0] == '\0' || w->url == NULL || w->secret == NULL))
        bad = "_id, url or secret";
    if (bad) {
        webhook_clear(w);
        return mg_fail_corrupt(err, "read webhook", bad);
    }
    return true;
}

/* The mutable fields of w into b (insert and update share them). */
static bool wh_fields(bson_t *b, const struct td_webhook *w)
{
    return BSON_APPEND_UTF8(b, "url", w->url) && mg_put_strv(b, "events", &w->events) &&
           BSON_APPEND_UTF8(b, "secret", w->secret) && BSON_APPEND_BOOL(b, "enabled", w->enabled) &&
           BSON_APPEND_INT64(b, "failures", w->failures) &&
           mg_put_str(b, "disabled_reason", w->disabled_reason) &&
           BSON_APPEND_INT64(b, "updated", w->updated);
}

static mongoc_collection_t *coll(struct store *st, mongoc_client_t **client, const char *name)
{
    *client = mg_pop(st);
    return mg_coll(st, *client, name);
}

static void done(struct store *st, mongoc_client_t *client, mongoc_collection_t *c)
{
    mongoc_collection_destroy(c);
    mg_push(st, client);
}

bool mg_webhook_insert(struct store *st, const struct td_webhook *w, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(&doc, "_id", w->id) && wh_fields(&doc, w) &&
              BSON_APPEND_INT64(&doc, "created", w->created);
    if (!ok) {
        ok = mg_fail_build(err, "insert webhook");
    } else {
        mongoc_client_t *client;
        mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
        ok = mg_insert(c, &doc, err, "insert webhook");
        done(st, client, c);
    }
    bson_destroy(&doc);
    return ok;
}

bool mg_webhook_get(struct store *st, const char *id, struct td_webhook *out, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t doc;
    bool found = false;
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
    bool ok = mg_find_one(c, filter, NULL, &doc, &found, err, "read webhook");
    done(st, client, c);
    struct td_webhook w;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    if (ok && (ok = wh_parse(&doc, &w, err)))
        *out = w;
    bson_destroy(&doc);
    bson_destroy(filter);
    return ok;
}

static bool wh_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_webhook_list *l = ctx;
    struct td_webhook w;
    if (!wh_parse(doc, &w, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = w;
    return true;
}

bool mg_webhook_list(struct store *st, struct td_webhook_list *out, struct td_err *err)
{
    bson_t *filter = bson_new();
    bson_t *opts = BCON_NEW("sort", "{", "created", BCON_INT32(1), "_id", BCON_INT32(1), "}");
    struct td_webhook_list l = { NULL, 0 };
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
    bool ok = mg_find_each(c, filter, opts, wh_add, &l, err, "list webhooks");
    done(st, client, c);
    bson_destroy(opts);
    bson_destroy(filter);
    if (!ok) {
        webhook_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool mg_webhook_update(struct store *st, const struct td_webhook *w, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(w->id));
    bson_t update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = wh_fields(&set, w);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    int64_t matched = 0;
    if (!ok) {
        ok = mg_fail_build(err, "update webhook");
    } else {
        mongoc_client_t *client;
        mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
        ok = mg_update(c, filter, &update, false, &matched, err, "update webhook");
        done(st, client, c);
        if (ok && matched == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    }
    bson_destroy(&update);
    bson_destroy(filter);
    return ok;
}

bool mg_webhook_delete(struct store *st, const char *id, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *dfilter = BCON_NEW("endpoint_id", BCON_UTF8(id));
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
    bson_t reply;
    bson_error_t e;
    bool ok = mongoc_collection_delete_one(c, filter, NULL, &reply, &e);
    bson_iter_t it;
    if (!ok)
        mg_fail(err, &e, "delete webhook");
    else if (!(bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) > 0))
        ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    bson_destroy(&reply);
    done(st, client, c);
    if (ok) {
        c = coll(st, &client, MG_DELIVERIES);
        ok = mongoc_collection_delete_many(c, dfilter, NULL, NULL, &e) ||
             mg_fail(err, &e, "delete webhook deliveries");
        done(st, client, c);
    }
    bson_destroy(dfilter);
    bson_destroy(filter);
    return ok;
}

bool mg_webhook_result(struct store *st, const char *id, bool success, int64_t *failures,
                       struct td_err *err)
{
    bson_t *query = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *update = success ? BCON_NEW("$set", "{", "failures", BCON_INT64(0), "}")
                             : BCON_NEW("$inc", "{", "failures", BCON_INT64(1), "}");
    bson_t doc;
    bool found = false;
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
    bool ok = mg_find_modify(c, query, NULL, update, false, &doc, &found, err, "count webhook result");
    done(st, client, c);
    int64_t f = 0;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
    bson_iter_t it;
    if (ok && !(bson_iter_init_find(&it, &doc, "failures") && mg_iter_i64(&it, &f)))
        ok = mg_fail_corrupt(err, "count webhook result", "failures");
    if (ok && failures)
        *failures = f;
    bson_destroy(&doc);
    bson_destroy(update);
    bson_destroy(query);
    return ok;
}

bool mg_webhook_disable(struct store *st, const char *id, const char *reason, td_time now,
                        bool *changed, struct td_err *err)
{
    bson_t *query = BCON_NEW("_id", BCON_UTF8(id), "enabled", BCON_BOOL(true));
    bson_t *update = BCON_NEW("$set", "{", "enabled", BCON_BOOL(false), "disabled_reason",
                              BCON_UTF8(reason ? reason : ""), "updated", BCON_INT64(now), "}");
    int64_t matched = 0;
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_WEBHOOKS);
    bool ok = mg_update(c, query, update, false, &matched, err, "disable webhook");
    if (ok && matched == 0) {
        bson_t *f2 = BCON_NEW("_id", BCON_UTF8(id));
        bool exists = false;
        ok = mg_exists(c, f2, &exists, err, "read webhook");
        if (ok && !exists)
            ok = td_fail(err, TD_NOT_FOUND, "no such webhook");
        bson_destroy(f2);
    }
    done(st, client, c);
    if (ok && changed)
        *changed = matched > 0;
    bson_destroy(update);
    bson_destroy(query);
    return ok;
}

/* ---- deliveries ---- */

static bool dl_parse(const bson_t *doc, struct td_delivery *d, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(d, 0, sizeof *d);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read delivery", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_id(&it, d->id);
        else if (strcmp(k, "endpoint_id") == 0)
            ok = mg_iter_id(&it, d->endpoint_id);
        else if (strcmp(k, "ticket") == 0)
            ok = mg_iter_i64(&it, &d->ticket);
        else if (strcmp(k, "seq") == 0)
            ok = mg_iter_i64(&it, &d->seq);
        else if (strcmp(k, "type") == 0)
            ok = mg_iter_str(&it, &d->type);
        else if (strcmp(k, "payload") == 0)
            ok = mg_iter_str(&it, &d->payload);
        else if (strcmp(k, "state") == 0)
            ok = delivery_state_parse(mg_iter_utf8(&it), &d->state);
        else if (strcmp(k, "attempts") == 0)
            ok = mg_iter_i64(&it, &d->attempts);
        else if (strcmp(k, "next_attempt") == 0)
            ok = mg_iter_i64(&it, &d->next_attempt);
        else if (strcmp(k, "owner") == 0)
            ok = mg_iter_str(&it, &d->owner);
        else if (strcmp(k, "lease_until") == 0)
            ok = mg_iter_i64(&it, &d->lease_until);
        else if (strcmp(k, "last_status") == 0)
            ok = mg_iter_i64(&it, &d->last_status);
        else if (strcmp(k, "last_error") == 0)
            ok = mg_iter_str(&it, &d->last_error);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &d->created);
        else if (strcmp(k, "finished") == 0)
            ok = mg_iter_i64(&it, &d->finished);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && (d->id[0] == '\0' || d->endpoint_id[0] == '\0'))
        bad = "_id or endpoint_id";
    if (bad) {
        delivery_clear(d);
        return mg_fail_corrupt(err, "read delivery", bad);
    }
    return true;
}

bool mg_delivery_insert(struct store *st, const struct td_delivery *d, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(&doc, "_id", d->id) &&
              BSON_APPEND_UTF8(&doc, "endpoint_id", d->endpoint_id) &&
              BSON_APPEND_INT64(&doc, "ticket", d->ticket) && BSON_APPEND_INT64(&doc, "seq", d->seq) &&
              BSON_APPEND_UTF8(&doc, "type", d->type ? d->type : "") &&
              BSON_APPEND_UTF8(&doc, "payload", d->payload ? d->payload : "") &&
              BSON_APPEND_UTF8(&doc, "state", delivery_state_name(d->state)) &&
              BSON_APPEND_INT64(&doc, "attempts", d->attempts) &&
              BSON_APPEND_INT64(&doc, "next_attempt", d->next_attempt) &&
              mg_put_str(&doc, "owner", d->owner) &&
              BSON_APPEND_INT64(&doc, "lease_until", d->lease_until) &&
              BSON_APPEND_INT64(&doc, "last_status", d->last_status) &&
              mg_put_str(&doc, "last_error", d->last_error) &&
              BSON_APPEND_INT64(&doc, "created", d->created) &&
              BSON_APPEND_INT64(&doc, "finished", d->finished);
    if (!ok) {
        ok = mg_fail_build(err, "insert delivery");
    } else {
        mongoc_client_t *client;
        mongoc_collection_t *c = coll(st, &client, MG_DELIVERIES);
        ok = mg_insert(c, &doc, err, "insert delivery");
        done(st, client, c);
    }
    bson_destroy(&doc);
    return ok;
}


static bool cand_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_delivery_list *l = ctx;
    struct td_delivery d;
    if (!dl_parse(doc, &d, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = d;
    return true;
}

/* True when an unfinished row of d's endpoint and ticket comes before d. */
static bool blocked(mongoc_collection_t *c, const struct td_delivery *d, bool *out,
                    struct td_err *err)
{
    bson_t *filter = BCON_NEW("endpoint_id", BCON_UTF8(d->endpoint_id), "ticket",
                              BCON_INT64(d->ticket), "state", "{", "$in", "[", BCON_UTF8("pending"),
                              BCON_UTF8("sending"), "]", "}", "seq", "{", "$lt",
                              BCON_INT64(d->seq), "}");
    bool ok = mg_exists(c, filter, out, err, "order deliveries");
    bson_destroy(filter);
    return ok;
}

bool mg_delivery_claim(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                       struct td_delivery *out, struct td_err *err)
{
    bson_t *due = BCON_NEW("$or", "[", "{", "state", BCON_UTF8("pending"), "next_attempt", "{",
                           "$lte", BCON_INT64(now), "}", "}", "{", "state", BCON_UTF8("sending"),
                           "lease_until", "{", "$lt", BCON_INT64(now), "}", "}", "]");
    bson_t *opts = BCON_NEW("sort", "{", "next_attempt", BCON_INT32(1), "created", BCON_INT32(1),
                            "}", "limit", BCON_INT64(CLAIM_CANDIDATES));
    struct td_delivery_list cands = { NULL, 0 };
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_DELIVERIES);
    bool ok = mg_find_each(c, due, opts, cand_add, &cands, err, "claim delivery");
    bool taken = false;
    struct td_delivery d;
    memset(&d, 0, sizeof d);
    for (size_t i = 0; ok && !taken && i < cands.n; i++) {
        const struct td_delivery *k = &cands.v[i];
        bool is_blocked = false;
        if (k->ticket > 0 && !(ok = blocked(c, k, &is_blocked, err)))
            break;
        if (is_blocked)
            continue;
        bson_t *q = k->state == DELIVERY_PENDING
                        ? BCON_NEW("_id", BCON_UTF8(k->id), "state", BCON_UTF8("pending"),
                                   "next_attempt", "{", "$lte", BCON_INT64(now), "}")
                        : BCON_NEW("_id", BCON_UTF8(k->id), "state", BCON_UTF8("sending"),
                                   "lease_until", "{", "$lt", BCON_INT64(now), "}");
        bson_t *update = BCON_NEW("$set", "{", "state", BCON_UTF8("sending"), "owner",
                                  BCON_UTF8(owner), "lease_until", BCON_INT64(now + lease_ms), "}",
                                  "$inc", "{", "attempts", BCON_INT64(1), "}");
        bson_t doc;
        bool found = false;
        ok = mg_find_modify(c, q, NULL, update, false, &doc, &found, err, "claim delivery");
        if (ok && found && (ok = dl_parse(&doc, &d, err)))
            taken = true;
        bson_destroy(&doc);
        bson_destroy(update);
        bson_destroy(q);
    }
    done(st, client, c);
    delivery_list_clear(&cands);
    bson_destroy(opts);
    bson_destroy(due);
    if (ok && !taken)
        ok = td_fail(err, TD_NOT_FOUND, "no delivery is due");
    if (ok)
        *out = d;
    return ok;
}

bool mg_delivery_finish(struct store *st, const char *id, const char *owner,
                        enum td_delivery_state state, int64_t status, const char *error,
                        td_time next_attempt, td_time now, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id), "state", BCON_UTF8("sending"), "owner",
                              BCON_UTF8(owner ? owner : ""));
    bson_t update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_UTF8(&set, "state", delivery_state_name(state)) &&
             BSON_APPEND_NULL(&set, "owner") && BSON_APPEND_INT64(&set, "lease_until", 0) &&
             BSON_APPEND_INT64(&set, "last_status", status) &&
             mg_put_str(&set, "last_error", error) &&
             BSON_APPEND_INT64(&set, "next_attempt", next_attempt) &&
             BSON_APPEND_INT64(&set, "finished", state == DELIVERY_PENDING ? 0 : now);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "finish delivery");
    } else {
        int64_t matched = 0;
        mongoc_client_t *client;
        mongoc_collection_t *c = coll(st, &client, MG_DELIVERIES);
        ok = mg_update(c, filter, &update, false, &matched, err, "finish delivery");
        if (ok && matched == 0) {
            bson_t *f2 = BCON_NEW("_id", BCON_UTF8(id));
            bool exists = false;
            ok = mg_exists(c, f2, &exists, err, "read delivery");
            if (ok)
                ok = exists ? td_fail(err, TD_CONFLICT, "delivery not held by this owner")
                            : td_fail(err, TD_NOT_FOUND, "no such delivery");
            bson_destroy(f2);
        }
        done(st, client, c);
    }
    bson_destroy(&update);
    bson_destroy(filter);
    return ok;
}

bool mg_delivery_list(struct store *st, const char *endpoint_id, size_t limit,
                      struct td_delivery_list *out, struct td_err *err)
{
    if (limit == 0)
        limit = 100;
    if (limit > 1000)
        limit = 1000;
    bson_t *filter = BCON_NEW("endpoint_id", BCON_UTF8(endpoint_id));
    bson_t *opts = BCON_NEW("sort", "{", "created", BCON_INT32(-1), "ticket", BCON_INT32(-1),
                            "seq", BCON_INT32(-1), "_id", BCON_INT32(-1), "}", "limit",
                            BCON_INT64((int64_t)limit));
    struct td_delivery_list l = { NULL, 0 };
    mongoc_client_t *client;
    mongoc_collection_t *c = coll(st, &client, MG_DELIVERIES);
    bool ok = mg_find_each(c, filter, opts, cand_add, &l, err, "list deliveries");
    done(st, client, c);
    bson_destroy(opts);
    bson_destroy(filter);
    if (!ok) {
        delivery_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

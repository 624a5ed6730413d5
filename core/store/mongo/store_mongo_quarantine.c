/* store_mongo_quarantine.c - what the mail gateway adds to the MongoDB
 * backend: quarantined mail (see struct td_quarantine in store.h).
 *
 *   quarantine {_id: id, mailbox, uidvalidity, uid, msg_key, reason,
 *               sender|null, subject|null, raw (binary), raw_size,
 *               attempts, created, updated}
 *
 * put is one update_one with upsert: $setOnInsert carries what a first
 * put writes (the raw mail, created), $set the reason and $inc the
 * attempts, so quarantining one mail twice - even from two processes at
 * once - leaves one document, atomically. raw stays below 16 MB: the
 * store contract caps it at STORE_QUARANTINE_MAX_RAW. list sorts on the
 * created index (created with the backend's others in store_mongo.c)
 * and projects raw away. */
#include "store_mongo_int.h"
#include "core/mem.h"

#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000

static bool q_parse(const bson_t *doc, struct td_quarantine *q, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    memset(q, 0, sizeof *q);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read quarantine", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        int64_t v = 0;
        if (strcmp(k, "_id") == 0) {
            ok = mg_iter_id(&it, q->id);
        } else if (strcmp(k, "mailbox") == 0) {
            ok = mg_iter_str(&it, &q->mailbox);
        } else if (strcmp(k, "uidvalidity") == 0) {
            ok = mg_iter_i64(&it, &v) && v >= 0 && v <= UINT32_MAX;
            q->uidvalidity = (uint32_t)v;
        } else if (strcmp(k, "uid") == 0) {
            ok = mg_iter_i64(&it, &v) && v >= 0 && v <= UINT32_MAX;
            q->uid = (uint32_t)v;
        } else if (strcmp(k, "msg_key") == 0) {
            ok = mg_iter_str(&it, &q->msg_key);
        } else if (strcmp(k, "reason") == 0) {
            ok = mg_iter_str(&it, &q->reason);
        } else if (strcmp(k, "sender") == 0) {
            ok = mg_iter_str(&it, &q->sender);
        } else if (strcmp(k, "subject") == 0) {
            ok = mg_iter_str(&it, &q->subject);
        } else if (strcmp(k, "raw_size") == 0) {
            ok = mg_iter_i64(&it, &v) && v >= 0;
            q->raw_size = (size_t)v;
        } else if (strcmp(k, "attempts") == 0) {
            ok = mg_iter_i64(&it, &q->attempts);
        } else if (strcmp(k, "created") == 0) {
            ok = mg_iter_i64(&it, &q->created);
        } else if (strcmp(k, "updated") == 0) {
            ok = mg_iter_i64(&it, &q->updated);
        } else if (strcmp(k, "raw") == 0) {
            bson_subtype_t sub;
            uint32_t len = 0;
            const uint8_t *data = NULL;
            ok = BSON_ITER_HOLDS_BINARY(&it);
            if (ok) {
                bson_iter_binary(&it, &sub, &len, &data);
                ok = len <= STORE_QUARANTINE_MAX_RAW;
            }
            if (ok && len > 0) {
                free(q->raw);
                q->raw = td_malloc(len);
                memcpy(q->raw, data, len);
                q->raw_len = len;
            }
        }
        if (!ok)
            bad = k;
    }
    if (bad == NULL && (q->id[0] == '\0' || q->reason == NULL))
        bad = "_id or reason";
    if (bad) {
        quarantine_clear(q);
        return mg_fail_corrupt(err, "read quarantine", bad);
    }
    if (q->mailbox == NULL)
        q->mailbox = td_strdup("");
    return true;
}

bool mg_quarantine_put(struct store *st, const struct td_quarantine *q, struct td_err *err)
{
    if (q->id[0] == '\0' || q->reason == NULL)
        return td_fail(err, TD_INVALID, "a quarantine entry needs an id and a reason");
    if (q->raw_len > STORE_QUARANTINE_MAX_RAW)
        return td_fail(err, TD_INVALID, "quarantined mail is %zu bytes; at most %zu are kept",
                       q->raw_len, STORE_QUARANTINE_MAX_RAW);
    bool has_place = q->mailbox && q->mailbox[0] && q->uid != 0;
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, ins, set, inc;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", q->id) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$setOnInsert", &ins);
    if (ok) {
        ok = mg_put_str(&ins, "msg_key", q->msg_key) && mg_put_str(&ins, "sender", q->sender) &&
             mg_put_str(&ins, "subject", q->subject) &&
             BSON_APPEND_BINARY(&ins, "raw", BSON_SUBTYPE_BINARY,
                                q->raw ? q->raw : (const uint8_t *)"", (uint32_t)q->raw_len) &&
             BSON_APPEND_INT64(&ins, "raw_size",
                               (int64_t)(q->raw_size ? q->raw_size : q->raw_len)) &&
             BSON_APPEND_INT64(&ins, "created", q->created);
        if (ok && !has_place)
            ok = BSON_APPEND_UTF8(&ins, "mailbox", q->mailbox ? q->mailbox : "") &&
                 BSON_APPEND_INT64(&ins, "uidvalidity", q->uidvalidity) &&
                 BSON_APPEND_INT64(&ins, "uid", q->uid);
        ok = bson_append_document_end(&update, &ins) && ok;
    }
    if (ok && BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set)) {
        ok = mg_put_str(&set, "reason", q->reason) &&
             BSON_APPEND_INT64(&set, "updated", q->updated ? q->updated : q->created);
        if (ok && has_place)
            ok = BSON_APPEND_UTF8(&set, "mailbox", q->mailbox) &&
                 BSON_APPEND_INT64(&set, "uidvalidity", q->uidvalidity) &&
                 BSON_APPEND_INT64(&set, "uid", q->uid);
        ok = bson_append_document_end(&update, &set) && ok;
    } else {
        ok = false;
    }
    if (ok && BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc)) {
        ok = BSON_APPEND_INT64(&inc, "attempts", 1);
        ok = bson_append_document_end(&update, &inc) && ok;
    } else {
        ok = false;
    }
    if (!ok) {
        ok = mg_fail_build(err, "quarantine mail");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_QUARANTINE);
        ok = mg_update(c, &filter, &update, true, NULL, err, "quarantine mail");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

static bool list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_quarantine_list *l = ctx;
    struct td_quarantine q;
    if (!q_parse(doc, &q, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = q;
    return true;
}

bool mg_quarantine_list(struct store *st, size_t limit, struct td_quarantine_list *out,
                        struct td_err *err)
{
    if (limit == 0)
        limit = LIST_DEFAULT;
    if (limit > LIST_MAX)
        limit = LIST_MAX;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj, sort;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    if (ok) {
        ok = BSON_APPEND_INT32(&sort, "created", -1) && BSON_APPEND_INT32(&sort, "_id", -1);
        ok = bson_append_document_end(&opts, &sort) && ok;
    }
    if (ok && BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj)) {
        ok = BSON_APPEND_INT32(&proj, "raw", 0);
        ok = bson_append_document_end(&opts, &proj) && ok;
    } else {
        ok = false;
    }
    ok = ok && BSON_APPEND_INT64(&opts, "limit", (int64_t)limit);
    struct td_quarantine_list l = { NULL, 0 };
    if (!ok) {
        ok = mg_fail_build(err, "list quarantine");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_QUARANTINE);
        ok = mg_find_each(c, &filter, &opts, list_add, &l, err, "list quarantine");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&opts);
    bson_destroy(&filter);
    if (!ok) {
        quarantine_list_clear(&l);
        return false;
    }
    *out = l;
    return true;
}

bool mg_quarantine_get(struct store *st, const char *id, struct td_quarantine *out,
                       struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    if (!BSON_APPEND_UTF8(&filter, "_id", id ? id : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read quarantine");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_QUARANTINE);
    bool found = false;
    bool ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read quarantine");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    struct td_quarantine q;
    memset(&q, 0, sizeof q);
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no quarantined mail %.40s", id ? id : "");
    if (ok)
        ok = q_parse(&doc, &q, err);
    bson_destroy(&doc);
    bson_destroy(&filter);
    if (ok)
        *out = q;
    return ok;
}

bool mg_quarantine_delete(struct store *st, const char *id, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, reply;
    if (!BSON_APPEND_UTF8(&filter, "_id", id ? id : "")) {
        bson_destroy(&filter);
        return mg_fail_build(err, "delete quarantine");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_QUARANTINE);
    bson_error_t e;
    bool ok = mongoc_collection_delete_one(c, &filter, NULL, &reply, &e);
    int64_t deleted = 0;
    if (!ok) {
        mg_fail(err, &e, "delete quarantine");
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
        ok = td_fail(err, TD_NOT_FOUND, "no quarantined mail %.40s", id ? id : "");
    return ok;
}

/* store_mongo_outbox_stats.c - the outbox gauges and retention on
 * MongoDB (store.h: outbox_stats, outbox_purge).
 *
 * The count and the two "oldest due" lookups run on the
 * {state, next_attempt} index (sending rows are few); the purge takes
 * the oldest finished rows from {state, created} and deletes them by _id,
 * at most limit at a time. */
#include "store_mongo_int.h"

#include "core/mem.h"

/* The smallest value of field among rows in state whose field is below
 * (or, with or_equal, at) bound: 0 when there are none. */
static bool min_due(mongoc_collection_t *c, const char *state, const char *field, td_time bound,
                    bool or_equal, td_time *out, struct td_err *err)
{
    bson_t q = BSON_INITIALIZER, cmp, opts = BSON_INITIALIZER, sort, proj;
    bool ok = BSON_APPEND_UTF8(&q, "state", state) && BSON_APPEND_DOCUMENT_BEGIN(&q, field, &cmp) &&
              BSON_APPEND_INT64(&cmp, or_equal ? "$lte" : "$lt", bound) &&
              bson_append_document_end(&q, &cmp) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) && BSON_APPEND_INT32(&sort, field, 1) &&
              bson_append_document_end(&opts, &sort) && BSON_APPEND_INT64(&opts, "limit", 1) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, field, 1) && bson_append_document_end(&opts, &proj);
    *out = 0;
    if (!ok) {
        bson_destroy(&opts);
        bson_destroy(&q);
        return mg_fail_build(err, "outbox stats");
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, &opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    bson_iter_t it;
    if (mongoc_cursor_next(cur, &doc)) {
        int64_t v = 0;
        if (bson_iter_init_find(&it, doc, field) && mg_iter_i64(&it, &v))
            *out = v;
        else
            ok = mg_fail_corrupt(err, "outbox stats", field);
    } else if (mongoc_cursor_error(cur, &e)) {
        ok = mg_fail(err, &e, "outbox stats");
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&opts);
    bson_destroy(&q);
    return ok;
}

bool mg_outbox_stats(struct store *st, td_time now, int64_t *pending, td_time *oldest_due,
                     struct td_err *err)
{
    bson_t q = BSON_INITIALIZER;
    if (!BSON_APPEND_UTF8(&q, "state", outbox_state_name(OUTBOX_PENDING))) {
        bson_destroy(&q);
        return mg_fail_build(err, "outbox stats");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
    bson_error_t e;
    int64_t n = mongoc_collection_count_documents(c, &q, NULL, NULL, NULL, &e);
    bool ok = n >= 0 || mg_fail(err, &e, "outbox stats");
    td_time due_pending = 0, due_sending = 0;
    ok = ok &&
         min_due(c, outbox_state_name(OUTBOX_PENDING), "next_attempt", now, true, &due_pending,
                 err) &&
         min_due(c, outbox_state_name(OUTBOX_SENDING), "lease_until", now, false, &due_sending,
                 err);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&q);
    if (!ok)
        return false;
    td_time oldest = due_pending;
    if (due_sending != 0 && (oldest == 0 || due_sending < oldest))
        oldest = due_sending;
    *pending = n;
    *oldest_due = oldest;
    return true;
}

struct ids {
    bson_t arr;
    uint32_t n;
};

static bool collect_id(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct ids *ids = ctx;
    bson_iter_t it;
    char key[16];
    const char *k;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return mg_fail_corrupt(err, "purge outbox", "_id");
    size_t klen = bson_uint32_to_string(ids->n, &k, key, sizeof key);
    if (!bson_append_iter(&ids->arr, k, (int)klen, &it))
        return mg_fail_build(err, "purge outbox");
    ids->n++;
    return true;
}

bool mg_outbox_purge(struct store *st, td_time before, size_t limit, int64_t *deleted,
                     struct td_err *err)
{
    if (limit == 0)
        limit = 1000;
    bson_t q = BSON_INITIALIZER, cmp, in, opts = BSON_INITIALIZER, sort, proj;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&q, "state", &cmp) &&
              BSON_APPEND_ARRAY_BEGIN(&cmp, "$in", &in) &&
              BSON_APPEND_UTF8(&in, "0", outbox_state_name(OUTBOX_SENT)) &&
              BSON_APPEND_UTF8(&in, "1", outbox_state_name(OUTBOX_FAILED)) &&
              bson_append_array_end(&cmp, &in) && bson_append_document_end(&q, &cmp) &&
              BSON_APPEND_DOCUMENT_BEGIN(&q, "created", &cmp) &&
              BSON_APPEND_INT64(&cmp, "$lt", before) && bson_append_document_end(&q, &cmp) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "created", 1) && bson_append_document_end(&opts, &sort) &&
              BSON_APPEND_INT64(&opts, "limit", (int64_t)limit) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "_id", 1) && bson_append_document_end(&opts, &proj);
    if (!ok) {
        bson_destroy(&opts);
        bson_destroy(&q);
        return mg_fail_build(err, "purge outbox");
    }
    struct ids ids;
    bson_init(&ids.arr);
    ids.n = 0;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
    ok = mg_find_each(c, &q, &opts, collect_id, &ids, err, "purge outbox");
    int64_t n = 0;
    if (ok && ids.n > 0) {
        bson_t del = BSON_INITIALIZER, idq, reply;
        bson_error_t e;
        ok = BSON_APPEND_DOCUMENT_BEGIN(&del, "_id", &idq) && BSON_APPEND_ARRAY(&idq, "$in", &ids.arr) &&
             bson_append_document_end(&del, &idq);
        if (!ok) {
            ok = mg_fail_build(err, "purge outbox");
        } else {
            /* reply is initialised by the driver on every path. */
            ok = mongoc_collection_delete_many(c, &del, NULL, &reply, &e);
            if (!ok) {
                mg_fail(err, &e, "purge outbox");
            } else {
                bson_iter_t it;
                if (bson_iter_init_find(&it, &reply, "deletedCount"))
                    n = bson_iter_as_int64(&it);
            }
            bson_destroy(&reply);
        }
        bson_destroy(&del);
    }
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&ids.arr);
    bson_destroy(&opts);
    bson_destroy(&q);
    if (ok && deleted != NULL)
        *deleted = n;
    return ok;
}

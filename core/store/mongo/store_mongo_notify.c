/* store_mongo_notify.c - the store operations the notification planner
 * (core/notify.c) adds to the MongoDB backend.
 *
 * outbox_count_recent is a countDocuments over the outbox, narrowed by
 * the created_1 index to the last hour's rows: cheap however long the
 * outbox grows. */
#include "store_mongo_int.h"

/* {recipient, created: {$gte: since}, state: {$in: [pending, sending, sent]}} */
static bool build_recent(bson_t *q, const char *recipient, td_time since)
{
    bson_t cmp, in;
    bool ok = BSON_APPEND_UTF8(q, "recipient", recipient) &&
              BSON_APPEND_DOCUMENT_BEGIN(q, "created", &cmp);
    if (!ok)
        return false;
    ok = BSON_APPEND_INT64(&cmp, "$gte", since);
    ok = bson_append_document_end(q, &cmp) && ok;
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "state", &cmp))) {
        if ((ok = BSON_APPEND_ARRAY_BEGIN(&cmp, "$in", &in))) {
            ok = BSON_APPEND_UTF8(&in, "0", outbox_state_name(OUTBOX_PENDING)) &&
                 BSON_APPEND_UTF8(&in, "1", outbox_state_name(OUTBOX_SENDING)) &&
                 BSON_APPEND_UTF8(&in, "2", outbox_state_name(OUTBOX_SENT));
            ok = bson_append_array_end(&cmp, &in) && ok;
        }
        ok = bson_append_document_end(q, &cmp) && ok;
    }
    return ok;
}

bool mg_outbox_count_recent(struct store *st, const char *recipient, td_time since,
                            int64_t *out, struct td_err *err)
{
    if (recipient == NULL)
        return td_fail(err, TD_INVALID, "count outbox: no recipient");
    bson_t q = BSON_INITIALIZER;
    if (!build_recent(&q, recipient, since)) {
        bson_destroy(&q);
        return mg_fail_build(err, "count outbox");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
    bson_error_t e;
    int64_t n = mongoc_collection_count_documents(c, &q, NULL, NULL, NULL, &e);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&q);
    if (n < 0)
        return mg_fail(err, &e, "count outbox");
    *out = n;
    return true;
}

/* store_mongo_outbox.c - the durable outbox on MongoDB.
 *
 * Claiming is one findAndModify: the server picks the due row with the
 * oldest next_attempt and marks it sending/owner/lease in the same
 * atomic step, so two claimers (threads or processes) never get the same
 * row. A sending row whose lease ran out (its sender died) is due again;
 * attempts counts claims. Finishing is an update conditional on the
 * owner, so a sender whose lease was taken over cannot overwrite the new
 * claimer's outcome. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool outbox_doc(bson_t *d, const struct td_outbox *o)
{
    return BSON_APPEND_UTF8(d, "_id", o->id) && mg_put_str(d, "kind", o->kind) &&
           BSON_APPEND_INT64(d, "ticket", o->ticket) &&
           mg_put_str(d, "recipient", o->recipient) && mg_put_str(d, "payload", o->payload) &&
           BSON_APPEND_UTF8(d, "state", outbox_state_name(o->state)) &&
           BSON_APPEND_INT64(d, "attempts", o->attempts) &&
           BSON_APPEND_INT64(d, "next_attempt", o->next_attempt) &&
           mg_put_str(d, "owner", o->owner) && BSON_APPEND_INT64(d, "lease_until", o->lease_until) &&
           mg_put_str(d, "last_error", o->last_error) && BSON_APPEND_INT64(d, "created", o->created);
}

static bool outbox_parse(const bson_t *doc, struct td_outbox *o, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    bool have_state = false;
    int64_t attempts;

    memset(o, 0, sizeof *o);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read outbox", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_id(&it, o->id);
        else if (strcmp(k, "kind") == 0)
            ok = mg_iter_str(&it, &o->kind);
        else if (strcmp(k, "ticket") == 0)
            ok = mg_iter_i64(&it, &o->ticket);
        else if (strcmp(k, "recipient") == 0)
            ok = mg_iter_str(&it, &o->recipient);
        else if (strcmp(k, "payload") == 0)
            ok = mg_iter_str(&it, &o->payload);
        else if (strcmp(k, "state") == 0)
            ok = have_state = outbox_state_parse(mg_iter_utf8(&it), &o->state);
        else if (strcmp(k, "attempts") == 0)
            ok = mg_iter_i64(&it, &attempts) && attempts >= 0 && attempts <= INT32_MAX &&
                 (o->attempts = (int)attempts, true);
        else if (strcmp(k, "next_attempt") == 0)
            ok = mg_iter_i64(&it, &o->next_attempt);
        else if (strcmp(k, "owner") == 0)
            ok = mg_iter_str(&it, &o->owner);
        else if (strcmp(k, "lease_until") == 0)
            ok = mg_iter_i64(&it, &o->lease_until);
        else if (strcmp(k, "last_error") == 0)
            ok = mg_iter_str(&it, &o->last_error);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &o->created);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && !have_state)
        bad = "state";
    if (bad) {
        outbox_clear(o);
        return mg_fail_corrupt(err, "read outbox", bad);
    }
    return true;
}

bool mg_outbox_insert(struct store *st, const struct td_outbox *o, struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER;
    bool ok;

    if (!outbox_doc(&doc, o)) {
        ok = mg_fail_build(err, "insert outbox");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
        ok = mg_insert(c, &doc, err, "insert outbox");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&doc);
    return ok;
}

/* {$or: [{state: pending, next_attempt: {$lte: now}},
 *        {state: sending, lease_until: {$lt: now}}]} */
static bool build_due(bson_t *q, td_time now)
{
    bson_t or, alt, cmp;
    if (!BSON_APPEND_ARRAY_BEGIN(q, "$or", &or))
        return false;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt);
    if (ok) {
        ok = BSON_APPEND_UTF8(&alt, "state", outbox_state_name(OUTBOX_PENDING)) &&
             BSON_APPEND_DOCUMENT_BEGIN(&alt, "next_attempt", &cmp);
        if (ok) {
            ok = BSON_APPEND_INT64(&cmp, "$lte", now);
            ok = bson_append_document_end(&alt, &cmp) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt))) {
        ok = BSON_APPEND_UTF8(&alt, "state", outbox_state_name(OUTBOX_SENDING)) &&
             BSON_APPEND_DOCUMENT_BEGIN(&alt, "lease_until", &cmp);
        if (ok) {
            ok = BSON_APPEND_INT64(&cmp, "$lt", now);
            ok = bson_append_document_end(&alt, &cmp) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    return bson_append_array_end(q, &or) && ok;
}

static bool build_claim(bson_t *sort, bson_t *update, const char *owner, td_time now,
                        int64_t lease_ms)
{
    bson_t set, inc;
    bool ok = BSON_APPEND_INT32(sort, "next_attempt", 1) && BSON_APPEND_INT32(sort, "created", 1) &&
              BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
    if (!ok)
        return false;
    ok = BSON_APPEND_UTF8(&set, "state", outbox_state_name(OUTBOX_SENDING)) &&
         BSON_APPEND_UTF8(&set, "owner", owner) &&
         BSON_APPEND_INT64(&set, "lease_until", now + lease_ms);
    ok = bson_append_document_end(update, &set) && ok;
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(update, "$inc", &inc))) {
        ok = BSON_APPEND_INT64(&inc, "attempts", 1);
        ok = bson_append_document_end(update, &inc) && ok;
    }
    return ok;
}

bool mg_outbox_claim(struct store *st, const char *owner, td_time now, int64_t lease_ms,
                     struct td_outbox *out, struct td_err *err)
{
    bson_t q = BSON_INITIALIZER, sort = BSON_INITIALIZER, update = BSON_INITIALIZER, doc;
    bool ok, found = false;

    if (owner == NULL || *owner == '\0')
        return td_fail(err, TD_INVALID, "an outbox claim needs an owner");
    if (!build_due(&q, now) || !build_claim(&sort, &update, owner, now, lease_ms)) {
        bson_destroy(&update);
        bson_destroy(&sort);
        bson_destroy(&q);
        return mg_fail_build(err, "claim outbox");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
    ok = mg_find_modify(c, &q, &sort, &update, false, &doc, &found, err, "claim outbox");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    struct td_outbox o;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no outbox mail is due");
    if (ok && (ok = outbox_parse(&doc, &o, err)))
        *out = o;
    bson_destroy(&doc);
    bson_destroy(&update);
    bson_destroy(&sort);
    bson_destroy(&q);
    return ok;
}

bool mg_outbox_finish(struct store *st, const char *id, const char *owner,
                      enum td_outbox_state state, const char *error, td_time next_attempt,
                      struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    int64_t matched = 0;
    bool found = false;

    if (state != OUTBOX_SENT && state != OUTBOX_FAILED && state != OUTBOX_PENDING)
        return td_fail(err, TD_INVALID, "an outbox row finishes as sent, failed or pending, not %s",
                       outbox_state_name(state));
    /* The claim ends here whatever the outcome: no owner, no lease. A NULL
     * error keeps the last one recorded; next_attempt matters only for a
     * retry. */
    bool ok = BSON_APPEND_UTF8(&filter, "_id", id) &&
              BSON_APPEND_UTF8(&filter, "owner", owner ? owner : "") &&
              BSON_APPEND_UTF8(&filter, "state", outbox_state_name(OUTBOX_SENDING)) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_UTF8(&set, "state", outbox_state_name(state)) &&
             BSON_APPEND_NULL(&set, "owner") && BSON_APPEND_INT64(&set, "lease_until", 0) &&
             (error == NULL || BSON_APPEND_UTF8(&set, "last_error", error)) &&
             (state != OUTBOX_PENDING || BSON_APPEND_INT64(&set, "next_attempt", next_attempt));
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "finish outbox");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
        ok = mg_update(c, &filter, &update, false, &matched, err, "finish outbox");
        if (ok && matched == 0) {
            bson_reinit(&filter);
            if (!BSON_APPEND_UTF8(&filter, "_id", id))
                ok = mg_fail_build(err, "finish outbox");
            else if ((ok = mg_exists(c, &filter, &found, err, "finish outbox")))
                ok = found ? td_fail(err, TD_CONFLICT, "outbox row %.64s is not claimed by %.100s",
                                     id, owner ? owner : "")
                           : td_fail(err, TD_NOT_FOUND, "no outbox row %.64s", id);
        }
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

static bool outbox_list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_outbox_list *l = ctx;
    struct td_outbox o;
    if (!outbox_parse(doc, &o, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = o;
    return true;
}

bool mg_outbox_list(struct store *st, int state, size_t limit, struct td_outbox_list *out,
                    struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    struct td_outbox_list l = { NULL, 0 };
    bool ok = true;

    if (limit == 0 || limit > (size_t)INT64_MAX)
        limit = limit == 0 ? STORE_LIST_MAX : (size_t)INT64_MAX;
    if (state > OUTBOX_FAILED)
        return td_fail(err, TD_INVALID, "no outbox state %d", state);
    /* Sorted along index created_1 / state_1_created_1, which keeps rows
     * of the same millisecond in insertion order. */
    ok = (state < 0 ||
          BSON_APPEND_UTF8(&filter, "state", outbox_state_name((enum td_outbox_state)state))) &&
         mg_put_sort(&opts, "created", 1) && BSON_APPEND_INT64(&opts, "limit", (int64_t)limit);
    if (!ok) {
        mg_fail_build(err, "list outbox");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
        ok = mg_find_each(c, &filter, &opts, outbox_list_add, &l, err, "list outbox");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    if (ok)
        *out = l;
    else
        outbox_list_clear(&l);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return ok;
}

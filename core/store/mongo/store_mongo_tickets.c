/* store_mongo_tickets.c - tickets, their history and threads on MongoDB.
 *
 * A ticket is one document keyed by its number, and its history is an
 * array inside it: every write that changes a ticket pushes its events in
 * the same update, which is the only atomicity MongoDB gives without
 * transactions (store.h). The version field is the compare-and-set token
 * of ticket_update. Numbers come from a counter document bumped with
 * findAndModify, so two processes never get the same one. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

/* --- events --------------------------------------------------------------- */

bool mg_put_event(bson_t *b, const char *key, const struct td_event *e)
{
    bson_t d;

    if (!BSON_APPEND_DOCUMENT_BEGIN(b, key, &d))
        return false;
    bool ok = BSON_APPEND_UTF8(&d, "actor_id", e->actor_id) &&
              BSON_APPEND_UTF8(&d, "kind", event_kind_name(e->kind)) &&
              mg_put_str(&d, "old", e->old_value) && mg_put_str(&d, "new", e->new_value) &&
              BSON_APPEND_INT64(&d, "at", e->at);
    return bson_append_document_end(b, &d) && ok;
}

/* Element idx of an array being built. */
static bool put_event_at(bson_t *arr, uint32_t idx, const struct td_event *e)
{
    char numbuf[16];
    const char *key;
    (void)bson_uint32_to_string(idx, &key, numbuf, sizeof numbuf);
    return mg_put_event(arr, key, e);
}

/* One element of history[]; seq is its position + 1. */
static bool event_parse(const bson_iter_t *elem, int64_t ticket, int64_t seq,
                        struct td_event *e, struct td_err *err)
{
    bson_iter_t it;

    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->ticket = ticket;
    if (!BSON_ITER_HOLDS_DOCUMENT(elem) || !bson_iter_recurse(elem, &it))
        return mg_fail_corrupt(err, "read history", "history");
    bool have_kind = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "actor_id") == 0)
            ok = mg_iter_id(&it, e->actor_id);
        else if (strcmp(k, "kind") == 0)
            ok = have_kind = event_kind_parse(mg_iter_utf8(&it), &e->kind);
        else if (strcmp(k, "old") == 0)
            ok = mg_iter_str(&it, &e->old_value);
        else if (strcmp(k, "new") == 0)
            ok = mg_iter_str(&it, &e->new_value);
        else if (strcmp(k, "at") == 0)
            ok = mg_iter_i64(&it, &e->at);
        if (!ok) {
            event_clear(e);
            return mg_fail_corrupt(err, "read history", k);
        }
    }
    if (!have_kind) {
        event_clear(e);
        return mg_fail_corrupt(err, "read history", "kind");
    }
    return true;
}

/* --- ticket documents ------------------------------------------------------- */

/* The fields ticket_update may change (and insert writes too). wsub:
 * the subject's search words (store_mongo_list.c), replaced with it. */
static bool ticket_mutable_fields(bson_t *d, const struct td_ticket *t)
{
    struct strv words = STRV_INIT;
    store_text_words(t->subject, &words);
    bool ok = mg_put_strv(d, "wsub", &words);
    strv_clear(&words);
    return ok && mg_put_str(d, "subject", t->subject) &&
           BSON_APPEND_UTF8(d, "status", status_name(t->status)) &&
           BSON_APPEND_UTF8(d, "priority", priority_name(t->priority)) &&
           BSON_APPEND_UTF8(d, "assignee_id", t->assignee_id) &&
           BSON_APPEND_UTF8(d, "queue", t->queue ? t->queue : "") &&
           mg_put_strv(d, "tags", &t->tags) &&
           mg_put_strv(d, "participants", &t->participants) &&
           BSON_APPEND_INT64(d, "merged_into", t->merged_into) &&
           mg_sla_put(d, &t->sla) &&
           BSON_APPEND_INT64(d, "updated", t->updated);
}

bool mg_ticket_parse(const bson_t *doc, struct td_ticket *t, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    bool have_number = false;

    memset(t, 0, sizeof *t);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read ticket", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = have_number = mg_iter_i64(&it, &t->number);
        else if (strcmp(k, "subject") == 0)
            ok = mg_iter_str(&it, &t->subject);
        else if (strcmp(k, "status") == 0)
            ok = status_parse(mg_iter_utf8(&it), &t->status);
        else if (strcmp(k, "priority") == 0)
            ok = priority_parse(mg_iter_utf8(&it), &t->priority);
        else if (strcmp(k, "requester_id") == 0)
            ok = mg_iter_id(&it, t->requester_id);
        else if (strcmp(k, "assignee_id") == 0)
            ok = mg_iter_id(&it, t->assignee_id);
        else if (strcmp(k, "queue") == 0)
            ok = mg_iter_str(&it, &t->queue);
        else if (strcmp(k, "tags") == 0)
            ok = mg_iter_strv(&it, &t->tags);
        else if (strcmp(k, "message_ids") == 0)
            ok = mg_iter_strv(&it, &t->message_ids);
        else if (strcmp(k, "participants") == 0)
            ok = mg_iter_strv(&it, &t->participants);
        else if (strcmp(k, "merged_into") == 0)
            ok = mg_iter_i64(&it, &t->merged_into);
        else if (strcmp(k, "sla") == 0)
            ok = mg_sla_parse(&it, &t->sla);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &t->created);
        else if (strcmp(k, "updated") == 0)
            ok = mg_iter_i64(&it, &t->updated);
        else if (strcmp(k, "version") == 0)
            ok = mg_iter_i64(&it, &t->version);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && !have_number)
        bad = "_id";
    if (bad) {
        ticket_clear(t);
        return mg_fail_corrupt(err, "read ticket", bad);
    }
    if (t->subject == NULL)
        t->subject = td_strdup("");
    if (t->queue == NULL)
        t->queue = td_strdup("");
    return true;
}

static bool put_number_filter(bson_t *filter, int64_t number)
{
    return BSON_APPEND_INT64(filter, "_id", number);
}

/* --- operations ------------------------------------------------------------- */

bool mg_ticket_next_number(struct store *st, int64_t *out, struct td_err *err)
{
    bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, inc, doc;
    bool found = false, ok;

    ok = BSON_APPEND_UTF8(&query, "_id", "ticket") &&
         BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
    if (ok) {
        ok = BSON_APPEND_INT64(&inc, "n", 1);
        ok = bson_append_document_end(&update, &inc) && ok;
    }
    if (!ok) {
        bson_destroy(&update);
        bson_destroy(&query);
        return mg_fail_build(err, "next ticket number");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_COUNTERS);
    struct td_err first;
    ok = mg_find_modify(c, &query, NULL, &update, true, &doc, &found, &first,
                        "next ticket number");
    if (!ok && first.code == TD_CONFLICT) {
        /* Two first-ever upserts raced on the counter's _id: the loser's
         * retry finds the document and increments it. */
        bson_destroy(&doc);
        ok = mg_find_modify(c, &query, NULL, &update, true, &doc, &found, err,
                            "next ticket number");
    } else if (!ok && err) {
        *err = first;
    }
    mongoc_collection_destroy(c);
    mg_push(st, client);

    bson_iter_t it;
    int64_t n = 0;
    if (ok && !(found && bson_iter_init_find(&it, &doc, "n") && mg_iter_i64(&it, &n) && n > 0))
        ok = mg_fail_corrupt(err, "next ticket number", "n");
    if (ok)
        *out = n;
    bson_destroy(&doc);
    bson_destroy(&update);
    bson_destroy(&query);
    return ok;
}

bool mg_ticket_insert(struct store *st, const struct td_ticket *t, const struct td_event *created,
                      struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER, hist;
    bool ok;

    if (t->version != 1)
        return td_fail(err, TD_INVALID, "a new ticket has version 1, not %lld",
                       (long long)t->version);
    ok = put_number_filter(&doc, t->number) && ticket_mutable_fields(&doc, t) &&
         BSON_APPEND_UTF8(&doc, "requester_id", t->requester_id) &&
         /* absent while empty: the unique index on it is sparse */
         (t->message_ids.n == 0 || mg_put_strv(&doc, "message_ids", &t->message_ids)) &&
         BSON_APPEND_INT64(&doc, "created", t->created) &&
         BSON_APPEND_INT64(&doc, "version", t->version) &&
         BSON_APPEND_ARRAY_BEGIN(&doc, "history", &hist);
    if (ok) {
        ok = put_event_at(&hist, 0, created);
        ok = bson_append_array_end(&doc, &hist) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "insert ticket");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
        ok = mg_insert(c, &doc, err, "insert ticket");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&doc);
    return ok;
}

/* {$set: {...mutable fields, version}, $push: {history: {$each: events}}} */
static bool build_update(bson_t *update, const struct td_ticket *t, int64_t version,
                         const struct td_event *events, size_t n)
{
    bson_t set, push, each_doc, each;

    if (!BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set))
        return false;
    bool ok = ticket_mutable_fields(&set, t) && BSON_APPEND_INT64(&set, "version", version);
    ok = bson_append_document_end(update, &set) && ok;
    if (!ok || n == 0)
        return ok;
    if (n > UINT32_MAX || !BSON_APPEND_DOCUMENT_BEGIN(update, "$push", &push))
        return false;
    if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&push, "history", &each_doc))) {
        if ((ok = BSON_APPEND_ARRAY_BEGIN(&each_doc, "$each", &each))) {
            for (size_t i = 0; ok && i < n; i++)
                ok = put_event_at(&each, (uint32_t)i, &events[i]);
            ok = bson_append_array_end(&each_doc, &each) && ok;
        }
        ok = bson_append_document_end(&push, &each_doc) && ok;
    }
    return bson_append_document_end(update, &push) && ok;
}

bool mg_ticket_update(struct store *st, const struct td_ticket *t, int64_t expected_version,
                      const struct td_event *events, size_t n, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER;
    int64_t matched = 0;
    bool ok, found = false;

    ok = put_number_filter(&filter, t->number) &&
         BSON_APPEND_INT64(&filter, "version", expected_version) &&
         build_update(&update, t, expected_version + 1, events, n);
    if (!ok) {
        bson_destroy(&update);
        bson_destroy(&filter);
        return mg_fail_build(err, "update ticket");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    ok = mg_update(c, &filter, &update, false, &matched, err, "update ticket");
    if (ok && matched == 0) {
        /* Told apart only after the fact: the update itself is the CAS. */
        bson_reinit(&filter);
        if (!put_number_filter(&filter, t->number))
            ok = mg_fail_build(err, "update ticket");
        else if ((ok = mg_exists(c, &filter, &found, err, "update ticket")))
            ok = found ? td_fail(err, TD_STALE, "ticket #%lld changed meanwhile",
                                 (long long)t->number)
                       : td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)t->number);
    }
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

bool mg_ticket_get(struct store *st, int64_t number, struct td_ticket *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!put_number_filter(&filter, number) || !BSON_APPEND_INT32(&proj, "history", 0) ||
        !mg_put_ticket_omit(&proj)) {
        bson_destroy(&proj);
        bson_destroy(&filter);
        return mg_fail_build(err, "read ticket");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    ok = mg_find_one(c, &filter, &proj, &doc, &found, err, "read ticket");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    struct td_ticket t;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
    if (ok && (ok = mg_ticket_parse(&doc, &t, err)))
        *out = t;
    bson_destroy(&doc);
    bson_destroy(&proj);
    bson_destroy(&filter);
    return ok;
}

bool mg_ticket_add_msgid(struct store *st, int64_t number, const char *msgid,
                         struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, add;
    int64_t matched = 0;
    bool ok = put_number_filter(&filter, number) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$addToSet", &add);
    if (ok) {
        ok = BSON_APPEND_UTF8(&add, "message_ids", msgid);
        ok = bson_append_document_end(&update, &add) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "add Message-ID");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
        struct td_err e;
        ok = mg_update(c, &filter, &update, false, &matched, &e, "add Message-ID");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (!ok && e.code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "Message-ID %.100s belongs to another ticket", msgid);
        else if (!ok && err)
            *err = e;
        else if (matched == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

bool mg_ticket_thread_ids(struct store *st, int64_t number, size_t max, struct strv *out,
                          struct td_err *err)
{
    if (max == 0)
        return td_fail(err, TD_INVALID, "ticket_thread_ids: max must be at least 1");
    bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, doc;
    bool found = false, ok;
    if (!put_number_filter(&filter, number) || !BSON_APPEND_INT32(&proj, "message_ids", 1)) {
        bson_destroy(&proj);
        bson_destroy(&filter);
        return mg_fail_build(err, "read thread");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    ok = mg_find_one(c, &filter, &proj, &doc, &found, err, "read thread");
    mongoc_collection_destroy(c);
    mg_push(st, client);
    /* The array is in the order $addToSet appended: keep its first and
     * its last max - 1, as the SQLite store reads them. */
    struct strv all = STRV_INIT;
    bson_iter_t it;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)number);
    else if (ok && bson_iter_init_find(&it, &doc, "message_ids") && !mg_iter_strv(&it, &all))
        ok = mg_fail_corrupt(err, "read thread", "message_ids");
    if (ok) {
        size_t from = all.n > max ? all.n - (max - 1) : 1;
        if (all.n > 0)
            strv_push(out, all.v[0]);
        for (size_t i = from; i < all.n; i++)
            strv_push(out, all.v[i]);
    }
    strv_clear(&all);
    bson_destroy(&doc);
    bson_destroy(&proj);
    bson_destroy(&filter);
    return ok;
}

bool mg_ticket_find_by_msgid(struct store *st, const char *msgid, int64_t *number,
                             struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, "message_ids", msgid) || !BSON_APPEND_INT32(&proj, "_id", 1)) {
        bson_destroy(&proj);
        bson_destroy(&filter);
        return mg_fail_build(err, "find ticket by Message-ID");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    ok = mg_find_one(c, &filter, &proj, &doc, &found, err, "find ticket by Message-ID");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    bson_iter_t it;
    int64_t n = 0;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no ticket has Message-ID %.100s", msgid);
    else if (ok && !(bson_iter_init_find(&it, &doc, "_id") && mg_iter_i64(&it, &n)))
        ok = mg_fail_corrupt(err, "find ticket by Message-ID", "_id");
    if (ok)
        *number = n;
    bson_destroy(&doc);
    bson_destroy(&proj);
    bson_destroy(&filter);
    return ok;
}

bool mg_history_list(struct store *st, int64_t ticket, struct td_event_list *out,
                     struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!put_number_filter(&filter, ticket) || !BSON_APPEND_INT32(&proj, "history", 1)) {
        bson_destroy(&proj);
        bson_destroy(&filter);
        return mg_fail_build(err, "read history");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_TICKETS);
    ok = mg_find_one(c, &filter, &proj, &doc, &found, err, "read history");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    struct td_event_list l = { NULL, 0 };
    bson_iter_t it, arr;
    /* No ticket, no history: an empty list, like comment_list. */
    if (ok && found && bson_iter_init_find(&it, &doc, "history")) {
        if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
            ok = mg_fail_corrupt(err, "read history", "history");
        while (ok && bson_iter_next(&arr)) {
            struct td_event e;
            if (!(ok = event_parse(&arr, ticket, (int64_t)l.n + 1, &e, err)))
                break;
            l.v = td_realloc(l.v, (l.n + 1) * sizeof *l.v);
            l.v[l.n++] = e;
        }
    }
    if (ok)
        *out = l;
    else
        event_list_clear(&l);
    bson_destroy(&doc);
    bson_destroy(&proj);
    bson_destroy(&filter);
    return ok;
}

/* Comments are documents of their own keyed by id with a ticket field:
 * one update_many re-points them. Each document's update is atomic; a
 * crash in the middle leaves some moved and some not, and the next call
 * moves the rest (store.h comment_move: resumable). */
bool mg_comment_move(struct store *st, int64_t from, int64_t to, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_INT64(&filter, "ticket", from) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_INT64(&set, "ticket", to);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "move comments");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_COMMENTS);
        bson_error_t e;
        ok = mongoc_collection_update_many(c, &filter, &update, NULL, NULL, &e);
        if (!ok)
            mg_fail(err, &e, "move comments");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    /* The search words follow the comments (a repeat mends them too). */
    return ok && mg_words_refresh(st, from, err) && mg_words_refresh(st, to, err);
}

/* store_mongo_list.c - ticket_list on MongoDB: filters, text search and
 * cursor pagination by ticket number, each answered by an index.
 *
 * Every filter is an equality (or a range on updated) on the tickets
 * collection; store_mongo.c creates an index per filter of the form
 * {field: 1, _id: -1}, so "field = x, _id < cursor, sort _id, limit n"
 * reads n index entries whatever the collection's size.
 *
 * Text search (store.h, td_ticket_filter.text) without $text: every
 * ticket document keeps its search words (store_text_words) in three
 * multikey fields - wsub (the subject's, replaced with it), wpub (public
 * comments') and wint (internal notes'), the latter two grown with
 * $addToSet by comment_insert in the same single-document update. A
 * query word w is a prefix, {field: /^w/}: an anchored, case-sensitive
 * regex over lower-cased words is an index range scan. A ticket matches
 * when for every word one of its fields (wint only with text_internal)
 * has it. The words hold only [a-z0-9] and non-ASCII bytes, so they
 * need no regex escaping. mg_words_backfill fills the fields of tickets
 * written before they existed.
 *
 * The web console's order, last updated first (by_updated), sorts
 * {updated: -1, _id: -1} with the keyset cursor (updated, _id) as
 * {$or: [{updated < U}, {updated: U, _id < N}]}; store_mongo.c has
 * {updated, _id} indexes for it alone and after each console filter. A
 * customer's own list "or participant" is {$or: [{requester_id: X},
 * {participants: X}]}, each branch an index of its own. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

/* {$or: [{wsub: /^w/}, {wpub: /^w/}(, {wint: /^w/})]} for one word. */
static bool put_word(bson_t *and, const char *key, const char *word, bool internal)
{
    static const char *const fields[] = { "wsub", "wpub", "wint" };
    bson_t clause, or, alt;
    char re[1024];
    int n = snprintf(re, sizeof re, "^%s", word);
    if (n < 0 || (size_t)n >= sizeof re)
        return false; /* a 1000-byte word: refused as a bad build */
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(and, key, &clause);
    if (!ok)
        return false;
    if ((ok = BSON_APPEND_ARRAY_BEGIN(&clause, "$or", &or))) {
        for (size_t i = 0; ok && i < (internal ? 3u : 2u); i++) {
            char k[4];
            snprintf(k, sizeof k, "%zu", i);
            if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&or, k, &alt))) {
                ok = BSON_APPEND_REGEX(&alt, fields[i], re, "");
                ok = bson_append_document_end(&or, &alt) && ok;
            }
        }
        ok = bson_append_array_end(&clause, &or) && ok;
    }
    return bson_append_document_end(and, &clause) && ok;
}

/* {$or: [{requester_id: X}, {participants: X}]} as element key of an $and. */
static bool put_or_participant(bson_t *and, const char *key, const char *user_id)
{
    bson_t wrap, or, alt;
    return BSON_APPEND_DOCUMENT_BEGIN(and, key, &wrap) && BSON_APPEND_ARRAY_BEGIN(&wrap, "$or", &or) &&
           BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt) &&
           BSON_APPEND_UTF8(&alt, "requester_id", user_id) && bson_append_document_end(&or, &alt) &&
           BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt) &&
           BSON_APPEND_UTF8(&alt, "participants", user_id) && bson_append_document_end(&or, &alt) &&
           bson_append_array_end(&wrap, &or) && bson_append_document_end(and, &wrap);
}

/* by_updated's cursor: {$or: [{updated < U}, {updated: U, _id < N}]}. */
static bool put_updated_cursor(bson_t *q, const struct td_ticket_filter *f)
{
    bson_t or, alt, range;
    bool ok = BSON_APPEND_ARRAY_BEGIN(q, "$or", &or);
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&alt, "updated", &range))) {
            ok = BSON_APPEND_INT64(&range, "$lt", f->after_updated);
            ok = bson_append_document_end(&alt, &range) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt))) {
        ok = BSON_APPEND_INT64(&alt, "updated", f->after_updated);
        if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&alt, "_id", &range))) {
            ok = BSON_APPEND_INT64(&range, "$lt", f->after != 0 ? f->after : INT64_MAX);
            ok = bson_append_document_end(&alt, &range) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    return ok && bson_append_array_end(q, &or);
}

/* A restricted agent's view: {$or: [{assignee_id: U}, {queue: {$in: keys}}]}. */
static bool put_in_groups(bson_t *and, const char *key, const char *user_id,
                          const struct strv *keys)
{
    bson_t wrap, or, alt, in;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(and, key, &wrap) &&
              BSON_APPEND_ARRAY_BEGIN(&wrap, "$or", &or) &&
              BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt) &&
              BSON_APPEND_UTF8(&alt, "assignee_id", user_id) &&
              bson_append_document_end(&or, &alt) && BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt) &&
              BSON_APPEND_DOCUMENT_BEGIN(&alt, "queue", &in) && mg_put_strv(&in, "$in", keys) &&
              bson_append_document_end(&alt, &in) && bson_append_document_end(&or, &alt);
    return ok && bson_append_array_end(&wrap, &or) && bson_append_document_end(and, &wrap);
}

static bool put_filter(bson_t *q, const struct td_ticket_filter *f, const struct strv *words,
                       const struct strv *group_keys)
{
    bson_t range, and;
    bool ok = true;
    bool participant = f->requester_id != NULL && f->or_participant;

    if (f->by_status)
        ok = ok && BSON_APPEND_UTF8(q, "status", status_name(f->status));
    if (f->by_priority)
        ok = ok && BSON_APPEND_UTF8(q, "priority", priority_name(f->priority));
    if (f->assignee_id)
        ok = ok && BSON_APPEND_UTF8(q, "assignee_id", f->assignee_id);
    if (f->requester_id && !participant)
        ok = ok && BSON_APPEND_UTF8(q, "requester_id", f->requester_id);
    if (f->tag)
        ok = ok && BSON_APPEND_UTF8(q, "tags", f->tag); /* matches an element */
    if (f->queue)
        ok = ok && BSON_APPEND_UTF8(q, "queue", f->queue);
    if (ok && f->updated_since != 0 && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "updated", &range))) {
        ok = BSON_APPEND_INT64(&range, "$gte", f->updated_since);
        ok = bson_append_document_end(q, &range) && ok;
    }
    /* SLAs (store_mongo_sla.c): the sla.next_due_1 index. */
    if (ok && f->due_before != 0 && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "sla.next_due", &range))) {
        ok = BSON_APPEND_INT64(&range, "$gt", 0) && BSON_APPEND_INT64(&range, "$lt", f->due_before);
        ok = bson_append_document_end(q, &range) && ok;
    }
    if (ok && f->escalation_due != 0 &&
        (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "sla.next_escalation", &range))) {
        ok = BSON_APPEND_INT64(&range, "$gt", 0) &&
             BSON_APPEND_INT64(&range, "$lte", f->escalation_due);
        ok = bson_append_document_end(q, &range) && ok;
    }
    if (ok && f->by_updated && f->after_updated != 0)
        ok = put_updated_cursor(q, f);
    if (ok && !f->by_updated && f->after != 0 && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "_id", &range))) {
        ok = BSON_APPEND_INT64(&range, f->ascending ? "$gt" : "$lt", f->after);
        ok = bson_append_document_end(q, &range) && ok;
    }
    /* One $and for the participant clause and the words (each an $or). */
    bool scoped = f->in_groups_of != NULL;
    if (ok && (participant || scoped || words->n > 0) &&
        (ok = BSON_APPEND_ARRAY_BEGIN(q, "$and", &and))) {
        size_t at = 0;
        char k[24];
        if (participant) {
            snprintf(k, sizeof k, "%zu", at++);
            ok = put_or_participant(&and, k, f->requester_id);
        }
        if (ok && scoped) {
            snprintf(k, sizeof k, "%zu", at++);
            ok = put_in_groups(&and, k, f->in_groups_of, group_keys);
        }
        for (size_t i = 0; ok && i < words->n; i++) {
            snprintf(k, sizeof k, "%zu", at++);
            ok = put_word(&and, k, words->v[i], f->text_internal);
        }
        ok = bson_append_array_end(q, &and) && ok;
    }
    return ok;
}

bool mg_put_ticket_omit(bson_t *proj)
{
    return BSON_APPEND_INT32(proj, "wsub", 0) && BSON_APPEND_INT32(proj, "wpub", 0) &&
           BSON_APPEND_INT32(proj, "wint", 0) && BSON_APPEND_INT32(proj, "message_ids", 0);
}

static bool build_opts(bson_t *opts, const struct td_ticket_filter *f, size_t limit)
{
    bson_t proj, sort;
    bool ok;
    if (f->by_updated) {
        ok = BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
        if (ok) {
            ok = BSON_APPEND_INT32(&sort, "updated", -1) && BSON_APPEND_INT32(&sort, "_id", -1);
            ok = bson_append_document_end(opts, &sort) && ok;
        }
    } else {
        ok = mg_put_sort(opts, "_id", f->ascending ? 1 : -1);
    }
    ok = ok && BSON_APPEND_INT64(opts, "limit", (int64_t)limit) &&
              BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &proj);
    if (ok) {
        ok = BSON_APPEND_INT32(&proj, "history", 0) && mg_put_ticket_omit(&proj);
        ok = bson_append_document_end(opts, &proj) && ok;
    }
    return ok;
}

static bool ticket_list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_ticket_list *l = ctx;
    struct td_ticket t;
    if (!mg_ticket_parse(doc, &t, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = t;
    return true;
}

bool mg_ticket_list(struct store *st, const struct td_ticket_filter *f,
                    struct td_ticket_list *out, struct td_err *err)
{
    static const struct td_ticket_filter all;
    if (f == NULL)
        f = &all;
    if (f->by_updated && f->text != NULL)
        return td_fail(err, TD_INVALID, "text search cannot be ordered by update time");
    if (f->text && !bson_utf8_validate(f->text, strlen(f->text), false))
        return td_fail(err, TD_INVALID, "search text is not valid UTF-8");
    struct strv words = STRV_INIT;
    store_text_words(f->text, &words);
    if (words.n > STORE_TEXT_MAX_WORDS) {
        strv_clear(&words);
        return td_fail(err, TD_INVALID, "search text has more than %d words",
                       STORE_TEXT_MAX_WORDS);
    }
    size_t want = f->limit == 0 ? STORE_LIST_DEFAULT
                : f->limit > STORE_LIST_MAX ? STORE_LIST_MAX : f->limit;
    /* A restricted agent's groups first: one indexed read (members_1). */
    struct strv keys = STRV_INIT;
    if (f->in_groups_of != NULL && !mg_group_keys_of(st, f->in_groups_of, &keys, err)) {
        strv_clear(&words);
        return false;
    }
    struct td_ticket_list l = { NULL, 0 };
    bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bool ok = put_filter(&q, f, &words, &keys) && build_opts(&opts, f, want);
    strv_clear(&words);
    strv_clear(&keys);
    if (!ok) {
        ok = mg_fail_build(err, "list tickets");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *tickets = mg_coll(st, client, MG_TICKETS);
        ok = mg_find_each(tickets, &q, &opts, ticket_list_add, &l, err, "list tickets");
        mongoc_collection_destroy(tickets);
        mg_push(st, client);
    }
    bson_destroy(&opts);
    bson_destroy(&q);
    if (ok)
        *out = l;
    else
        ticket_list_clear(&l);
    return ok;
}

/* ---- filling the word fields of older tickets --------------------------- */

struct words_acc {
    struct strv pub, in;
};

static bool comment_words(const bson_t *doc, void *ctx, struct td_err *err)
{
    (void)err;
    struct words_acc *w = ctx;
    bson_iter_t it;
    bool internal = bson_iter_init_find(&it, doc, "internal") && bson_iter_as_bool(&it);
    if (bson_iter_init_find(&it, doc, "body") && BSON_ITER_HOLDS_UTF8(&it))
        store_text_words(bson_iter_utf8(&it, NULL), internal ? &w->in : &w->pub);
    return true;
}

struct backfill {
    mongoc_collection_t *tickets, *comments;
};

static bool backfill_one(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct backfill *b = ctx;
    bson_iter_t it;
    int64_t number;
    if (!bson_iter_init_find(&it, doc, "_id") || !mg_iter_i64(&it, &number))
        return mg_fail_corrupt(err, "index ticket words", "_id");
    struct strv sub = STRV_INIT;
    if (bson_iter_init_find(&it, doc, "subject") && BSON_ITER_HOLDS_UTF8(&it))
        store_text_words(bson_iter_utf8(&it, NULL), &sub);
    struct words_acc w = { STRV_INIT, STRV_INIT };
    bson_t cq = BSON_INITIALIZER, filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_INT64(&cq, "ticket", number) && BSON_APPEND_INT64(&filter, "_id", number);
    ok = ok && mg_find_each(b->comments, &cq, NULL, comment_words, &w, err, "index ticket words");
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set))) {
        ok = mg_put_strv(&set, "wsub", &sub) && mg_put_strv(&set, "wpub", &w.pub) &&
             mg_put_strv(&set, "wint", &w.in);
        ok = bson_append_document_end(&update, &set) && ok;
        if (ok)
            ok = mg_update(b->tickets, &filter, &update, false, NULL, err, "index ticket words");
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    bson_destroy(&cq);
    strv_clear(&sub);
    strv_clear(&w.pub);
    strv_clear(&w.in);
    return ok;
}

bool mg_words_backfill(struct store *st, struct td_err *err)
{
    bson_t q = BSON_INITIALIZER, exists, opts = BSON_INITIALIZER, proj;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&q, "wsub", &exists) &&
              BSON_APPEND_BOOL(&exists, "$exists", false) &&
              bson_append_document_end(&q, &exists) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "subject", 1) && bson_append_document_end(&opts, &proj);
    if (!ok) {
        bson_destroy(&opts);
        bson_destroy(&q);
        return mg_fail_build(err, "index ticket words");
    }
    mongoc_client_t *client = mg_pop(st);
    struct backfill b = { mg_coll(st, client, MG_TICKETS), mg_coll(st, client, MG_COMMENTS) };
    ok = mg_find_each(b.tickets, &q, &opts, backfill_one, &b, err, "index ticket words");
    mongoc_collection_destroy(b.comments);
    mongoc_collection_destroy(b.tickets);
    mg_push(st, client);
    bson_destroy(&opts);
    bson_destroy(&q);
    return ok;
}

/* A ticket's word fields from its subject and comments as they are now:
 * after comments moved to or from it (a merge) or were rewritten (an
 * erasure), which $addToSet alone cannot take words out of. */
bool mg_words_refresh(struct store *st, int64_t number, struct td_err *err)
{
    bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
    bool ok = BSON_APPEND_INT64(&q, "_id", number) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "subject", 1) && bson_append_document_end(&opts, &proj);
    if (!ok) {
        bson_destroy(&opts);
        bson_destroy(&q);
        return mg_fail_build(err, "index ticket words");
    }
    mongoc_client_t *client = mg_pop(st);
    struct backfill b = { mg_coll(st, client, MG_TICKETS), mg_coll(st, client, MG_COMMENTS) };
    ok = mg_find_each(b.tickets, &q, &opts, backfill_one, &b, err, "index ticket words");
    mongoc_collection_destroy(b.comments);
    mongoc_collection_destroy(b.tickets);
    mg_push(st, client);
    bson_destroy(&opts);
    bson_destroy(&q);
    return ok;
}

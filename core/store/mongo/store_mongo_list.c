/* store_mongo_list.c - ticket_list on MongoDB: filters, text search and
 * cursor pagination by ticket number.
 *
 * Text search is a case-insensitive literal substring (an escaped regex)
 * of the subject OR of a comment body. Comments are their own collection
 * and there are no joins we may rely on, so the matching comments are
 * reduced to their distinct ticket numbers first (a small aggregation),
 * and the ticket query gets {$or: [subject matches, _id in those]}.
 *
 * That set is bounded (MG_TEXT_BATCH numbers, taken in list order after
 * the cursor). When the bound is hit, the ticket query is limited to
 * numbers up to the last one collected, where the set is known to be
 * complete; if the page is not full yet, the next round continues from
 * there. So a page is always exact, however many comments match. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

#ifndef MG_TEXT_BATCH
#define MG_TEXT_BATCH 1000
#endif

struct numbers {
    int64_t *v;
    size_t n;
};

static bool numbers_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct numbers *nums = ctx;
    bson_iter_t it;
    int64_t n;
    if (!bson_iter_init_find(&it, doc, "_id") || !mg_iter_i64(&it, &n))
        return mg_fail_corrupt(err, "search comments", "ticket");
    nums->v = td_realloc(nums->v, (nums->n + 1) * sizeof *nums->v);
    nums->v[nums->n++] = n;
    return true;
}

/* {$gt|$lt: cursor} by direction; nothing when there is no cursor. */
static bool put_after(bson_t *range, bool asc, bool have_cursor, int64_t cursor)
{
    return !have_cursor || BSON_APPEND_INT64(range, asc ? "$gt" : "$lt", cursor);
}

/* [{$match}, {$group by ticket}, {$sort}, {$limit}] over comments. */
static bool build_comment_pipeline(bson_t *cmd, const struct td_ticket_filter *f, bool asc,
                                   bool have_cursor, int64_t cursor)
{
    bson_t pipe, stage, match, range, group, sort;
    bool ok = BSON_APPEND_ARRAY_BEGIN(cmd, "pipeline", &pipe);
    if (!ok)
        return false;

    if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&pipe, "0", &stage))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &match))) {
            ok = mg_put_icontains(&match, "body", f->text) &&
                 (f->text_internal || BSON_APPEND_BOOL(&match, "internal", false));
            if (ok && have_cursor && (ok = BSON_APPEND_DOCUMENT_BEGIN(&match, "ticket", &range))) {
                ok = put_after(&range, asc, have_cursor, cursor);
                ok = bson_append_document_end(&match, &range) && ok;
            }
            ok = bson_append_document_end(&stage, &match) && ok;
        }
        ok = bson_append_document_end(&pipe, &stage) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &stage))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&stage, "$group", &group))) {
            ok = BSON_APPEND_UTF8(&group, "_id", "$ticket");
            ok = bson_append_document_end(&stage, &group) && ok;
        }
        ok = bson_append_document_end(&pipe, &stage) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&pipe, "2", &stage))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&stage, "$sort", &sort))) {
            ok = BSON_APPEND_INT32(&sort, "_id", asc ? 1 : -1);
            ok = bson_append_document_end(&stage, &sort) && ok;
        }
        ok = bson_append_document_end(&pipe, &stage) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&pipe, "3", &stage))) {
        ok = BSON_APPEND_INT64(&stage, "$limit", MG_TEXT_BATCH);
        ok = bson_append_document_end(&pipe, &stage) && ok;
    }
    return bson_append_array_end(cmd, &pipe) && ok;
}

/* The first MG_TEXT_BATCH distinct tickets (after the cursor, in list
 * order) with a comment whose body matches f->text. */
static bool comment_tickets(mongoc_collection_t *comments, const struct td_ticket_filter *f,
                            bool asc, bool have_cursor, int64_t cursor, struct numbers *out,
                            struct td_err *err)
{
    bson_t cmd = BSON_INITIALIZER;
    if (!build_comment_pipeline(&cmd, f, asc, have_cursor, cursor)) {
        bson_destroy(&cmd);
        return mg_fail_build(err, "search comments");
    }
    mongoc_cursor_t *cur = mongoc_collection_aggregate(comments, MONGOC_QUERY_NONE, &cmd, NULL,
                                                       NULL);
    bson_destroy(&cmd);
    return mg_cursor_each(cur, numbers_add, out, err, "search comments");
}

/* Everything of f except the text and the number range. */
static bool put_filter_fields(bson_t *q, const struct td_ticket_filter *f)
{
    bson_t range;
    bool ok = true;

    if (f->by_status)
        ok = ok && BSON_APPEND_UTF8(q, "status", status_name(f->status));
    if (f->by_priority)
        ok = ok && BSON_APPEND_UTF8(q, "priority", priority_name(f->priority));
    if (f->assignee_id)
        ok = ok && BSON_APPEND_UTF8(q, "assignee_id", f->assignee_id);
    if (f->requester_id && !f->or_participant)
        ok = ok && BSON_APPEND_UTF8(q, "requester_id", f->requester_id);
    if (f->requester_id && f->or_participant && ok) {
        /* {$and: [{$or: [{requester_id: X}, {participants: X}]}]}: in an
         * $and, so it does not clash with the text search's $or. */
        bson_t and, wrap, or, alt;
        ok = BSON_APPEND_ARRAY_BEGIN(q, "$and", &and) && BSON_APPEND_DOCUMENT_BEGIN(&and, "0", &wrap) &&
             BSON_APPEND_ARRAY_BEGIN(&wrap, "$or", &or) && BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt) &&
             BSON_APPEND_UTF8(&alt, "requester_id", f->requester_id) &&
             bson_append_document_end(&or, &alt) && BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt) &&
             BSON_APPEND_UTF8(&alt, "participants", f->requester_id) &&
             bson_append_document_end(&or, &alt) && bson_append_array_end(&wrap, &or) &&
             bson_append_document_end(&and, &wrap) && bson_append_array_end(q, &and);
    }
    if (f->tag)
        ok = ok && BSON_APPEND_UTF8(q, "tags", f->tag); /* matches an element */
    if (f->queue)
        ok = ok && BSON_APPEND_UTF8(q, "queue", f->queue);
    if (ok && f->updated_since != 0 && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "updated", &range))) {
        ok = BSON_APPEND_INT64(&range, "$gte", f->updated_since);
        ok = bson_append_document_end(q, &range) && ok;
    }
    return ok;
}

/* {$or: [{subject: ~text}, {_id: {$in: nums}}]} */
static bool put_text(bson_t *q, const struct td_ticket_filter *f, const struct numbers *nums)
{
    bson_t or, alt, in, arr;
    char numbuf[16];
    const char *key;

    if (!BSON_APPEND_ARRAY_BEGIN(q, "$or", &or))
        return false;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt);
    if (ok) {
        ok = mg_put_icontains(&alt, "subject", f->text);
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    if (ok && nums->n > 0 && (ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &alt))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&alt, "_id", &in))) {
            if ((ok = BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr))) {
                for (size_t i = 0; ok && i < nums->n; i++) {
                    size_t klen = bson_uint32_to_string((uint32_t)i, &key, numbuf, sizeof numbuf);
                    ok = bson_append_int64(&arr, key, (int)klen, nums->v[i]);
                }
                ok = bson_append_array_end(&in, &arr) && ok;
            }
            ok = bson_append_document_end(&alt, &in) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    return bson_append_array_end(q, &or) && ok;
}

/* The ticket query of one round: numbers after the cursor and, when the
 * comment set was cut off, up to its last number. */
static bool build_query(bson_t *q, const struct td_ticket_filter *f, bool asc, bool have_cursor,
                        int64_t cursor, const struct numbers *nums, bool bounded)
{
    bson_t range;
    bool ok = put_filter_fields(q, f);
    if (ok && (have_cursor || bounded) && (ok = BSON_APPEND_DOCUMENT_BEGIN(q, "_id", &range))) {
        ok = put_after(&range, asc, have_cursor, cursor) &&
             (!bounded || BSON_APPEND_INT64(&range, asc ? "$lte" : "$gte", nums->v[nums->n - 1]));
        ok = bson_append_document_end(q, &range) && ok;
    }
    if (ok && f->text)
        ok = put_text(q, f, nums);
    return ok;
}

static bool build_opts(bson_t *opts, bool asc, size_t limit)
{
    bson_t proj;
    bool ok = mg_put_sort(opts, "_id", asc ? 1 : -1) &&
              BSON_APPEND_INT64(opts, "limit", (int64_t)limit) &&
              BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &proj);
    if (ok) {
        ok = BSON_APPEND_INT32(&proj, "history", 0);
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

/* by_updated: {filters, $or: [{updated < U}, {updated: U, _id < N}]},
 * sorted {updated: -1, _id: -1}. No text (store.h). */
static bool build_updated(bson_t *q, bson_t *opts, const struct td_ticket_filter *f, size_t limit)
{
    bson_t or, alt, range, sort, proj;
    bool ok = put_filter_fields(q, f);
    if (ok && f->after_updated != 0 && (ok = BSON_APPEND_ARRAY_BEGIN(q, "$or", &or))) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &alt))) {
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
        ok = bson_append_array_end(q, &or) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort))) {
        ok = BSON_APPEND_INT32(&sort, "updated", -1) && BSON_APPEND_INT32(&sort, "_id", -1);
        ok = bson_append_document_end(opts, &sort) && ok;
    }
    ok = ok && BSON_APPEND_INT64(opts, "limit", (int64_t)limit);
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &proj))) {
        ok = BSON_APPEND_INT32(&proj, "history", 0);
        ok = bson_append_document_end(opts, &proj) && ok;
    }
    return ok;
}

static bool list_by_updated(struct store *st, const struct td_ticket_filter *f, size_t want,
                            struct td_ticket_list *out, struct td_err *err)
{
    if (f->text)
        return td_fail(err, TD_INVALID, "text search cannot be ordered by update time");
    struct td_ticket_list l = { NULL, 0 };
    bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *tickets = mg_coll(st, client, MG_TICKETS);
    bool ok = build_updated(&q, &opts, f, want);
    if (!ok)
        ok = mg_fail_build(err, "list tickets");
    else
        ok = mg_find_each(tickets, &q, &opts, ticket_list_add, &l, err, "list tickets");
    bson_destroy(&opts);
    bson_destroy(&q);
    mongoc_collection_destroy(tickets);
    mg_push(st, client);
    if (ok)
        *out = l;
    else
        ticket_list_clear(&l);
    return ok;
}

bool mg_ticket_list(struct store *st, const struct td_ticket_filter *f,
                    struct td_ticket_list *out, struct td_err *err)
{
    struct td_ticket_filter copy = { 0 };
    struct td_ticket_list l = { NULL, 0 };
    bool ok = true;

    if (f != NULL)
        copy = *f;
    if (copy.text && *copy.text == '\0')
        copy.text = NULL; /* matches everything: no need to search */
    if (copy.text && !bson_utf8_validate(copy.text, strlen(copy.text), false))
        return td_fail(err, TD_INVALID, "search text is not valid UTF-8");
    f = &copy;
    size_t want = f->limit == 0 ? STORE_LIST_DEFAULT
                : f->limit > STORE_LIST_MAX ? STORE_LIST_MAX : f->limit;
    if (f->by_updated)
        return list_by_updated(st, f, want, out, err);
    bool asc = f->ascending, have_cursor = f->after != 0;
    int64_t cursor = f->after;

    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *tickets = mg_coll(st, client, MG_TICKETS);
    mongoc_collection_t *comments = mg_coll(st, client, MG_COMMENTS);
    while (ok) {
        struct numbers nums = { NULL, 0 };
        bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;

        if (f->text)
            ok = comment_tickets(comments, f, asc, have_cursor, cursor, &nums, err);
        bool bounded = nums.n >= MG_TEXT_BATCH;
        if (ok && (!build_query(&q, f, asc, have_cursor, cursor, &nums, bounded) ||
                   !build_opts(&opts, asc, want - l.n)))
            ok = mg_fail_build(err, "list tickets");
        if (ok)
            ok = mg_find_each(tickets, &q, &opts, ticket_list_add, &l, err, "list tickets");
        bool more = ok && bounded && l.n < want;
        if (more) {
            cursor = nums.v[nums.n - 1];
            have_cursor = true;
        }
        bson_destroy(&opts);
        bson_destroy(&q);
        free(nums.v);
        if (!more)
            break;
    }
    mongoc_collection_destroy(comments);
    mongoc_collection_destroy(tickets);
    mg_push(st, client);

    if (ok)
        *out = l;
    else
        ticket_list_clear(&l);
    return ok;
}

/* store_mongo_comments.c - comments on MongoDB.
 *
 * A comment is its own document (bodies would make ticket documents grow
 * without bound), so "write the comment with its event" is two writes:
 * insert the comment (the unique sparse message_id index decides
 * duplicates), then one update of the ticket that pushes the event, sets
 * updated, bumps version and adds the Message-ID to the thread. If that
 * second write does not happen (the ticket is gone, the server failed)
 * the comment is deleted again, so a reader never sees a comment without
 * its event for longer than the two round trips. A crash between the two
 * writes can leave such a comment behind; it would show in comment_list
 * without a history entry, which is the harmless direction. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool put_attachments(bson_t *d, const struct td_comment *c)
{
    bson_t arr, a;
    char numbuf[16];
    const char *key;

    if (c->n_attachments > UINT32_MAX || !BSON_APPEND_ARRAY_BEGIN(d, "attachments", &arr))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < c->n_attachments; i++) {
        const struct td_attachment_ref *r = &c->attachments[i];
        size_t klen = bson_uint32_to_string((uint32_t)i, &key, numbuf, sizeof numbuf);
        if (!(ok = bson_append_document_begin(&arr, key, (int)klen, &a)))
            break;
        ok = BSON_APPEND_UTF8(&a, "id", r->id) && mg_put_str(&a, "name", r->name) &&
             mg_put_str(&a, "content_type", r->content_type) &&
             BSON_APPEND_INT64(&a, "size", (int64_t)r->size) &&
             (!r->is_inline || BSON_APPEND_BOOL(&a, "inline", true));
        ok = bson_append_document_end(&arr, &a) && ok;
    }
    return bson_append_array_end(d, &arr) && ok;
}

static bool comment_doc(bson_t *d, const struct td_comment *c)
{
    return BSON_APPEND_UTF8(d, "_id", c->id) && BSON_APPEND_INT64(d, "ticket", c->ticket) &&
           BSON_APPEND_UTF8(d, "author_id", c->author_id) &&
           BSON_APPEND_BOOL(d, "internal", c->internal) &&
           BSON_APPEND_UTF8(d, "source", source_name(c->source)) &&
           mg_put_str(d, "body", c->body) &&
           /* absent, not null: the unique index is sparse on this field */
           (c->message_id == NULL || BSON_APPEND_UTF8(d, "message_id", c->message_id)) &&
           put_attachments(d, c) && BSON_APPEND_INT64(d, "created", c->created);
}

static bool attachment_ref_parse(const bson_iter_t *elem, struct td_attachment_ref *r)
{
    bson_iter_t it;
    memset(r, 0, sizeof *r);
    if (!BSON_ITER_HOLDS_DOCUMENT(elem) || !bson_iter_recurse(elem, &it))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        int64_t size;
        bool ok = true;
        if (strcmp(k, "id") == 0)
            ok = mg_iter_id(&it, r->id);
        else if (strcmp(k, "name") == 0)
            ok = mg_iter_str(&it, &r->name);
        else if (strcmp(k, "content_type") == 0)
            ok = mg_iter_str(&it, &r->content_type);
        else if (strcmp(k, "size") == 0)
            ok = mg_iter_i64(&it, &size) && size >= 0 && (r->size = (size_t)size, true);
        else if (strcmp(k, "inline") == 0)
            ok = mg_iter_bool(&it, &r->is_inline);
        if (!ok) {
            attachment_ref_clear(r);
            return false;
        }
    }
    return true;
}

static bool attachments_parse(const bson_iter_t *it, struct td_comment *c)
{
    bson_iter_t arr;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
        return false;
    while (bson_iter_next(&arr)) {
        struct td_attachment_ref r;
        if (!attachment_ref_parse(&arr, &r))
            return false; /* comment_clear releases the ones parsed so far */
        c->attachments = td_realloc(c->attachments, (c->n_attachments + 1) * sizeof r);
        c->attachments[c->n_attachments++] = r;
    }
    return true;
}

static bool comment_parse(const bson_t *doc, struct td_comment *c, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;

    memset(c, 0, sizeof *c);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read comment", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_id(&it, c->id);
        else if (strcmp(k, "ticket") == 0)
            ok = mg_iter_i64(&it, &c->ticket);
        else if (strcmp(k, "author_id") == 0)
            ok = mg_iter_id(&it, c->author_id);
        else if (strcmp(k, "internal") == 0)
            ok = mg_iter_bool(&it, &c->internal);
        else if (strcmp(k, "source") == 0)
            ok = source_parse(mg_iter_utf8(&it), &c->source);
        else if (strcmp(k, "body") == 0)
            ok = mg_iter_str(&it, &c->body);
        else if (strcmp(k, "message_id") == 0)
            ok = mg_iter_str(&it, &c->message_id);
        else if (strcmp(k, "attachments") == 0)
            ok = attachments_parse(&it, c);
        else if (strcmp(k, "created") == 0)
            ok = mg_iter_i64(&it, &c->created);
        if (!ok)
            bad = k;
    }
    if (bad) {
        comment_clear(c);
        return mg_fail_corrupt(err, "read comment", bad);
    }
    if (c->body == NULL)
        c->body = td_strdup("");
    return true;
}

/* {$set: {updated}, $inc: {version: 1}, $push: {history: ev},
 *  $addToSet: {message_ids: msgid, wpub|wint: {$each: words}}}
 * wpub / wint: the search words of public comments / internal notes
 * (store_mongo_list.c). */
static bool build_ticket_update(bson_t *u, const struct td_comment *c, const struct td_event *ev)
{
    bson_t set, inc, push, add, each;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
    if (ok) {
        ok = BSON_APPEND_INT64(&set, "updated", c->created);
        ok = bson_append_document_end(u, &set) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(u, "$inc", &inc))) {
        ok = BSON_APPEND_INT64(&inc, "version", 1);
        ok = bson_append_document_end(u, &inc) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(u, "$push", &push))) {
        ok = mg_put_event(&push, "history", ev);
        ok = bson_append_document_end(u, &push) && ok;
    }
    struct strv words = STRV_INIT;
    store_text_words(c->body, &words);
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(u, "$addToSet", &add))) {
        if (c->message_id)
            ok = BSON_APPEND_UTF8(&add, "message_ids", c->message_id);
        if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&add, c->internal ? "wint" : "wpub", &each))) {
            ok = mg_put_strv(&each, "$each", &words);
            ok = bson_append_document_end(&add, &each) && ok;
        }
        ok = bson_append_document_end(u, &add) && ok;
    }
    strv_clear(&words);
    return ok;
}

bool mg_comment_insert(struct store *st, const struct td_comment *c, const struct td_event *ev,
                       struct td_err *err)
{
    bson_t doc = BSON_INITIALIZER, tfilter = BSON_INITIALIZER, update = BSON_INITIALIZER;
    bson_t cfilter = BSON_INITIALIZER;
    bool ok, found = false;
    int64_t matched = 0;

    ok = comment_doc(&doc, c) && BSON_APPEND_INT64(&tfilter, "_id", c->ticket) &&
         build_ticket_update(&update, c, ev) && BSON_APPEND_UTF8(&cfilter, "_id", c->id);
    if (!ok) {
        bson_destroy(&cfilter);
        bson_destroy(&update);
        bson_destroy(&tfilter);
        bson_destroy(&doc);
        return mg_fail_build(err, "insert comment");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *tickets = mg_coll(st, client, MG_TICKETS);
    mongoc_collection_t *comments = mg_coll(st, client, MG_COMMENTS);

    /* Checked first so a comment on a missing ticket is never visible. */
    ok = mg_exists(tickets, &tfilter, &found, err, "insert comment");
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)c->ticket);
    if (ok && (ok = mg_insert(comments, &doc, err, "insert comment"))) {
        ok = mg_update(tickets, &tfilter, &update, false, &matched, err, "insert comment");
        if (ok && matched == 0)
            ok = td_fail(err, TD_NOT_FOUND, "no ticket #%lld", (long long)c->ticket);
        if (!ok) {
            /* Undo. If this fails too the first error is the one to report;
             * the orphan is described at the top of this file. */
            struct td_err undo;
            (void)mg_delete(comments, &cfilter, &undo, "undo comment");
        }
    }
    mongoc_collection_destroy(comments);
    mongoc_collection_destroy(tickets);
    mg_push(st, client);
    bson_destroy(&cfilter);
    bson_destroy(&update);
    bson_destroy(&tfilter);
    bson_destroy(&doc);
    return ok;
}

static bool comment_list_add(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct td_comment_list *l = ctx;
    struct td_comment c;
    if (!comment_parse(doc, &c, err))
        return false;
    l->v = td_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = c;
    return true;
}

bool mg_comment_list(struct store *st, int64_t ticket, bool include_internal,
                     struct td_comment_list *out, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    struct td_comment_list l = { NULL, 0 };

    /* The sort is the order of index ticket_1_created_1, which keeps
     * comments of the same millisecond in insertion order. */
    bool ok = BSON_APPEND_INT64(&filter, "ticket", ticket) &&
              (include_internal || BSON_APPEND_BOOL(&filter, "internal", false)) &&
              mg_put_sort(&opts, "created", 1);
    if (!ok) {
        mg_fail_build(err, "list comments");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_COMMENTS);
        ok = mg_find_each(c, &filter, &opts, comment_list_add, &l, err, "list comments");
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    if (ok)
        *out = l;
    else
        comment_list_clear(&l);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return ok;
}

/* The one comment whose field key is value (a unique one); label names
 * the field and what the read in errors. */
static bool comment_find_one(struct store *st, const char *key, const char *label,
                             const char *value, const char *what, struct td_comment *out,
                             struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, key, value)) {
        bson_destroy(&filter);
        return mg_fail_build(err, what);
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_COMMENTS);
    ok = mg_find_one(c, &filter, NULL, &doc, &found, err, what);
    mongoc_collection_destroy(c);
    mg_push(st, client);

    struct td_comment cm;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no comment has %s %.100s", label, value);
    if (ok && (ok = comment_parse(&doc, &cm, err)))
        *out = cm;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

bool mg_comment_find_by_msgid(struct store *st, const char *msgid, struct td_comment *out,
                              struct td_err *err)
{
    return comment_find_one(st, "message_id", "Message-ID", msgid, "find comment by Message-ID", out,
                            err);
}

bool mg_comment_get(struct store *st, const char *id, struct td_comment *out, struct td_err *err)
{
    return comment_find_one(st, "_id", "id", id, "get comment", out, err);
}

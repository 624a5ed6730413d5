/* store_mongo_erase.c - erasing a customer's personal data
 * (core/erase.c) in the MongoDB backend. Each step is an updateMany or
 * a delete; erase_comments reads what it will touch first, then rewrites
 * every comment of the author (idempotent: running it again after a
 * crash finishes the job). */
#include "store_mongo_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

/* Comments with attachments: (id, number of refs), to rewrite the refs
 * one index at a time (no $[]: portable to every server we test on). */
struct collect {
    struct td_erasure *e;
    struct strv with_refs;
    int64_t *n_refs;
};

static bool erase_collect(const bson_t *doc, void *ctx, struct td_err *err)
{
    struct collect *cc = ctx;
    struct td_erasure *e = cc->e;
    bson_iter_t it, arr, el;
    int64_t ticket = 0;
    if (!bson_iter_init_find(&it, doc, "ticket") || !mg_iter_i64(&it, &ticket))
        return mg_fail_corrupt(err, "erase comments", "ticket");
    bool seen = false;
    for (size_t i = 0; i < e->n_tickets && !seen; i++)
        seen = e->tickets[i] == ticket;
    if (!seen) {
        e->tickets = td_realloc(e->tickets, (e->n_tickets + 1) * sizeof *e->tickets);
        e->tickets[e->n_tickets++] = ticket;
    }
    int64_t refs = 0;
    if (bson_iter_init_find(&it, doc, "attachments") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            refs++;
            if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &el) &&
                bson_iter_find(&el, "id")) {
                const char *id = mg_iter_utf8(&el);
                if (id)
                    strv_push(&e->attachments, id);
            }
        }
    }
    if (refs > 0 && bson_iter_init_find(&it, doc, "_id") && mg_iter_utf8(&it)) {
        strv_push(&cc->with_refs, mg_iter_utf8(&it));
        cc->n_refs = td_realloc(cc->n_refs, cc->with_refs.n * sizeof *cc->n_refs);
        cc->n_refs[cc->with_refs.n - 1] = refs;
    }
    return true;
}

/* The refs of comment id: every one named "erased", size 0. */
static bool erase_refs(mongoc_collection_t *c, const char *id, int64_t n, struct td_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    for (int64_t i = 0; ok && i < n; i++) {
        char k1[48], k2[48], k3[48];
        snprintf(k1, sizeof k1, "attachments.%lld.name", (long long)i);
        snprintf(k2, sizeof k2, "attachments.%lld.content_type", (long long)i);
        snprintf(k3, sizeof k3, "attachments.%lld.size", (long long)i);
        ok = BSON_APPEND_UTF8(&set, k1, "erased") &&
             BSON_APPEND_UTF8(&set, k2, "application/octet-stream") && BSON_APPEND_INT64(&set, k3, 0);
    }
    ok = ok && bson_append_document_end(&update, &set);
    if (!ok)
        ok = mg_fail_build(err, "erase attachment names");
    else
        ok = mg_update(c, filter, &update, false, NULL, err, "erase attachment names");
    bson_destroy(&update);
    bson_destroy(filter);
    return ok;
}

bool mg_erase_comments(struct store *st, const char *author_id, const char *body,
                       struct td_erasure *out, struct td_err *err)
{
    struct td_erasure e;
    memset(&e, 0, sizeof e);
    struct collect cc = { &e, { NULL, 0 }, NULL };
    bson_t *filter = BCON_NEW("author_id", BCON_UTF8(author_id));
    bson_t *opts = BCON_NEW("projection", "{", "ticket", BCON_INT32(1), "attachments",
                            BCON_INT32(1), "}");
    bson_t *plain = BCON_NEW("$set", "{", "body", BCON_UTF8(body), "}");
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_COMMENTS);
    bool ok = mg_find_each(c, filter, opts, erase_collect, &cc, err, "erase comments");
    if (ok) {
        bson_error_t be;
        bson_t reply;
        ok = mongoc_collection_update_many(c, filter, plain, NULL, &reply, &be);
        if (!ok) {
            mg_fail(err, &be, "erase comments");
        } else {
            bson_iter_t it;
            e.comments = bson_iter_init_find(&it, &reply, "matchedCount") && BSON_ITER_HOLDS_NUMBER(&it)
                             ? bson_iter_as_int64(&it)
                             : 0;
        }
        bson_destroy(&reply);
    }
    for (size_t i = 0; ok && i < cc.with_refs.n; i++)
        ok = erase_refs(c, cc.with_refs.v[i], cc.n_refs[i], err);
    mongoc_collection_destroy(c);
    mg_push(st, client);
    /* The erased words leave the search fields (a rerun mends them). */
    for (size_t i = 0; ok && i < e.n_tickets; i++)
        ok = mg_words_refresh(st, e.tickets[i], err);
    strv_clear(&cc.with_refs);
    free(cc.n_refs);
    bson_destroy(plain);
    bson_destroy(opts);
    bson_destroy(filter);
    if (!ok) {
        erasure_clear(&e);
        return false;
    }
    *out = e;
    return true;
}

bool mg_attachment_delete(struct store *st, const char *id, struct td_err *err)
{
    bson_t *files = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *chunks = BCON_NEW("files_id", BCON_UTF8(id));
    mongoc_client_t *client = mg_pop(st);
    bson_error_t e;
    /* The files document first: without it the bytes cannot be found,
     * whatever chunks a crash leaves behind (a second erase removes them). */
    mongoc_collection_t *c = mg_coll(st, client, MG_BUCKET ".files");
    bool ok = mongoc_collection_delete_many(c, files, NULL, NULL, &e) ||
              mg_fail(err, &e, "delete attachment");
    mongoc_collection_destroy(c);
    if (ok) {
        c = mg_coll(st, client, MG_BUCKET ".chunks");
        ok = mongoc_collection_delete_many(c, chunks, NULL, NULL, &e) ||
             mg_fail(err, &e, "delete attachment chunks");
        mongoc_collection_destroy(c);
    }
    mg_push(st, client);
    bson_destroy(chunks);
    bson_destroy(files);
    return ok;
}

bool mg_outbox_erase_recipient(struct store *st, const char *recipient, const char *replacement,
                               int64_t *n, struct td_err *err)
{
    /* Two updates: unsent rows fail, every row loses the address. */
    bson_t *unsent = BCON_NEW("recipient", BCON_UTF8(recipient), "state", "{", "$in", "[",
                              BCON_UTF8("pending"), BCON_UTF8("sending"), "]", "}");
    bson_t *fail = BCON_NEW("$set", "{", "state", BCON_UTF8("failed"), "last_error",
                            BCON_UTF8("recipient erased"), "owner", BCON_NULL, "lease_until",
                            BCON_INT64(0), "}");
    bson_t *all = BCON_NEW("recipient", BCON_UTF8(recipient));
    bson_t *scrub = BCON_NEW("$set", "{", "recipient", BCON_UTF8(replacement), "payload",
                             BCON_UTF8("{}"), "}");
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_OUTBOX);
    bson_error_t e;
    bson_t reply;
    bool ok = mongoc_collection_update_many(c, unsent, fail, NULL, NULL, &e) ||
              mg_fail(err, &e, "erase outbox");
    if (ok) {
        ok = mongoc_collection_update_many(c, all, scrub, NULL, &reply, &e);
        if (!ok) {
            mg_fail(err, &e, "erase outbox");
        } else if (n) {
            bson_iter_t it;
            *n = bson_iter_init_find(&it, &reply, "matchedCount") && BSON_ITER_HOLDS_NUMBER(&it)
                     ? bson_iter_as_int64(&it)
                     : 0;
        }
        bson_destroy(&reply);
    }
    mongoc_collection_destroy(c);
    mg_push(st, client);
    bson_destroy(scrub);
    bson_destroy(all);
    bson_destroy(fail);
    bson_destroy(unsent);
    return ok;
}

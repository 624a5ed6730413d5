/* store_mongo_mailbox.c - mailbox poller state and its lease on MongoDB.
 *
 * {_id: name, uidvalidity, last_uid, lease_owner|null, lease_until}.
 * A lease is held while now <= lease_until and expired once
 * lease_until < now (the outbox uses the same boundary).
 *
 * Acquiring is one update with upsert on
 *   {_id: name, $or: [{lease_owner: null}, {lease_owner: owner},
 *                     {lease_until: {$lt: now}}]}:
 * it matches when the lease is free, ours or expired; when the document
 * exists but is held by someone else, the upsert tries to insert a second
 * document with the same _id and the server refuses it with a duplicate
 * key - that refusal is the TD_CONFLICT. (The server's own retry of
 * upserts on duplicate keys does not apply: the filter is not a plain
 * equality on _id.) */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

static bool put_holder_is(bson_t *or_arr, const char *idx, const char *owner)
{
    bson_t alt;
    if (!BSON_APPEND_DOCUMENT_BEGIN(or_arr, idx, &alt))
        return false;
    bool ok = mg_put_str(&alt, "lease_owner", owner); /* null matches missing too */
    return bson_append_document_end(or_arr, &alt) && ok;
}

static bool build_acquire(bson_t *filter, bson_t *update, const char *mailbox,
                          const char *owner, td_time now, int64_t ttl_ms)
{
    bson_t or, alt, lt, set, ins;
    bool ok = BSON_APPEND_UTF8(filter, "_id", mailbox) &&
              BSON_APPEND_ARRAY_BEGIN(filter, "$or", &or);
    if (!ok)
        return false;
    ok = put_holder_is(&or, "0", NULL) && put_holder_is(&or, "1", owner) &&
         BSON_APPEND_DOCUMENT_BEGIN(&or, "2", &alt);
    if (ok) {
        if ((ok = BSON_APPEND_DOCUMENT_BEGIN(&alt, "lease_until", &lt))) {
            ok = BSON_APPEND_INT64(&lt, "$lt", now);
            ok = bson_append_document_end(&alt, &lt) && ok;
        }
        ok = bson_append_document_end(&or, &alt) && ok;
    }
    ok = bson_append_array_end(filter, &or) && ok;

    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set))) {
        ok = BSON_APPEND_UTF8(&set, "lease_owner", owner) &&
             BSON_APPEND_INT64(&set, "lease_until", now + ttl_ms);
        ok = bson_append_document_end(update, &set) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(update, "$setOnInsert", &ins))) {
        ok = BSON_APPEND_INT64(&ins, "uidvalidity", 0) && BSON_APPEND_INT64(&ins, "last_uid", 0);
        ok = bson_append_document_end(update, &ins) && ok;
    }
    return ok;
}

bool mg_lease_acquire(struct store *st, const char *mailbox, const char *owner, td_time now,
                      int64_t ttl_ms, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER;
    struct td_err e;
    bool ok;

    if (owner == NULL || *owner == '\0')
        return td_fail(err, TD_INVALID, "a lease needs an owner");
    if (!build_acquire(&filter, &update, mailbox, owner, now, ttl_ms)) {
        ok = mg_fail_build(err, "acquire mailbox lease");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MAILBOXES);
        ok = mg_update(c, &filter, &update, true, NULL, &e, "acquire mailbox lease");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (!ok && e.code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "mailbox %.100s is being polled by another process",
                    mailbox);
        else if (!ok && err)
            *err = e;
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

bool mg_lease_release(struct store *st, const char *mailbox, const char *owner,
                      struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, or, set;
    int64_t matched = 0;
    bool found = false;

    /* Ours, or already free: releasing is fine. Someone else's: refused. */
    bool ok = BSON_APPEND_UTF8(&filter, "_id", mailbox) &&
              BSON_APPEND_ARRAY_BEGIN(&filter, "$or", &or);
    if (ok) {
        ok = put_holder_is(&or, "0", NULL) && put_holder_is(&or, "1", owner ? owner : "");
        ok = bson_append_array_end(&filter, &or) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set))) {
        ok = BSON_APPEND_NULL(&set, "lease_owner") && BSON_APPEND_INT64(&set, "lease_until", 0);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "release mailbox lease");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MAILBOXES);
        ok = mg_update(c, &filter, &update, false, &matched, err, "release mailbox lease");
        if (ok && matched == 0) {
            bson_reinit(&filter);
            if (!BSON_APPEND_UTF8(&filter, "_id", mailbox))
                ok = mg_fail_build(err, "release mailbox lease");
            else if ((ok = mg_exists(c, &filter, &found, err, "release mailbox lease")))
                ok = found ? td_fail(err, TD_CONFLICT,
                                     "the lease on mailbox %.100s is not yours to release",
                                     mailbox)
                           : td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox);
        }
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

static bool mailbox_parse(const bson_t *doc, struct td_mailbox_state *m, struct td_err *err)
{
    bson_iter_t it;
    const char *bad = NULL;
    int64_t v;

    memset(m, 0, sizeof *m);
    if (!bson_iter_init(&it, doc))
        return mg_fail_corrupt(err, "read mailbox", "(document)");
    while (bad == NULL && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok = true;
        if (strcmp(k, "_id") == 0)
            ok = mg_iter_str(&it, &m->name) && m->name != NULL;
        else if (strcmp(k, "uidvalidity") == 0)
            ok = mg_iter_i64(&it, &v) && v >= 0 && v <= UINT32_MAX &&
                 (m->uidvalidity = (uint32_t)v, true);
        else if (strcmp(k, "last_uid") == 0)
            ok = mg_iter_i64(&it, &v) && v >= 0 && v <= UINT32_MAX &&
                 (m->last_uid = (uint32_t)v, true);
        else if (strcmp(k, "lease_owner") == 0)
            ok = mg_iter_str(&it, &m->lease_owner);
        else if (strcmp(k, "lease_until") == 0)
            ok = mg_iter_i64(&it, &m->lease_until);
        if (!ok)
            bad = k;
    }
    if (bad == NULL && m->name == NULL)
        bad = "_id";
    if (bad) {
        mailbox_state_clear(m);
        return mg_fail_corrupt(err, "read mailbox", bad);
    }
    return true;
}

bool mg_mailbox_get(struct store *st, const char *mailbox, struct td_mailbox_state *out,
                    struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    bool found = false, ok;

    if (!BSON_APPEND_UTF8(&filter, "_id", mailbox)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read mailbox");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *c = mg_coll(st, client, MG_MAILBOXES);
    ok = mg_find_one(c, &filter, NULL, &doc, &found, err, "read mailbox");
    mongoc_collection_destroy(c);
    mg_push(st, client);

    struct td_mailbox_state m;
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox);
    if (ok && (ok = mailbox_parse(&doc, &m, err)))
        *out = m;
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

bool mg_mailbox_set_uid(struct store *st, const char *mailbox, const char *owner, td_time now,
                        uint32_t uidvalidity, uint32_t last_uid, struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, gte, set;
    int64_t matched = 0;

    /* Only the holder of an unexpired lease: a poller that lost it must
     * not move the UID under the new holder. */
    bool ok = BSON_APPEND_UTF8(&filter, "_id", mailbox) &&
              BSON_APPEND_UTF8(&filter, "lease_owner", owner ? owner : "") &&
              BSON_APPEND_DOCUMENT_BEGIN(&filter, "lease_until", &gte);
    if (ok) {
        ok = BSON_APPEND_INT64(&gte, "$gte", now);
        ok = bson_append_document_end(&filter, &gte) && ok;
    }
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set))) {
        ok = BSON_APPEND_INT64(&set, "uidvalidity", uidvalidity) &&
             BSON_APPEND_INT64(&set, "last_uid", last_uid);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "set mailbox UID");
    } else {
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MAILBOXES);
        ok = mg_update(c, &filter, &update, false, &matched, err, "set mailbox UID");
        mongoc_collection_destroy(c);
        mg_push(st, client);
        if (ok && matched == 0)
            ok = td_fail(err, TD_CONFLICT,
                         "no valid lease of %.100s on mailbox %.100s: not moving its UID",
                         owner ? owner : "", mailbox);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

/* Compare-and-set on the holder: {_id: name, lease_owner: dead_owner}. */
bool mg_lease_takeover(struct store *st, const char *mailbox, const char *dead_owner,
                       const char *owner, td_time now, int64_t ttl_ms, struct td_err *err)
{
    if (owner == NULL || *owner == '\0' || dead_owner == NULL || *dead_owner == '\0')
        return td_fail(err, TD_INVALID, "a lease takeover needs both owners");
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", mailbox) &&
              BSON_APPEND_UTF8(&filter, "lease_owner", dead_owner);
    if (ok && (ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set))) {
        ok = BSON_APPEND_UTF8(&set, "lease_owner", owner) &&
             BSON_APPEND_INT64(&set, "lease_until", now + ttl_ms);
        ok = bson_append_document_end(&update, &set) && ok;
    }
    if (!ok) {
        ok = mg_fail_build(err, "take over mailbox lease");
    } else {
        int64_t matched = 0;
        bool found = false;
        mongoc_client_t *client = mg_pop(st);
        mongoc_collection_t *c = mg_coll(st, client, MG_MAILBOXES);
        ok = mg_update(c, &filter, &update, false, &matched, err, "take over mailbox lease");
        if (ok && matched == 0) {
            bson_reinit(&filter);
            if (!BSON_APPEND_UTF8(&filter, "_id", mailbox))
                ok = mg_fail_build(err, "take over mailbox lease");
            else if ((ok = mg_exists(c, &filter, &found, err, "take over mailbox lease")))
                ok = found ? td_fail(err, TD_CONFLICT, "the lease on mailbox %.100s is no "
                                                       "longer held by %.100s", mailbox, dead_owner)
                           : td_fail(err, TD_NOT_FOUND, "no mailbox %.100s", mailbox);
        }
        mongoc_collection_destroy(c);
        mg_push(st, client);
    }
    bson_destroy(&update);
    bson_destroy(&filter);
    return ok;
}

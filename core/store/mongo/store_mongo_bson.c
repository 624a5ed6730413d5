/* store_mongo_bson.c - error mapping, single-collection operations and
 * BSON readers/writers shared by the MongoDB backend.
 *
 * Every mongoc call that can fail goes through one of the mg_* wrappers
 * here, so the mapping from a driver error to a td_code lives in exactly
 * one function (mg_fail) and every reply/cursor is released on every
 * path in exactly one place. */
#include "store_mongo_int.h"

#include "core/buf.h"
#include "core/mem.h"

#include <string.h>

/* Server error codes (src/mongo/base/error_codes.yml) we treat specially. */
static bool code_is_dup(uint32_t code)
{
    /* DuplicateKey, and the codes old servers used for it on updates. */
    return code == 11000 || code == 11001 || code == 12582;
}

static bool code_is_unavailable(uint32_t code)
{
    switch (code) {
    case 6:     /* HostUnreachable */
    case 7:     /* HostNotFound */
    case 50:    /* MaxTimeMSExpired */
    case 64:    /* WriteConcernFailed: not replicated in time */
    case 89:    /* NetworkTimeout */
    case 91:    /* ShutdownInProgress */
    case 189:   /* PrimarySteppedDown */
    case 262:   /* ExceededTimeLimit */
    case 9001:  /* SocketException */
    case 10107: /* NotWritablePrimary */
    case 11600: /* InterruptedAtShutdown */
    case 11602: /* InterruptedDueToReplStateChange */
    case 13435: /* NotPrimaryNoSecondaryOk */
    case 13436: /* NotPrimaryOrSecondary */
        return true;
    default:
        return false;
    }
}

static bool code_is_too_large(uint32_t code)
{
    /* BSONObjectTooLarge; "document exceeds maximum size" on update. */
    return code == 10334 || code == 17419 || code == 17420;
}

bool mg_is_dup(const bson_error_t *e)
{
    switch (e->domain) {
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_COLLECTION:   /* legacy error API, kept for safety */
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_COMMAND:
    case MONGOC_ERROR_WRITE_CONCERN:
        return code_is_dup(e->code);
    default:
        return false;
    }
}

bool mg_fail(struct td_err *err, const bson_error_t *e, const char *what)
{
    enum td_code code = TD_INTERNAL;

    switch (e->domain) {
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION:
        code = TD_UNAVAILABLE;
        break;
    case MONGOC_ERROR_CLIENT:
        /* A message over the server's limit is the input's fault; the rest
         * (not ready, authentication failed) means the store cannot be
         * used right now, whatever the caller sends. */
        code = e->code == MONGOC_ERROR_CLIENT_TOO_BIG ? TD_TOO_LARGE : TD_UNAVAILABLE;
        break;
    case MONGOC_ERROR_BSON:
        /* The driver refuses documents over the server's maxBsonObjectSize
         * with this domain before sending them. */
        code = strstr(e->message, "too large") ? TD_TOO_LARGE : TD_INTERNAL;
        break;
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_WRITE_CONCERN:
        /* The server's own codes (error API 2 puts them here). */
        if (code_is_dup(e->code))
            code = TD_CONFLICT;
        else if (code_is_unavailable(e->code))
            code = TD_UNAVAILABLE;
        else if (code_is_too_large(e->code))
            code = TD_TOO_LARGE;
        break;
    default:
        /* Driver codes, which are small numbers that mean something else
         * in the server's table: only these two are told apart. */
        if (e->domain == MONGOC_ERROR_COMMAND && e->code == MONGOC_ERROR_COMMAND_INVALID_ARG)
            code = TD_INVALID; /* client-side validation, e.g. invalid UTF-8 */
        else if (mg_is_dup(e))
            code = TD_CONFLICT; /* legacy error API domains */
        break;
    }
    return td_fail(err, code, "mongodb %s: %s", what, e->message);
}

bool mg_fail_build(struct td_err *err, const char *what)
{
    /* bson_append_* only fails when a document would pass 2 GiB. */
    return td_fail(err, TD_TOO_LARGE, "mongodb %s: document too large", what);
}

bool mg_fail_corrupt(struct td_err *err, const char *what, const char *key)
{
    return td_fail(err, TD_INTERNAL, "mongodb %s: stored document has a bad '%s' field", what,
                   key);
}

/* --- collection operations --------------------------------------------- */

bool mg_find_one(mongoc_collection_t *c, const bson_t *filter, const bson_t *projection,
                 bson_t *out, bool *found, struct td_err *err, const char *what)
{
    bson_t opts = BSON_INITIALIZER;
    bson_error_t e;
    const bson_t *doc;
    bool ok = true;

    bson_init(out);
    *found = false;
    if (!BSON_APPEND_INT64(&opts, "limit", 1) || !BSON_APPEND_BOOL(&opts, "singleBatch", true) ||
        (projection && !BSON_APPEND_DOCUMENT(&opts, "projection", projection))) {
        bson_destroy(&opts);
        return mg_fail_build(err, what);
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, &opts, NULL);
    bson_destroy(&opts);
    if (mongoc_cursor_next(cur, &doc)) {
        bson_destroy(out);
        bson_copy_to(doc, out);
        *found = true;
    } else if (mongoc_cursor_error(cur, &e)) {
        ok = mg_fail(err, &e, what);
    }
    mongoc_cursor_destroy(cur);
    return ok;
}

bool mg_exists(mongoc_collection_t *c, const bson_t *filter, bool *found, struct td_err *err,
               const char *what)
{
    bson_t proj = BSON_INITIALIZER, doc;
    if (!BSON_APPEND_INT32(&proj, "_id", 1)) {
        bson_destroy(&proj);
        return mg_fail_build(err, what);
    }
    bool ok = mg_find_one(c, filter, &proj, &doc, found, err, what);
    bson_destroy(&doc);
    bson_destroy(&proj);
    return ok;
}

bool mg_cursor_each(mongoc_cursor_t *cur, mg_each_fn fn, void *ctx, struct td_err *err,
                    const char *what)
{
    const bson_t *doc;
    bson_error_t e;
    bool ok = true;

    while (ok && mongoc_cursor_next(cur, &doc))
        ok = fn(doc, ctx, err);
    if (ok && mongoc_cursor_error(cur, &e))
        ok = mg_fail(err, &e, what);
    mongoc_cursor_destroy(cur);
    return ok;
}

bool mg_find_each(mongoc_collection_t *c, const bson_t *filter, const bson_t *opts,
                  mg_each_fn fn, void *ctx, struct td_err *err, const char *what)
{
    return mg_cursor_each(mongoc_collection_find_with_opts(c, filter, opts, NULL), fn, ctx, err,
                          what);
}

bool mg_insert(mongoc_collection_t *c, const bson_t *doc, struct td_err *err, const char *what)
{
    bson_error_t e;
    if (!mongoc_collection_insert_one(c, doc, NULL, NULL, &e))
        return mg_fail(err, &e, what);
    return true;
}

/* Reads an integer count ("matchedCount") from a write reply. */
static int64_t reply_count(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

bool mg_update(mongoc_collection_t *c, const bson_t *filter, const bson_t *update, bool upsert,
               int64_t *matched, struct td_err *err, const char *what)
{
    bson_t opts = BSON_INITIALIZER, reply;
    bson_error_t e;
    bool ok;

    if (upsert && !BSON_APPEND_BOOL(&opts, "upsert", true)) {
        bson_destroy(&opts);
        return mg_fail_build(err, what);
    }
    /* reply is initialised by the driver on every path. */
    ok = mongoc_collection_update_one(c, filter, update, &opts, &reply, &e);
    if (!ok)
        mg_fail(err, &e, what);
    else if (matched)
        *matched = reply_count(&reply, "matchedCount");
    bson_destroy(&reply);
    bson_destroy(&opts);
    return ok;
}

bool mg_delete(mongoc_collection_t *c, const bson_t *filter, struct td_err *err,
               const char *what)
{
    bson_error_t e;
    if (!mongoc_collection_delete_one(c, filter, NULL, NULL, &e))
        return mg_fail(err, &e, what);
    return true;
}

bool mg_find_modify(mongoc_collection_t *c, const bson_t *query, const bson_t *sort,
                    const bson_t *update, bool upsert, bson_t *out, bool *found,
                    struct td_err *err, const char *what)
{
    mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_flags_t flags = MONGOC_FIND_AND_MODIFY_RETURN_NEW;
    bson_t reply;
    bson_error_t e;
    bson_iter_t it;
    bool ok;

    bson_init(out);
    *found = false;
    if (upsert)
        flags |= MONGOC_FIND_AND_MODIFY_UPSERT;
    if (!mongoc_find_and_modify_opts_set_update(fam, update) ||
        !mongoc_find_and_modify_opts_set_flags(fam, flags) ||
        (sort && !mongoc_find_and_modify_opts_set_sort(fam, sort))) {
        mongoc_find_and_modify_opts_destroy(fam);
        return td_fail(err, TD_INTERNAL, "mongodb %s: bad findAndModify options", what);
    }
    ok = mongoc_collection_find_and_modify_with_opts(c, query, fam, &reply, &e);
    if (!ok) {
        mg_fail(err, &e, what);
    } else if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_t value;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&value, data, len)) {
            bson_destroy(out);
            bson_copy_to(&value, out);
            *found = true;
        } else {
            ok = td_fail(err, TD_INTERNAL, "mongodb %s: malformed findAndModify reply", what);
        }
    }
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);
    return ok;
}

/* --- readers ------------------------------------------------------------ */

const char *mg_iter_utf8(const bson_iter_t *it)
{
    return BSON_ITER_HOLDS_UTF8(it) ? bson_iter_utf8(it, NULL) : NULL;
}

bool mg_iter_str(const bson_iter_t *it, char **out)
{
    if (BSON_ITER_HOLDS_NULL(it)) {
        free(*out);
        *out = NULL;
        return true;
    }
    if (!BSON_ITER_HOLDS_UTF8(it))
        return false;
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    free(*out);
    *out = td_strndup(s, len);
    return true;
}

bool mg_iter_id(const bson_iter_t *it, char out[TD_ID_LEN + 1])
{
    uint32_t len;
    if (!BSON_ITER_HOLDS_UTF8(it))
        return false;
    const char *s = bson_iter_utf8(it, &len);
    if (len > TD_ID_LEN)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

bool mg_iter_i64(const bson_iter_t *it, int64_t *out)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        *out = bson_iter_as_int64(it);
        return true;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        /* Only integral values that fit: anything else is not ours. */
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    }
    default:
        return false;
    }
}

bool mg_iter_bool(const bson_iter_t *it, bool *out)
{
    if (!BSON_ITER_HOLDS_BOOL(it))
        return false;
    *out = bson_iter_bool(it);
    return true;
}

bool mg_iter_strv(const bson_iter_t *it, struct strv *out)
{
    bson_iter_t sub;
    strv_clear(out);
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &sub))
        return false;
    while (bson_iter_next(&sub)) {
        const char *s = mg_iter_utf8(&sub);
        if (s == NULL) {
            strv_clear(out);
            return false;
        }
        strv_push(out, s);
    }
    return true;
}

/* --- writers ------------------------------------------------------------ */

bool mg_put_str(bson_t *b, const char *key, const char *s)
{
    return s ? BSON_APPEND_UTF8(b, key, s) : BSON_APPEND_NULL(b, key);
}

bool mg_put_strv(bson_t *b, const char *key, const struct strv *sv)
{
    bson_t arr;
    char numbuf[16];
    const char *k;

    if (!BSON_APPEND_ARRAY_BEGIN(b, key, &arr))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < sv->n; i++) {
        size_t klen = bson_uint32_to_string((uint32_t)i, &k, numbuf, sizeof numbuf);
        ok = bson_append_utf8(&arr, k, (int)klen, sv->v[i], -1);
    }
    /* end_array must run even after a failed append: it releases arr. */
    return bson_append_array_end(b, &arr) && ok;
}

bool mg_put_sort(bson_t *opts, const char *key, int dir)
{
    bson_t sort;
    if (!BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort))
        return false;
    bool ok = BSON_APPEND_INT32(&sort, key, dir);
    return bson_append_document_end(opts, &sort) && ok;
}

/* Characters that mean something in a PCRE (mongod) or Python re (test
 * server) pattern outside a character class. A backslash before any ASCII
 * punctuation is a literal in both dialects. */
static const char regex_meta[] = "\\^$.|?*+()[]{}/-#";

/* Case folding is spelled out as [aA] for ASCII letters instead of the
 * "i" option: the same answer as the SQLite backend's LIKE (ASCII-only
 * folding), and the same on every server, whatever its regex library
 * thinks about folding non-ASCII letters. */
bool mg_put_icontains(bson_t *b, const char *key, const char *literal)
{
    struct buf re = BUF_INIT;
    bson_t sub;

    buf_puts(&re, ""); /* "" stays a valid pattern (matches everything) */
    for (const char *p = literal; *p; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            buf_printf(&re, "[%c%c]", c | 0x20, c & ~0x20);
        else if (strchr(regex_meta, c))
            buf_printf(&re, "\\%c", c);
        else
            buf_putc(&re, c);
    }
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(b, key, &sub);
    if (ok) {
        ok = BSON_APPEND_UTF8(&sub, "$regex", re.data);
        ok = bson_append_document_end(b, &sub) && ok;
    }
    buf_free(&re);
    return ok;
}

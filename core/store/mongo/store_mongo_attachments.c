/* store_mongo_attachments.c - attachment bytes in a GridFS bucket.
 *
 * Bucket "attachments": the files document has _id = our string id,
 * filename = the attachment's name and metadata {name, content_type,
 * size}; the bytes are in attachments.chunks.
 *
 * Duplicates. The driver writes the chunks first and the files document
 * last, and its own upload_from_stream "aborts" a failed upload by
 * deleting every chunk with that files_id - which, for a duplicate id,
 * are the existing attachment's chunks. So this file never uses it: it
 * writes through an upload stream, checks the close, and aborts only
 * after a failure that is not a duplicate key. A duplicate is refused by
 * the server twice over: by the unique index files_id_1_n_1 on the first
 * chunk and by _id on the files document. The existence check before the
 * upload only gives the common case a clear answer without a write. */
#include "store_mongo_int.h"

#include "core/mem.h"

#include <string.h>

/* GridFS' customary chunk size, set explicitly: upload() relies on it. */
#define MG_CHUNK_SIZE (255 * 1024)

static mongoc_gridfs_bucket_t *bucket_new(mongoc_database_t *db, struct td_err *err)
{
    bson_t opts = BSON_INITIALIZER;
    bson_error_t e;
    mongoc_gridfs_bucket_t *b = NULL;

    if (!BSON_APPEND_UTF8(&opts, "bucketName", MG_BUCKET))
        mg_fail_build(err, "open GridFS bucket");
    else if ((b = mongoc_gridfs_bucket_new(db, &opts, NULL, &e)) == NULL)
        mg_fail(err, &e, "open GridFS bucket");
    bson_destroy(&opts);
    return b;
}

static bson_value_t id_value(const char *id)
{
    bson_value_t v;
    memset(&v, 0, sizeof v);
    v.value_type = BSON_TYPE_UTF8;
    v.value.v_utf8.str = (char *)id; /* only read by the driver */
    v.value.v_utf8.len = (uint32_t)strlen(id);
    return v;
}

static bool file_exists(mongoc_client_t *client, struct store *st, const char *id, bool *found,
                        struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER;
    if (!BSON_APPEND_UTF8(&filter, "_id", id)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "store attachment");
    }
    mongoc_collection_t *files = mg_coll(st, client, MG_BUCKET ".files");
    bool ok = mg_exists(files, &filter, found, err, "store attachment");
    mongoc_collection_destroy(files);
    bson_destroy(&filter);
    return ok;
}

static bool upload(mongoc_gridfs_bucket_t *bucket, const struct td_attachment *a,
                   struct td_err *err)
{
    bson_t opts = BSON_INITIALIZER, meta;
    bson_value_t id = id_value(a->id);
    bson_error_t e;

    bool ok = BSON_APPEND_INT32(&opts, "chunkSizeBytes", MG_CHUNK_SIZE) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "metadata", &meta);
    if (ok) {
        ok = mg_put_str(&meta, "name", a->name) &&
             mg_put_str(&meta, "content_type", a->content_type) &&
             BSON_APPEND_INT64(&meta, "size", (int64_t)a->size);
        ok = bson_append_document_end(&opts, &meta) && ok;
    }
    if (!ok) {
        bson_destroy(&opts);
        return mg_fail_build(err, "store attachment");
    }
    mongoc_stream_t *up = mongoc_gridfs_bucket_open_upload_stream_with_id(
        bucket, &id, a->name ? a->name : "", &opts, &e);
    bson_destroy(&opts);
    if (up == NULL)
        return mg_fail(err, &e, "store attachment");

    /* The driver buffers a chunk and inserts it when full, without
     * reporting a failed insert from that write - and a write that goes on
     * past a failed chunk retries it forever. So each write is exactly one
     * chunk (or the rest), and the stream's error is checked after each.
     * The last chunk and the files document are written by close, whose
     * result is checked (mongoc_stream_destroy alone would drop it). */
    for (size_t off = 0; ok && off < a->size; off += MG_CHUNK_SIZE) {
        size_t n = a->size - off < MG_CHUNK_SIZE ? a->size - off : MG_CHUNK_SIZE;
        ssize_t w = mongoc_stream_write(up, a->data + off, n, 0);
        ok = w >= 0 && (size_t)w == n && !mongoc_gridfs_bucket_stream_error(up, &e);
    }
    if (ok)
        ok = mongoc_stream_close(up) == 0;
    if (!ok) {
        if (!mongoc_gridfs_bucket_stream_error(up, &e))
            bson_set_error(&e, MONGOC_ERROR_GRIDFS, MONGOC_ERROR_GRIDFS_BUCKET_STREAM,
                           "short write");
        mg_fail(err, &e, "store attachment");
        /* Not on a duplicate: the chunks under this id are someone else's. */
        if (!mg_is_dup(&e))
            (void)mongoc_gridfs_bucket_abort_upload(up); /* best effort cleanup */
    }
    mongoc_stream_destroy(up);
    return ok;
}

bool mg_attachment_put(struct store *st, const struct td_attachment *a, struct td_err *err)
{
    bool found = false, ok;

    if (a->size > 0 && a->data == NULL)
        return td_fail(err, TD_INVALID, "attachment %s has a size but no data", a->id);
    mongoc_client_t *client = mg_pop(st);
    ok = file_exists(client, st, a->id, &found, err);
    if (ok && found)
        ok = td_fail(err, TD_CONFLICT, "attachment %s already exists", a->id);
    if (ok) {
        mongoc_database_t *db = mg_db(st, client);
        mongoc_gridfs_bucket_t *bucket = bucket_new(db, err);
        ok = bucket != NULL && upload(bucket, a, err);
        if (!ok && err && err->code == TD_CONFLICT)
            td_fail(err, TD_CONFLICT, "attachment %s already exists", a->id);
        mongoc_gridfs_bucket_destroy(bucket);
        mongoc_database_destroy(db);
    }
    mg_push(st, client);
    return ok;
}

/* The files document: length and metadata. */
static bool file_parse(const bson_t *doc, struct td_attachment *a, int64_t *length,
                       struct td_err *err)
{
    bson_iter_t it, meta;
    *length = -1;
    if (bson_iter_init_find(&it, doc, "length") && !mg_iter_i64(&it, length))
        *length = -1;
    if (*length < 0)
        return mg_fail_corrupt(err, "read attachment", "length");
    /* The driver divides by chunkSize, read as int32: make sure it is one. */
    if (*length > 0 && !(bson_iter_init_find(&it, doc, "chunkSize") &&
                         BSON_ITER_HOLDS_INT32(&it) && bson_iter_int32(&it) > 0))
        return mg_fail_corrupt(err, "read attachment", "chunkSize");
    if (*length > MG_MAX_ATTACHMENT)
        return td_fail(err, TD_TOO_LARGE, "attachment %s is %lld bytes, more than this "
                       "server loads", a->id, (long long)*length);
    if (bson_iter_init_find(&it, doc, "metadata") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &meta)) {
        while (bson_iter_next(&meta)) {
            const char *k = bson_iter_key(&meta);
            bool ok = true;
            if (strcmp(k, "name") == 0)
                ok = mg_iter_str(&meta, &a->name);
            else if (strcmp(k, "content_type") == 0)
                ok = mg_iter_str(&meta, &a->content_type);
            if (!ok)
                return mg_fail_corrupt(err, "read attachment", k);
        }
    }
    return true;
}

static bool download(mongoc_gridfs_bucket_t *bucket, struct td_attachment *a, size_t len,
                     struct td_err *err)
{
    bson_value_t id = id_value(a->id);
    bson_error_t e;

    mongoc_stream_t *down = mongoc_gridfs_bucket_open_download_stream(bucket, &id, &e);
    if (down == NULL) {
        if (e.domain == MONGOC_ERROR_GRIDFS && e.code == MONGOC_ERROR_GRIDFS_BUCKET_FILE_NOT_FOUND)
            return td_fail(err, TD_NOT_FOUND, "no attachment %s", a->id);
        return mg_fail(err, &e, "read attachment");
    }
    a->data = td_malloc(len ? len : 1);
    size_t got = 0;
    bool ok = true;
    while (ok && got < len) {
        ssize_t r = mongoc_stream_read(down, a->data + got, len - got, 0, 0);
        if (r < 0) {
            if (!mongoc_gridfs_bucket_stream_error(down, &e))
                bson_set_error(&e, MONGOC_ERROR_GRIDFS, MONGOC_ERROR_GRIDFS_BUCKET_STREAM,
                               "read error");
            ok = mg_fail(err, &e, "read attachment");
        } else if (r == 0) {
            ok = td_fail(err, TD_INTERNAL, "attachment %s: %zu of %zu bytes stored", a->id, got,
                         len);
        } else {
            got += (size_t)r;
        }
    }
    mongoc_stream_destroy(down);
    return ok;
}

bool mg_attachment_get(struct store *st, const char *id, struct td_attachment *out,
                       struct td_err *err)
{
    bson_t filter = BSON_INITIALIZER, doc;
    struct td_attachment a;
    bool found = false, ok;
    int64_t length = 0;

    memset(&a, 0, sizeof a);
    if (strlen(id) > TD_ID_LEN)
        return td_fail(err, TD_NOT_FOUND, "no attachment %.64s", id);
    memcpy(a.id, id, strlen(id) + 1);
    if (!BSON_APPEND_UTF8(&filter, "_id", id)) {
        bson_destroy(&filter);
        return mg_fail_build(err, "read attachment");
    }
    mongoc_client_t *client = mg_pop(st);
    mongoc_collection_t *files = mg_coll(st, client, MG_BUCKET ".files");
    ok = mg_find_one(files, &filter, NULL, &doc, &found, err, "read attachment");
    mongoc_collection_destroy(files);
    if (ok && !found)
        ok = td_fail(err, TD_NOT_FOUND, "no attachment %s", id);
    ok = ok && file_parse(&doc, &a, &length, err);
    if (ok) {
        mongoc_database_t *db = mg_db(st, client);
        mongoc_gridfs_bucket_t *bucket = bucket_new(db, err);
        ok = bucket != NULL && download(bucket, &a, (size_t)length, err);
        mongoc_gridfs_bucket_destroy(bucket);
        mongoc_database_destroy(db);
    }
    mg_push(st, client);

    if (ok) {
        a.size = (size_t)length;
        if (a.name == NULL)
            a.name = td_strdup("");
        if (a.content_type == NULL)
            a.content_type = td_strdup("application/octet-stream");
        *out = a;
    } else {
        attachment_clear(&a);
    }
    bson_destroy(&doc);
    bson_destroy(&filter);
    return ok;
}

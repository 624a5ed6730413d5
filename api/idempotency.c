/* idempotency.c - Idempotency-Key on POST /tickets and POST
 * /tickets/{n}/comments (routes flagged ROUTE_IDEMPOTENT).
 *
 * A client that retries a POST after a timeout cannot know whether the
 * first one went through. With the same Idempotency-Key header
 * (draft-ietf-httpapi-idempotency-key-header) the retry gets the first
 * result back - status, body, Location, ETag, plus
 * "Idempotent-Replayed: true" - and nothing is done twice. The key is
 * the client's, per user: stored as SHA-256 over (user, method, path,
 * key), with a fingerprint (SHA-256) of the request body. Rules:
 *   - the same key with another body: 422, nothing done;
 *   - the same key while the first request still runs: 409;
 *   - a first request that failed with a 5xx leaves no record (retry
 *     freely); any other result is kept for [api] idempotency_ttl
 *     seconds, then purged (at most hourly, from a request).
 * The store's insert decides which of two concurrent first requests
 * runs. */
#include "api_int.h"

#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define IDEM_MAX_KEY 255
#define PURGE_EVERY_MS (3600 * 1000LL)

static void hex_sha256(const void *a, size_t alen, const void *b, size_t blen, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, a, alen);
    if (b)
        crypto_hash_sha256_update(&st, b, blen);
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(out, 65, d, sizeof d);
}

static const char *header_of(const struct api_resp *out, const char *name)
{
    for (size_t i = 0; i < out->n_headers; i++)
        if (strcmp(out->headers[i].name, name) == 0)
            return out->headers[i].value;
    return NULL;
}

static void purge_now_and_then(struct api *api)
{
    int64_t now = td_now(), last = atomic_load(&api->last_idem_purge_ms);
    if (now - last < PURGE_EVERY_MS ||
        !atomic_compare_exchange_strong(&api->last_idem_purge_ms, &last, now))
        return;
    struct store *st = api->core->store;
    struct td_err err;
    td_err_clear(&err);
    int64_t n = 0;
    if (!st->ops->idem_purge(st, now, &n, &err))
        log_event(LOG_WARN, "idempotency_purge_failed", LF_S("error", err.msg));
    else if (n > 0)
        log_event(LOG_INFO, "idempotency_purged", LF_I("keys", n));
}

/* Sends a stored result again. */
static void replay(const struct td_idem *rec, struct api_resp *out)
{
    size_t len = rec->body ? strlen(rec->body) : 0;
    out->status = (unsigned)rec->status;
    out->content_type = rec->content_type && strcmp(rec->content_type, "application/problem+json") == 0
                            ? "application/problem+json"
                            : "application/json";
    out->body = len ? td_strdup(rec->body) : NULL;
    out->len = len;
    if (rec->location)
        resp_header(out, "Location", "%s", rec->location);
    if (rec->etag)
        resp_header(out, "ETag", "%s", rec->etag);
    resp_header(out, "Idempotent-Replayed", "true");
}

void idem_dispatch(struct api_req *r, struct api_resp *out)
{
    const char *key = req_header(r, "Idempotency-Key");
    if (key == NULL) {
        r->route->fn(r, out);
        return;
    }
    size_t klen = strlen(key);
    bool printable = klen > 0 && klen <= IDEM_MAX_KEY;
    for (size_t i = 0; printable && i < klen; i++)
        printable = key[i] >= 0x20 && key[i] < 0x7f;
    if (!printable) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "Idempotency-Key", "1 to %d printable ASCII characters", IDEM_MAX_KEY);
        problem_fields(out, "bad Idempotency-Key header", &fe);
        return;
    }
    struct api *api = r->api;
    struct store *st = api->core->store;
    purge_now_and_then(api);
    char scope[TD_ID_LEN + 256 + 16];
    int n = snprintf(scope, sizeof scope, "%s\n%s\n%s\n", r->user.id, r->method, r->path);
    struct td_idem rec;
    memset(&rec, 0, sizeof rec);
    hex_sha256(scope, (size_t)(n > 0 ? n : 0), key, klen, rec.key);
    hex_sha256(r->body.data ? r->body.data : "", r->body.len, NULL, 0, rec.fingerprint);
    rec.created = td_now();
    rec.expires = rec.created + api->conv.idempotency_ttl_s * 1000;
    struct td_err err;
    td_err_clear(&err);
    if (!st->ops->idem_insert(st, &rec, &err)) {
        if (err.code != TD_CONFLICT) {
            problem_from_err(out, &err);
            return;
        }
        struct td_idem first;
        td_err_clear(&err);
        if (!st->ops->idem_get(st, rec.key, &first, &err)) {
            problem_from_err(out, &err);
            return;
        }
        if (strcmp(first.fingerprint, rec.fingerprint) != 0)
            problem(out, 422, "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request body", NULL);
        else if (first.status == 0)
            problem(out, 409, "conflict",
                    "a request with this Idempotency-Key is still being processed; retry later",
                    NULL);
        else
            replay(&first, out);
        idem_clear(&first);
        return;
    }
    r->route->fn(r, out);
    td_err_clear(&err);
    bool ok;
    if (out->status >= 500 || out->status == 0) {
        ok = st->ops->idem_delete(st, rec.key, &err);
    } else {
        rec.status = out->status;
        rec.content_type = td_strdup(out->content_type ? out->content_type : "application/json");
        rec.body = out->body && !out->body_static ? td_strndup(out->body, out->len) : NULL;
        rec.location = td_strdup(header_of(out, "Location"));
        rec.etag = td_strdup(header_of(out, "ETag"));
        ok = st->ops->idem_finish(st, &rec, &err);
    }
    if (!ok) /* the work is done; a retry may then find it in progress or redo it */
        log_event(LOG_WARN, "idempotency_record_failed", LF_S("error", err.msg));
    idem_clear(&rec);
}

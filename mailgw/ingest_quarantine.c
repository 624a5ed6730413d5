/* ingest_quarantine.c - the parts of ingest that are not about tickets:
 * the dedupe key of a mail (its Message-ID, or a content digest), the
 * quarantine entry it becomes when it cannot be ingested, and the one
 * place where a failed core call turns into retry or quarantine. */
#include "ingest_int.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/text.h"
#include "disposition.h"

#define MAX_KEY 998


static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "sha256-<hex>@digest.ticketd" over what makes the mail itself, not its
 * delivery (trace headers differ between two copies of one mail). */
char *ingest_digest_key(const struct mime_msg *m, const char *raw, size_t len)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    if (m) {
        static const char *const fields[] = { "From", "To", "Cc", "Date", "Subject" };
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
            const char *v = mime_header(m, fields[i]);
            crypto_hash_sha256_update(&h, (const unsigned char *)(v ? v : ""), v ? strlen(v) + 1 : 1);
        }
        size_t body = m->header_len < len ? m->header_len : len;
        crypto_hash_sha256_update(&h, (const unsigned char *)raw + body, len - body);
    } else {
        crypto_hash_sha256_update(&h, (const unsigned char *)raw, len);
    }
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, d);
    char hx[2 * sizeof d + 1];
    hex(d, sizeof d, hx);
    struct buf b = BUF_INIT;
    buf_printf(&b, "sha256-%s@digest.ticketd", hx);
    return buf_steal(&b);
}

bool ingest_usable_msgid(const char *id)
{
    if (id == NULL || id[0] == '\0' || strlen(id) > MAX_KEY)
        return false;
    for (const char *c = id; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7F)
            return false;
    return utf8_valid(id, strlen(id));
}

void ingest_quarantine_id(const char *key, char out[TD_ID_LEN + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    struct buf b = BUF_INIT;
    buf_printf(&b, "quarantine:%s", key);
    crypto_hash_sha256(d, (const unsigned char *)b.data, b.len);
    buf_free(&b);
    char hx[2 * sizeof d + 1];
    hex(d, sizeof d, hx);
    memcpy(out, hx, TD_ID_LEN);
    out[TD_ID_LEN] = '\0';
}




struct store *ingest_store(struct job *j)
{
    return j->c->core->store;
}

void ingest_set_key(struct job *j, char *key)
{
    free(j->key);
    j->key = key;
    snprintf(j->out->key, sizeof j->out->key, "%s", key);
}

void ingest_log(struct job *j, const char *how)
{
    struct ingest_outcome *o = j->out;
    enum log_level lvl = o->result == INGEST_QUARANTINED || o->result == INGEST_RETRY ? LOG_WARN : LOG_INFO;
    log_event(lvl, "mail", LF_S("result", ingest_result_name(o->result)),
              LF_S("mailbox", j->src->mailbox), LF_I("uid", j->src->uid),
              LF_S("key", o->key), LF_I("ticket", o->ticket), LF_S("how", how),
              LF_S("reason", o->why));
}

/* ---- quarantine -------------------------------------------------------- */

void ingest_quarantine(struct job *j, const char *fmt, ...)
{
    struct ingest_outcome *o = j->out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
    if (j->key == NULL)
        ingest_set_key(j, ingest_digest_key(j->parsed ? &j->m : NULL, j->raw, j->len));
    struct td_quarantine q;
    memset(&q, 0, sizeof q);
    ingest_quarantine_id(j->key, q.id);
    q.mailbox = (char *)(j->src->mailbox ? j->src->mailbox : "");
    q.uidvalidity = j->src->uidvalidity;
    q.uid = j->src->uid;
    q.msg_key = j->key;
    q.reason = o->why;
    char *from_raw = NULL;
    if (j->parsed) {
        q.sender = j->m.from_addr;
        q.subject = j->m.subject;
    } else {
        /* Best effort for the admin's list: the raw From line. */
        const char *f = NULL;
        for (size_t i = 0; i + 5 < j->len && i < 65536; i++)
            if ((i == 0 || j->raw[i - 1] == '\n') && strncasecmp(j->raw + i, "from:", 5) == 0) {
                f = j->raw + i + 5;
                break;
            }
        while (f && f < j->raw + j->len && (*f == ' ' || *f == '\t'))
            f++;
        if (f) {
            size_t n = 0;
            while (f + n < j->raw + j->len && f[n] != '\r' && f[n] != '\n' && f[n] && n < 200)
                n++;
            struct buf b = BUF_INIT;
            charset_to_utf8(NULL, f, n, &b, NULL);
            from_raw = buf_steal(&b);
            q.sender = from_raw;
        }
    }
    q.raw = (unsigned char *)j->raw;
    q.raw_len = j->len > STORE_QUARANTINE_MAX_RAW ? STORE_QUARANTINE_MAX_RAW : j->len;
    q.raw_size = j->src->full_size > j->len ? j->src->full_size : j->len;
    if (q.raw_size > q.raw_len)
        o->keep_on_server = true;
    q.created = q.updated = td_now();
    struct td_err e;
    td_err_clear(&e);
    bool ok = ingest_store(j)->ops->quarantine_put(ingest_store(j), &q, &e);
    free(from_raw);
    if (!ok) {
        /* Not even the quarantine can take it: the mail stays on the
         * server and is fetched again. */
        o->result = INGEST_RETRY;
        snprintf(o->why, sizeof o->why, "cannot quarantine: %.300s", e.msg);
        return;
    }
    o->result = INGEST_QUARANTINED;
    memcpy(o->quarantine_id, q.id, sizeof o->quarantine_id);
}

/* The one exit for a failed core call. */
void ingest_error(struct job *j, const char *what, const struct td_err *e)
{
    int attempts = j->src->attempts + 1;
    if (disposition_of(e->code, attempts, j->c->set->max_attempts) == DISP_RETRY) {
        j->out->result = INGEST_RETRY;
        snprintf(j->out->why, sizeof j->out->why, "%s: %.300s (%s)", what, e->msg, td_code_name(e->code));
        return;
    }
    ingest_quarantine(j, "%s: %.300s (%s)", what, e->msg, td_code_name(e->code));
}


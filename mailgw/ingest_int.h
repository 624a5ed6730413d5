/* ingest_int.h - private to ingest.c and ingest_quarantine.c: the state
 * of one ingestion and the helpers both use. */
#ifndef MGW_INGEST_INT_H
#define MGW_INGEST_INT_H

#include "ingest.h"
#include "mime.h"

struct job {
    const struct ingest_ctx *c;
    const struct ingest_src *src;
    const char *raw;
    size_t len;
    struct ingest_outcome *out;
    struct mime_msg m;
    bool parsed;
    char *key;
    char *digest;          /* ingest_digest_key of this mail (parsed only) */
    bool digest_differs;   /* its Message-ID was first seen with other content */
    char *sender;          /* normalised From, or NULL */
    const char *sender_from; /* NULL: From; else the field the sender came
                                from ("Reply-To", ...): never an agent */
};

struct store *ingest_store(struct job *j);

/* ingest_dedupe.c. DONE_HALF: *ticket holds the key in its thread
 * without the comment (a crash between ticket_open's two writes). The
 * key may change (to the digest) when a Message-ID was reused. */
enum done { DONE_NO = 0, DONE_YES, DONE_HALF, DONE_ERROR };
enum done ingest_done_before(struct job *j, int64_t *ticket, struct td_err *e);
/* Takes ownership of key; also copied (shortened) into the outcome. */
void ingest_set_key(struct job *j, char *key);
void ingest_log(struct job *j, const char *how);

/* "sha256-<hex>@digest.ticketd" over From, To, Cc, Date, Subject and
 * the body (m NULL: over all of raw). Caller frees. */
char *ingest_digest_key(const struct mime_msg *m, const char *raw, size_t len);
/* A Message-ID usable as the key: 1..998 bytes, valid UTF-8, no blanks. */
bool ingest_usable_msgid(const char *id);

/* Writes the quarantine entry (reason from fmt) and sets the outcome to
 * QUARANTINED, or to RETRY when not even that can be written. */
void ingest_quarantine(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The one exit for a failed core call: retry or quarantine, as
 * disposition_of says. */
void ingest_error(struct job *j, const char *what, const struct td_err *e);

#endif

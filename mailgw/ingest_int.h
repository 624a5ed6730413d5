/* ingest_int.h - private to ingest.c, ingest_quarantine.c and
 * ingest_author.c: the state of one ingestion and the helpers they use. */
#ifndef MGW_INGEST_INT_H
#define MGW_INGEST_INT_H

#include "core/model.h"
#include "ingest.h"
#include "mime.h"
#include "thread.h"

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

/* ingest_route.c: the queue (group) a new ticket from this mail opens
 * in - a [route] rule's, else the mailbox's. Borrowed from the settings
 * or the source. */
const char *ingest_route(struct job *j);

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

/* ingest_author.c (authorship.h). Who a non-staff (or untrusted) mail
 * speaks for: *ticket becomes the ticket to comment on, merges followed,
 * 0 for a new ticket, and *related the ticket a stranger's mail named; a
 * sender admitted by rule 1 or 3 joins as a participant here. Staff:
 * only merges are followed. false when the job is finished (an error
 * was recorded). */
bool ingest_decide_author(struct job *j, const struct td_user *actor, bool staff,
                          int64_t *ticket, enum thread_how how, bool automatic,
                          int64_t *related);
/* After a stranger's mail opened j->out->ticket: the history of the
 * ticket it named says so (EVENT_RELATED_MAIL). */
void ingest_note_related(struct job *j, int64_t related);

#endif

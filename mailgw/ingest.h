/* ingest.h - one raw mail becomes the right ticket or comment, exactly
 * once, or a quarantine entry that says why.
 *
 * Idempotent by a key: the mail's Message-ID, or for a mail without a
 * usable one a digest of its content (sha256 of From, To, Date, Subject
 * and the body, so a copy delivered twice is still one mail). Before
 * anything is written the store is asked whether the key is done:
 *   - a comment with that Message-ID exists -> a duplicate, nothing to do
 *     (unless its author is not this sender: then someone reused the
 *     Message-ID, and the content digest becomes the key);
 *   - a ticket holds the key in its thread but no comment does -> a crash
 *     hit between ticket_open's two writes: the description is added now;
 *   - a quarantine entry for the key exists -> already quarantined.
 * So at-least-once fetching plus this is exactly-once tickets.
 *
 * Never fails as a function: the outcome says what happened, and
 * INGEST_RETRY means "leave the mail where it is and try later" (the
 * store is down, a race was lost); disposition.h decides between retry
 * and quarantine for every error. */
#ifndef MGW_INGEST_H
#define MGW_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "settings.h"

struct ingest_ctx {
    struct td_core *core;
    const struct mailgw_settings *set;
};

struct ingest_src {
    const char *mailbox;   /* [mailbox NAME], "" = none (e.g. a retry) */
    const char *queue;     /* for new tickets; NULL = "" */
    uint32_t uidvalidity;  /* where it is on the server, 0 = unknown */
    uint32_t uid;
    size_t full_size;      /* the mail's size when raw is only its head, else 0 */
    bool retry;            /* an admin's retry: no rate limit, automatic mail
                              becomes a normal ticket */
    int attempts;          /* earlier failed attempts of this mail */
};

enum ingest_result {
    INGEST_TICKET = 0,     /* a new ticket */
    INGEST_COMMENT,        /* a comment on an existing ticket */
    INGEST_DUPLICATE,      /* done before: nothing written */
    INGEST_QUARANTINED,    /* kept in the quarantine with a reason */
    INGEST_RETRY           /* nothing decided: try again later */
};

struct ingest_outcome {
    enum ingest_result result;
    int64_t ticket;                       /* TICKET, COMMENT, DUPLICATE (if known) */
    char quarantine_id[TD_ID_LEN + 1];    /* QUARANTINED */
    bool keep_on_server;                  /* only the head was kept: do not
                                             move the mail away */
    char key[128];                        /* the dedupe key, shortened */
    char why[400];                        /* QUARANTINED: the reason; RETRY: why */
};

void ingest_mail(const struct ingest_ctx *c, const struct ingest_src *src, const char *raw,
                 size_t len, struct ingest_outcome *out);

/* The quarantine id of a dedupe key (24 hex characters). */
void ingest_quarantine_id(const char *key, char out[TD_ID_LEN + 1]);

const char *ingest_result_name(enum ingest_result r);

#endif

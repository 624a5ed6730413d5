/* store_quarantine.h - the stored shape of quarantined mail, split from
 * store.h (which includes it) to keep that file one screenful of ops. */
#ifndef TD_STORE_QUARANTINE_H
#define TD_STORE_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

/* ---- Mail gateway: quarantined mail (mailgw/ingest.c) -----------------
 * A mail the gateway could not or would not ingest (malformed, hostile,
 * over a limit, rate-limited, a loop), kept with the reason an admin
 * reads in `ticketd quarantine list` and its raw bytes, so that
 * `ticketd quarantine retry` can ingest it again. The id is derived from
 * the mail (its Message-ID or content digest), so fetching the same mail
 * again finds the entry instead of adding a second one. Cleared by
 * quarantine_clear / quarantine_list_clear (core/quarantine.c). */
#define STORE_QUARANTINE_MAX_RAW ((size_t)12 * 1024 * 1024) /* fits a 16 MB BSON document */

struct td_quarantine {
    char id[TD_ID_LEN + 1];
    char *mailbox;          /* the [mailbox NAME] it came from; "" = none */
    uint32_t uidvalidity;   /* where it is on the IMAP server (0 = unknown) */
    uint32_t uid;
    char *msg_key;          /* its Message-ID, or "sha256-...@digest" */
    char *reason;           /* why it is here, for an admin */
    char *sender;           /* From as written (may be NULL) */
    char *subject;          /* decoded subject (may be NULL) */
    unsigned char *raw;     /* the mail (NULL in lists) */
    size_t raw_len;         /* bytes in raw, <= STORE_QUARANTINE_MAX_RAW */
    size_t raw_size;        /* the mail's size; > raw_len when only its head
                               was kept (the rest stays on the IMAP server) */
    int64_t attempts;       /* times it was quarantined (re-tries included) */
    td_time created;
    td_time updated;
};

struct td_quarantine_list { struct td_quarantine *v; size_t n; };

void quarantine_clear(struct td_quarantine *q);
void quarantine_list_clear(struct td_quarantine_list *l);

#endif

/* ingest_dedupe.c - "was this mail done already?" (ingest.h): by its
 * key (the Message-ID, or the content digest for a mail without a usable
 * one), and, because some systems reuse Message-IDs, by the content
 * digest the first mail with that Message-ID recorded: a repeat is a
 * duplicate only when the digests match too. The same goes for a
 * quarantined first mail. When no digest can be compared (rows from
 * before digests were kept, a crash between the writes, only a head
 * kept), the old answer stands, so a redelivery never doubles. */
#include "ingest_int.h"

#include <string.h>

#include "core/comment.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/user.h"

/* A comment holds this Message-ID: is this mail the same one? Only the
 * content digest the first mail recorded can say (some systems reuse
 * Message-IDs for different mails). DONE_YES: same digest; DONE_NO with
 * j->digest_differs: a different mail, ingested under its digest and
 * logged; DONE_NO alone: no digest recorded (a mail from before digests
 * were kept, or a crash between the writes), the sender decides as
 * before. */
static enum done digest_says(struct job *j, int round, struct td_err *e)
{
    j->digest_differs = false;
    if (round > 0 || j->digest == NULL || strcmp(j->key, j->digest) == 0)
        return DONE_NO;
    struct store *st = ingest_store(j);
    char *first = NULL;
    struct td_err de;
    td_err_clear(&de);
    if (!st->ops->msgid_digest_get(st, j->key, &first, &de)) {
        if (de.code == TD_NOT_FOUND)
            return DONE_NO;
        *e = de;
        return DONE_ERROR;
    }
    bool same = strcmp(first, j->digest) == 0;
    if (!same)
        log_event(LOG_WARN, "mail_msgid_collision", LF_S("msgid", j->key),
                  LF_S("first_digest", first), LF_S("digest", j->digest),
                  LF_S("sender", j->sender ? j->sender : ""));
    free(first);
    if (same)
        return DONE_YES;
    j->digest_differs = true;
    return DONE_NO;
}

/* Is the quarantined q this very mail (by content digest)? When it
 * cannot be told (no digest, only the head kept, an unreadable header)
 * it is, as before: never a second entry for one mail. */
static bool quarantined_same(struct job *j, const struct td_quarantine *q)
{
    if (j->digest == NULL || strcmp(j->key, j->digest) == 0 || q->raw == NULL ||
        q->raw_size > q->raw_len)
        return true;
    struct mime_msg qm;
    struct td_err e;
    memset(&qm, 0, sizeof qm);
    td_err_clear(&e);
    bool same = true;
    if (mime_headers_split((const char *)q->raw, q->raw_len, &qm, &e)) {
        char *d = ingest_digest_key(&qm, (const char *)q->raw, q->raw_len);
        same = strcmp(d, j->digest) == 0;
        free(d);
    }
    mime_msg_clear(&qm);
    return same;
}

/* DONE_HALF: *ticket holds the key in its thread without the comment. */
enum done ingest_done_before(struct job *j, int64_t *ticket, struct td_err *e)
{
    struct store *st = ingest_store(j);
    for (int round = 0; round < 2; round++) {
        struct td_comment cm;
        td_err_clear(e);
        if (st->ops->comment_find_by_msgid(st, j->key, &cm, e)) {
            *ticket = cm.ticket;
            enum done d = digest_says(j, round, e);
            if (d != DONE_NO) {
                comment_clear(&cm);
                return d;
            }
            if (j->digest_differs) {
                comment_clear(&cm);
                ingest_set_key(j, td_strdup(j->digest));
                continue;
            }
            bool same = true;
            if (cm.author_id[0] != '\0' && j->sender != NULL) {
                struct td_user u;
                struct td_err ue;
                td_err_clear(&ue);
                if (st->ops->user_get(st, cm.author_id, &u, &ue)) {
                    same = u.email && strcmp(u.email, j->sender) == 0;
                    user_clear(&u);
                } else if (ue.code != TD_NOT_FOUND) {
                    comment_clear(&cm);
                    *e = ue;
                    return DONE_ERROR;
                }
            }
            *ticket = cm.ticket;
            comment_clear(&cm);
            if (same)
                return DONE_YES;
            if (round == 1 || strncmp(j->key, "sha256-", 7) == 0)
                return DONE_YES;
            /* Someone else's mail carried this Message-ID first. */
            log_event(LOG_WARN, "mail_msgid_reused", LF_S("key", j->key), LF_S("sender", j->sender));
            ingest_set_key(j, ingest_digest_key(&j->m, j->raw, j->len));
            continue;
        }
        if (e->code != TD_NOT_FOUND)
            return DONE_ERROR;
        break;
    }
    td_err_clear(e);
    if (!j->src->retry) {
        char qid[TD_ID_LEN + 1];
        ingest_quarantine_id(j->key, qid);
        struct td_quarantine q;
        bool again = false;
        if (st->ops->quarantine_get(st, qid, &q, e)) {
            bool same = quarantined_same(j, &q);
            quarantine_clear(&q);
            if (same) {
                memcpy(j->out->quarantine_id, qid, sizeof qid);
                return DONE_YES;
            }
            /* Another mail with the Message-ID of a quarantined one:
             * its own key, then the same questions for that key. */
            log_event(LOG_WARN, "mail_msgid_collision", LF_S("msgid", j->key),
                      LF_S("digest", j->digest), LF_S("with", "quarantine"));
            ingest_set_key(j, td_strdup(j->digest));
            ingest_quarantine_id(j->key, qid);
            again = true;
        } else if (e->code != TD_NOT_FOUND) {
            return DONE_ERROR;
        }
        td_err_clear(e);
        if (again && st->ops->quarantine_get(st, qid, &q, e)) {
            quarantine_clear(&q);
            memcpy(j->out->quarantine_id, qid, sizeof qid);
            return DONE_YES;
        }
        if (again && e->code != TD_NOT_FOUND)
            return DONE_ERROR;
    }
    td_err_clear(e);
    if (st->ops->ticket_find_by_msgid(st, j->key, ticket, e))
        return DONE_HALF;
    if (e->code != TD_NOT_FOUND)
        return DONE_ERROR;
    *ticket = 0;
    return DONE_NO;
}

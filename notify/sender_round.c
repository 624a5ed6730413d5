/* sender_round.c - one round of a sending thread: record what the last
 * round sent and claim the next rows, in one store batch; build their
 * mails; send them together. See sender.h for the steps of a row.
 *
 * Why the record rides on the next claim: each store batch is a write
 * transaction, which waits for its turn on the writer and its commit.
 * Recording a round on its own cost one such wait a round besides the
 * claim's, and under the bench's mailed comments a single thread spent
 * more time waiting for those two commits than sending. The record then
 * waits at most for the next claim (sender.c gathers for GATHER_MS
 * first): a crash in that window re-sends the round's mails, with their
 * Message-IDs (sender.h: at least once). A thread records what it holds
 * before it sleeps for want of work or stops. */
#include "notify/sender_int.h"
#include "core/id.h"
#include "core/log.h"

#include <string.h>

/* Records r's rows (inside the caller's batch, if any); r stays as it is. */
static bool record_round(struct sender *s, const char *owner, const struct sender_round *r,
                         struct td_err *err)
{
    return r->n == 0 || deliver_record_rows(s, owner, r->rows, r->outs, r->n, err);
}

static void round_clear(struct sender_round *r)
{
    for (size_t i = 0; i < r->n; i++)
        outbox_clear(&r->rows[i]);
    r->n = 0;
}

/* Records r's rows, then claims up to max due rows (recording their
 * Message-IDs), all in one batch; *n says how many were claimed. r is
 * emptied only when its record is committed. */
static bool record_and_claim(struct sender *s, const char *owner, struct sender_round *r,
                             td_time claimed, size_t max, struct td_outbox *rows, size_t *n,
                             struct td_err *err)
{
    struct store *st = s->st;
    bool batch = st->ops->batch_begin != NULL && st->ops->batch_end != NULL;
    *n = 0;
    struct td_err e;
    td_err_clear(&e);
    if (batch && !st->ops->batch_begin(st, &e)) {
        if (err)
            *err = e;
        return false;
    }
    /* A row whose outcome fails to record is logged and handed out again
     * when its lease runs out; the batch goes on (its write undid only
     * itself). */
    (void)record_round(s, owner, r, NULL);
    if (!batch) /* each write was its own transaction: done */
        round_clear(r);
    bool ok = true;
    while (*n < max) {
        if (!st->ops->outbox_claim(st, owner, claimed, s->cfg.lease_ms, &rows[*n], &e)) {
            ok = e.code == TD_NOT_FOUND;
            break;
        }
        (void)deliver_record_ids(s, &rows[*n]); /* a failure is logged there */
        (*n)++;
    }
    if ((batch && !st->ops->batch_end(st, ok, ok ? &e : NULL)) || !ok) {
        for (size_t i = 0; i < *n; i++) /* with a batch: rolled back, not claimed */
            outbox_clear(&rows[i]);
        *n = 0;
        if (err)
            *err = e;
        return false;
    }
    round_clear(r);
    return true;
}

bool sender_round_run(struct sender *s, struct smtp_client *smtp, const char *owner, size_t max,
                      struct sender_round *r, size_t *handled, struct td_err *err)
{
    struct td_outbox rows[SENDER_CLAIM_BATCH];
    struct deliver_job jobs[SENDER_CLAIM_BATCH];
    struct smtp_mail mails[SENDER_CLAIM_BATCH];
    size_t mail_row[SENDER_CLAIM_BATCH];
    /* A store without batches claims row by row, each claim its own
     * write: several still go out together. */
    if (max > SENDER_CLAIM_BATCH)
        max = SENDER_CLAIM_BATCH;
    *handled = 0;
    size_t n = 0;
    td_time claimed = td_now();
    if (!record_and_claim(s, owner, r, claimed, max, rows, &n, err))
        return false;
    *handled = n;
    if (n == SENDER_CLAIM_BATCH) /* more may be due: another thread helps */
        sender_wake(s);
    size_t n_mails = 0;
    for (size_t i = 0; i < n; i++) {
        deliver_prepare(s, &rows[i], &jobs[i]);
        if (deliver_job_has_mail(&jobs[i])) {
            mails[n_mails] = (struct smtp_mail){ .from = s->cfg.envelope_from,
                                                 .rcpt = rows[i].recipient,
                                                 .data = jobs[i].mail.data,
                                                 .len = jobs[i].mail.len };
            mail_row[n_mails++] = i;
        }
    }
    /* Stopping: the first still goes (a stop waits for it), the others
     * go back. A mail that cannot start before half the lease is gone
     * goes back too, for any sender, rather than risk a second copy. */
    size_t n_send = sender_stopping(s) && n_mails > 1 ? 1 : n_mails;
    int64_t start_by = s->cfg.lease_ms / 2 - (td_now() - claimed);
    smtp_send_all(smtp, mails, n_send, start_by > 1 ? start_by : 1);
    for (size_t i = n_send; i < n_mails; i++)
        mails[i].started = false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool has_mail = k < n_mails && mail_row[k] == i;
        deliver_settle(s, &rows[i], &jobs[i], has_mail && mails[k].started ? &mails[k].result : NULL);
        if (has_mail && !mails[k].started)
            deliver_hand_back(&jobs[i].out);
        r->outs[i] = jobs[i].out;
        k += has_mail;
    }
    memcpy(r->rows, rows, n * sizeof *rows); /* r owns them now */
    r->n = n;
    return true;
}

bool sender_round_flush(struct sender *s, const char *owner, struct sender_round *r,
                        struct td_err *err)
{
    if (r->n == 0)
        return true;
    struct td_err e;
    td_err_clear(&e);
    bool ok = deliver_record(s, owner, r->rows, r->outs, r->n, &e);
    if (!ok && err)
        *err = e;
    round_clear(r);
    return ok;
}

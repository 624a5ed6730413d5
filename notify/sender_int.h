/* sender_int.h - private to notify/sender.c and notify/deliver.c. */
#ifndef TD_NOTIFY_SENDER_INT_H
#define TD_NOTIFY_SENDER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/template.h"
#include "notify/sender.h"

#define SENDER_MAX_THREADS 16

struct sender {
    struct sender_config cfg;
    struct store *st;
    char domain[256];                /* of the support address */
    char owner[128];                 /* claim owner prefix: host:pid:random */

    pthread_rwlock_t tpl_lock;       /* guards tpl (reload swaps it) */
    struct template_set *tpl;

    pthread_mutex_t lock;            /* guards wake_seq, stopping */
    pthread_cond_t cond;             /* the reconciler sleeps on it (stopping) */
    pthread_cond_t work_cond;        /* sending threads sleep on it (work, stopping) */
    uint64_t wake_seq;
    bool stopping;

    pthread_t workers[SENDER_MAX_THREADS];
    int n_workers;
    pthread_t reconciler;
    bool reconciler_running;
    struct notify_planned *planned; /* the hook's (sender_set_planned), or NULL */
};

/* Step 2 of sender.h: the row's Message-ID and the ticket's root id
 * join the ticket's thread (nothing for an account mail). A failure is
 * logged (the mail still goes; replies find it by References, Reply-To
 * and [#N]); false says one happened. */
bool deliver_record_ids(struct sender *s, const struct td_outbox *row);

/* What became of one claimed row, until deliver_record writes it. */
struct deliver_outcome {
    enum td_outbox_state state; /* SENT, PENDING (retry) or FAILED */
    td_time next_attempt;       /* PENDING: when to try again */
    bool handed_back;           /* not tried: back to pending, quietly */
    long code;                  /* the SMTP server's last reply code */
    char error[300];
};

/* One claimed row on its way: the mail built for it, then its outcome. */
struct deliver_job {
    struct deliver_outcome out;
    struct buf mail;            /* to send; empty: out says why not */
};

/* Steps 1 and 3 of sender.h for one claimed row: renders and builds its
 * mail into j (j->out says why when there is none). Writes nothing to
 * the store; deliver_settle ends j. */
void deliver_prepare(struct sender *s, const struct td_outbox *row, struct deliver_job *j);
bool deliver_job_has_mail(const struct deliver_job *j);
/* Step 4's verdict: what SMTP said of j's mail (res; NULL when there was
 * none to send) into j->out, a retry time when it is pending (or failed
 * for good past give_up_after). Frees the mail. */
void deliver_settle(struct sender *s, const struct td_outbox *row, struct deliver_job *j,
                    const struct smtp_result *res);

/* A claimed row not tried (late, or the sender is stopping): o hands it
 * back to pending at once, for any sender. */
void deliver_hand_back(struct deliver_outcome *o);

/* Step 5: the outcomes of rows[0..n) (claimed by owner) into the store,
 * in one store batch - one transaction - when there are several; each
 * counted and logged. A row another sender has taken over meanwhile
 * (TD_CONFLICT) is skipped. Returns false when the store failed to
 * record an outcome (the lease will hand the row out again). */
bool deliver_record(struct sender *s, const char *owner, const struct td_outbox *rows,
                    const struct deliver_outcome *outs, size_t n, struct td_err *err);
/* The same inside the caller's store batch (it opens none). */
bool deliver_record_rows(struct sender *s, const char *owner, const struct td_outbox *rows,
                         const struct deliver_outcome *outs, size_t n, struct td_err *err);

/* Whether sender_free has asked the threads to stop. */
bool sender_stopping(struct sender *s);

/* Rows a sending thread claims in one store batch (one transaction),
 * their Message-IDs recorded in it too; their mails are sent together. */
#define SENDER_CLAIM_BATCH 16

/* What a sending thread has sent and not yet recorded. */
struct sender_round {
    struct td_outbox rows[SENDER_CLAIM_BATCH];
    struct deliver_outcome outs[SENDER_CLAIM_BATCH];
    size_t n;
};

/* One round (sender_round.c): records r, claims up to max due rows,
 * sends their mails and leaves the rows and outcomes in r for the next
 * round or sender_round_flush. *handled says how many were claimed.
 * False when the store failed (r is kept for the next try). */
bool sender_round_run(struct sender *s, struct smtp_client *smtp, const char *owner, size_t max,
                      struct sender_round *r, size_t *handled, struct td_err *err);
/* Records r now, on its own; r is empty after, whatever happened (a
 * row not recorded is handed out again when its lease runs out). */
bool sender_round_flush(struct sender *s, const char *owner, struct sender_round *r,
                        struct td_err *err);

#endif

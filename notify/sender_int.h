/* sender_int.h - private to notify/sender.c and notify/deliver.c. */
#ifndef TD_NOTIFY_SENDER_INT_H
#define TD_NOTIFY_SENDER_INT_H

#include <pthread.h>
#include <stdatomic.h>

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

/* Steps 3 and 4 of sender.h for one claimed row: renders, builds and
 * sends it, and says how that went in o. Writes nothing to the store. */
void deliver_send(struct sender *s, struct smtp_client *smtp, const struct td_outbox *row,
                  struct deliver_outcome *o);

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

#endif

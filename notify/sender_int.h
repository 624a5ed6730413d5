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
    pthread_cond_t cond;
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

/* Handles one claimed row to the end (finish included). owner is the
 * claim's owner. Returns false only when the store failed to record the
 * outcome (the lease will hand the row out again). */
bool deliver_row(struct sender *s, struct smtp_client *smtp, const char *owner,
                 struct td_outbox *row, struct td_err *err);

#endif

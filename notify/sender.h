/* sender.h - the outbox sender: claims due rows, renders them, sends them
 * through SMTP and records the outcome.
 *
 * Per row (claimed atomically by store outbox_claim, so several threads
 * and several ticketd processes never send one row twice while its lease
 * lasts):
 *   1. render the row's template with the values the planner stored;
 *   2. record its Message-ID (deterministic: <ticketd.ROWID@domain>) in
 *      the ticket's thread BEFORE sending, so a reply that comes back
 *      quickly always finds its ticket, and a retry reuses the same id -
 *      in the claim's own store batch: a thread claims up to
 *      SENDER_CLAIM_BATCH rows and records their ids in one transaction;
 *   3. build the MIME message (message.h) with In-Reply-To/References to
 *      the thread, [#N] in the subject, the signed Reply-To;
 *   4. send (smtp.h: a round's mails together, one on each of [smtp]
 *      connections at once) and finish the row - the outcomes of a
 *      round recorded together, in the transaction of the thread's next
 *      claim (sender_round.c), a few milliseconds later, or on their own
 *      before the thread sleeps or stops: sent; pending again at
 *      now + min(retry_base * 2^(attempts-1), retry_max) (+ jitter) on a
 *      temporary failure; failed on a permanent one (5xx, a template or
 *      address that can never work, or retrying longer than give_up_after),
 *      with the error kept on the row and logged at error level.
 * A crash after the SMTP server accepted the mail and before the row was
 * finished means the row is sent again when its lease runs out: at least
 * once, with the same Message-ID, so receivers can tell. Recording
 * together widens that window from one mail to the mails of one round
 * (at most SENDER_CLAIM_BATCH, until the next claim); it saves commits -
 * fsyncs - which bounded the sender.
 *
 * A reconciler thread replays recent history (notify_reconcile) every
 * reconcile_interval: first over reconcile_window, then from its last pass
 * (with an overlap), so rows lost between a change and its hook are
 * written after all. The same thread purges sent and failed rows older
 * than outbox_retention (in batches), so the outbox does not grow
 * forever; the retention must outlast the reconcile window, or a replay
 * would plan a purged mail again. */
#ifndef TD_NOTIFY_SENDER_H
#define TD_NOTIFY_SENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/notify.h"
#include "core/reply_token.h"
#include "core/store/store.h"
#include "notify/smtp.h"

struct sender_config {
    struct notify_config notify;
    struct smtp_config smtp;
    struct reply_keys keys;
    char from_name[256];
    char from_addr[256];       /* header From; default: the support address */
    char envelope_from[256];   /* MAIL FROM (bounces); default: from_addr */
    char templates_dir[512];   /* override directory, "" = none */
    char builtin_templates[512]; /* the shipped set, default "templates" */
    int threads;               /* sending threads, default 2 (each with [smtp] connections) */
    int64_t poll_ms;           /* idle poll, default 2000 */
    int64_t lease_ms;          /* claim lease, default 120000 (> smtp timeout) */
    int64_t retry_base_ms;     /* default 30000 */
    int64_t retry_max_ms;      /* default 3600000 */
    int64_t give_up_after_ms;  /* default 3 days */
    int64_t reconcile_interval_ms; /* default 60000; 0 = no reconciler thread */
    int64_t reconcile_window_ms;   /* default 24 h */
    int64_t outbox_retention_ms;   /* finished rows kept this long; default 7 days,
                                      0 = forever; > reconcile_window_ms */
    int64_t attachments_max_bytes; /* files attached per mail, in total;
                                      beyond: listed (default 10 MiB) */
    char from_via[256];        /* From name of an agent's reply to customers:
                                  "{agent} via {support}"; "" = from_name */
};

/* [notify] (see notify.h plus templates_dir, threads, poll_ms, lease_ms,
 * retry_base_ms, retry_max_ms, give_up_after_ms, reconcile_interval_ms,
 * reconcile_window_ms, outbox_retention_ms, reply_secret(_file),
 * previous_reply_secret(_file), attachments_max_bytes) and [smtp] (smtp.h
 * plus from, envelope_from, from_via). */
bool sender_config_load(struct td_config *cfg, struct sender_config *sc, struct td_err *err);

struct sender;

/* Loads the templates (a missing or invalid one is an error here, at
 * start-up). Starts no thread. st is borrowed. */
bool sender_new(const struct sender_config *sc, struct store *st, struct sender **out,
                struct td_err *err);
/* The events this process's planner has already planned
 * (notify_planned_of), which the reconciler's passes then skip; before
 * sender_start. Borrowed: it must outlive the sender. */
struct notify_planned;
void sender_set_planned(struct sender *s, struct notify_planned *planned);
/* Starts the sending threads and the reconciler. */
bool sender_start(struct sender *s, struct td_err *err);
/* Wakes the sending threads (the planner calls it after queueing). */
void sender_wake(void *sender);
/* Asks the threads to stop, waits for them (a mail being sent finishes,
 * bounded by the SMTP timeout) and frees everything. NULL-safe. */
void sender_free(struct sender *s);
/* Re-reads the templates; on an error the old ones stay and it is logged
 * (and returned). */
bool sender_reload(struct sender *s, struct td_err *err);

/* Claims and handles at most one due row on the calling thread (tests
 * and tools). *handled says whether there was one. */
bool sender_run_once(struct sender *s, bool *handled, struct td_err *err);
/* One reconciler pass over events since `since`. */
bool sender_reconcile_once(struct sender *s, td_time since, size_t *inserted, struct td_err *err);

/* Deletes the finished outbox rows created before now - retention (all
 * of them, a batch at a time); *deleted (may be NULL) gets how many. A
 * no-op when the retention is 0. */
bool sender_purge_once(struct sender *s, td_time now, int64_t *deleted, struct td_err *err);

/* The Message-ID of a row, and the one that roots a ticket's thread. */
void sender_row_msgid(const char *domain, const char *row_id, char *out, size_t len);
void sender_ticket_msgid(const char *domain, int64_t ticket, char *out, size_t len);

#endif

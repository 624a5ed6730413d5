/* poller.h - one thread per mailbox: owns the mailbox through the
 * store's lease, fetches what is new, ingests it, and only then marks it
 * \Seen, moves it and advances the stored UID.
 *
 * At-least-once fetching (the UID moves only after the commit; a crash
 * or a disconnect re-reads) plus idempotent ingest (ingest.h) is
 * exactly-once tickets. UIDVALIDITY is kept with the UID; when the
 * server's changes, the folder is read again from the start and
 * Message-ID dedupe keeps anything from doubling.
 *
 * Waiting: IDLE where the server has it, re-issued at least every
 * idle_restart_ms and every third of the lease (which is renewed then);
 * else polling every poll_interval_ms. Failures (server, network, store)
 * reconnect after a capped exponential backoff with jitter, each logged
 * with its reason. Two processes on one database: only the lease holder
 * ingests; a dead holder's lease expires after lease_ttl_ms, unless the
 * holder was a process of this host that provably no longer exists
 * (lease_owner.h): then a restarted ticketd takes it over at once. */
#ifndef MGW_POLLER_H
#define MGW_POLLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/core.h"
#include "settings.h"

struct poller {
    /* set before poller_start, borrowed */
    struct td_core *core;
    const struct mailgw_settings *set;
    const struct mailbox_settings *box;
    char owner[96];              /* lease owner: host:pid:boot:pidns:random
                                    (lease_owner.h); "" = made at start */

    /* what happened, for tests and metrics */
    atomic_long ingested;        /* tickets + comments */
    atomic_long duplicates;
    atomic_long quarantined;
    atomic_long retries;
    atomic_long failures;        /* connection/store failures */
    atomic_long cycles;          /* searches done */
    atomic_bool owning;          /* holds the lease now */

    /* private */
    pthread_t thread;
    bool running;
    atomic_bool stop;
    int wake[2];
};

/* Starts the thread. The poller must stay at its address until stopped. */
bool poller_start(struct poller *p, struct td_core *core, const struct mailgw_settings *set,
                  const struct mailbox_settings *box, struct td_err *err);
/* Asks the thread to stop, wakes it and joins it; releases the lease.
 * Bounded by the IMAP timeout of an operation in flight. */
void poller_stop(struct poller *p);
/* Makes a waiting poller look for mail now (tests, SIGHUP). */
void poller_poke(struct poller *p);

#endif

/* store_desk.h - what the scheduler, the automations and the desk
 * metrics ask of the store (issue 14): named leases, tickets idle in a
 * status, and the desk's aggregate counts.
 *
 * A table of its own, reached through store_ops.desk, so that store.h
 * (shared by every concept) grows by one line and each backend keeps
 * these operations in one file (store_sqlite_desk.c, store_mongo_desk.c).
 * The same contract as store.h: atomic on their own, out structs filled
 * only on success, TD_CONFLICT / TD_NOT_FOUND / TD_UNAVAILABLE as there.
 * tests/core/test_store_desk.c checks it against both backends. */
#ifndef TD_STORE_DESK_H
#define TD_STORE_DESK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/model.h"

struct store;

/* A ticket that has not changed since `updated` (ticket_idle). */
struct td_idle { int64_t number; td_time updated; };
struct td_idle_list { struct td_idle *v; size_t n; };

/* How many tickets are in one status and queue (desk_counts). */
struct td_desk_count { enum td_status status; char *queue; int64_t n; };

/* The desk at one moment: counts of every status but closed, by queue
 * (queues with no such ticket are absent), and the creation time of the
 * oldest ticket still new, open or pending (0 = none). */
struct td_desk_counts {
    struct td_desk_count *v;
    size_t n;
    td_time oldest_open;
};

void idle_list_clear(struct td_idle_list *l);
void desk_counts_clear(struct td_desk_counts *c);

struct store_desk_ops {
    /* Named leases (core/scheduler.c): whoever holds "scheduler" runs the
     * jobs. acquire: succeeds when the lease is free, expired
     * (until < now) or already owner's, and then owner holds it until
     * now + ttl_ms (a renewal); TD_CONFLICT while someone else holds it;
     * decided by the database, so of two racing processes one wins.
     * release: by the holder, then it is free; a no-op success when it is
     * free or unknown; TD_CONFLICT (nothing changes) when another owner
     * holds it. get: the holder and until; TD_NOT_FOUND when the lease
     * was never taken; *owner NULL when free (caller frees *owner). */
    bool (*lease_acquire)(struct store *st, const char *name, const char *owner, td_time now,
                          int64_t ttl_ms, struct td_err *err);
    bool (*lease_release)(struct store *st, const char *name, const char *owner,
                          struct td_err *err);
    bool (*lease_get)(struct store *st, const char *name, char **owner, td_time *until,
                      struct td_err *err);
    /* Tickets in status whose updated < before, in (updated, number)
     * order, strictly after the cursor (after_updated, after); 0, 0 =
     * from the start; at most limit (0 = 100, capped at 1000). Answered
     * from an index on (status, updated, number) on both stores. */
    bool (*ticket_idle)(struct store *st, enum td_status status, td_time before,
                        td_time after_updated, int64_t after, size_t limit,
                        struct td_idle_list *out, struct td_err *err);
    /* See struct td_desk_counts; from indexes on (status, queue) and
     * (status, created): no ticket is read. */
    bool (*desk_counts)(struct store *st, struct td_desk_counts *out, struct td_err *err);
};

#endif

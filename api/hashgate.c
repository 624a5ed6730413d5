/* hashgate.c - a counting semaphore around argon2id.
 *
 * Each password hash or check costs ~64 MiB and tens of milliseconds of
 * one core. With [api] threads server threads, a burst of registrations
 * or logins could occupy all of them and every other request would wait
 * (reads went from 2 ms to 359 ms p50 under a registration flood). So
 * only hash_concurrency hashes run at once (default 1 - at most one
 * thread of the pool) and a request that finds no free slot is not made
 * to wait for one, which would hold its thread just the same: it is
 * answered 503 with Retry-After: 1. Lock-free: an atomic counter. */
#include "api_int.h"
#include "auth.h"

bool hashgate_enter(struct api *api)
{
    int free_slots = atomic_load(&api->hash_slots);
    while (free_slots > 0)
        if (atomic_compare_exchange_weak(&api->hash_slots, &free_slots, free_slots - 1))
            return true;
    return false;
}

void hashgate_leave(struct api *api)
{
    atomic_fetch_add(&api->hash_slots, 1);
}

void hashgate_busy(struct api_resp *out)
{
    problem(out, 503, "busy",
            "the server is busy checking other passwords; try again in a second (see Retry-After)",
            NULL);
    resp_header(out, "Retry-After", "1");
}

/* notify_planned.c - see notify_planned.h. */
#include "notify_planned.h"
#include "notify_int.h"
#include "mem.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct notify_planned {
    unsigned char key[crypto_generichash_KEYBYTES]; /* random per memory */
    _Atomic uint64_t slot[NOTIFY_PLANNED_SLOTS];  /* 0 = empty */
};

struct notify_planned *notify_planned_new(void)
{
    struct notify_planned *p = td_calloc(1, sizeof *p);
    crypto_generichash_keygen(p->key);
    for (size_t i = 0; i < NOTIFY_PLANNED_SLOTS; i++)
        atomic_init(&p->slot[i], 0);
    return p;
}

void notify_planned_free(struct notify_planned *p)
{
    if (p == NULL)
        return;
    sodium_memzero(p->key, sizeof p->key);
    free(p);
}

/* The event's key: never 0 (0 marks an empty slot). */
static uint64_t event_key(const struct notify_planned *p, const struct td_event *ev)
{
    crypto_generichash_state h;
    unsigned char digest[crypto_generichash_BYTES_MIN];
    crypto_generichash_init(&h, p->key, sizeof p->key, sizeof digest);
    notify_hash_event(&h, ev);
    crypto_generichash_final(&h, digest, sizeof digest);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k |= (uint64_t)digest[i] << (8 * i);
    return k ? k : 1;
}

void notify_planned_note(struct notify_planned *p, const struct td_event *ev, size_t n,
                         td_time since)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (since != 0 && ev[i].at < since)
            continue;
        uint64_t k = event_key(p, &ev[i]);
        atomic_store_explicit(&p->slot[k % NOTIFY_PLANNED_SLOTS], k, memory_order_relaxed);
    }
}

bool notify_planned_covers(const struct notify_planned *p, const struct td_event *ev, size_t n,
                           td_time since)
{
    if (p == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (since != 0 && ev[i].at < since)
            continue;
        uint64_t k = event_key(p, &ev[i]);
        if (atomic_load_explicit(&p->slot[k % NOTIFY_PLANNED_SLOTS], memory_order_relaxed) != k)
            return false;
    }
    return true;
}

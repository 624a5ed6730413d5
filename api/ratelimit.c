/* ratelimit.c - failed-login counting, per key ("acct:<email>",
 * "addr:<ip>"), in fixed windows.
 *
 * In-process by design: one ticketd process serves the API of a single
 * box; with several processes each one counts on its own, so the
 * effective limit is multiplied by their number (documented in the
 * README). The table has a fixed number of slots, so memory is bounded
 * whatever an attacker sends: keys are hashed (keyed BLAKE2b, so slots
 * cannot be aimed at), a key probes a few slots, and when all are busy
 * the stalest entry is evicted. An attacker spraying addresses can thus
 * push out counters - which only matters once the table is full, and
 * the per-account limit still holds for the accounts being attacked
 * because their entries are refreshed on every attempt. */
#include "api_int.h"

#include "core/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define RL_SLOTS 4096
#define RL_PROBE 8

struct rl_slot {
    unsigned char key[16]; /* keyed hash of the key string */
    bool used;
    unsigned failures;
    int64_t window_start;  /* ms */
    int64_t last;          /* ms, for eviction */
};

struct ratelimit {
    pthread_mutex_t lock;
    unsigned max;
    int64_t window_ms;
    unsigned char hash_key[crypto_generichash_KEYBYTES];
    struct rl_slot slots[RL_SLOTS];
};

struct ratelimit *ratelimit_new(unsigned max_failures, int64_t window_ms)
{
    struct ratelimit *rl = td_calloc(1, sizeof *rl);
    pthread_mutex_init(&rl->lock, NULL);
    rl->max = max_failures;
    rl->window_ms = window_ms;
    randombytes_buf(rl->hash_key, sizeof rl->hash_key);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static void digest(const struct ratelimit *rl, const char *key, unsigned char out[16])
{
    crypto_generichash(out, 16, (const unsigned char *)key, strlen(key), rl->hash_key,
                       sizeof rl->hash_key);
}

/* The slot holding key, or NULL. Lock held. */
static struct rl_slot *find(struct ratelimit *rl, const unsigned char d[16])
{
    uint32_t h;
    memcpy(&h, d, sizeof h);
    for (unsigned i = 0; i < RL_PROBE; i++) {
        struct rl_slot *s = &rl->slots[(h + i) % RL_SLOTS];
        if (s->used && memcmp(s->key, d, 16) == 0)
            return s;
    }
    return NULL;
}

/* A slot for a new key: a free or expired one, else the stalest. */
static struct rl_slot *claim(struct ratelimit *rl, const unsigned char d[16], int64_t now)
{
    uint32_t h;
    memcpy(&h, d, sizeof h);
    struct rl_slot *victim = NULL;
    for (unsigned i = 0; i < RL_PROBE; i++) {
        struct rl_slot *s = &rl->slots[(h + i) % RL_SLOTS];
        if (!s->used || now - s->window_start >= rl->window_ms) {
            victim = s;
            break;
        }
        if (victim == NULL || s->last < victim->last)
            victim = s;
    }
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, d, 16);
    victim->used = true;
    victim->window_start = now;
    return victim;
}

bool ratelimit_allowed(struct ratelimit *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_s)
{
    unsigned char d[16];
    digest(rl, key, d);
    pthread_mutex_lock(&rl->lock);
    struct rl_slot *s = find(rl, d);
    bool ok = true;
    if (s != NULL && now_ms - s->window_start < rl->window_ms && s->failures >= rl->max) {
        ok = false;
        int64_t left = rl->window_ms - (now_ms - s->window_start);
        *retry_after_s = (left + 999) / 1000;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

void ratelimit_failure(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    unsigned char d[16];
    digest(rl, key, d);
    pthread_mutex_lock(&rl->lock);
    struct rl_slot *s = find(rl, d);
    if (s == NULL)
        s = claim(rl, d, now_ms);
    if (now_ms - s->window_start >= rl->window_ms) {
        s->window_start = now_ms;
        s->failures = 0;
    }
    s->failures++;
    s->last = now_ms;
    pthread_mutex_unlock(&rl->lock);
}

void ratelimit_reset(struct ratelimit *rl, const char *key)
{
    unsigned char d[16];
    digest(rl, key, d);
    pthread_mutex_lock(&rl->lock);
    struct rl_slot *s = find(rl, d);
    if (s != NULL)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int64_t *remaining,
                    int64_t *reset_s)
{
    unsigned char d[16];
    digest(rl, key, d);
    pthread_mutex_lock(&rl->lock);
    struct rl_slot *s = find(rl, d);
    if (s == NULL)
        s = claim(rl, d, now_ms);
    if (now_ms - s->window_start >= rl->window_ms) {
        s->window_start = now_ms;
        s->failures = 0;
    }
    bool ok = s->failures < rl->max;
    if (ok)
        s->failures++;
    s->last = now_ms;
    *remaining = (int64_t)rl->max - (int64_t)s->failures;
    *reset_s = (rl->window_ms - (now_ms - s->window_start) + 999) / 1000;
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

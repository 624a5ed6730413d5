/* ratelimit.c - counting per key ("acct:<email>", "addr:<ip>", ...), in
 * one of two modes:
 *
 *  - fixed windows (ratelimit_new): at most max hits per window, then
 *    refused until the window ends (registration and claim floods);
 *  - growing delays (ratelimit_new_backoff): the first `free` failures
 *    cost nothing, then each further attempt must wait 1 s, 2 s, 4 s...
 *    (doubling, capped at the window) after the last failure; a key
 *    with no failure for a whole window beyond its delay is forgotten
 *    (failed logins).
 *    No hard lock: a real user locked out by someone else's guesses is
 *    what CWE-645 is about; a delay that doubles costs a guesser far
 *    more than it costs the owner.
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
    bool backoff;
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

struct ratelimit *ratelimit_new_backoff(unsigned free_failures, int64_t window_ms)
{
    struct ratelimit *rl = ratelimit_new(free_failures, window_ms);
    rl->backoff = true;
    return rl;
}

/* Backoff: how long after its last failure a key with n failures waits. */
static int64_t backoff_ms(const struct ratelimit *rl, unsigned n)
{
    if (n < rl->max)
        return 0;
    unsigned shift = n - rl->max;
    int64_t d = shift >= 30 ? rl->window_ms : (int64_t)1000 << shift;
    return d < rl->window_ms ? d : rl->window_ms;
}

/* A slot whose counting is over: its window ended (fixed), or no failure
 * for a whole window (backoff). */
static bool expired(const struct ratelimit *rl, const struct rl_slot *s, int64_t now)
{
    if (rl->backoff) /* a quiet window after the delay itself */
        return now - s->last >= rl->window_ms + backoff_ms(rl, s->failures);
    return now - s->window_start >= rl->window_ms;
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
        if (!s->used || expired(rl, s, now)) {
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
    if (s != NULL && !expired(rl, s, now_ms)) {
        int64_t left = 0;
        if (rl->backoff)
            left = backoff_ms(rl, s->failures) - (now_ms - s->last);
        else if (s->failures >= rl->max)
            left = rl->window_ms - (now_ms - s->window_start);
        if (left > 0) {
            ok = false;
            *retry_after_s = (left + 999) / 1000;
        }
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
    if (expired(rl, s, now_ms)) {
        s->window_start = now_ms;
        s->failures = 0;
    }
    if (s->failures < 1000000)
        s->failures++;
    s->last = now_ms;
    pthread_mutex_unlock(&rl->lock);
}

unsigned ratelimit_count(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    unsigned char d[16];
    digest(rl, key, d);
    pthread_mutex_lock(&rl->lock);
    struct rl_slot *s = find(rl, d);
    unsigned n = s != NULL && !expired(rl, s, now_ms) ? s->failures : 0;
    pthread_mutex_unlock(&rl->lock);
    return n;
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

/* user_cache.c - the user behind an access token, kept for a moment.
 *
 * Every authenticated request needs its user: to check that the token's
 * ver is still the user's token_version, that the account is not
 * disabled, and to know the role. Reading it from the store each time
 * was a large share of a small read's cost. Here an entry is used for
 * at most USER_CACHE_TTL_MS, and not at all once this process changed
 * any user (user_generation moved): a change made here takes effect on
 * the next request, one made by another process (ticketd user ...,
 * another API instance) within USER_CACHE_TTL_MS - so a disabled user is
 * refused within a second everywhere.
 *
 * Direct-mapped by a hash of the id, one lock per slot: a collision only
 * costs a store read. Entries hold full copies; out is always a copy the
 * caller owns. */
#include "api_int.h"
#include "user_cache.h"

#include "core/mem.h"
#include "core/user.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define USER_CACHE_SLOTS 256

struct slot {
    pthread_mutex_t lock;
    bool used;
    struct td_user u;
    int64_t fetched_ms;
    uint64_t gen;
};

struct user_cache {
    struct slot slots[USER_CACHE_SLOTS];
};

struct user_cache *user_cache_new(void)
{
    struct user_cache *c = td_calloc(1, sizeof *c);
    for (size_t i = 0; i < USER_CACHE_SLOTS; i++)
        (void)pthread_mutex_init(&c->slots[i].lock, NULL); /* default attributes: cannot fail */
    return c;
}

void user_cache_free(struct user_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < USER_CACHE_SLOTS; i++) {
        if (c->slots[i].used)
            user_clear(&c->slots[i].u);
        (void)pthread_mutex_destroy(&c->slots[i].lock);
    }
    free(c);
}

static struct slot *slot_of(struct user_cache *c, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &c->slots[h % USER_CACHE_SLOTS];
}

bool user_cache_get(struct user_cache *c, struct td_core *core, const char *id,
                    struct td_user *out, struct td_err *err)
{
    struct slot *s = slot_of(c, id);
    int64_t now = mono_ms();
    uint64_t gen = user_generation();
    bool hit = false;
    (void)pthread_mutex_lock(&s->lock); /* a default mutex: fails only when misused */
    if (s->used && strcmp(s->u.id, id) == 0 && s->gen == gen && now - s->fetched_ms < USER_CACHE_TTL_MS &&
        now >= s->fetched_ms) {
        memset(out, 0, sizeof *out); /* overwritten, as user_get does */
        user_copy(out, &s->u);
        hit = true;
    }
    (void)pthread_mutex_unlock(&s->lock);
    if (hit)
        return true;
    /* The generation is read before the store: a change racing with this
     * read leaves an entry that the next lookup already refuses. */
    if (!user_get(core, id, out, err))
        return false;
    (void)pthread_mutex_lock(&s->lock);
    if (s->used)
        user_clear(&s->u);
    memset(&s->u, 0, sizeof s->u);
    user_copy(&s->u, out);
    s->used = true;
    s->fetched_ms = now;
    s->gen = gen;
    (void)pthread_mutex_unlock(&s->lock);
    return true;
}

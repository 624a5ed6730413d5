/* token_cache.c - access tokens verified once, by their exact bytes.
 *
 * A client sends the same access token with every request for its
 * lifetime (minutes). Decoding its two base64url parts, parsing their
 * JSON and recomputing the HMAC took ~13 % of a small read (GET one
 * ticket, issue 11). What that work proves depends only on the token's
 * bytes and on this API instance's keys, issuer and audience, which do
 * not change while it runs (a reload does not touch them): so the
 * claims of a token that verified are kept, under a BLAKE2b digest of
 * the whole token keyed with a secret of this process, and a later
 * request with the very same bytes reuses them.
 *
 * What can change is checked every time: the time claims (exp, nbf, iat
 * against now, jwt_check_times), and - in the router, as before - the
 * user's token_version and disabled flag. Only successes are kept, so a
 * forged or altered token always takes the full path (and fails it). A
 * 32-byte digest stands in for the token: finding another token with
 * the same digest is as hard as a BLAKE2b-256 collision, and the key
 * keeps an attacker from even aiming tokens at one slot.
 *
 * Direct-mapped, one lock per slot, like user_cache.c: a collision only
 * costs a full verification. */
#include "api_int.h"
#include "token_cache.h"

#include "core/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

struct slot {
    pthread_mutex_t lock;
    bool used;
    unsigned char digest[crypto_generichash_BYTES];
    struct jwt_claims claims;
};

struct token_cache {
    unsigned char key[crypto_generichash_KEYBYTES];
    _Atomic uint64_t hits;
    struct slot slots[TOKEN_CACHE_SLOTS];
};

struct token_cache *token_cache_new(void)
{
    struct token_cache *c = td_calloc(1, sizeof *c);
    randombytes_buf(c->key, sizeof c->key);
    for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++)
        (void)pthread_mutex_init(&c->slots[i].lock, NULL); /* default attributes: cannot fail */
    return c;
}

void token_cache_free(struct token_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++)
        (void)pthread_mutex_destroy(&c->slots[i].lock);
    sodium_memzero(c, sizeof *c);
    free(c);
}

uint64_t token_cache_hits(struct token_cache *c)
{
    return c ? atomic_load(&c->hits) : 0;
}

static struct slot *slot_of(struct token_cache *c, const unsigned char *digest)
{
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return &c->slots[h % TOKEN_CACHE_SLOTS];
}

/* The claims kept for exactly these digest bytes, if any. */
static bool lookup(struct token_cache *c, const unsigned char *digest, struct jwt_claims *out)
{
    struct slot *sl = slot_of(c, digest);
    pthread_mutex_lock(&sl->lock);
    bool hit = sl->used && sodium_memcmp(sl->digest, digest, sizeof sl->digest) == 0;
    if (hit)
        *out = sl->claims;
    pthread_mutex_unlock(&sl->lock);
    return hit;
}

static void keep(struct token_cache *c, const unsigned char *digest, const struct jwt_claims *cl)
{
    struct slot *sl = slot_of(c, digest);
    pthread_mutex_lock(&sl->lock);
    memcpy(sl->digest, digest, sizeof sl->digest);
    sl->claims = *cl;
    sl->used = true;
    pthread_mutex_unlock(&sl->lock);
}

bool token_cache_verify(struct token_cache *c, const struct api_settings *s, const char *token,
                        int64_t now_s, struct jwt_claims *out, struct td_err *err)
{
    if (c == NULL || token == NULL)
        return jwt_verify_token(s, token, now_s, out, err);
    unsigned char digest[crypto_generichash_BYTES];
    crypto_generichash(digest, sizeof digest, (const unsigned char *)token, strlen(token), c->key,
                       sizeof c->key);
    if (lookup(c, digest, out)) {
        atomic_fetch_add(&c->hits, 1);
        return jwt_check_times(s, out, now_s, err);
    }
    if (!jwt_verify_token(s, token, now_s, out, err))
        return false;
    keep(c, digest, out);
    return true;
}

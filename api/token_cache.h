/* token_cache.h - access tokens verified once, by their exact bytes
 * (token_cache.c says why and what is still checked every time). */
#ifndef TD_API_TOKEN_CACHE_H
#define TD_API_TOKEN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/auth.h"
#include "core/err.h"

#define TOKEN_CACHE_SLOTS 512

struct token_cache;
struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *c); /* NULL-safe */
/* jwt_verify_token(s, ...), but a token whose exact bytes verified before
 * is neither parsed nor its signature recomputed: only its time claims
 * are checked against now_s. s must be the same settings on every call
 * (one cache per API instance). c NULL: jwt_verify_token itself. */
bool token_cache_verify(struct token_cache *c, const struct api_settings *s, const char *token,
                        int64_t now_s, struct jwt_claims *out, struct td_err *err);
/* How many calls were answered from the cache (tests, /metrics). */
uint64_t token_cache_hits(struct token_cache *c);

#endif

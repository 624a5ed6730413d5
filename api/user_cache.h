/* user_cache.h - the user behind a token, reused for a moment
 * (user_cache.c says why and how it stays right). */
#ifndef TD_API_USER_CACHE_H
#define TD_API_USER_CACHE_H

#include <stdbool.h>

#include "core/core.h"
#include "core/err.h"
#include "core/model.h"

/* Reused for at most USER_CACHE_TTL_MS and never after this process
 * changed a user. get fills out (a copy the caller owns) like user_get. */
#define USER_CACHE_TTL_MS 500
struct user_cache;
struct user_cache *user_cache_new(void);
void user_cache_free(struct user_cache *c); /* NULL-safe */
bool user_cache_get(struct user_cache *c, struct td_core *core, const char *id,
                    struct td_user *out, struct td_err *err);

#endif

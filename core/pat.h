/* pat.h - personal access tokens: long-lived API credentials for scripts,
 * integrations and service accounts.
 *
 * A token is "td_pat_" + 43 base64url characters (32 random bytes from
 * libsodium). The prefix lets the API tell it from a JWT without trying
 * to parse it; the secret is shown once, at creation, and the store
 * keeps only its SHA-256 (over a domain of its own, so it never equals
 * a refresh or claim token's hash): a copy of the database yields no
 * usable token, and 256 random bits need no salt or slow hash.
 *
 * A token acts as its owner with the owner's current role, narrowed by
 * its scopes: read (GET), write (every other method; implies read),
 * admin (an admin's admin rights; implies write). Without the admin
 * scope an admin's token acts as an agent. The owner's token_version
 * is recorded at creation: a password change, a role change or disabling
 * the owner bumps it and every token of that owner stops working at once.
 *
 * Service accounts are users an admin created without a password (they
 * cannot log in); an admin may issue tokens for them. Anyone may issue
 * tokens for themselves (the API asks for a password session for that,
 * so a leaked token cannot mint more). */
#ifndef TD_PAT_H
#define TD_PAT_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "store/store.h"

#define PAT_PREFIX "td_pat_"
#define PAT_SECRET_LEN (7 + 43)
#define PAT_MAX_NAME 100
#define PAT_MAX_PER_USER 100
/* A use is written back at most this often per token (and whenever the
 * address changes), so a busy script does not turn reads into writes. */
#define PAT_TOUCH_INTERVAL_MS 60000

struct pat_new {
    const char *user_id; /* NULL: the actor */
    const char *name;
    unsigned scopes;     /* TD_PAT_* */
    td_time expires;     /* 0 = never; else in the future */
};

/* "read,write" <-> bits. parse: false on an unknown or empty list. */
bool pat_scopes_parse(const char *csv, unsigned *out);
/* Writes the scope names, comma-joined, into out. */
void pat_scopes_format(unsigned scopes, char *out, size_t len);
/* The effective scopes: admin implies write, write implies read. */
unsigned pat_scopes_closure(unsigned scopes);

/* True when token has the shape of a personal access token. */
bool pat_looks_like(const char *token);

/* Creates a token. actor NULL = the system (command line): any user.
 * Otherwise the actor's own, or (admins) a service account's. The
 * secret (NUL-terminated, PAT_SECRET_LEN) goes to the caller once and is
 * not kept. */
bool pat_create(struct td_core *c, const struct td_user *actor, const struct pat_new *in,
                char secret[PAT_SECRET_LEN + 1], struct td_pat *out, struct td_err *err);

/* Tokens of user_id (NULL: the actor's own). Admins (and the system) may
 * list anyone's; all = true (admins, system) lists every token. */
bool pat_list_tokens(struct td_core *c, const struct td_user *actor, const char *user_id,
                     bool all, struct td_pat_list *out, struct td_err *err);

/* Revokes a token by id: the actor's own, or any (admins, system). */
bool pat_revoke(struct td_core *c, const struct td_user *actor, const char *id,
                struct td_err *err);

/* secret -> its token and owner (the stored user, with the role the
 * token narrows to). Every failure is TD_UNAUTHORIZED with a reason a
 * client may see, except a store failure. addr (may be NULL) is
 * recorded as the last address. */
bool pat_authenticate(struct td_core *c, const char *secret, const char *addr,
                      struct td_user *user, struct td_pat *pat, struct td_err *err);
/* The same, with the owner read by get_user(ctx, ...) instead of the
 * store (the API's short-lived user cache, api/user_cache.c), which
 * fills out like user_get. */
typedef bool (*pat_user_fn)(void *ctx, const char *id, struct td_user *out, struct td_err *err);
bool pat_authenticate_via(struct td_core *c, const char *secret, const char *addr,
                          pat_user_fn get_user, void *ctx, struct td_user *user,
                          struct td_pat *pat, struct td_err *err);

#endif

/* alias.h - an agent's extra sending addresses (issue 10).
 *
 * Agents answer from more than one address: a second account, a team
 * alias, a phone's mail app. A mail from a registered, confirmed alias
 * is the agent's when it proves itself as the agent's own address would
 * (a reply token issued to the agent; Authentication-Results for the
 * alias's domain: mailgw/trust.h); without proof it is not trusted.
 *
 * An admin (or the command line) adds an alias confirmed at once. An
 * agent adding their own gets a confirmation mail at that address with a
 * single-use link (ALIAS_CONFIRM_TTL_MS): only who reads that mailbox
 * can make it count. Only agents and admins have aliases; an address
 * that is an account's own address cannot be an alias. */
#ifndef TD_ALIAS_H
#define TD_ALIAS_H

#include <stdbool.h>

#include "core.h"
#include "model.h"
#include "store/store.h"

#define ALIAS_CONFIRM_TTL_MS (48LL * 3600 * 1000)
#define ALIAS_TOKEN_LEN 43 /* 32 random bytes, base64url without padding */

/* token (ALIAS_TOKEN_LEN + 1 bytes) gets the confirmation token when the
 * alias waits for it, "" when it is confirmed already. out may be NULL.
 * TD_FORBIDDEN unless actor is an admin (or NULL) or the agent; TD_INVALID
 * for a customer or an address that is an account's; TD_CONFLICT when it
 * is someone's alias already. */
bool alias_add(struct td_core *c, const struct td_user *actor, const char *user_id,
               const char *email, char *token, struct td_alias *out, struct td_err *err);
/* The link's token: the alias becomes confirmed (out may be NULL).
 * TD_NOT_FOUND for an unknown, used or expired token. */
bool alias_confirm(struct td_core *c, const char *token, struct td_alias *out,
                   struct td_err *err);
bool alias_remove(struct td_core *c, const struct td_user *actor, const char *user_id,
                  const char *email, struct td_err *err);
bool alias_list_of(struct td_core *c, const struct td_user *actor, const char *user_id,
                   struct td_alias_list *out, struct td_err *err);
/* The active agent or admin whose confirmed alias email (lower case) is;
 * TD_NOT_FOUND otherwise. */
bool alias_owner(struct store *st, const char *email, struct td_user *out, struct td_err *err);

/* hex SHA-256 of a confirmation token, as stored. */
void alias_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1]);

#endif

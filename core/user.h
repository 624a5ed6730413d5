/* user.h - accounts: admins, agents and customers.
 *
 * Emails are unique case-insensitively (stored lower-cased). A customer
 * may exist without a password when the mail gateway created them from
 * an inbound mail. Changing a role or disabling a user bumps
 * token_version, so tokens issued before stop working at once. */
#ifndef TD_USER_H
#define TD_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "model.h"

struct user_new {
    const char *email;
    const char *name;     /* NULL or "": the part of the email before '@' */
    enum td_role role;
    const char *password; /* NULL: no password (cannot log in) */
};

/* Creates a user. Only admins (or the system, actor NULL) may create
 * agents and admins; customers sign up through user_register. */
bool user_create(struct td_core *c, const struct td_user *actor, const struct user_new *in,
                 struct td_user *out, struct td_err *err);

/* Customer self-registration: a new customer account with a password.
 * TD_CONFLICT when the email is taken. (Claiming a mail-created
 * account needs proof of the address and belongs to the API layer's
 * verification flow.) */
bool user_register(struct td_core *c, const char *email, const char *name, const char *password,
                   struct td_user *out, struct td_err *err);

/* The user for this address, creating a password-less customer when it
 * is unknown (mail gateway). Safe against concurrent creation. */
bool user_ensure_customer(struct td_core *c, const char *email, const char *name,
                          struct td_user *out, struct td_err *err);

bool user_get(struct td_core *c, const char *id, struct td_user *out, struct td_err *err);
/* A number that changes whenever this process changes a user (role,
 * password, disabled, ...): a cache of users compares it to drop stale
 * entries at once. Changes by other processes are not seen here. */
uint64_t user_generation(void);
/* Moves user_generation on: for code that writes a user through the
 * store directly (erasure, registration) rather than user.c. */
void user_generation_bump(void);
bool user_find_by_email(struct td_core *c, const char *email, struct td_user *out,
                        struct td_err *err);

/* Email + password -> user. Every failure (unknown email, no password,
 * wrong password, disabled) is the same TD_UNAUTHORIZED and costs the same
 * time, so accounts cannot be probed. */
bool user_authenticate(struct td_core *c, const char *email, const char *password,
                       struct td_user *out, struct td_err *err);

/* Self-service or admin. */
bool user_set_password(struct td_core *c, const struct td_user *actor, const char *id,
                       const char *password, struct td_err *err);
/* Admin only; bumps token_version. An admin cannot demote or disable
 * themselves (there would be no way back without the command line). */
bool user_set_role(struct td_core *c, const struct td_user *actor, const char *id,
                   enum td_role role, struct td_err *err);
bool user_set_disabled(struct td_core *c, const struct td_user *actor, const char *id,
                       bool disabled, struct td_err *err);

/* role < 0: all. Admin (or system) only. */
bool user_list(struct td_core *c, const struct td_user *actor, int role,
               struct td_user_list *out, struct td_err *err);

#endif

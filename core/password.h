/* password.h - password hashing (argon2id through libsodium).
 * The clear password is never stored or logged; only the encoded hash
 * string (which carries its own salt and cost) is kept. */
#ifndef TD_PASSWORD_H
#define TD_PASSWORD_H

#include <stdbool.h>

#include "err.h"

#define PASSWORD_MIN_LEN 10
#define PASSWORD_MAX_LEN 1024

enum password_cost {
    PASSWORD_COST_INTERACTIVE = 0, /* libsodium's interactive limits: the default */
    PASSWORD_COST_MODERATE,
    PASSWORD_COST_MIN              /* tests only: the smallest argon2id allows */
};

/* Checks length and UTF-8 and hashes; *out is the argon2id string. */
bool password_hash(const char *password, enum password_cost cost, char **out,
                   struct td_err *err);
/* Constant-time verification (libsodium). NULL hash never matches, but
 * still spends the time of a verification so that "no such user" and
 * "wrong password" cannot be told apart by timing. */
bool password_verify(const char *hash, const char *password);

#endif

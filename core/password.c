/* password.c - see password.h. */
#include "password.h"
#include "mem.h"
#include "text.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

/* A fixed dummy hash of the interactive cost, computed once, so a missing
 * user costs as much as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    if (crypto_pwhash_str_alg(dummy_hash, "dummy-password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
}

static void cost_limits(enum password_cost cost, unsigned long long *ops, size_t *mem)
{
    switch (cost) {
    case PASSWORD_COST_MODERATE:
        *ops = crypto_pwhash_OPSLIMIT_MODERATE;
        *mem = crypto_pwhash_MEMLIMIT_MODERATE;
        break;
    case PASSWORD_COST_MIN:
        *ops = crypto_pwhash_OPSLIMIT_MIN;
        *mem = crypto_pwhash_MEMLIMIT_MIN;
        break;
    case PASSWORD_COST_INTERACTIVE:
    default:
        *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        break;
    }
}

bool password_hash(const char *password, enum password_cost cost, char **out,
                   struct td_err *err)
{
    if (password == NULL)
        return td_fail(err, TD_INVALID, "password is missing");
    size_t len = strlen(password);
    if (!utf8_valid(password, len))
        return td_fail(err, TD_INVALID, "password is not valid UTF-8");
    if (utf8_length(password, len) < PASSWORD_MIN_LEN)
        return td_fail(err, TD_INVALID, "password must be at least %d characters", PASSWORD_MIN_LEN);
    if (len > PASSWORD_MAX_LEN)
        return td_fail(err, TD_INVALID, "password must be at most %d bytes", PASSWORD_MAX_LEN);
    unsigned long long ops;
    size_t mem;
    cost_limits(cost, &ops, &mem);
    char hashed[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hashed, password, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return td_fail(err, TD_INTERNAL, "password hashing ran out of memory");
    *out = td_strdup(hashed);
    sodium_memzero(hashed, sizeof hashed);
    return true;
}

bool password_verify(const char *hash, const char *password)
{
    pthread_once(&dummy_once, dummy_init);
    if (password == NULL)
        password = "";
    size_t len = strlen(password);
    if (len > PASSWORD_MAX_LEN)
        len = PASSWORD_MAX_LEN;
    if (hash == NULL || hash[0] == '\0') {
        if (dummy_hash[0] != '\0' && crypto_pwhash_str_verify(dummy_hash, password, len) == 0)
            return false; /* cannot match anything real; only spends the time */
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}

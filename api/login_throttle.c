/* login_throttle.c - failed logins slow down, they do not lock.
 *
 * A hard lock after N failures lets anyone who knows an address lock its
 * owner out (CWE-645). Instead (ratelimit.c backoff) each key - the
 * account, the client address - may fail login_max_failures_per_* times
 * for free, then every further attempt waits 1 s, 2 s, 4 s... after the
 * last failure, up to login_window. The address delay always applies. The
 * account delay applies only to addresses that have failed themselves:
 * the owner, logging in from an address that has not been guessing,
 * gets through to the password check; a wrong password from there counts
 * against that address too, so a guesser gains one try per fresh address
 * (which the address limit and the per-address connection cap bound). */
#include "api_int.h"
#include "auth.h"

bool login_throttle_allowed(struct api *api, const char *acct_key, const char *addr_key,
                            int64_t now_ms, int64_t *retry_after_s)
{
    int64_t r1 = 0, r2 = 0;
    if (!ratelimit_allowed(api->rl_addr, addr_key, now_ms, &r1)) {
        *retry_after_s = r1;
        return false;
    }
    if (!ratelimit_allowed(api->rl_account, acct_key, now_ms, &r2) &&
        ratelimit_count(api->rl_addr, addr_key, now_ms) > 0) {
        *retry_after_s = r2;
        return false;
    }
    return true;
}

void login_throttle_failure(struct api *api, const char *acct_key, const char *addr_key,
                            int64_t now_ms)
{
    ratelimit_failure(api->rl_account, acct_key, now_ms);
    ratelimit_failure(api->rl_addr, addr_key, now_ms);
}

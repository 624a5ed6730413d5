/* auth.h - who a request is: access tokens (JWT), refresh tokens, the
 * login throttle and hashing slots, and the one-time mailed links that
 * claim an account or reset a password. Split from api_int.h, which it
 * builds on, so that only the files that authenticate see it. */
#ifndef TD_API_AUTH_H
#define TD_API_AUTH_H

#include "api_int.h"

/* ---- JWT (auth_jwt.c) ----------------------------------------------- */
struct jwt_claims {
    char sub[TD_ID_LEN + 1];
    enum td_role role;
    int64_t ver;
    int64_t iat, exp;
    int64_t nbf;  /* meaningful when has_nbf */
    bool has_nbf;
    char jti[33];
};

/* An access token for u; *token is owned by the caller (free()). */
bool jwt_issue(const struct api_settings *s, const struct td_user *u, int64_t now_s,
               char **token, struct td_err *err);
/* Verifies signature, algorithm and claims. On failure err->msg is the
 * reason a client may see ("token expired") and the code TD_UNAUTHORIZED. */
bool jwt_verify_token(const struct api_settings *s, const char *token, int64_t now_s,
                      struct jwt_claims *out, struct td_err *err);
/* The time claims alone (exp, nbf, iat against now with the leeway):
 * what a token verified before must still pass (token_cache.c). */
bool jwt_check_times(const struct api_settings *s, const struct jwt_claims *c, int64_t now_s,
                     struct td_err *err);
/* RS256: signs a probe with the private key and verifies it with the
 * public one (TD_INVALID naming the key file otherwise). HS256: true. */
bool jwt_keys_check(const struct api_settings *s, struct td_err *err);

/* ---- refresh tokens (auth_tokens.c) --------------------------------- */
#define REFRESH_TOKEN_LEN 43 /* base64url of 32 random bytes */

/* A new refresh token for u in family (NULL: a new family). *token is
 * owned by the caller. */
bool tokens_issue(struct api *api, const struct td_user *u, const char *family,
                  char token[REFRESH_TOKEN_LEN + 1], struct td_err *err);
/* Rotation: consumes token (once), returns its user in *u and a new
 * token of the same family. Reuse of a consumed token revokes the whole
 * family and fails with TD_UNAUTHORIZED. */
bool tokens_rotate(struct api *api, const char *token, struct td_user *u,
                   char fresh[REFRESH_TOKEN_LEN + 1], struct td_err *err);
/* Logout: revokes the family of token (unknown tokens: nothing to do). */
bool tokens_revoke(struct api *api, const char *token, struct td_err *err);
/* Housekeeping on the login path: deletes expired refresh tokens, at
 * most once an hour per process; failures are only logged. */
void tokens_purge_expired(struct api *api);
/* True if token has the shape of one of ours (43 base64url characters). */
bool tokens_well_formed(const char *token);

/* ---- failed logins (login_throttle.c) -------------------------------
 * Growing delays per account and per client address (ratelimit backoff).
 * An account being guessed at does not lock its owner out: an address
 * with no failures of its own may still try the account's password (a
 * wrong one then counts for that address too). True when the attempt
 * may go ahead; else *retry_after_s. */
bool login_throttle_allowed(struct api *api, const char *acct_key, const char *addr_key,
                            int64_t now_ms, int64_t *retry_after_s);
void login_throttle_failure(struct api *api, const char *acct_key, const char *addr_key,
                            int64_t now_ms);

/* ---- password hashing slots (hashgate.c) ----------------------------
 * At most [api] hash_concurrency argon2id computations at once; a request
 * that finds none free is answered 503 + Retry-After at once instead of
 * holding a server thread, so hashing floods cannot starve other requests. */
bool hashgate_enter(struct api *api);
void hashgate_leave(struct api *api);
void hashgate_busy(struct api_resp *out);

/* ---- shared by the auth routes (routes_auth.c) ---------------------- */
/* "kind:value", the key of a rate limiter entry. */
void auth_rl_key(char *out, size_t len, const char *kind, const char *value);
/* Register and claim: counts the request against the per-address and
 * global sign-up limits; false with 429 + Retry-After in out beyond. */
bool auth_signup_allowed(struct api_req *r, struct api_resp *out);
/* Registration with outgoing mail on (routes_register.c): always 202. */
void register_by_mail(struct api_req *r, struct api_resp *out, const char *email,
                      const char *name, const char *password);
/* {token_type, access_token, expires_in, refresh_token, ...} for u. */
void auth_token_response(struct api_req *r, struct api_resp *out, unsigned status,
                         const struct td_user *u, const char *refresh);

/* ---- account claim tokens (routes_claim.c) -------------------------- */
#define CLAIM_TTL_S 3600 /* a claim mail's token works for an hour */

/* The stored key of a claim token: hex SHA-256 over a domain of its own,
 * so it never equals a refresh token's (store.h td_refresh_token). */
void claim_token_hash(const char *token, char out[TD_TOKEN_HASH_LEN + 1]);

/* ---- mailed one-time links (onetime.c): claim and reset confirmation --
 * The texts and problem types a kind of link answers with. */
struct onetime_kind {
    void (*hash)(const char *token, char out[TD_TOKEN_HASH_LEN + 1]);
    const char *invalid_type, *gone_type; /* problem types: 400, 410 */
    const char *not_a_token, *unknown, *used, *expired; /* details */
};
/* Parses {token, password}, limits per address, checks the password's
 * rules, then spends the token: true with *password (borrowed from *doc,
 * which the caller frees) and the token's row in *t; false with the
 * answer in out and nothing to free. */
bool onetime_take(struct api_req *r, struct api_resp *out, const struct onetime_kind *k,
                  json_t **doc, const char **password, struct td_refresh_token *t);

#endif

/* auth_jwt.c - access tokens: HS256 or RS256 JWTs with a short life.
 *
 * Claims: iss, aud, sub (user id), role, ver (the user's token_version
 * when issued), iat, nbf, exp, jti. The router checks ver against the
 * stored user on every request, so disabling a user, changing a role or
 * a password ends their tokens at once without a revocation list.
 *
 * Verification does not trust the token to say how it is verified: the
 * header must name the one configured algorithm ([api] jwt_algorithm; no
 * "none", no other algorithm, no "crit"). With HS256 the signature is
 * recomputed with libsodium's HMAC-SHA-256 and compared in constant time
 * (once: libjwt does not see HS256 tokens); with RS256 libjwt (OpenSSL)
 * checks it against the public key. libjwt 1.10 verifies whatever algorithm the
 * header names with the key it is given, so an HS256 token "signed" with
 * the public key as HMAC secret would pass it: the header check before
 * and the algorithm check after jwt_decode are what refuse that
 * (algorithm confusion). The claims are read strictly (each of its JSON
 * type). Every refusal is TD_UNAUTHORIZED with a short reason a client
 * may see; none says more than the client already knows (it has the
 * token). */
#include "api_int.h"
#include "auth.h"

#include "core/id.h"

#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKEN 4096

static const char *alg_name(const struct api_settings *s)
{
    return s->jwt_alg == API_JWT_RS256 ? "RS256" : "HS256";
}

/* The key that signs: the HMAC secret, or the RSA private key (PEM). */
static int set_signing_alg(jwt_t *j, const struct api_settings *s)
{
    if (s->jwt_alg == API_JWT_RS256)
        return jwt_set_alg(j, JWT_ALG_RS256, s->jwt_private_key, (int)s->jwt_private_key_len);
    return jwt_set_alg(j, JWT_ALG_HS256, s->jwt_secret, (int)s->jwt_secret_len);
}

bool jwt_issue(const struct api_settings *s, const struct td_user *u, int64_t now_s,
               char **token, struct td_err *err)
{
    jwt_t *j = NULL;
    if (jwt_new(&j) != 0)
        return td_fail(err, TD_INTERNAL, "jwt: cannot allocate");
    char jti[TD_ID_LEN + 1];
    id_new(jti);
    bool ok = jwt_add_grant(j, "iss", s->issuer) == 0 && jwt_add_grant(j, "aud", s->audience) == 0 &&
              jwt_add_grant(j, "sub", u->id) == 0 && jwt_add_grant(j, "role", role_name(u->role)) == 0 &&
              jwt_add_grant(j, "jti", jti) == 0 &&
              jwt_add_grant_int(j, "ver", (long)u->token_version) == 0 &&
              jwt_add_grant_int(j, "iat", (long)now_s) == 0 &&
              jwt_add_grant_int(j, "nbf", (long)now_s) == 0 &&
              jwt_add_grant_int(j, "exp", (long)(now_s + s->access_ttl_s)) == 0 &&
              set_signing_alg(j, s) == 0;
    char *t = ok ? jwt_encode_str(j) : NULL;
    jwt_free(j);
    if (t == NULL)
        return td_fail(err, TD_INTERNAL, "jwt: cannot encode the token");
    *token = t; /* libjwt 1.10 has no jwt_free_str: free() it */
    return true;
}

static bool b64url_part(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* base64url part -> JSON object, or NULL. */
static json_t *decode_json_part(const char *p, size_t len)
{
    unsigned char raw[MAX_TOKEN];
    size_t n = 0;
    if (sodium_base642bin(raw, sizeof raw, p, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool check_header(const struct api_settings *s, const char *p, size_t len,
                         struct td_err *err)
{
    json_t *h = decode_json_part(p, len);
    if (h == NULL)
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: bad header");
    const char *alg = json_string_value(json_object_get(h, "alg"));
    json_t *typ = json_object_get(h, "typ");
    bool ok = false;
    if (alg == NULL)
        td_fail(err, TD_UNAUTHORIZED, "malformed token: no algorithm");
    else if (strcasecmp(alg, "none") == 0)
        td_fail(err, TD_UNAUTHORIZED, "unsigned tokens (alg none) are not accepted");
    else if (strcmp(alg, alg_name(s)) != 0)
        td_fail(err, TD_UNAUTHORIZED, "wrong algorithm: only %s is accepted", alg_name(s));
    else if (typ != NULL && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        td_fail(err, TD_UNAUTHORIZED, "malformed token: typ is not JWT");
    else if (json_object_get(h, "crit") != NULL)
        td_fail(err, TD_UNAUTHORIZED, "malformed token: critical header extensions are not supported");
    else
        ok = true;
    json_decref(h);
    return ok;
}

static bool check_signature(const struct api_settings *s, const char *token, size_t signed_len,
                            const char *sig, size_t sig_len, struct td_err *err)
{
    unsigned char given[64];
    size_t n = 0;
    if (sodium_base642bin(given, sizeof given, sig, sig_len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != crypto_auth_hmacsha256_BYTES)
        return td_fail(err, TD_UNAUTHORIZED, "bad signature");
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, s->jwt_secret, s->jwt_secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, signed_len);
    crypto_auth_hmacsha256_final(&st, mac);
    bool same = sodium_memcmp(mac, given, sizeof mac) == 0;
    sodium_memzero(&st, sizeof st);
    if (!same)
        return td_fail(err, TD_UNAUTHORIZED, "bad signature");
    return true;
}

static bool claim_int(json_t *c, const char *name, bool required, int64_t *out, bool *present,
                      struct td_err *err)
{
    json_t *v = json_object_get(c, name);
    if (present)
        *present = v != NULL;
    if (v == NULL) {
        if (required)
            return td_fail(err, TD_UNAUTHORIZED, "malformed token: claim '%s' is missing", name);
        return true;
    }
    if (!json_is_integer(v))
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: claim '%s' is not an integer", name);
    *out = (int64_t)json_integer_value(v);
    return true;
}

static const char *claim_str(json_t *c, const char *name, struct td_err *err)
{
    json_t *v = json_object_get(c, name);
    if (!json_is_string(v)) {
        td_fail(err, TD_UNAUTHORIZED, "malformed token: claim '%s' is missing or not a string", name);
        return NULL;
    }
    return json_string_value(v);
}

static bool audience_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

static bool check_claims(const struct api_settings *s, json_t *c, int64_t now,
                         struct jwt_claims *out, struct td_err *err)
{
    int64_t exp = 0, nbf = 0, iat = 0, ver = 0;
    bool has_nbf = false;
    const char *iss, *sub, *role, *jti;
    if (!claim_int(c, "exp", true, &exp, NULL, err) || !claim_int(c, "iat", true, &iat, NULL, err) ||
        !claim_int(c, "nbf", false, &nbf, &has_nbf, err) ||
        !claim_int(c, "ver", true, &ver, NULL, err) || (iss = claim_str(c, "iss", err)) == NULL ||
        (sub = claim_str(c, "sub", err)) == NULL || (role = claim_str(c, "role", err)) == NULL ||
        (jti = claim_str(c, "jti", err)) == NULL)
        return false;
    if (strcmp(iss, s->issuer) != 0)
        return td_fail(err, TD_UNAUTHORIZED, "wrong issuer");
    if (!audience_ok(json_object_get(c, "aud"), s->audience))
        return td_fail(err, TD_UNAUTHORIZED, "wrong audience");
    out->iat = iat;
    out->exp = exp;
    out->nbf = nbf;
    out->has_nbf = has_nbf;
    if (!jwt_check_times(s, out, now, err))
        return false;
    if (!id_valid(sub))
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: bad subject");
    if (!role_parse(role, &out->role))
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: unknown role");
    if (jti[0] == '\0' || strlen(jti) >= sizeof out->jti)
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: bad jti");
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    snprintf(out->jti, sizeof out->jti, "%s", jti);
    out->ver = ver;
    return true;
}

bool jwt_check_times(const struct api_settings *s, const struct jwt_claims *c, int64_t now,
                     struct td_err *err)
{
    if (now >= c->exp + s->clock_leeway_s)
        return td_fail(err, TD_UNAUTHORIZED, "token expired");
    if (c->has_nbf && now + s->clock_leeway_s < c->nbf)
        return td_fail(err, TD_UNAUTHORIZED, "token not yet valid");
    if (c->iat > now + s->clock_leeway_s)
        return td_fail(err, TD_UNAUTHORIZED, "token not yet valid: issued in the future");
    return true;
}

bool jwt_verify_token(const struct api_settings *s, const char *token, int64_t now_s,
                      struct jwt_claims *out, struct td_err *err)
{
    memset(out, 0, sizeof *out);
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > MAX_TOKEN)
        return td_fail(err, TD_UNAUTHORIZED, "malformed token");
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL ||
        !b64url_part(token, (size_t)(dot1 - token)) ||
        !b64url_part(dot1 + 1, (size_t)(dot2 - dot1 - 1)))
        return td_fail(err, TD_UNAUTHORIZED, "malformed token");
    if (!check_header(s, token, (size_t)(dot1 - token), err))
        return false;
    json_t *claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (claims == NULL)
        return td_fail(err, TD_UNAUTHORIZED, "malformed token: bad payload");
    size_t sig_len = len - (size_t)(dot2 + 1 - token);
    bool rs = s->jwt_alg == API_JWT_RS256;
    bool ok;
    if (!b64url_part(dot2 + 1, sig_len))
        ok = td_fail(err, TD_UNAUTHORIZED, "bad signature");
    else if (rs)
        ok = true; /* RSA: only libjwt checks it, below */
    else
        ok = check_signature(s, token, (size_t)(dot2 - token), dot2 + 1, sig_len, err);
    /* RS256: libjwt (OpenSSL) checks the signature, and must agree on
     * the algorithm. HS256 is verified once, above: running libjwt's
     * HMAC and JSON parse over it again cost as much as the rest of a
     * small read. */
    if (ok && rs) {
        jwt_t *j = NULL;
        if (jwt_decode(&j, token, s->jwt_public_key, (int)s->jwt_public_key_len) != 0 ||
            j == NULL || jwt_get_alg(j) != JWT_ALG_RS256)
            ok = td_fail(err, TD_UNAUTHORIZED, "bad signature");
        jwt_free(j);
    }
    if (ok)
        ok = check_claims(s, claims, now_s, out, err);
    json_decref(claims);
    return ok;
}

bool jwt_keys_check(const struct api_settings *s, struct td_err *err)
{
    if (s->jwt_alg != API_JWT_RS256)
        return true;
    /* A probe token signed with the private key must verify with the
     * public one: unreadable PEM and a mismatched pair fail at start, not
     * on the first login. */
    struct td_user probe;
    memset(&probe, 0, sizeof probe);
    id_new(probe.id);
    probe.token_version = 1;
    char *tok = NULL;
    struct jwt_claims c;
    struct td_err e;
    td_err_clear(&e);
    if (!jwt_issue(s, &probe, 1000000000, &tok, &e))
        return td_fail(err, TD_INVALID,
                       "[api] jwt_private_key_file: cannot sign with it (not an RSA private key "
                       "in PEM?)");
    bool ok = jwt_verify_token(s, tok, 1000000000, &c, &e);
    free(tok);
    if (!ok)
        return td_fail(err, TD_INVALID,
                       "[api] jwt_public_key_file does not verify what jwt_private_key_file signs "
                       "(not a PEM public key, or not the same key pair)");
    return true;
}

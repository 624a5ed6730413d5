/* test_api_rs256.c - RS256 access tokens ([api] jwt_algorithm = RS256,
 * jwt_private_key_file, jwt_public_key_file).
 *
 * Key pairs are made here with `openssl genpkey`; without the openssl
 * command every test fails saying so (never a silent skip).
 *
 * Covers: the settings (a good pair loads; a missing key, a mismatched
 * pair, a key file that is not PEM, a jwt_secret next to RS256 keys, RS256
 * keys under HS256, and EdDSA/ES256 are refused at load, naming the key);
 * tokens (issued with alg RS256, verified; a changed payload or signature,
 * another key pair, alg none, another RSA algorithm, and the algorithm
 * confusion attack - an HS256 token whose HMAC secret is the public key -
 * are refused); and a real ticketd over HTTP: login gives RS256 tokens
 * that work, forged ones are 401. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>

#include "api/api_int.h"
#include "api/auth.h"
#include "core/config.h"
#include "core/id.h"
#include "tests/api/api_fixture.h"

/* Two key pairs in a temp dir: a (used) and b (a stranger's). */
static struct {
    char dir[256];
    char a_priv[320], a_pub[320], b_priv[320], b_pub[320], junk[320];
    bool made;
} keys;

static bool run_cmd(const char *cmd)
{
    /* Bounded: openssl gets 60 s per key. */
    char line[1400];
    snprintf(line, sizeof line, "timeout 60 %s >/dev/null 2>&1", cmd);
    int rc = system(line);
    return rc == 0;
}

static void make_keys(void)
{
    if (keys.made)
        return;
    if (!run_cmd("sh -c 'command -v openssl'"))
        fail_msg("the openssl command is not installed: the RS256 tests need it to make a key "
                 "pair (apt-get install openssl, as `make deps` does)");
    if (!harness_tempdir(keys.dir, sizeof keys.dir))
        fail_msg("no temp dir");
    const char *names[2] = { "a", "b" };
    char *priv[2] = { keys.a_priv, keys.b_priv }, *pub[2] = { keys.a_pub, keys.b_pub };
    for (int i = 0; i < 2; i++) {
        snprintf(priv[i], 320, "%s/%s.pem", keys.dir, names[i]);
        snprintf(pub[i], 320, "%s/%s.pub.pem", keys.dir, names[i]);
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s", priv[i]);
        if (!run_cmd(cmd))
            fail_msg("openssl genpkey failed: %s", cmd);
        snprintf(cmd, sizeof cmd, "openssl pkey -in %s -pubout -out %s", priv[i], pub[i]);
        if (!run_cmd(cmd))
            fail_msg("openssl pkey -pubout failed: %s", cmd);
    }
    snprintf(keys.junk, sizeof keys.junk, "%s/junk.pem", keys.dir);
    FILE *f = fopen(keys.junk, "w");
    assert_non_null(f);
    fputs("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    keys.made = true;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_putc(&b, '\0');
    return buf_steal(&b);
}

/* Loads [api] from text; returns whether it loaded (err says why not). */
static bool load(const char *text, struct api_settings *s, struct td_err *err)
{
    struct td_config *cfg = NULL;
    td_err_clear(err);
    if (!config_load_string(text, &cfg, err))
        fail_msg("config: %s", err->msg);
    struct td_core core;
    core_defaults(&core, NULL);
    bool ok = api_settings_load(cfg, &core, s, err);
    config_free(cfg);
    return ok;
}

static void load_rs256(const char *priv, const char *pub, struct api_settings *s)
{
    char text[1200];
    snprintf(text, sizeof text,
             "[api]\njwt_algorithm = RS256\njwt_private_key_file = %s\njwt_public_key_file = %s\n",
             priv, pub);
    struct td_err err;
    if (!load(text, s, &err))
        fail_msg("RS256 settings did not load: %s", err.msg);
}

static void expect_refused(const char *text, const char *reason)
{
    struct api_settings s;
    struct td_err err;
    if (load(text, &s, &err)) {
        api_settings_free(&s);
        fail_msg("loaded, but should be refused (%s):\n%s", reason, text);
    }
    if (strstr(err.msg, reason) == NULL)
        fail_msg("refused with '%s', expected it to say '%s'", err.msg, reason);
}

static void test_rs256_settings(void **state)
{
    (void)state;
    make_keys();
    struct api_settings s;
    load_rs256(keys.a_priv, keys.a_pub, &s);
    assert_int_equal(s.jwt_alg, API_JWT_RS256);
    assert_null(s.jwt_secret);
    api_settings_free(&s);

    char text[1600];
    snprintf(text, sizeof text, "[api]\njwt_algorithm = RS256\njwt_private_key_file = %s\n", keys.a_priv);
    expect_refused(text, "[api] jwt_public_key is required");
    snprintf(text, sizeof text, "[api]\njwt_algorithm = RS256\njwt_public_key_file = %s\n", keys.a_pub);
    expect_refused(text, "[api] jwt_private_key is required");
    snprintf(text, sizeof text,
             "[api]\njwt_algorithm = RS256\njwt_private_key_file = %s\njwt_public_key_file = %s\n",
             keys.a_priv, keys.b_pub);
    expect_refused(text, "does not verify what jwt_private_key_file signs");
    snprintf(text, sizeof text,
             "[api]\njwt_algorithm = RS256\njwt_private_key_file = %s\njwt_public_key_file = %s\n",
             keys.junk, keys.a_pub);
    expect_refused(text, "jwt_private_key_file: cannot sign");
    snprintf(text, sizeof text,
             "[api]\njwt_algorithm = RS256\njwt_private_key_file = %s\njwt_public_key_file = %s\n",
             keys.a_priv, keys.junk);
    expect_refused(text, "jwt_public_key_file does not verify");
    snprintf(text, sizeof text,
             "[api]\njwt_algorithm = RS256\njwt_secret = 0123456789abcdef0123456789abcdef!\n"
             "jwt_private_key_file = %s\njwt_public_key_file = %s\n",
             keys.a_priv, keys.a_pub);
    expect_refused(text, "jwt_secret is for jwt_algorithm = HS256");
    snprintf(text, sizeof text,
             "[api]\njwt_secret = 0123456789abcdef0123456789abcdef!\njwt_private_key_file = %s\n",
             keys.a_priv);
    expect_refused(text, "are for jwt_algorithm = RS256");
    expect_refused("[api]\njwt_algorithm = EdDSA\n", "EdDSA is not supported");
    expect_refused("[api]\njwt_algorithm = ES256\n", "not HS256 or RS256");
    expect_refused("[api]\njwt_algorithm = none\n", "not HS256 or RS256");
    /* HS256 stays the default and keeps its rules. */
    expect_refused("[api]\njwt_secret = short\n", "at least 32");
    assert_true(load("[api]\njwt_secret = 0123456789abcdef0123456789abcdef!\n", &s, &(struct td_err){ 0 }));
    assert_int_equal(s.jwt_alg, API_JWT_HS256);
    api_settings_free(&s);
}

/* A token for u with the given algorithm and key, claims as we issue
 * them (what an attacker who knows the format would build). */
static char *forge(const struct api_settings *s, const struct td_user *u, jwt_alg_t alg,
                   const unsigned char *key, size_t key_len, int64_t now)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    char jti[TD_ID_LEN + 1];
    id_new(jti);
    assert_int_equal(jwt_add_grant(j, "iss", s->issuer), 0);
    assert_int_equal(jwt_add_grant(j, "aud", s->audience), 0);
    assert_int_equal(jwt_add_grant(j, "sub", u->id), 0);
    assert_int_equal(jwt_add_grant(j, "role", role_name(u->role)), 0);
    assert_int_equal(jwt_add_grant(j, "jti", jti), 0);
    assert_int_equal(jwt_add_grant_int(j, "ver", (long)u->token_version), 0);
    assert_int_equal(jwt_add_grant_int(j, "iat", (long)now), 0);
    assert_int_equal(jwt_add_grant_int(j, "exp", (long)now + 600), 0);
    assert_int_equal(jwt_set_alg(j, alg, key, (int)key_len), 0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    assert_non_null(t);
    return t;
}

/* The header of a token, decoded. */
static json_t *header_of(const char *tok)
{
    const char *dot = strchr(tok, '.');
    assert_non_null(dot);
    unsigned char raw[512];
    size_t n = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, tok, (size_t)(dot - tok), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json_t *h = json_loadb((const char *)raw, n, 0, NULL);
    assert_non_null(h);
    return h;
}

static void expect_rejected(const struct api_settings *s, const char *tok, int64_t now,
                            const char *reason, int line)
{
    struct jwt_claims c;
    struct td_err err;
    td_err_clear(&err);
    if (jwt_verify_token(s, tok, now, &c, &err))
        fail_msg("line %d: token accepted, expected '%s'", line, reason);
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    if (strstr(err.msg, reason) == NULL)
        fail_msg("line %d: refused with '%s', expected '%s'", line, err.msg, reason);
}
#define EXPECT_REJECTED(s, tok, now, reason) expect_rejected((s), (tok), (now), (reason), __LINE__)

static void test_rs256_tokens(void **state)
{
    (void)state;
    make_keys();
    struct api_settings s, stranger;
    load_rs256(keys.a_priv, keys.a_pub, &s);
    load_rs256(keys.b_priv, keys.b_pub, &stranger);
    struct td_user u;
    memset(&u, 0, sizeof u);
    id_new(u.id);
    u.role = ROLE_AGENT;
    u.token_version = 3;
    int64_t now = 1900000000;
    struct td_err err;
    td_err_clear(&err);

    char *tok = NULL;
    assert_true(jwt_issue(&s, &u, now, &tok, &err));
    json_t *h = header_of(tok);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    json_decref(h);
    struct jwt_claims c;
    assert_true(jwt_verify_token(&s, tok, now + 5, &c, &err));
    assert_string_equal(c.sub, u.id);
    assert_int_equal(c.role, ROLE_AGENT);
    assert_int_equal(c.ver, 3);
    /* The claims' rules are the same as with HS256. */
    EXPECT_REJECTED(&s, tok, now + s.access_ttl_s + s.clock_leeway_s, "token expired");
    /* Another key pair's server refuses it, and we refuse theirs. */
    EXPECT_REJECTED(&stranger, tok, now, "bad signature");
    char *theirs = NULL;
    assert_true(jwt_issue(&stranger, &u, now, &theirs, &err));
    EXPECT_REJECTED(&s, theirs, now, "bad signature");
    free(theirs);
    /* One changed character in the payload or the signature. */
    char *bad = strdup(tok);
    char *dot1 = strchr(bad, '.');
    dot1[3] = dot1[3] == 'A' ? 'B' : 'A';
    EXPECT_REJECTED(&s, bad, now, ""); /* bad signature, or a payload that no longer parses */
    free(bad);
    bad = strdup(tok);
    char *dot2 = strrchr(bad, '.');
    dot2[10] = dot2[10] == 'A' ? 'B' : 'A';
    EXPECT_REJECTED(&s, bad, now, "bad signature");
    free(bad);
    free(tok);

    /* Algorithm confusion: an HS256 token whose HMAC secret is the public
     * key, byte for byte as the file holds it and as the config keeps it
     * (without the final newline). libjwt alone would verify it with the
     * public key as the secret; ticketd must not. */
    char *pem = read_all(keys.a_pub);
    size_t pem_len = strlen(pem);
    char *forged = forge(&s, &u, JWT_ALG_HS256, (const unsigned char *)pem, pem_len, now);
    EXPECT_REJECTED(&s, forged, now, "wrong algorithm: only RS256 is accepted");
    free(forged);
    forged = forge(&s, &u, JWT_ALG_HS256, s.jwt_public_key, s.jwt_public_key_len, now);
    {
        /* The premise: libjwt by itself takes this forgery. */
        jwt_t *j = NULL;
        int rc = jwt_decode(&j, forged, s.jwt_public_key, (int)s.jwt_public_key_len);
        if (rc != 0)
            fprintf(stderr, "note: this libjwt refuses the forgery by itself too (%d)\n", rc);
        jwt_free(j);
    }
    EXPECT_REJECTED(&s, forged, now, "wrong algorithm: only RS256 is accepted");
    /* Even with a header claiming RS256 over that HMAC signature. */
    const char *dot = strchr(forged, '.');
    struct buf relabel = BUF_INIT;
    char hdr[128];
    const char *rs_header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    sodium_bin2base64(hdr, sizeof hdr, (const unsigned char *)rs_header, strlen(rs_header),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_printf(&relabel, "%s%s", hdr, dot);
    EXPECT_REJECTED(&s, relabel.data, now, "bad signature");
    buf_free(&relabel);
    free(forged);
    free(pem);

    /* Another RSA algorithm, and none. */
    char *priv = read_all(keys.a_priv);
    forged = forge(&s, &u, JWT_ALG_RS512, (const unsigned char *)priv, strlen(priv), now);
    EXPECT_REJECTED(&s, forged, now, "wrong algorithm: only RS256 is accepted");
    free(forged);
    forged = forge(&s, &u, JWT_ALG_NONE, NULL, 0, now);
    EXPECT_REJECTED(&s, forged, now, "alg none");
    free(forged);
    free(priv);
    /* An HS256 server refuses RS256 tokens the same way. */
    struct api_settings hs;
    assert_true(load("[api]\njwt_secret = 0123456789abcdef0123456789abcdef!\n", &hs, &err));
    assert_true(jwt_issue(&s, &u, now, &tok, &err));
    EXPECT_REJECTED(&hs, tok, now, "wrong algorithm: only HS256 is accepted");
    free(tok);
    api_settings_free(&hs);
    api_settings_free(&s);
    api_settings_free(&stranger);
}

/* ---- over HTTP ------------------------------------------------------------------- */

static void test_rs256_http(void **state)
{
    (void)state;
    make_keys();
    char extra[1200];
    snprintf(extra, sizeof extra,
             "jwt_algorithm = RS256\njwt_private_key_file = %s\njwt_public_key_file = %s\n",
             keys.a_priv, keys.a_pub);
    struct tdsrv s;
    assert_true(tdsrv_start(&s, STORE_BACKEND_SQLITE, extra)); /* logs everyone in */
    json_t *h = header_of(s.cust1.access);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    json_decref(h);
    struct http r;
    http_get(&s, "/api/v1/me", s.cust1.access, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(&r, "email"), "cust1@example.org");
    http_clear(&r);
    /* Refresh gives RS256 tokens too. */
    http_json(&s, "POST", "/api/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}",
              s.cust1.refresh);
    assert_int_equal(r.status, 200);
    h = header_of(jstr(&r, "access_token"));
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    json_decref(h);
    http_clear(&r);

    /* Forged tokens for the admin: HS256 over the public key, and RS256
     * from another key pair. */
    struct api_settings as, stranger;
    load_rs256(keys.a_priv, keys.a_pub, &as);
    load_rs256(keys.b_priv, keys.b_pub, &stranger);
    int64_t now = (int64_t)time(NULL);
    char *pem = read_all(keys.a_pub);
    char *forged = forge(&as, &s.admin.u, JWT_ALG_HS256, (const unsigned char *)pem, strlen(pem), now);
    http_get(&s, "/api/v1/users", forged, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(jstr(&r, "detail"), "wrong algorithm"));
    assert_non_null(strstr(r.www_auth, "invalid_token"));
    http_clear(&r);
    free(forged);
    free(pem);
    char *theirs = NULL;
    struct td_err err;
    assert_true(jwt_issue(&stranger, &s.admin.u, now, &theirs, &err));
    http_get(&s, "/api/v1/users", theirs, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(jstr(&r, "detail"), "bad signature"));
    http_clear(&r);
    free(theirs);
    /* The admin's own token works. */
    http_get(&s, "/api/v1/users", s.admin.access, &r);
    assert_int_equal(r.status, 200);
    http_clear(&r);
    api_settings_free(&as);
    api_settings_free(&stranger);
    assert_true(tdsrv_stop(&s));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs256_settings),
        cmocka_unit_test(test_rs256_tokens),
        cmocka_unit_test(test_rs256_http),
    };
    int failed = cmocka_run_group_tests_name("api_rs256", tests, NULL, NULL);
    if (keys.dir[0])
        harness_rmtree(keys.dir);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

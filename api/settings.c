/* settings.c - the [api] section (every key also TICKETD_API_<KEY>, and
 * jwt_secret preferably as jwt_secret_file):
 *
 *   bind = 127.0.0.1            listen address (IPv4 or IPv6)
 *   port = 8080
 *   threads = 4                 request threads (MHD thread pool): they
 *                               read, parse and answer; on 2 cores 4
 *                               served GET one ticket ~15 % faster than 8
 *   write_threads = 8           threads that run writes (write_pool.h): a
 *                               write waits for its commit there, not on
 *                               a request thread, and this bounds how
 *                               many writes share one commit
 *                               (store_sqlite_group.c); 0 runs writes on
 *                               the request threads
 *   connection_timeout = 30     seconds a connection may stay idle
 *   max_connections = 1000
 *   max_connections_per_address = 32    one client address's share
 *   header_timeout = 10         seconds for a request's headers to arrive
 *   body_timeout = 120          seconds for its body, after the headers
 *   max_request_bytes = 2097152 JSON request bodies (413 above)
 *   max_upload_bytes            multipart comment uploads; default:
 *                               [core] max_attachment_bytes * 2 + 1 MiB
 *   jwt_algorithm = HS256       HS256 (shared secret) or RS256 (key pair);
 *                               EdDSA is not in libjwt 1.10
 *   jwt_secret                  HS256: required, at least 32 bytes
 *   jwt_private_key_file        RS256: required, PEM (PKCS#8 or PKCS#1)
 *   jwt_public_key_file         RS256: required, PEM, the private key's
 *                               (checked at start by signing a probe)
 *   jwt_issuer = ticketd
 *   jwt_audience = ticketd-api
 *   access_ttl = 900            access token life, seconds
 *   refresh_ttl = 2592000       refresh token life, seconds (30 days)
 *   clock_leeway = 30           seconds of clock skew tolerated
 *   login_max_failures_per_account = 5   free failures, then delays
 *   login_max_failures_per_address = 20  of 1 s, 2 s, 4 s... (login_throttle.c)
 *   login_window = 900          seconds: the longest delay; failures are
 *                               forgotten after this long without one
 *   register_max_per_address = 10  register + claim requests per window
 *   register_max_global = 200      ... from all addresses together
 *   register_window = 3600      seconds
 *   hash_concurrency            argon2id hashes at once; default 1/4 of
 *                               the threads that run logins (writes)
 *   page_size = 25, page_max = 100       ticket list pages */
#include "api_int.h"
#include "auth.h"

#include "core/config.h"
#include "core/mem.h"

#include <sodium.h>
#include <string.h>

#define S "api"

static unsigned char *copy_key(const char *v, size_t *len)
{
    *len = strlen(v);
    unsigned char *k = td_malloc(*len + 1);
    memcpy(k, v, *len + 1); /* NUL-terminated too: PEM is text */
    return k;
}

/* jwt_algorithm and its keys. The keys of the other algorithm must not be
 * set: a leftover jwt_secret next to RS256 keys would be a key that
 * signs nothing yet looks like it does. */
static bool load_signing_keys(struct td_config *cfg, struct api_settings *s, struct td_err *err)
{
    const char *alg = config_str(cfg, S, "jwt_algorithm", "HS256");
    const char *secret = config_str(cfg, S, "jwt_secret", NULL);
    const char *priv = config_str(cfg, S, "jwt_private_key", NULL);
    const char *pub = config_str(cfg, S, "jwt_public_key", NULL);
    if (strcmp(alg, "HS256") == 0) {
        s->jwt_alg = API_JWT_HS256;
        if (priv || pub)
            return td_fail(err, TD_INVALID, "[api] jwt_private_key_file and jwt_public_key_file "
                                            "are for jwt_algorithm = RS256; this is HS256");
        if (!config_require(cfg, S, "jwt_secret", &secret, err))
            return false;
        size_t slen = strlen(secret);
        if (slen < API_MIN_SECRET)
            return td_fail(err, TD_INVALID,
                           "[api] jwt_secret is %zu bytes; it must be at least %d (for example "
                           "`head -c 48 /dev/urandom | base64` into jwt_secret_file)",
                           slen, API_MIN_SECRET);
        s->jwt_secret = copy_key(secret, &s->jwt_secret_len);
        return true;
    }
    if (strcmp(alg, "RS256") == 0) {
        s->jwt_alg = API_JWT_RS256;
        if (secret)
            return td_fail(err, TD_INVALID,
                           "[api] jwt_secret is for jwt_algorithm = HS256; with RS256 remove it");
        if (!config_require(cfg, S, "jwt_private_key", &priv, err) ||
            !config_require(cfg, S, "jwt_public_key", &pub, err))
            return false;
        s->jwt_private_key = copy_key(priv, &s->jwt_private_key_len);
        s->jwt_public_key = copy_key(pub, &s->jwt_public_key_len);
        return true;
    }
    return td_fail(err, TD_INVALID,
                   "[api] jwt_algorithm: '%.40s' is not HS256 or RS256 (EdDSA is not supported "
                   "by libjwt 1.10)", alg);
}

/* A quarter of the threads that run logins (the write pool's, when
 * there is one), at least 1. */
static int64_t hash_default(int64_t threads, int64_t wthreads)
{
    int64_t t = wthreads > 0 ? wthreads : threads;
    return t / 4 > 0 ? t / 4 : 1;
}

bool api_settings_load(struct td_config *cfg, const struct td_core *core,
                       struct api_settings *s, struct td_err *err)
{
    memset(s, 0, sizeof *s);
    int64_t perip, htimeout, btimeout, regaddr, regglobal, regwin, hashc;
    int64_t port, threads, wthreads, timeout, maxconn, maxreq, maxup, attl, rttl, leeway, lacct, laddr,
        lwin, psize, pmax;
    int64_t up_default = (int64_t)core->max_attachment * 2 + (1 << 20);
    if (!config_int(cfg, S, "port", 8080, 0, 65535, &port, err) ||
        !config_int(cfg, S, "threads", 4, 1, 256, &threads, err) ||
        !config_int(cfg, S, "write_threads", 8, 0, 256, &wthreads, err) ||
        !config_int(cfg, S, "connection_timeout", 30, 1, 3600, &timeout, err) ||
        !config_int(cfg, S, "max_connections", 1000, 1, 100000, &maxconn, err) ||
        !config_int(cfg, S, "max_connections_per_address", 32, 1, 100000, &perip, err) ||
        !config_int(cfg, S, "header_timeout", 10, 1, 3600, &htimeout, err) ||
        !config_int(cfg, S, "body_timeout", 120, 1, 86400, &btimeout, err) ||
        !config_int(cfg, S, "max_request_bytes", 2 << 20, 1024, 1LL << 30, &maxreq, err) ||
        !config_int(cfg, S, "max_upload_bytes", up_default, 1024, 4LL << 30, &maxup, err) ||
        !config_int(cfg, S, "access_ttl", 900, 10, 86400, &attl, err) ||
        !config_int(cfg, S, "refresh_ttl", 30 * 86400, 60, 365 * 86400, &rttl, err) ||
        !config_int(cfg, S, "clock_leeway", 30, 0, 300, &leeway, err) ||
        !config_int(cfg, S, "login_max_failures_per_account", 5, 1, 1000000, &lacct, err) ||
        !config_int(cfg, S, "login_max_failures_per_address", 20, 1, 1000000, &laddr, err) ||
        !config_int(cfg, S, "login_window", 900, 1, 86400, &lwin, err) ||
        !config_int(cfg, S, "register_max_per_address", 10, 1, 1000000, &regaddr, err) ||
        !config_int(cfg, S, "register_max_global", 200, 1, 100000000, &regglobal, err) ||
        !config_int(cfg, S, "register_window", 3600, 1, 86400 * 7, &regwin, err) ||
        !config_int(cfg, S, "hash_concurrency", hash_default(threads, wthreads), 1, 256, &hashc,
                    err) ||
        !config_int(cfg, S, "page_size", 25, 1, 1000, &psize, err) ||
        !config_int(cfg, S, "page_max", 100, 1, STORE_LIST_MAX - 1, &pmax, err))
        return false;
    if (psize > pmax)
        return td_fail(err, TD_INVALID, "[api] page_size (%lld) is larger than page_max (%lld)",
                       (long long)psize, (long long)pmax);
    if (!load_signing_keys(cfg, s, err))
        return false;
    s->bind = td_strdup(config_str(cfg, S, "bind", "127.0.0.1"));
    s->issuer = td_strdup(config_str(cfg, S, "jwt_issuer", "ticketd"));
    s->audience = td_strdup(config_str(cfg, S, "jwt_audience", "ticketd-api"));
    s->port = (int)port;
    s->threads = (unsigned)threads;
    s->write_threads = (unsigned)wthreads;
    s->conn_timeout_s = (unsigned)timeout;
    s->max_connections = (unsigned)maxconn;
    s->max_conn_per_addr = (unsigned)(perip < maxconn ? perip : maxconn);
    s->header_timeout_s = (unsigned)htimeout;
    s->body_timeout_s = (unsigned)btimeout;
    s->max_request_bytes = (size_t)maxreq;
    s->max_upload_bytes = (size_t)(maxup > maxreq ? maxup : maxreq);
    s->access_ttl_s = attl;
    s->refresh_ttl_s = rttl;
    s->clock_leeway_s = leeway;
    s->login_max_per_account = (unsigned)lacct;
    s->login_max_per_addr = (unsigned)laddr;
    s->login_window_s = lwin;
    s->register_max_per_addr = (unsigned)regaddr;
    s->register_max_global = (unsigned)regglobal;
    s->register_window_s = regwin;
    s->hash_concurrency = (unsigned)hashc;
    s->page_default = (unsigned)psize;
    s->page_max = (unsigned)pmax;
    if (s->issuer[0] == '\0' || s->audience[0] == '\0') {
        api_settings_free(s);
        return td_fail(err, TD_INVALID, "[api] jwt_issuer and jwt_audience must not be empty");
    }
    if (!jwt_keys_check(s, err)) {
        api_settings_free(s);
        return false;
    }
    return true;
}

void api_settings_free(struct api_settings *s)
{
    if (s->jwt_secret) {
        sodium_memzero(s->jwt_secret, s->jwt_secret_len);
        free(s->jwt_secret);
    }
    if (s->jwt_private_key) {
        sodium_memzero(s->jwt_private_key, s->jwt_private_key_len);
        free(s->jwt_private_key);
    }
    free(s->jwt_public_key);
    free(s->bind);
    free(s->issuer);
    free(s->audience);
    memset(s, 0, sizeof *s);
}

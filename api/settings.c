/* settings.c - the [api] section (every key also TICKETD_API_<KEY>, and
 * jwt_secret preferably as jwt_secret_file):
 *
 *   bind = 127.0.0.1            listen address (IPv4 or IPv6)
 *   port = 8080
 *   threads = 4                 request threads (MHD thread pool)
 *   connection_timeout = 30     seconds a connection may stay idle
 *   max_connections = 1000
 *   max_request_bytes = 2097152 JSON request bodies (413 above)
 *   max_upload_bytes            multipart comment uploads; default:
 *                               [core] max_attachment_bytes * 2 + 1 MiB
 *   jwt_secret                  required, at least 32 bytes (HS256 key)
 *   jwt_issuer = ticketd
 *   jwt_audience = ticketd-api
 *   access_ttl = 900            access token life, seconds
 *   refresh_ttl = 2592000       refresh token life, seconds (30 days)
 *   clock_leeway = 30           seconds of clock skew tolerated
 *   login_max_failures_per_account = 5   per login_window
 *   login_max_failures_per_address = 20  per login_window
 *   login_window = 900          seconds
 *   page_size = 25, page_max = 100       ticket list pages */
#include "api_int.h"

#include "core/config.h"
#include "core/mem.h"

#include <sodium.h>
#include <string.h>

#define S "api"

bool api_settings_load(struct td_config *cfg, const struct td_core *core,
                       struct api_settings *s, struct td_err *err)
{
    memset(s, 0, sizeof *s);
    int64_t port, threads, timeout, maxconn, maxreq, maxup, attl, rttl, leeway, lacct, laddr,
        lwin, psize, pmax;
    int64_t up_default = (int64_t)core->max_attachment * 2 + (1 << 20);
    const char *secret = NULL;
    if (!config_int(cfg, S, "port", 8080, 0, 65535, &port, err) ||
        !config_int(cfg, S, "threads", 4, 1, 256, &threads, err) ||
        !config_int(cfg, S, "connection_timeout", 30, 1, 3600, &timeout, err) ||
        !config_int(cfg, S, "max_connections", 1000, 1, 100000, &maxconn, err) ||
        !config_int(cfg, S, "max_request_bytes", 2 << 20, 1024, 1LL << 30, &maxreq, err) ||
        !config_int(cfg, S, "max_upload_bytes", up_default, 1024, 4LL << 30, &maxup, err) ||
        !config_int(cfg, S, "access_ttl", 900, 10, 86400, &attl, err) ||
        !config_int(cfg, S, "refresh_ttl", 30 * 86400, 60, 365 * 86400, &rttl, err) ||
        !config_int(cfg, S, "clock_leeway", 30, 0, 300, &leeway, err) ||
        !config_int(cfg, S, "login_max_failures_per_account", 5, 1, 1000000, &lacct, err) ||
        !config_int(cfg, S, "login_max_failures_per_address", 20, 1, 1000000, &laddr, err) ||
        !config_int(cfg, S, "login_window", 900, 1, 86400, &lwin, err) ||
        !config_int(cfg, S, "page_size", 25, 1, 1000, &psize, err) ||
        !config_int(cfg, S, "page_max", 100, 1, STORE_LIST_MAX - 1, &pmax, err))
        return false;
    if (psize > pmax)
        return td_fail(err, TD_INVALID, "[api] page_size (%lld) is larger than page_max (%lld)",
                       (long long)psize, (long long)pmax);
    if (!config_require(cfg, S, "jwt_secret", &secret, err))
        return false;
    size_t slen = strlen(secret);
    if (slen < API_MIN_SECRET)
        return td_fail(err, TD_INVALID,
                       "[api] jwt_secret is %zu bytes; it must be at least %d (for example "
                       "`head -c 48 /dev/urandom | base64` into jwt_secret_file)",
                       slen, API_MIN_SECRET);
    s->jwt_secret = td_malloc(slen);
    memcpy(s->jwt_secret, secret, slen);
    s->jwt_secret_len = slen;
    s->bind = td_strdup(config_str(cfg, S, "bind", "127.0.0.1"));
    s->issuer = td_strdup(config_str(cfg, S, "jwt_issuer", "ticketd"));
    s->audience = td_strdup(config_str(cfg, S, "jwt_audience", "ticketd-api"));
    s->port = (int)port;
    s->threads = (unsigned)threads;
    s->conn_timeout_s = (unsigned)timeout;
    s->max_connections = (unsigned)maxconn;
    s->max_request_bytes = (size_t)maxreq;
    s->max_upload_bytes = (size_t)(maxup > maxreq ? maxup : maxreq);
    s->access_ttl_s = attl;
    s->refresh_ttl_s = rttl;
    s->clock_leeway_s = leeway;
    s->login_max_per_account = (unsigned)lacct;
    s->login_max_per_addr = (unsigned)laddr;
    s->login_window_s = lwin;
    s->page_default = (unsigned)psize;
    s->page_max = (unsigned)pmax;
    if (s->issuer[0] == '\0' || s->audience[0] == '\0') {
        api_settings_free(s);
        return td_fail(err, TD_INVALID, "[api] jwt_issuer and jwt_audience must not be empty");
    }
    return true;
}

void api_settings_free(struct api_settings *s)
{
    if (s->jwt_secret) {
        sodium_memzero(s->jwt_secret, s->jwt_secret_len);
        free(s->jwt_secret);
    }
    free(s->bind);
    free(s->issuer);
    free(s->audience);
    memset(s, 0, sizeof *s);
}

/* conventions.c - what every request gets, whatever its route: the
 * client address behind trusted proxies, CORS, and request rate limits.
 *
 * Client address. The peer of the TCP connection is the client unless it
 * is one of [api] trusted_proxies (IPs or CIDRs). Then the client is the
 * rightmost address of X-Forwarded-For (or of the Forwarded "for="
 * parameters, RFC 7239, when there is no X-Forwarded-For) that is not a
 * trusted proxy itself: everything left of it may be forged by the
 * client, everything right of it was added by our own proxies. Without
 * trusted proxies the headers are ignored, so no client can pick its
 * own address (and its own login or request budget).
 *
 * CORS. [api] cors_allowed_origins lists the origins (scheme://host[:port],
 * exact) whose pages may call the API, or "*". A preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) on a known path is answered
 * 204 with the path's methods and the request headers we read; any
 * response to an allowed Origin names it in Access-Control-Allow-Origin
 * (with Vary: Origin) and exposes our response headers. Credentials
 * (cookies, HTTP auth) are never allowed: the API authenticates with
 * Bearer tokens the page sends itself, so Access-Control-Allow-Credentials
 * is never sent, and "*" is safe to use.
 *
 * Rate limits. Every request counts against its client address
 * ([api] rate_limit_per_address per rate_limit_window seconds), and an
 * authenticated one also against its credential (rate_limit_per_token:
 * the personal access token, or the user of a session). Over either:
 * 429 with Retry-After. Every response carries RateLimit-Policy and
 * RateLimit (draft-ietf-httpapi-ratelimit-headers) for the tighter of
 * the two. In-process counters, like the login limiter (ratelimit.c). */
#include "api_int.h"

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- settings ---- */

static bool parse_cidr(const char *s, struct conv_net *out)
{
    char buf[80];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || b < 0)
            return false;
        bits = (int)b;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        out->bits = bits < 0 ? 32 : bits;
        return out->bits <= 32;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        out->bits = bits < 0 ? 128 : bits;
        return out->bits <= 128;
    }
    return false;
}

/* Splits a comma list into trimmed, non-empty items. */
static void split_list(const char *s, struct strv *out)
{
    while (s && *s) {
        size_t n = strcspn(s, ",");
        const char *a = s, *e = s + n;
        while (a < e && isspace((unsigned char)*a))
            a++;
        while (e > a && isspace((unsigned char)e[-1]))
            e--;
        if (e > a) {
            char *item = td_strndup(a, (size_t)(e - a));
            strv_push(out, item);
            free(item);
        }
        s += n;
        if (*s == ',')
            s++;
    }
}

bool conv_settings_load(struct td_config *cfg, struct conv_settings *c, struct td_err *err)
{
    memset(c, 0, sizeof *c);
    int64_t age, per_addr, per_token, window, idem_ttl;
    if (!config_int(cfg, "api", "cors_max_age", 600, 0, 86400, &age, err) ||
        !config_int(cfg, "api", "rate_limit_per_address", 3000, 0, 100000000, &per_addr, err) ||
        !config_int(cfg, "api", "rate_limit_per_token", 1200, 0, 100000000, &per_token, err) ||
        !config_int(cfg, "api", "rate_limit_window", 60, 1, 86400, &window, err) ||
        !config_int(cfg, "api", "idempotency_ttl", 86400, 60, 30 * 86400, &idem_ttl, err))
        return false;
    c->cors_max_age = age;
    c->rate_per_addr = (unsigned)per_addr;
    c->rate_per_token = (unsigned)per_token;
    c->rate_window_s = window;
    c->idempotency_ttl_s = idem_ttl;
    split_list(config_str(cfg, "api", "cors_allowed_origins", ""), &c->cors_origins);
    for (size_t i = 0; i < c->cors_origins.n; i++) {
        const char *o = c->cors_origins.v[i];
        bool ok = strcmp(o, "*") == 0 ||
                  ((strncmp(o, "https://", 8) == 0 || strncmp(o, "http://", 7) == 0) &&
                   strchr(strchr(o, ':') + 3, '/') == NULL);
        if (!ok) {
            conv_settings_free(c);
            return td_fail(err, TD_INVALID,
                           "[api] cors_allowed_origins: '%.80s' is not '*' or scheme://host[:port]", o);
        }
    }
    struct strv nets = { NULL, 0 };
    split_list(config_str(cfg, "api", "trusted_proxies", ""), &nets);
    c->proxies = td_calloc(nets.n ? nets.n : 1, sizeof *c->proxies);
    for (size_t i = 0; i < nets.n; i++) {
        if (!parse_cidr(nets.v[i], &c->proxies[i])) {
            td_fail(err, TD_INVALID, "[api] trusted_proxies: '%.60s' is not an IP address or CIDR",
                    nets.v[i]);
            strv_clear(&nets);
            conv_settings_free(c);
            return false;
        }
        c->n_proxies++;
    }
    strv_clear(&nets);
    return true;
}

void conv_settings_free(struct conv_settings *c)
{
    strv_clear(&c->cors_origins);
    free(c->proxies);
    memset(c, 0, sizeof *c);
}

/* ---- client address ---- */

static bool net_contains(const struct conv_net *n, const char *ip)
{
    unsigned char a[16];
    int bits = n->bits;
    if (n->family == 4) {
        if (inet_pton(AF_INET, ip, a) != 1) {
            /* an IPv4-mapped IPv6 peer (dual-stack listener) */
            unsigned char a6[16];
            static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
            if (inet_pton(AF_INET6, ip, a6) != 1 || memcmp(a6, mapped, 12) != 0)
                return false;
            memcpy(a, a6 + 12, 4);
        }
    } else if (inet_pton(AF_INET6, ip, a) != 1) {
        return false;
    }
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (n->addr[i] & mask))
            return false;
    }
    return true;
}

bool conv_trusted_proxy(const struct conv_settings *c, const char *ip)
{
    for (size_t i = 0; i < c->n_proxies; i++)
        if (net_contains(&c->proxies[i], ip))
            return true;
    return false;
}

/* One address of a forwarding header, normalised into out ("" when it
 * is not an address: "unknown", an obfuscated identifier...). */
static void one_addr(const char *s, size_t n, char *out, size_t len)
{
    char buf[128];
    out[0] = '\0';
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n == 0 || n >= sizeof buf)
        return;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *a = buf;
    if (a[0] == '[') { /* [v6]:port */
        char *e = strchr(a, ']');
        if (e == NULL)
            return;
        *e = '\0';
        a++;
    } else if (strchr(a, ':') == strrchr(a, ':') && strchr(a, ':') != NULL) {
        *strchr(a, ':') = '\0'; /* v4:port */
    }
    unsigned char bin[16];
    if ((inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1) &&
        strlen(a) < len)
        memcpy(out, a, strlen(a) + 1);
}

void conv_client_addr(struct api_req *r, const struct conv_settings *c)
{
    if (c->n_proxies == 0 || !conv_trusted_proxy(c, r->client_addr))
        return;
    const char *xff = req_header(r, "X-Forwarded-For");
    const char *fwd = xff ? NULL : req_header(r, "Forwarded");
    if (xff == NULL && fwd == NULL)
        return;
    /* Collect the addresses left to right, keeping the last MAX_HOPS (a
     * client padding the left part must not push our proxies' entries
     * out), then walk from the right. */
#define MAX_HOPS 16
    char addrs[MAX_HOPS][64];
    size_t total = 0;
    const char *p = xff ? xff : fwd;
    while (*p) {
        size_t len = strcspn(p, ",");
        char *slot = addrs[total % MAX_HOPS];
        slot[0] = '\0';
        if (xff) {
            one_addr(p, len, slot, sizeof addrs[0]);
        } else {
            /* forwarded-element: pairs split by ';', we want for= */
            const char *e = p, *end = p + len;
            while (e < end) {
                size_t pl = strcspn(e, ";");
                if ((size_t)(end - e) < pl)
                    pl = (size_t)(end - e);
                const char *k = e;
                while (k < e + pl && isspace((unsigned char)*k))
                    k++;
                if (e + pl - k > 4 && strncasecmp(k, "for=", 4) == 0)
                    one_addr(k + 4, (size_t)(e + pl - k - 4), slot, sizeof addrs[0]);
                e += pl + (e + pl < end);
            }
        }
        total++;
        p += len;
        if (*p == ',')
            p++;
    }
    size_t n = total < MAX_HOPS ? total : MAX_HOPS;
    for (size_t k = 0; k < n; k++) {
        const char *a = addrs[(total - 1 - k) % MAX_HOPS];
        if (a[0] == '\0')
            return; /* unknown or garbled: keep the last trusted address */
        snprintf(r->client_addr, sizeof r->client_addr, "%s", a);
        if (!conv_trusted_proxy(c, a))
            return;
    }
#undef MAX_HOPS
}

/* ---- CORS ---- */

static const char *allowed_origin(const struct api_req *r)
{
    const char *origin = req_header(r, "Origin");
    if (origin == NULL)
        return NULL;
    const struct conv_settings *c = &r->api->conv;
    for (size_t i = 0; i < c->cors_origins.n; i++)
        if (strcmp(c->cors_origins.v[i], "*") == 0 || strcmp(c->cors_origins.v[i], origin) == 0)
            return origin;
    return NULL;
}

void conv_cors_headers(const struct api_req *r, struct api_resp *out)
{
    const char *origin = allowed_origin(r);
    if (origin == NULL)
        return;
    resp_header(out, "Access-Control-Allow-Origin", "%.700s", origin);
    resp_header(out, "Vary", "Origin");
    resp_header(out, "Access-Control-Expose-Headers",
                "ETag, Location, Link, Retry-After, RateLimit, RateLimit-Policy, X-Request-Id");
}

void conv_options(struct api_req *r, struct api_resp *out)
{
    unsigned miss = 404;
    char allow[96];
    router_match(r, &miss, allow, sizeof allow);
    if (allow[0] == '\0') {
        problem(out, 404, "not_found", "no such endpoint; see /api/v1/openapi.json", NULL);
        return;
    }
    resp_empty(out, 204);
    resp_header(out, "Allow", "%s, OPTIONS", allow);
    if (allowed_origin(r) && req_header(r, "Access-Control-Request-Method")) {
        resp_header(out, "Access-Control-Allow-Methods", "%s", allow);
        resp_header(out, "Access-Control-Allow-Headers",
                    "Authorization, Content-Type, If-Match, Idempotency-Key");
        resp_header(out, "Access-Control-Max-Age", "%lld", (long long)r->api->conv.cors_max_age);
    }
}

/* ---- rate limits ---- */

bool conv_rate_limit(struct api_req *r, struct ratelimit *rl, unsigned max, const char *key,
                     struct api_resp *out)
{
    if (rl == NULL || max == 0)
        return true;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t remaining = 0, reset_s = 0;
    bool ok = ratelimit_take(rl, key, now_ms, &remaining, &reset_s);
    /* The tighter limit wins the headers. */
    if (!r->rl_set || remaining < r->rl_remaining) {
        r->rl_set = true;
        r->rl_limit = max;
        r->rl_remaining = remaining;
        r->rl_reset_s = reset_s;
    }
    if (!ok) {
        char detail[160];
        snprintf(detail, sizeof detail, "more than %u requests in %lld s; try again in %lld s",
                 max, (long long)r->api->conv.rate_window_s, (long long)reset_s);
        problem(out, 429, "rate_limited", detail, NULL);
        resp_header(out, "Retry-After", "%lld", (long long)reset_s);
        log_event(LOG_WARN, "http_rate_limited", LF_S("key", strncmp(key, "addr:", 5) == 0 ? key : "token"),
                  LF_S("client", r->client_addr));
    }
    return ok;
}

void conv_rate_headers(const struct api_req *r, struct api_resp *out)
{
    if (!r->rl_set)
        return;
    resp_header(out, "RateLimit-Policy", "%u;w=%lld", r->rl_limit,
                (long long)r->api->conv.rate_window_s);
    resp_header(out, "RateLimit", "limit=%u, remaining=%lld, reset=%lld", r->rl_limit,
                (long long)r->rl_remaining, (long long)r->rl_reset_s);
}

/* ssrf.c - where a webhook may connect to (see hooks.h): resolve the
 * host once, check every address, pin the connection to them. */
#include "hooks/hooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool v4_blocked(const unsigned char a[4])
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 ||            /* this net, private, loopback */
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||               /* 100.64/10 CGNAT */
           (a[0] == 169 && a[1] == 254) ||                       /* link-local (cloud metadata) */
           (a[0] == 172 && (a[1] & 0xf0) == 16) ||               /* 172.16/12 */
           (a[0] == 192 && a[1] == 0 && a[2] == 0) ||            /* 192.0.0/24 IETF */
           (a[0] == 192 && a[1] == 0 && a[2] == 2) ||            /* TEST-NET-1 */
           (a[0] == 192 && a[1] == 168) ||                       /* 192.168/16 */
           (a[0] == 198 && (a[1] & 0xfe) == 18) ||               /* 198.18/15 benchmarks */
           (a[0] == 198 && a[1] == 51 && a[2] == 100) ||         /* TEST-NET-2 */
           (a[0] == 203 && a[1] == 0 && a[2] == 113) ||          /* TEST-NET-3 */
           a[0] >= 224;                                          /* multicast, reserved, broadcast */
}

bool hooks_addr_blocked(int family, const void *addr)
{
    if (family == AF_INET)
        return v4_blocked(addr);
    if (family != AF_INET6)
        return true;
    const unsigned char *a = addr;
    static const unsigned char zero[16];
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) /* :: and ::1 */
        return true;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 || memcmp(a, zero, 12) == 0)
        return v4_blocked(a + 12); /* an IPv4 address in IPv6 clothes */
    return (a[0] & 0xfe) == 0xfc ||                /* fc00::/7 unique local */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local */
           a[0] == 0xff ||                         /* multicast */
           (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || /* documentation */
           (a[0] == 0x20 && a[1] == 0x02);         /* 6to4: embeds any IPv4 */
}

bool hooks_ssrf_check(const char *url, bool allow_private, char *resolve, size_t len,
                      struct td_err *err)
{
    resolve[0] = '\0';
    CURLU *u = curl_url();
    if (u == NULL)
        return td_fail(err, TD_INTERNAL, "out of memory");
    char *host = NULL, *port = NULL, *scheme = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (!ok)
        td_fail(err, TD_INVALID, "not a URL curl accepts");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        ok = td_fail(err, TD_INVALID, "only http and https");
    char bare[256] = "";
    if (ok) {
        size_t hl = strlen(host);
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
            snprintf(bare, sizeof bare, "%.*s", (int)(hl - 2), host + 1);
        else
            snprintf(bare, sizeof bare, "%s", host);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int gai = 0;
    if (ok && (gai = getaddrinfo(bare, port, &hints, &res)) != 0)
        ok = td_fail(err, TD_UNAVAILABLE, "cannot resolve %.100s: %s", bare, gai_strerror(gai));
    unsigned char probe[16];
    bool literal = ok && (inet_pton(AF_INET, bare, probe) == 1 || inet_pton(AF_INET6, bare, probe) == 1);
    size_t used = 0;
    if (ok && !literal) {
        int w = snprintf(resolve, len, "%s:%s:", bare, port);
        used = w > 0 && (size_t)w < len ? (size_t)w : len;
    }
    size_t n_addr = 0;
    for (struct addrinfo *ai = res; ok && ai != NULL; ai = ai->ai_next) {
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        char text[INET6_ADDRSTRLEN] = "";
        inet_ntop(ai->ai_family, a, text, sizeof text);
        if (!allow_private && hooks_addr_blocked(ai->ai_family, a)) {
            ok = td_fail(err, TD_FORBIDDEN,
                         "%.100s resolves to %s, a loopback, private, link-local or reserved "
                         "address ([webhooks] allow_private_addresses is off)",
                         bare, text);
            break;
        }
        if (!literal && used < len) {
            int w = snprintf(resolve + used, len - used, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                             n_addr ? "," : "", text);
            used = w > 0 && (size_t)w < len - used ? used + (size_t)w : len;
        }
        n_addr++;
    }
    if (ok && used >= len)
        ok = td_fail(err, TD_INTERNAL, "too many addresses for %.100s", bare);
    if (res)
        freeaddrinfo(res);
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
    if (!ok)
        resolve[0] = '\0';
    return ok;
}

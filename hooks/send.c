/* send.c - one signed POST of a delivery (see hooks.h for the headers). */
#include "hooks/hooks_int.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_RESPONSE 65536 /* read and dropped: only the status matters */

void hooks_sign(const char *secret, const char *id, int64_t ts, const char *body, char *out,
                size_t len)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char stamp[32];
    int n = snprintf(stamp, sizeof stamp, ".%lld.", (long long)ts);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)stamp, (size_t)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, len, "v1,%s", b64);
    sodium_memzero(&st, sizeof st);
}

static size_t drop_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    size_t *seen = arg;
    *seen += size * n;
    return *seen > MAX_RESPONSE ? 0 : size * n; /* a huge answer ends the transfer */
}

void hooks_post(const struct hooks_config *hc, const struct td_webhook *w,
                const struct td_delivery *d, struct hook_result *res)
{
    memset(res, 0, sizeof *res);
    char resolve[1024];
    struct td_err err;
    td_err_clear(&err);
    if (!hooks_ssrf_check(w->url, hc->allow_private, resolve, sizeof resolve, &err)) {
        snprintf(res->error, sizeof res->error, "%s", err.msg);
        return;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(res->error, sizeof res->error, "curl: out of memory");
        return;
    }
    int64_t ts = (int64_t)time(NULL);
    char sig[128], h_id[64], h_ts[64], h_sig[160], h_type[128];
    hooks_sign(w->secret, d->id, ts, d->payload, sig, sizeof sig);
    snprintf(h_id, sizeof h_id, "webhook-id: %s", d->id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    snprintf(h_type, sizeof h_type, "Ticketd-Event: %.100s", d->type ? d->type : "");
    struct curl_slist *hl = NULL, *pin = NULL;
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "User-Agent: ticketd-webhooks/" TICKETD_VERSION);
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, h_id);
    hl = curl_slist_append(hl, h_ts);
    hl = curl_slist_append(hl, h_sig);
    hl = curl_slist_append(hl, h_type);
    if (resolve[0])
        pin = curl_slist_append(pin, resolve);
    size_t seen = 0;
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never an environment proxy */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (pin)
        curl_easy_setopt(c, CURLOPT_RESOLVE, pin);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->payload));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)hc->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)hc->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    if (res->status >= 200 && res->status < 300) {
        res->delivered = true;
    } else if (res->status == 410) {
        res->gone = true;
        snprintf(res->error, sizeof res->error, "HTTP 410 Gone: the receiver asked to stop");
    } else if (res->status > 0) {
        snprintf(res->error, sizeof res->error, "HTTP %ld", res->status);
    } else {
        snprintf(res->error, sizeof res->error, "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(pin);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

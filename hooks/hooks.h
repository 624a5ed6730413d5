/* hooks.h - the webhook sender: plans deliveries from the history
 * (core/webhook.h) and POSTs them, signed, to the endpoints admins
 * registered. An adapter over core, like notify/ for mail; its row in
 * cli/modules.c is "hooks".
 *
 * One thread per process does both halves:
 *   plan    every plan_interval_ms, webhook_plan() over the tickets
 *           updated since its last pass (minus an overlap: events are
 *           stamped before their write commits); the first pass covers
 *           plan_window_ms, so a crash between a change and its delivery
 *           loses nothing;
 *   send    claims due deliveries (store delivery_claim: in order per
 *           endpoint and ticket, one claimer per row while its lease
 *           lasts) and POSTs each (send.c) with libcurl timeouts;
 *           2xx: delivered; 410 Gone: the endpoint is disabled at once;
 *           anything else: retried at now + min(retry_base * 2^(n-1),
 *           retry_max); after max_failures consecutive failed attempts the
 *           endpoint is disabled and the admins get a mail
 *           (webhook_disabled). Deliveries of a disabled endpoint are
 *           finished as failed when they come up.
 *
 * Signing (the Standard Webhooks scheme): headers
 *   webhook-id: the delivery id (also the body's "id": dedupe on it)
 *   webhook-timestamp: Unix seconds of this attempt
 *   webhook-signature: v1,<base64 HMAC-SHA256(secret, id "." timestamp "." body)>
 * where secret is the endpoint's secret string as bytes. A receiver
 * recomputes it and rejects a mismatch or an old timestamp.
 *
 * SSRF: only http(s); the host is resolved here and every address is
 * checked - loopback, private, link-local, CGNAT, multicast, reserved
 * and unspecified ones are refused unless [webhooks]
 * allow_private_addresses = yes (tests) - and the connection is pinned to
 * the checked addresses (CURLOPT_RESOLVE), so a DNS answer that changes
 * between the check and the connect cannot redirect it. No redirects are
 * followed and no proxy from the environment is used. */
#ifndef TD_HOOKS_H
#define TD_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"

struct hooks_config {
    bool enabled;
    bool allow_private;
    int64_t poll_ms;
    int64_t plan_interval_ms;
    int64_t plan_window_ms;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t max_failures;
    int64_t lease_ms;
};

/* [webhooks]: enabled, allow_private_addresses, poll_ms, plan_interval_ms,
 * plan_window_ms, timeout_ms, connect_timeout_ms, retry_base_ms,
 * retry_max_ms, max_failures, lease_ms. */
bool hooks_config_load(struct td_config *cfg, struct hooks_config *hc, struct td_err *err);

/* The module (cli/modules.c). */
bool hooks_module_start(struct td_app *app, void **handle, struct td_err *err);
void hooks_module_stop(void *handle);
bool hooks_module_check(struct td_app *app, struct td_err *err);

/* ---- pieces, for the sender and its tests ---- */

/* Checks url's host: resolves it, refuses blocked addresses (unless
 * allow_private) and writes the CURLOPT_RESOLVE entry that pins them
 * ("host:port:addr,addr"; "" for an IP literal) into resolve. */
bool hooks_ssrf_check(const char *url, bool allow_private, char *resolve, size_t len,
                      struct td_err *err);
/* True when the address (AF_INET/AF_INET6) must not be reached. */
bool hooks_addr_blocked(int family, const void *addr);

/* The webhook-signature value for (id, ts, body) under secret. */
void hooks_sign(const char *secret, const char *id, int64_t ts, const char *body, char *out,
                size_t len);

#endif

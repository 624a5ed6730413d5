/* hooks_int.h - private to hooks/. */
#ifndef TD_HOOKS_INT_H
#define TD_HOOKS_INT_H

#include "hooks/hooks.h"
#include "core/store/store.h"

/* The outcome of one POST. */
struct hook_result {
    long status;        /* HTTP status, 0 when none (connect, DNS, timeout, SSRF) */
    bool delivered;     /* 2xx */
    bool gone;          /* 410: stop for good */
    char error[256];    /* why not delivered ("" when delivered) */
};

/* POSTs d->payload to w->url, signed with w->secret (send.c). */
void hooks_post(const struct hooks_config *hc, const struct td_webhook *w,
                const struct td_delivery *d, struct hook_result *res);

#endif

/* fuzz_mail.c - libFuzzer target for everything that reads untrusted
 * mail bytes in mailgw/: the MIME and header parser (mime.c with
 * charset.c, rfc2047.c, html_text.c), quote stripping, subject tokens and
 * prefixes, loop and trust classification. No store, no network.
 *
 *   tests/fuzz/run.sh [SECONDS]    build with clang and fuzz briefly,
 *                                  seeded from tests/data/mail
 *
 * Any crash, sanitizer report, leak or invalid UTF-8 in the results is
 * a bug. Named fuzz_*.c (not test_*.c) so the Makefile's test glob does
 * not pick it up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "core/text.h"
#include "mailgw/html_text.h"
#include "mailgw/loop.h"
#include "mailgw/mime.h"
#include "mailgw/quote.h"
#include "mailgw/thread.h"
#include "mailgw/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool no_token(void *ctx, const char *token, const char *sender, int64_t *ticket)
{
    (void)ctx;
    (void)sender;
    *ticket = 1;
    return strcmp(token, "fuzz") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_limits lim = MIME_DEFAULT_LIMITS;
    lim.max_bytes = 1 << 20;
    struct mime_msg m;
    struct td_err err;
    if (mime_parse((const char *)data, size, &lim, &m, &err)) {
        if (!utf8_valid(m.text, strlen(m.text)) || !utf8_valid(m.subject, strlen(m.subject)))
            abort();
        char *q = quote_strip(m.text);
        if (q && !utf8_valid(q, strlen(q)))
            abort();
        free(q);
        struct thread_token t;
        (void)thread_token_init("[#{n}]", &t, NULL);
        (void)thread_token_find(&t, m.subject);
        char *s = thread_subject_clean(&t, m.subject, 255);
        if (!utf8_valid(s, strlen(s)))
            abort();
        free(s);
        struct strv own = STRV_INIT, ids = STRV_INIT;
        strv_push(&own, "support@example.com");
        strv_push(&ids, "mx.example.com");
        struct loop_verdict v;
        loop_check(&own, "support@example.com", &m, m.from_addr, &v);
        struct trust_cfg tc = { &own, &ids, no_token, NULL };
        struct trust_result tr;
        trust_check(&tc, &m, m.from_addr, &tr);
        strv_clear(&own);
        strv_clear(&ids);
        mime_msg_clear(&m);
    }
    /* The same bytes as an HTML body. */
    char *h = html_text((const char *)data, size, 1 << 20, 1 << 20);
    free(h);
    return 0;
}

/* mail_fixture.h - test mails for tests/mailgw: reading the .eml files
 * of tests/data/mail and parsing them. Header-only (static functions),
 * included by each test that needs it. */
#ifndef TD_TEST_MAIL_FIXTURE_H
#define TD_TEST_MAIL_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "tests/support/harness.h"

/* The bytes of tests/data/mail/<name> (NUL-terminated; *len without it).
 * Occurrences of "{TICKET}" become ticket when ticket > 0. Fails the
 * test when the file is missing. The caller frees. */
static inline char *mail_read(const char *name, int64_t ticket, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/../data/mail/%s", harness_support_dir(), name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    if (ticket > 0) {
        struct buf out = BUF_INIT;
        const char *p = b.data;
        const char *end = b.data + b.len;
        while (p < end) {
            const char *t = memmem(p, (size_t)(end - p), "{TICKET}", 8);
            if (t == NULL) {
                buf_append(&out, p, (size_t)(end - p));
                break;
            }
            buf_append(&out, p, (size_t)(t - p));
            buf_printf(&out, "%lld", (long long)ticket);
            p = t + 8;
        }
        buf_free(&b);
        b = out;
    }
    *len = b.len;
    return buf_steal(&b);
}

#endif

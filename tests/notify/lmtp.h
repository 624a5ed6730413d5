/* lmtp.h - delivering a test mail the way an MTA would: LMTP into the
 * harness's Dovecot. Header-only, every step bounded by the harness's
 * socket timeouts. */
#ifndef TD_TEST_LMTP_H
#define TD_TEST_LMTP_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "tests/support/harness.h"

#define LMTP_TIMEOUT_MS 5000

/* Reads one (possibly multi-line) reply; true if its code starts with
 * want. The last line goes to last (may be NULL). */
static inline bool lmtp_reply(int fd, char want, char *last, size_t len)
{
    char line[1024];
    for (;;) {
        if (!harness_read_line(fd, line, sizeof line, LMTP_TIMEOUT_MS))
            return false;
        if (strlen(line) < 4 || line[3] != '-') {
            if (last)
                snprintf(last, len, "%.250s", line);
            return line[0] == want;
        }
    }
}

static inline bool lmtp_cmd(int fd, const char *cmd, char want, char *last, size_t len)
{
    return harness_write_all(fd, cmd, strlen(cmd)) && lmtp_reply(fd, want, last, len);
}

/* Delivers message (LF or CRLF lines) from `from` to `rcpt`. On failure
 * why says what the server answered. */
static inline bool lmtp_deliver(int port, const char *from, const char *rcpt, const char *message,
                                char *why, size_t why_len)
{
    int fd = harness_connect(port, LMTP_TIMEOUT_MS);
    if (fd < 0) {
        snprintf(why, why_len, "cannot connect to LMTP port %d", port);
        return false;
    }
    char cmd[600];
    bool ok = lmtp_reply(fd, '2', why, why_len) &&
              lmtp_cmd(fd, "LHLO test.example\r\n", '2', why, why_len);
    snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>\r\n", from);
    ok = ok && lmtp_cmd(fd, cmd, '2', why, why_len);
    snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", rcpt);
    ok = ok && lmtp_cmd(fd, cmd, '2', why, why_len) && lmtp_cmd(fd, "DATA\r\n", '3', why, why_len);
    if (ok) {
        /* CRLF lines, dot-stuffed. */
        struct buf b = BUF_INIT;
        const char *p = message;
        while (*p) {
            size_t n = strcspn(p, "\n");
            size_t l = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
            if (p[0] == '.')
                buf_putc(&b, '.');
            buf_append(&b, p, l);
            buf_puts(&b, "\r\n");
            p += n;
            if (*p == '\n')
                p++;
        }
        buf_puts(&b, ".\r\n");
        ok = harness_write_all(fd, b.data, b.len) && lmtp_reply(fd, '2', why, why_len);
        buf_free(&b);
    }
    if (fd >= 0) {
        (void)lmtp_cmd(fd, "QUIT\r\n", '2', NULL, 0);
        close(fd);
    }
    return ok;
}

#endif

/* imap_fixture.h - putting test mail into the harness's Dovecot and
 * looking at its folders: LMTP delivery (as an MTA would) and a small
 * libetpan admin session (APPEND, CREATE, DELETE, counting). Header-only;
 * every step bounded by socket or IMAP timeouts. */
#ifndef TD_TEST_IMAP_FIXTURE_H
#define TD_TEST_IMAP_FIXTURE_H

#include <libetpan/libetpan.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "tests/support/harness.h"

#define FIX_TIMEOUT_MS 5000
#define FIX_USER "alice"
#define FIX_PASS "secret"

static inline bool fix_reply(int fd, char want)
{
    char line[1024];
    for (;;) {
        if (!harness_read_line(fd, line, sizeof line, FIX_TIMEOUT_MS))
            return false;
        if (strlen(line) < 4 || line[3] != '-')
            return line[0] == want;
    }
}

static inline bool fix_cmd(int fd, const char *cmd, char want)
{
    return harness_write_all(fd, cmd, strlen(cmd)) && fix_reply(fd, want);
}

/* Delivers one mail into FIX_USER's INBOX through LMTP. */
static inline bool fix_lmtp(int port, const char *msg, size_t len)
{
    int fd = harness_connect(port, FIX_TIMEOUT_MS);
    if (fd < 0)
        return false;
    bool ok = fix_reply(fd, '2') && fix_cmd(fd, "LHLO test.example\r\n", '2') &&
              fix_cmd(fd, "MAIL FROM:<sender@test.example>\r\n", '2') &&
              fix_cmd(fd, "RCPT TO:<" FIX_USER "@localhost>\r\n", '2') &&
              fix_cmd(fd, "DATA\r\n", '3');
    if (ok) {
        struct buf b = BUF_INIT;
        const char *p = msg, *end = msg + len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            size_t l = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
            if (l > 0 && p[0] == '.')
                buf_putc(&b, '.');
            buf_append(&b, p, l);
            buf_puts(&b, "\r\n");
            p += n + (nl ? 1 : 0);
        }
        buf_puts(&b, ".\r\n");
        ok = harness_write_all(fd, b.data, b.len) && fix_reply(fd, '2');
        buf_free(&b);
    }
    (void)fix_cmd(fd, "QUIT\r\n", '2');
    close(fd);
    return ok;
}

static inline mailimap *fix_imap(int port)
{
    mailimap *m = mailimap_new(0, NULL);
    mailimap_set_timeout(m, 10);
    int r = mailimap_socket_connect(m, "127.0.0.1", (uint16_t)port);
    if ((r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) ||
        mailimap_login(m, FIX_USER, FIX_PASS) != MAILIMAP_NO_ERROR) {
        mailimap_free(m);
        return NULL;
    }
    return m;
}

static inline void fix_imap_close(mailimap *m)
{
    if (m) {
        (void)mailimap_logout(m);
        mailimap_free(m);
    }
}

static inline bool fix_create(int port, const char *folder)
{
    mailimap *m = fix_imap(port);
    bool ok = m && mailimap_create(m, folder) == MAILIMAP_NO_ERROR;
    fix_imap_close(m);
    return ok;
}

static inline bool fix_delete(int port, const char *folder)
{
    mailimap *m = fix_imap(port);
    bool ok = m && mailimap_delete(m, folder) == MAILIMAP_NO_ERROR;
    fix_imap_close(m);
    return ok;
}

static inline bool fix_append(int port, const char *folder, const char *msg, size_t len)
{
    mailimap *m = fix_imap(port);
    bool ok = m && mailimap_append_simple(m, folder, msg, len) == MAILIMAP_NO_ERROR;
    fix_imap_close(m);
    return ok;
}

/* Messages in folder (-1 on error); *seen counts those with \Seen. */
static inline int fix_count(int port, const char *folder, int *seen)
{
    mailimap *m = fix_imap(port);
    if (m == NULL)
        return -1;
    struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_MESSAGES);
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UNSEEN);
    struct mailimap_mailbox_data_status *st = NULL;
    int n = -1, unseen = 0;
    if (mailimap_status(m, folder, atts, &st) == MAILIMAP_NO_ERROR && st) {
        for (clistiter *it = st->st_info_list ? clist_begin(st->st_info_list) : NULL; it;
             it = clist_next(it)) {
            struct mailimap_status_info *i = clist_content(it);
            if (i->st_att == MAILIMAP_STATUS_ATT_MESSAGES)
                n = (int)i->st_value;
            else if (i->st_att == MAILIMAP_STATUS_ATT_UNSEEN)
                unseen = (int)i->st_value;
        }
        mailimap_mailbox_data_status_free(st);
    }
    mailimap_status_att_list_free(atts);
    if (seen)
        *seen = n >= 0 ? n - unseen : 0;
    fix_imap_close(m);
    return n;
}

#endif

/* mime_dsn.c - the two parts of a delivery status report (RFC 3464)
 * ticketd reads: the per-recipient fields of message/delivery-status
 * (which address, what happened, why) and the Message-ID of the mail
 * that bounced, from text/rfc822-headers. Private to mime*.c. */
#include "mime_int.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_DSN_RECIPIENTS 20


void mime_dsn_fields(struct mime_msg *m, const char *text)
{
    struct buf sum = BUF_INIT;
    char rcpt[256] = "", action[64] = "", status[32] = "", diag[200] = "";
    int n = 0;
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                blank = false;
        struct { const char *key; char *dst; size_t cap; } keys[] = {
            { "final-recipient:", rcpt, sizeof rcpt }, { "original-recipient:", NULL, 0 },
            { "action:", action, sizeof action },      { "status:", status, sizeof status },
            { "diagnostic-code:", diag, sizeof diag },
        };
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            size_t kl = strlen(keys[k].key);
            if (keys[k].dst == NULL || len < kl || strncasecmp(p, keys[k].key, kl) != 0)
                continue;
            const char *v = p + kl;
            size_t vl = len - kl;
            const char *semi = memchr(v, ';', vl);
            if (semi && keys[k].dst != status && keys[k].dst != action) {
                vl -= (size_t)(semi + 1 - v);
                v = semi + 1;
            }
            while (vl > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\r'))
                vl--;
            if (vl >= keys[k].cap)
                vl = keys[k].cap - 1;
            memcpy(keys[k].dst, v, vl);
            keys[k].dst[vl] = '\0';
        }
        if ((blank || nl == NULL) && rcpt[0] && n < MAX_DSN_RECIPIENTS) {
            buf_printf(&sum, "%s: %s %s%s%s%s\n", rcpt, action[0] ? action : "failed", status,
                       diag[0] ? " (" : "", diag, diag[0] ? ")" : "");
            n++;
            rcpt[0] = action[0] = status[0] = diag[0] = '\0';
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    if (sum.len) {
        free(m->dsn_summary);
        m->dsn_summary = buf_steal(&sum);
    }
    buf_free(&sum);
}

void mime_dsn_original(struct mime_msg *m, const char *text)
{
    if (m->dsn_original_id)
        return;
    for (const char *p = text; p && *p;) {
        if (strncasecmp(p, "message-id:", 11) == 0) {
            struct strv ids = STRV_INIT;
            const char *nl = strchr(p, '\n');
            char *line = td_strndup(p + 11, nl ? (size_t)(nl - p - 11) : strlen(p + 11));
            mime_msgids(line, &ids);
            free(line);
            if (ids.n)
                m->dsn_original_id = td_strdup(ids.v[0]);
            strv_clear(&ids);
            return;
        }
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        if (nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))
            break; /* end of the header section */
        p = nl + 1;
    }
}


/* mime_repair.c - the raw mail made readable for libetpan, the way mail
 * clients read it, before its structural parser sees it.
 *
 * Two shapes lose text in libetpan although every mail client shows
 * them:
 * - a line before the header block: an mbox "From sender date" line, or
 *   one junk line ("---- Original email message ----") that a forwarding
 *   system put on top. libetpan stops reading fields at the first line
 *   that is not one, so the whole header block became body text. That
 *   line is skipped (mime_preamble_len).
 * - a multipart that is never closed. When the mail ends on an opening
 *   delimiter ("--B" then nothing), or inside a part of a nested
 *   multipart, libetpan returns the multipart with no parts at all: the
 *   text and every attachment are gone. Clients let an unterminated part
 *   run to the end of the mail. mime_close_open_parts gives libetpan
 *   the same mail with the missing closing delimiters appended (and a
 *   final bare opening delimiter turned into a closing one), so its
 *   parser, the only one we have, sees a well-formed mail.
 *
 * Why a text repair instead of walking the parts ourselves: the repair
 * is one linear pass over lines, and everything after it (transfer
 * encodings, parameters, nested messages) stays libetpan's single
 * reading of the mail; a second MIME parser would disagree with the
 * first in the corners. Mails that are closed properly are not touched. */
#include "mime_int.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_BOUNDARY 200 /* RFC 2046 allows 70; be lenient, stay bounded */

/* ---- the line before the header block ---------------------------------- */

/* A header field line: "name:" with a printable name, no blank before
 * the colon. */
static bool field_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i <= 76 && (unsigned char)s[i] > 32 && (unsigned char)s[i] < 127 &&
           s[i] != ':')
        i++;
    return i > 0 && i < n && s[i] == ':';
}

static size_t line_end(const char *raw, size_t len, size_t at)
{
    const char *nl = memchr(raw + at, '\n', len - at);
    return nl ? (size_t)(nl - raw) + 1 : len;
}

size_t mime_preamble_len(const char *raw, size_t len)
{
    if (len == 0 || raw[0] == '\r' || raw[0] == '\n')
        return 0;
    size_t e1 = line_end(raw, len, 0);
    if (field_line(raw, e1))
        return 0; /* a normal mail */
    if (e1 >= len || e1 > 998)
        return 0;
    /* Only one line is skipped, and only when real fields follow it:
     * a mail that has no header at all stays as it is. */
    size_t e2 = line_end(raw, len, e1);
    if (!field_line(raw + e1, e2 - e1))
        return 0;
    return e1;
}

/* ---- unterminated multiparts -------------------------------------------- */

struct scan {
    char *stack[64];  /* open boundaries, outermost first */
    size_t n;
    size_t max;
    bool last_open;   /* the last delimiter line was an opening one */
    size_t last_at;   /* where that line starts */
    size_t last_len;  /* its length without the line break */
    bool content_after; /* a non-blank line followed it */
};

/* The boundary parameter of a multipart Content-Type value, or NULL
 * (caller frees). */
static char *boundary_of(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "multipart/", 10) != 0)
        return NULL;
    for (const char *p = v; (p = strcasestr(p, "boundary")) != NULL; p += 8) {
        if (p != v && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t')
            continue;
        const char *q = p + 8;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        size_t n = 0;
        if (*q == '"') {
            q++;
            while (q[n] && q[n] != '"')
                n++;
        } else {
            while (q[n] && q[n] != ';' && q[n] != ' ' && q[n] != '\t' && q[n] != '\r')
                n++;
        }
        if (n == 0 || n > MAX_BOUNDARY)
            return NULL;
        return td_strndup(q, n);
    }
    return NULL;
}

/* Reads the header block starting at *at up to and including its empty
 * line. Returns the boundary when it declares a multipart (caller
 * frees); *is_message when it is a message/rfc822, whose body is again
 * a header block. */
static char *header_block(const char *raw, size_t len, size_t *at, bool *is_message)
{
    struct buf ct = BUF_INIT;
    bool in_ct = false;
    *is_message = false;
    size_t i = *at;
    while (i < len) {
        size_t s = i, e = line_end(raw, len, i);
        size_t n = e - s;
        while (n > 0 && (raw[s + n - 1] == '\n' || raw[s + n - 1] == '\r'))
            n--;
        i = e;
        if (n == 0)
            break;
        if (raw[s] == ' ' || raw[s] == '\t') {
            if (in_ct && ct.len < 2000)
                buf_append(&ct, raw + s, n);
            continue;
        }
        in_ct = n >= 13 && strncasecmp(raw + s, "content-type:", 13) == 0;
        if (in_ct) {
            buf_reset(&ct);
            buf_append(&ct, raw + s + 13, n - 13 > 2000 ? 2000 : n - 13);
        }
    }
    *at = i;
    char *b = NULL;
    if (ct.data) {
        b = boundary_of(ct.data);
        const char *v = ct.data;
        while (*v == ' ' || *v == '\t')
            v++;
        *is_message = strncasecmp(v, "message/rfc822", 14) == 0;
    }
    buf_free(&ct);
    return b;
}

/* The index of the open boundary this line delimits, or -1; *closing
 * when it is "--B--". Trailing blanks are allowed, as RFC 2046 says. */
static int delimiter(const struct scan *sc, const char *s, size_t n, bool *closing)
{
    if (n < 3 || s[0] != '-' || s[1] != '-')
        return -1;
    while (n > 2 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (size_t k = sc->n; k-- > 0;) {
        size_t bl = strlen(sc->stack[k]);
        if (n < 2 + bl || memcmp(s + 2, sc->stack[k], bl) != 0)
            continue;
        if (n == 2 + bl) {
            *closing = false;
            return (int)k;
        }
        if (n == 4 + bl && s[2 + bl] == '-' && s[3 + bl] == '-') {
            *closing = true;
            return (int)k;
        }
    }
    return -1;
}

static void pop_to(struct scan *sc, size_t k)
{
    while (sc->n > k)
        free(sc->stack[--sc->n]);
}

char *mime_close_open_parts(const char *raw, size_t len, size_t max_depth, size_t *out_len)
{
    struct scan sc = { .max = max_depth < 64 ? max_depth : 64 };
    size_t i = 0;
    bool headers = true; /* the next line starts a header block */
    while (i < len) {
        if (headers) {
            bool is_message = false;
            size_t start = i;
            char *b = header_block(raw, len, &i, &is_message);
            if (i - start > 2)
                sc.content_after = true; /* a part with fields is a part */
            headers = is_message && b == NULL;
            if (b != NULL && sc.n < sc.max)
                sc.stack[sc.n++] = b;
            else
                free(b);
            continue;
        }
        size_t s = i, e = line_end(raw, len, i);
        size_t n = e - s;
        while (n > 0 && (raw[s + n - 1] == '\n' || raw[s + n - 1] == '\r'))
            n--;
        i = e;
        bool closing = false;
        int k = sc.n ? delimiter(&sc, raw + s, n, &closing) : -1;
        if (k < 0) {
            for (size_t c = 0; c < n && !sc.content_after; c++)
                if (raw[s + c] != ' ' && raw[s + c] != '\t')
                    sc.content_after = true;
            continue;
        }
        if (closing) {
            pop_to(&sc, (size_t)k);
            sc.last_open = false;
        } else {
            pop_to(&sc, (size_t)k + 1);
            sc.last_open = true;
            sc.last_at = s;
            sc.last_len = n;
            sc.content_after = false;
            headers = true;
        }
    }
    if (sc.n == 0)
        return NULL;
    /* The mail ends inside sc.n multiparts: close them, innermost first. */
    struct buf b = BUF_INIT;
    size_t keep = len;
    if (sc.last_open && !sc.content_after) {
        /* "--B" and nothing after it: that part does not exist. */
        keep = sc.last_at + sc.last_len;
        buf_append(&b, raw, keep);
        buf_puts(&b, "--\r\n");
        sc.n--;
        free(sc.stack[sc.n]);
    } else {
        buf_append(&b, raw, keep);
        if (keep > 0 && raw[keep - 1] != '\n')
            buf_puts(&b, "\r\n");
    }
    for (size_t k = sc.n; k-- > 0;)
        buf_printf(&b, "--%s--\r\n", sc.stack[k]);
    pop_to(&sc, 0);
    *out_len = b.len;
    return buf_steal(&b);
}

/* ---- what the mail declares ------------------------------------------------ */

static bool useless_charset(const char *s)
{
    return strcasecmp(s, "us-ascii") == 0 || strcasecmp(s, "ascii") == 0 ||
           strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0 ||
           strcasecmp(s, "unknown-8bit") == 0 || strcasecmp(s, "x-unknown") == 0;
}

/* Copies a charset token at p (quoted or not) into out; true if usable. */
static bool take_charset(const char *p, const char *end, char out[48])
{
    if (p < end && *p == '"')
        p++;
    size_t n = 0;
    while (p + n < end && n < 47 &&
           ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
            (p[n] >= '0' && p[n] <= '9') || p[n] == '-' || p[n] == '_' || p[n] == '.' ||
            p[n] == ':'))
        n++;
    if (n == 0 || n == 47)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return !useless_charset(out);
}

void mime_declared_charset(const char *raw, size_t len, char out[48])
{
    out[0] = '\0';
    const char *end = raw + (len > (1u << 20) ? (1u << 20) : len);
    for (const char *p = raw; p + 9 < end; p++) {
        if ((*p == 'c' || *p == 'C') && strncasecmp(p, "charset=", 8) == 0 &&
            take_charset(p + 8, end, out))
            return;
        if (p[0] == '=' && p[1] == '?' && take_charset(p + 2, end, out)) {
            size_t n = strlen(out);
            if (p + 2 + n < end && p[2 + n] == '?')
                return; /* an encoded word's charset */
            out[0] = '\0';
        }
    }
    out[0] = '\0';
}

/* rfc2047.c - see rfc2047.h.
 *
 * Encoded words are decoded to bytes first and converted only when the
 * charset changes or plain text follows, because senders split one
 * multi-byte character across two adjacent words (RFC 2047 forbids it;
 * Outlook does it). White space between two encoded words is dropped,
 * as the RFC says. */
#include "rfc2047.h"

#include <string.h>
#include <strings.h>

#include "charset.h"
#include "core/buf.h"
#include "core/mem.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static void decode_b(const char *s, size_t n, struct buf *out)
{
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            continue; /* '=' padding and junk */
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xFF));
        }
    }
}

static void decode_q(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            buf_putc(out, ' ');
        } else if (s[i] == '=' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            buf_putc(out, (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2])));
            i += 2;
        } else {
            buf_putc(out, s[i]);
        }
    }
}

/* One encoded word at s[0..): its parts, and its length in *wlen. */
struct word {
    char charset[48];
    char enc;
    const char *text;
    size_t text_len;
    size_t wlen;
};

static bool parse_word(const char *s, size_t n, struct word *w)
{
    if (n < 8 || s[0] != '=' || s[1] != '?')
        return false;
    size_t i = 2, cs = 2;
    while (i < n && s[i] != '?' && s[i] > ' ' && i - cs < 60)
        i++;
    if (i >= n || s[i] != '?' || i == cs)
        return false;
    size_t cs_len = i - cs;
    const char *star = memchr(s + cs, '*', cs_len); /* RFC 2231 language */
    if (star)
        cs_len = (size_t)(star - (s + cs));
    if (cs_len == 0 || cs_len >= sizeof w->charset)
        return false;
    memcpy(w->charset, s + cs, cs_len);
    w->charset[cs_len] = '\0';
    i++;
    if (i + 1 >= n || s[i + 1] != '?')
        return false;
    w->enc = s[i];
    if (w->enc != 'b' && w->enc != 'B' && w->enc != 'q' && w->enc != 'Q')
        return false;
    i += 2;
    size_t t = i;
    while (i + 1 < n && !(s[i] == '?' && s[i + 1] == '=')) {
        if ((unsigned char)s[i] <= ' ' && s[i] != ' ')
            return false; /* no line breaks inside a word */
        i++;
    }
    if (i + 1 >= n)
        return false;
    w->text = s + t;
    w->text_len = i - t;
    w->wlen = i + 2;
    return true;
}

struct pending {
    struct buf bytes;
    char charset[48];
};

static void flush(struct pending *p, struct buf *out)
{
    if (p->bytes.len > 0)
        charset_to_utf8(p->charset, p->bytes.data, p->bytes.len, out, NULL);
    buf_reset(&p->bytes);
    p->charset[0] = '\0';
}

static void put_plain(const char *s, size_t n, const char *hint, struct buf *out)
{
    if (n)
        charset_to_utf8_hint(NULL, hint, s, n, out, NULL);
}

char *rfc2047_decode(const char *in, size_t len, bool *has_ctl)
{
    return rfc2047_decode_hint(in, len, NULL, has_ctl);
}

char *rfc2047_decode_hint(const char *in, size_t len, const char *hint, bool *has_ctl)
{
    /* Unfold: CRLF (or LF) followed by white space is removed. */
    struct buf unf = BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n' && i + 2 < len &&
            (in[i + 2] == ' ' || in[i + 2] == '\t')) {
            i++;
            continue;
        }
        if (in[i] == '\n' && i + 1 < len && (in[i + 1] == ' ' || in[i + 1] == '\t'))
            continue;
        buf_putc(&unf, in[i]);
    }
    const char *s = unf.data ? unf.data : "";
    size_t n = unf.len;

    struct buf out = BUF_INIT;
    struct pending p = { BUF_INIT, "" };
    size_t i = 0, plain = 0;
    bool last_was_word = false;
    while (i < n) {
        struct word w;
        if (s[i] == '=' && parse_word(s + i, n - i, &w)) {
            /* White space between two encoded words disappears. */
            bool only_ws = true;
            for (size_t k = plain; k < i; k++)
                if (s[k] != ' ' && s[k] != '\t')
                    only_ws = false;
            if (!(last_was_word && only_ws)) {
                flush(&p, &out);
                put_plain(s + plain, i - plain, hint, &out);
            }
            if (strcasecmp(p.charset, w.charset) != 0)
                flush(&p, &out);
            memcpy(p.charset, w.charset, sizeof p.charset);
            if (w.enc == 'b' || w.enc == 'B')
                decode_b(w.text, w.text_len, &p.bytes);
            else
                decode_q(w.text, w.text_len, &p.bytes);
            i += w.wlen;
            plain = i;
            last_was_word = true;
            continue;
        }
        i++;
    }
    flush(&p, &out);
    put_plain(s + plain, n - plain, hint, &out);
    buf_free(&p.bytes);
    buf_free(&unf);

    bool ctl = false;
    char *r = buf_steal(&out);
    for (char *c = r; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch == '\t') {
            *c = ' ';
        } else if (ch < 0x20 || ch == 0x7F) {
            ctl = true;
            *c = ' ';
        }
    }
    if (has_ctl)
        *has_ctl = ctl;
    return r;
}

char *rfc2231_decode(const char *in)
{
    return rfc2231_decode_hint(in, NULL);
}

char *rfc2231_decode_hint(const char *in, const char *hint)
{
    const char *q1 = strchr(in, '\'');
    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    char charset[48] = "";
    const char *val = in;
    if (q1 && q2) {
        size_t cl = (size_t)(q1 - in);
        if (cl < sizeof charset) {
            memcpy(charset, in, cl);
            charset[cl] = '\0';
        }
        val = q2 + 1;
    }
    struct buf bytes = BUF_INIT;
    for (size_t i = 0; val[i]; i++) {
        if (val[i] == '%' && hexval((unsigned char)val[i + 1]) >= 0 &&
            hexval((unsigned char)val[i + 2]) >= 0) {
            buf_putc(&bytes, (char)(hexval((unsigned char)val[i + 1]) * 16 +
                                    hexval((unsigned char)val[i + 2])));
            i += 2;
        } else {
            buf_putc(&bytes, val[i]);
        }
    }
    struct buf out = BUF_INIT;
    charset_to_utf8_hint(charset, hint, bytes.data ? bytes.data : "", bytes.len, &out, NULL);
    buf_free(&bytes);
    return buf_steal(&out);
}

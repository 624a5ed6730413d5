/* charset_jis.c - ISO-2022-JP as Japanese mailers really write it: the
 * CP50220/ISO-2022-JP-MS superset (Microsoft's), which adds the NEC row
 * 13 characters (circled digits such as U+2460, Roman numerals, units)
 * and the NEC-selected IBM extensions to plain JIS X 0208.
 *
 * glibc has no ISO-2022-JP-MS, and its ISO-2022-JP stops at the first
 * of those characters; the old way round (skip a byte, reset the shift
 * state) turned the rest of the line into ASCII junk. Here the escape
 * sequences are followed by hand and every two-byte JIS character is
 * moved to its Shift_JIS code, which glibc's CP932 converts with all
 * the extensions. The shift state is ours: a character that cannot be
 * converted costs one U+FFFD and the state stays as it was. */
#include "charset.h"

#include <iconv.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd"

enum jis_mode { JIS_ASCII, JIS_KANA, JIS_X0208, JIS_X0212 };

/* One Shift_JIS (CP932) character of 1 or 2 bytes to UTF-8. */
static bool sjis_put(iconv_t cd, const char *sj, size_t n, struct buf *out)
{
    char tmp[16];
    char *ip = (char *)sj, *op = tmp;
    size_t left = n, room = sizeof tmp;
    (void)iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &left, &op, &room) == (size_t)-1 || left != 0)
        return false;
    buf_append(out, tmp, (size_t)(op - tmp));
    return true;
}

/* A JIS X 0208 row/cell pair (0x21..0x7E each) to its Shift_JIS bytes. */
static void jis_to_sjis(unsigned char j1, unsigned char j2, char sj[2])
{
    unsigned s1 = ((unsigned)j1 + 1) / 2 + (j1 <= 0x5E ? 0x70 : 0xB0);
    unsigned s2;
    if (j1 & 1)
        s2 = j2 + (j2 >= 0x60 ? 0x20 : 0x1F);
    else
        s2 = j2 + 0x7E;
    sj[0] = (char)s1;
    sj[1] = (char)s2;
}

/* The length of a recognised escape sequence at in[i], setting *mode;
 * 0 when it is not one. */
static size_t escape(const unsigned char *in, size_t len, size_t i, enum jis_mode *mode)
{
    if (i + 2 < len && in[i + 1] == '(') {
        switch (in[i + 2]) {
        case 'B': case 'J': *mode = JIS_ASCII; return 3; /* JIS-Roman read as ASCII */
        case 'I': *mode = JIS_KANA; return 3;
        default: return 0;
        }
    }
    if (i + 2 < len && in[i + 1] == '$' && (in[i + 2] == 'B' || in[i + 2] == '@')) {
        *mode = JIS_X0208;
        return 3;
    }
    if (i + 3 < len && in[i + 1] == '$' && in[i + 2] == '(') {
        if (in[i + 3] == 'B' || in[i + 3] == '@' || in[i + 3] == 'Q') {
            *mode = JIS_X0208;
            return 4;
        }
        if (in[i + 3] == 'D') {
            *mode = JIS_X0212; /* not in CP932: each character is U+FFFD */
            return 4;
        }
    }
    return 0;
}

bool charset_jis_to_utf8(const char *in_s, size_t len, struct buf *out, bool *lossy)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    if (cd == (iconv_t)-1)
        return false;
    const unsigned char *in = (const unsigned char *)in_s;
    enum jis_mode mode = JIS_ASCII, before_so = JIS_ASCII;
    bool bad = false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = in[i];
        if (c == 0x1B) {
            size_t n = escape(in, len, i, &mode);
            if (n > 0) {
                i += n;
                continue;
            }
        }
        if (c == 0x0E) { /* SO: half-width katakana until SI (CP50221) */
            if (mode != JIS_KANA)
                before_so = mode;
            mode = JIS_KANA;
            i++;
            continue;
        }
        if (c == 0x0F) {
            mode = before_so;
            i++;
            continue;
        }
        if (c == '\n' || c == '\r') {
            /* Senders forget to shift back before a line break; a line
             * break is never part of a two-byte character anyway. */
            buf_putc(out, (char)c);
            i++;
            continue;
        }
        if (c >= 0x80 || c == 0) {
            buf_puts(out, REPLACEMENT);
            bad = true;
            i++;
            continue;
        }
        if (mode == JIS_ASCII || c < 0x21 || c == 0x7F) {
            buf_putc(out, (char)c);
            i++;
            continue;
        }
        if (mode == JIS_KANA) {
            char k = (char)(c | 0x80);
            if (c > 0x5F || !sjis_put(cd, &k, 1, out)) {
                buf_puts(out, REPLACEMENT);
                bad = true;
            }
            i++;
            continue;
        }
        /* two-byte modes */
        if (i + 1 >= len || in[i + 1] < 0x21 || in[i + 1] > 0x7E) {
            buf_puts(out, REPLACEMENT);
            bad = true;
            i++;
            continue;
        }
        char sj[2];
        jis_to_sjis(c, in[i + 1], sj);
        if (mode == JIS_X0212 || !sjis_put(cd, sj, 2, out)) {
            buf_puts(out, REPLACEMENT);
            bad = true;
        }
        i += 2;
    }
    iconv_close(cd);
    if (bad && lossy)
        *lossy = true;
    if (out->data == NULL)
        buf_puts(out, "");
    return true;
}

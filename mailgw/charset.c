/* charset.c - see charset.h.
 *
 * glibc's iconv does the conversions. Two details matter:
 * - names are mapped first to what mail clients actually mean
 *   (iso-8859-1 and us-ascii are read as windows-1252, shift_jis as
 *   CP932, gb2312 as GB18030, ks_c_5601-1987 as CP949): every one of
 *   those is a superset, so correct input converts the same;
 * - ISO-2022-JP is read as CP50220 by charset_jis.c (glibc's stops at
 *   the NEC and IBM extensions Japanese mailers use);
 * - on EILSEQ/EINVAL one input byte is skipped and U+FFFD written, so a
 *   broken byte costs one replacement character, never the mail.
 * The output is validated again at the end (iconv to UTF-8 cannot
 * produce invalid UTF-8, but the pass-through paths could). */
#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "core/text.h"

#define REPLACEMENT "\xef\xbf\xbd"

static const struct { const char *name, *use; } aliases[] = {
    { "us-ascii", "WINDOWS-1252" },   { "ascii", "WINDOWS-1252" },
    { "iso-8859-1", "WINDOWS-1252" }, { "iso8859-1", "WINDOWS-1252" },
    { "latin1", "WINDOWS-1252" },     { "latin-1", "WINDOWS-1252" },
    { "shift_jis", "CP932" },         { "shift-jis", "CP932" },
    { "sjis", "CP932" },              { "x-sjis", "CP932" },
    { "windows-31j", "CP932" },       { "gb2312", "GB18030" },
    { "gbk", "GB18030" },             { "x-gbk", "GB18030" },
    { "ks_c_5601-1987", "CP949" },    { "euc-kr", "CP949" },
    { "utf8", "UTF-8" },              { "x-unknown", "" },
    { "unknown-8bit", "" },           { "default", "" },
};

/* Valid charset names are short tokens; anything else goes nowhere near
 * iconv_open. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':'))
            return false;
    }
    return true;
}

static bool is_utf8_name(const char *s)
{
    return strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "UTF-8") == 0;
}

/* ISO-2022-JP and its Microsoft supersets, all read as CP50220
 * (charset_jis.c); -2 and -3 are different encodings, left to iconv. */
static bool is_jis_name(const char *s)
{
    static const char *const names[] = { "iso-2022-jp", "csiso2022jp", "iso-2022-jp-ms",
                                         "cp50220", "cp50221", "cp50222", "x-iso-2022-jp" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(s, names[i]) == 0)
            return true;
    return false;
}

bool charset_utf8_sanitize(const char *in, size_t len, struct buf *out)
{
    bool replaced = false;
    size_t i = 0, start = 0;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        if (c != 0 && c < 0x80) {
            i++;
            continue;
        }
        size_t n = 0;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4;
        if (n != 0 && i + n <= len && utf8_valid(in + i, n)) {
            i += n;
            continue;
        }
        buf_append(out, in + start, i - start);
        buf_puts(out, REPLACEMENT);
        replaced = true;
        i++;
        start = i;
    }
    buf_append(out, in + start, len - start);
    if (out->data == NULL)
        buf_puts(out, "");
    return replaced;
}

/* windows-1252 by hand for the fallback path, so an iconv without it
 * (or a failing iconv_open) still yields text. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void put_cp(struct buf *out, unsigned cp)
{
    char b[3];
    if (cp < 0x80) {
        buf_putc(out, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        buf_append(out, b, 2);
    } else {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        buf_append(out, b, 3);
    }
}

static void from_cp1252(const char *in, size_t len, struct buf *out, bool *lossy)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        unsigned cp = c;
        if (c == 0)
            cp = 0xFFFD;
        else if (c >= 0x80 && c < 0xA0)
            cp = cp1252_high[c - 0x80];
        if (cp == 0xFFFD && lossy)
            *lossy = true;
        put_cp(out, cp);
    }
    if (out->data == NULL)
        buf_puts(out, "");
}

/* Undeclared: UTF-8 if it is valid UTF-8, else what the mail declares
 * elsewhere or a detector finds (charset_detect.c), else windows-1252. */
static void from_undeclared(const char *in, size_t len, const char *hint, struct buf *out,
                            bool *lossy)
{
    if (memchr(in, 0, len) == NULL && utf8_valid(in, len)) {
        buf_append(out, in, len);
        if (out->data == NULL)
            buf_puts(out, "");
        return;
    }
    if (charset_guess(in, len, hint, out))
        return;
    from_cp1252(in, len, out, lossy);
}

/* The name iconv is asked for, after the aliases ("" = undeclared). */
static const char *alias_of(const char *charset)
{
    const char *name = charset ? charset : "";
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcasecmp(name, aliases[i].name) == 0)
            return aliases[i].use;
    return name;
}

bool charset_known(const char *charset)
{
    const char *name = alias_of(charset);
    if (name[0] == '\0' || !name_ok(name))
        return false;
    if (is_utf8_name(name) || is_jis_name(name) || strcasecmp(name, "WINDOWS-1252") == 0)
        return true;
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return false;
    iconv_close(cd);
    return true;
}

static void convert(iconv_t cd, const char *in, size_t len, struct buf *out, bool *lossy)
{
    char tmp[4096];
    char *ip = (char *)in;
    size_t left = len;
    while (left > 0) {
        char *op = tmp;
        size_t room = sizeof tmp;
        size_t r = iconv(cd, &ip, &left, &op, &room);
        buf_append(out, tmp, (size_t)(op - tmp));
        if (r != (size_t)-1)
            continue;
        if (errno == E2BIG)
            continue;
        /* EILSEQ, or EINVAL (truncated sequence at the end): skip one
         * byte, mark it, and go on in the same shift state: resetting it
         * turned the rest of a stateful text (ISO-2022-*) into junk. */
        buf_puts(out, REPLACEMENT);
        if (lossy)
            *lossy = true;
        ip++;
        left--;
    }
    /* Flush a stateful encoding's pending shift sequence. */
    char *op = tmp;
    size_t room = sizeof tmp;
    if (iconv(cd, NULL, NULL, &op, &room) != (size_t)-1)
        buf_append(out, tmp, (size_t)(op - tmp));
}

void charset_to_utf8(const char *charset, const char *in, size_t len, struct buf *out,
                     bool *lossy)
{
    charset_to_utf8_hint(charset, NULL, in, len, out, lossy);
}

void charset_to_utf8_hint(const char *charset, const char *hint, const char *in, size_t len,
                          struct buf *out, bool *lossy)
{
    const char *name = alias_of(charset);
    if (name[0] == '\0') {
        from_undeclared(in, len, hint, out, lossy);
        return;
    }
    if (is_utf8_name(name)) {
        if (charset_utf8_sanitize(in, len, out) && lossy)
            *lossy = true;
        return;
    }
    if (is_jis_name(name)) {
        struct buf tmp = BUF_INIT;
        if (charset_jis_to_utf8(in, len, &tmp, lossy)) {
            if (charset_utf8_sanitize(tmp.data ? tmp.data : "", tmp.len, out) && lossy)
                *lossy = true;
            buf_free(&tmp);
            return;
        }
        buf_free(&tmp);
    }
    if (strcasecmp(name, "WINDOWS-1252") == 0) {
        from_cp1252(in, len, out, lossy);
        return;
    }
    iconv_t cd = name_ok(name) ? iconv_open("UTF-8", name) : (iconv_t)-1;
    if (cd == (iconv_t)-1) {
        if (lossy)
            *lossy = true;
        from_undeclared(in, len, hint, out, lossy);
        return;
    }
    struct buf tmp = BUF_INIT;
    convert(cd, in, len, &tmp, lossy);
    iconv_close(cd);
    /* iconv may pass a NUL through; sanitize makes it U+FFFD. */
    if (charset_utf8_sanitize(tmp.data ? tmp.data : "", tmp.len, out) && lossy)
        *lossy = true;
    buf_free(&tmp);
}

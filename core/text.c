/* text.c - see text.h. */
#include "text.h"
#include "mem.h"

#include <ctype.h>
#include <string.h>

bool utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong lead, or > U+10FFFF */
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

size_t utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void trim(const char *in, const char **start, size_t *len)
{
    const char *b = in, *e = in + strlen(in);
    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    *start = b;
    *len = (size_t)(e - b);
}

static bool atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

bool email_normalize(const char *in, const char *field, char **out, struct td_err *err)
{
    if (in == NULL)
        return td_fail(err, TD_INVALID, "%s is missing", field);
    const char *s;
    size_t len;
    trim(in, &s, &len);
    if (len == 0)
        return td_fail(err, TD_INVALID, "%s is empty", field);
    if (len > 254)
        return td_fail(err, TD_INVALID, "%s is longer than 254 characters", field);
    const char *at = memchr(s, '@', len);
    if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
        return td_fail(err, TD_INVALID, "%s must contain exactly one '@'", field);
    size_t local_len = (size_t)(at - s), dom_len = len - local_len - 1;
    if (local_len == 0 || local_len > 64)
        return td_fail(err, TD_INVALID, "%s: the part before '@' must be 1 to 64 characters", field);
    if (s[0] == '.' || s[local_len - 1] == '.')
        return td_fail(err, TD_INVALID, "%s: the part before '@' may not start or end with '.'", field);
    for (size_t i = 0; i < local_len; i++) {
        if (!atext((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return td_fail(err, TD_INVALID, "%s: character %zu before '@' is not allowed", field, i + 1);
    }
    const char *d = at + 1;
    if (dom_len == 0 || dom_len > 253)
        return td_fail(err, TD_INVALID, "%s: the domain must be 1 to 253 characters", field);
    size_t label = 0;
    for (size_t i = 0; i < dom_len; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return td_fail(err, TD_INVALID, "%s: the domain has an empty or malformed label", field);
            label = 0;
            continue;
        }
        if (!(isalnum(c) || c == '-') || (c == '-' && label == 0))
            return td_fail(err, TD_INVALID, "%s: the domain contains a character that is not allowed", field);
        if (++label > 63)
            return td_fail(err, TD_INVALID, "%s: a domain label is longer than 63 characters", field);
    }
    if (label == 0 || d[dom_len - 1] == '-')
        return td_fail(err, TD_INVALID, "%s: the domain has an empty or malformed label", field);
    char *r = td_strndup(s, len);
    for (char *p = r; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    *out = r;
    return true;
}

bool text_line(const char *in, const char *field, size_t max, bool allow_empty, char **out,
               struct td_err *err)
{
    if (in == NULL) {
        if (!allow_empty)
            return td_fail(err, TD_INVALID, "%s is missing", field);
        in = "";
    }
    size_t raw = strlen(in);
    if (!utf8_valid(in, raw))
        return td_fail(err, TD_INVALID, "%s is not valid UTF-8", field);
    const char *s;
    size_t len;
    trim(in, &s, &len);
    if (len == 0 && !allow_empty)
        return td_fail(err, TD_INVALID, "%s is empty", field);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return td_fail(err, TD_INVALID, "%s contains a control character (line breaks are not allowed)", field);
    }
    if (utf8_length(s, len) > max)
        return td_fail(err, TD_INVALID, "%s is longer than %zu characters", field, max);
    *out = td_strndup(s, len);
    return true;
}

bool tag_normalize(const char *in, char **out, struct td_err *err)
{
    size_t len = in ? strlen(in) : 0;
    if (len == 0 || len > 50)
        return td_fail(err, TD_INVALID, "a tag must be 1 to 50 characters");
    char *r = td_strndup(in, len);
    for (char *p = r; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!(isalnum((unsigned char)*p) || strchr("._:-", *p))) {
            free(r);
            return td_fail(err, TD_INVALID, "tag '%.50s' may only contain a-z, 0-9 and . _ : -", in);
        }
    }
    *out = r;
    return true;
}

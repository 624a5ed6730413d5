/* quote_text.c - the small line predicates every quote*.c file uses
 * (see quote_int.h). Byte-wise and ASCII-case-insensitive: the words
 * they look for in other scripts are compared as exact UTF-8. */
#include "quote_int.h"

#include <string.h>
#include <strings.h>

bool quote_line_blank(struct line l)
{
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] != ' ' && l.s[i] != '\t' && l.s[i] != '\r')
            return false;
    return true;
}

bool quote_line_quoted(struct line l)
{
    size_t i = 0;
    while (i < l.n && l.s[i] == ' ')
        i++;
    return i < l.n && l.s[i] == '>';
}

bool quote_line_quoted_empty(struct line l)
{
    if (!quote_line_quoted(l))
        return false;
    for (size_t i = 0; i < l.n; i++)
        if (l.s[i] != '>' && l.s[i] != ' ' && l.s[i] != '\t' && l.s[i] != '\r')
            return false;
    return true;
}

static bool nbsp_at(struct line l, size_t i)
{
    return i + 1 < l.n && (unsigned char)l.s[i] == 0xC2 && (unsigned char)l.s[i + 1] == 0xA0;
}

struct line quote_line_trim(struct line l)
{
    for (;;) {
        if (l.n && (l.s[0] == ' ' || l.s[0] == '\t' || l.s[0] == '*')) {
            l.s++;
            l.n--;
        } else if (nbsp_at(l, 0)) {
            l.s += 2;
            l.n -= 2;
        } else {
            break;
        }
    }
    for (;;) {
        char c = l.n ? l.s[l.n - 1] : 0;
        if (c == ' ' || c == '\t' || c == '\r')
            l.n--;
        else if (l.n >= 2 && nbsp_at(l, l.n - 2))
            l.n -= 2;
        else
            break;
    }
    return l;
}

bool quote_mem_ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

bool quote_mem_starts_with_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncasecmp(s, prefix, k) == 0;
}

bool quote_mem_contains_ci(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, word, k) == 0)
            return true;
    return false;
}

bool quote_mem_has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return true;
    return false;
}

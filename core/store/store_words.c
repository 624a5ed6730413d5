/* store_words.c - the words of the ticket text search (store.h,
 * td_ticket_filter.text), shared by both backends so that they agree.
 *
 * The definition is SQLite FTS5's "ascii" tokenizer: a word is a
 * maximal run of ASCII letters and digits and of bytes >= 0x80 (any
 * non-ASCII UTF-8 character), ASCII letters folded to lower case. The
 * SQLite backend indexes with that tokenizer itself; the MongoDB backend
 * stores these words in multikey fields; a query is these words, each a
 * prefix. */
#include "core/store/store.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void store_text_words(const char *s, struct strv *out)
{
    if (s == NULL)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        while (*p && !word_byte(*p))
            p++;
        const unsigned char *start = p;
        while (*p && word_byte(*p))
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0)
            continue;
        char stackbuf[128];
        char *w = n < sizeof stackbuf ? stackbuf : td_malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = start[i];
            w[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        w[n] = '\0';
        if (!strv_contains(out, w))
            strv_push(out, w);
        if (w != stackbuf)
            free(w);
    }
}

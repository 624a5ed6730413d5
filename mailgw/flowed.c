/* flowed.c - see flowed.h. One pass over the lines; a paragraph is
 * built in `para` until a fixed line (no trailing space), a change of
 * quote depth (an improperly flowed line: RFC 3676 4.5) or the
 * signature separator "-- " ends it. */
#include "flowed.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static void emit(struct buf *out, size_t depth, const struct buf *para, bool *first)
{
    if (!*first)
        buf_putc(out, '\n');
    *first = false;
    for (size_t i = 0; i < depth; i++)
        buf_putc(out, '>');
    if (depth > 0 && para->len > 0)
        buf_putc(out, ' ');
    if (para->len)
        buf_append(out, para->data, para->len);
}

void flowed_decode(struct buf *text, const char *format, const char *delsp)
{
    if (format == NULL || strcasecmp(format, "flowed") != 0 || text->len == 0)
        return;
    bool del = delsp != NULL && strcasecmp(delsp, "yes") == 0;
    struct buf out = BUF_INIT, para = BUF_INIT;
    bool first = true, open = false; /* open: para continues on the next line */
    size_t para_depth = 0;
    const char *p = text->data, *end = text->data + text->len;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (nl == NULL && p == end)
            break; /* the text ended with '\n' */
        size_t depth = 0;
        while (p + depth < le && p[depth] == '>')
            depth++;
        const char *c = p + depth;
        if (c < le && *c == ' ')
            c++; /* space-stuffing */
        size_t n = (size_t)(le - c);
        bool sig = n == 3 && memcmp(c, "-- ", 3) == 0;
        bool flowed = !sig && n > 0 && c[n - 1] == ' ';
        if (open && depth != para_depth) {
            emit(&out, para_depth, &para, &first);
            buf_reset(&para);
            open = false;
        }
        if (sig && open) {
            emit(&out, para_depth, &para, &first);
            buf_reset(&para);
            open = false;
        }
        para_depth = depth;
        buf_append(&para, c, flowed && del ? n - 1 : n);
        if (flowed) {
            open = true;
        } else {
            emit(&out, depth, &para, &first);
            buf_reset(&para);
            open = false;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    if (open)
        emit(&out, para_depth, &para, &first);
    if (text->len && text->data[text->len - 1] == '\n')
        buf_putc(&out, '\n');
    buf_free(&para);
    buf_free(text);
    *text = out;
    if (text->data == NULL)
        buf_puts(text, "");
}

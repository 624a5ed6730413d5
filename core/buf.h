/* buf.h - the one growable byte/string buffer.
 *
 * The buffer is always NUL-terminated once anything was appended, so
 * buf.data can be used as a C string. Allocation failure aborts: ticketd
 * treats out-of-memory as fatal (like redis' zmalloc), which keeps every
 * caller free of impossible-to-test OOM branches. */
#ifndef TD_BUF_H
#define TD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
/* Hands the string to the caller (who frees it) and empties the buffer.
 * Never returns NULL: an empty buffer yields "". */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif

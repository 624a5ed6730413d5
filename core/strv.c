/* strv.c - see strv.h. */
#include "strv.h"
#include "buf.h"
#include "mem.h"

#include <string.h>

void strv_push(struct strv *sv, const char *s)
{
    sv->v = td_realloc(sv->v, (sv->n + 1) * sizeof *sv->v);
    sv->v[sv->n++] = td_strdup(s);
}

bool strv_contains(const struct strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

bool strv_remove(struct strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (strcmp(sv->v[i], s) != 0)
            continue;
        free(sv->v[i]);
        memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i - 1) * sizeof *sv->v);
        sv->n--;
        return true;
    }
    return false;
}

void strv_copy(struct strv *dst, const struct strv *src)
{
    strv_clear(dst);
    for (size_t i = 0; i < src->n; i++)
        strv_push(dst, src->v[i]);
}

char *strv_join(const struct strv *sv, const char *sep)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < sv->n; i++) {
        if (i)
            buf_puts(&b, sep);
        buf_puts(&b, sv->v[i]);
    }
    return buf_steal(&b);
}

void strv_clear(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* mem.c - see mem.h. */
#include "mem.h"

#include <stdio.h>
#include <string.h>

_Noreturn void td_oom(void)
{
    fputs("ticketd: out of memory\n", stderr);
    abort();
}

void *td_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        td_oom();
    return p;
}

void *td_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        td_oom();
    return p;
}

void *td_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        td_oom();
    return q;
}

char *td_strdup(const char *s)
{
    return s ? td_strndup(s, strlen(s)) : NULL;
}

char *td_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *d = td_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

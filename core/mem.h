/* mem.h - allocation wrappers. Out of memory is fatal by design (see
 * buf.h): these never return NULL. */
#ifndef TD_MEM_H
#define TD_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

void *td_malloc(size_t n);
void *td_calloc(size_t nmemb, size_t size);
void *td_realloc(void *p, size_t n);
/* NULL-safe: td_strdup(NULL) == NULL. */
char *td_strdup(const char *s);
char *td_strndup(const char *s, size_t n);
_Noreturn void td_oom(void);

#endif

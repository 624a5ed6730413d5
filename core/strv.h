/* strv.h - an owned vector of owned C strings (tags, Message-IDs). */
#ifndef TD_STRV_H
#define TD_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
    char **v;
    size_t n;
};

#define STRV_INIT { NULL, 0 }

void strv_push(struct strv *sv, const char *s);       /* copies s */
bool strv_contains(const struct strv *sv, const char *s);
bool strv_remove(struct strv *sv, const char *s);      /* true if removed */
void strv_copy(struct strv *dst, const struct strv *src);
/* "a,b,c" (for history values); the caller frees. */
char *strv_join(const struct strv *sv, const char *sep);
void strv_clear(struct strv *sv);

#endif

/* text.h - validation of untrusted text: UTF-8, email addresses, tags,
 * one-line fields. Core validates every input itself, so mail and HTTP
 * cannot let different things through. */
#ifndef TD_TEXT_H
#define TD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8. */
size_t utf8_length(const char *s, size_t len);

/* Validates an addr-spec (local@domain, as RFC 5321 allows on the wire,
 * without quoted local parts) and returns a lower-cased, trimmed copy in
 * *out (caller frees). field names the input in the error message. */
bool email_normalize(const char *in, const char *field, char **out, struct td_err *err);

/* A one-line human text (subject, display name): valid UTF-8, no control
 * characters (CR/LF/NUL/...), not longer than max code points. Leading and
 * trailing white space is trimmed into *out (caller frees). When
 * allow_empty is false an empty result is an error. */
bool text_line(const char *in, const char *field, size_t max, bool allow_empty, char **out,
               struct td_err *err);

/* A tag: 1..50 of [a-z0-9._:-] after lower-casing; *out is the normal form. */
bool tag_normalize(const char *in, char **out, struct td_err *err);

#endif

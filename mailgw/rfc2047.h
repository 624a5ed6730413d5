/* rfc2047.h - encoded header text to UTF-8: RFC 2047 encoded words
 * ("=?iso-8859-1?q?Gr=FC=DFe?=") and RFC 2231 parameter values
 * ("utf-8'de'Gr%C3%BC%C3%9Fe.pdf"). Both never fail: broken encodings are
 * kept as literal text, bad bytes become U+FFFD. */
#ifndef MGW_RFC2047_H
#define MGW_RFC2047_H

#include <stdbool.h>
#include <stddef.h>

/* Unfolds and decodes a header value. Tabs become spaces. *has_ctl (may
 * be NULL) is set when the decoded text holds a control character (CR,
 * LF, NUL, ...); they are replaced by spaces in the result (data,
 * never a header of ours: the caller may note it). The caller frees
 * the result. */
char *rfc2047_decode(const char *in, size_t len, bool *has_ctl);
/* The same; raw 8-bit text outside encoded words is read with
 * charset_to_utf8_hint's order (hint: the mail's declared charset). */
char *rfc2047_decode_hint(const char *in, size_t len, const char *hint, bool *has_ctl);

/* An RFC 2231 extended value "charset'language'percent-encoded" (the
 * charset and language may be empty) to UTF-8; without the two quotes
 * the whole value is percent-decoded as UTF-8/windows-1252. The caller
 * frees the result. */
char *rfc2231_decode(const char *in);
char *rfc2231_decode_hint(const char *in, const char *hint);

#endif

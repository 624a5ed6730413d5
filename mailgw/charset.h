/* charset.h - any charset a mail may declare, to valid UTF-8.
 *
 * Mail lies about its charsets: iso-8859-1 that is really windows-1252,
 * unknown names, bytes that are not valid in the declared charset. None
 * of that may stop a mail: conversion never fails, it replaces what it
 * cannot convert with U+FFFD and says so through *lossy. */
#ifndef MGW_CHARSET_H
#define MGW_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends the UTF-8 form of in[0..len) to out. charset NULL or "" means
 * "undeclared": valid UTF-8 is taken as is, anything else as uchardet
 * reads it (see charset_to_utf8_hint), else as windows-1252. Invalid or unconvertible bytes become U+FFFD; an unknown
 * charset is read like an undeclared one. *lossy (may be NULL) is set
 * when anything was replaced or the charset was unknown. NUL bytes
 * become U+FFFD (the result is a C string). */
void charset_to_utf8(const char *charset, const char *in, size_t len, struct buf *out,
                     bool *lossy);

/* The same, where hint is a charset the mail declares elsewhere (another
 * part, an encoded word; NULL = none): undeclared bytes that are not
 * UTF-8 are tried in hint, then in what uchardet detects, and only then
 * read as windows-1252. */
void charset_to_utf8_hint(const char *charset, const char *hint, const char *in, size_t len,
                          struct buf *out, bool *lossy);

/* True when charset (after the aliases above) can be converted. */
bool charset_known(const char *charset);

/* charset_detect.c: in[0..len), which is not valid UTF-8, in hint or in
 * the charset uchardet finds, appended to out when that conversion
 * replaces nothing; false (out untouched) otherwise. */
bool charset_guess(const char *in, size_t len, const char *hint, struct buf *out);
/* uchardet's verdict on in[0..len) into out when it is one we trust and
 * can convert (not a Latin single-byte charset, see charset_detect.c). */
bool charset_detect(const char *in, size_t len, char out[48]);

/* Appends in[0..len) to out with every invalid UTF-8 sequence and every
 * NUL replaced by U+FFFD. Returns true when something was replaced. */
bool charset_utf8_sanitize(const char *in, size_t len, struct buf *out);

/* ISO-2022-JP read as CP50220/ISO-2022-JP-MS (charset_jis.c): appends
 * the UTF-8 text to out; false only when iconv has no CP932. */
bool charset_jis_to_utf8(const char *in, size_t len, struct buf *out, bool *lossy);

#endif

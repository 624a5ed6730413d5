/* flowed.h - text/plain; format=flowed (RFC 3676) back to paragraphs.
 *
 * Thunderbird, Apple Mail, K-9 and mutt send flowed text: a line that
 * ends with a space continues on the next one. Decoding joins those
 * lines (removing the space too with DelSp=yes), removes space-stuffing
 * and keeps quote depth, so a quoted paragraph becomes one line with its
 * "> " prefix and an unquoted paragraph reads as the sender wrote it. */
#ifndef MGW_FLOWED_H
#define MGW_FLOWED_H

#include "core/buf.h"

/* Decodes text (UTF-8, '\n' line ends) in place when format is "flowed"
 * (case-insensitive); format and delsp are the Content-Type parameter
 * values or NULL. Any other format leaves text untouched. */
void flowed_decode(struct buf *text, const char *format, const char *delsp);

#endif

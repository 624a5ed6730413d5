/* mime_int.h - private to mime.c, mime_part.c and mime_dsn.c: libetpan's
 * view of a part, and the delivery status report readers. */
#ifndef MGW_MIME_INT_H
#define MGW_MIME_INT_H

#include <libetpan/libetpan.h>

#include "mime.h"

/* "type/subtype", lower case, never NULL (caller frees). */
char *mime_part_type(struct mailmime *mime);
/* A Content-Type parameter as written, or NULL (borrowed). */
const char *mime_part_param(struct mailmime *mime, const char *name);
/* The decoded file name (Content-Disposition filename, else Content-Type
 * name; RFC 2231 and 2047), without a path or control characters, at
 * most 200 bytes; NULL when there is none (caller frees). Raw 8-bit
 * names are read as charset_to_utf8_hint says (hint may be NULL). */
char *mime_part_name(struct mailmime *mime, const char *hint);
/* in made safe as a file name the same way; NULL when nothing is left. */
char *mime_part_clean_name(const char *in);
/* ".png" for "image/png", ".bin" when unknown. */
const char *mime_part_ext(const char *type);
bool mime_part_is_attachment(struct mailmime *mime); /* disposition attachment */
bool mime_part_is_inline(struct mailmime *mime);     /* disposition inline */
bool mime_part_has_cid(struct mailmime *mime);       /* has a Content-ID */
/* The body with its transfer encoding undone (caller frees *out, which
 * is NUL-terminated); false when it cannot be decoded. */
bool mime_part_bytes(struct mailmime_data *d, char **out, size_t *n);

/* message/delivery-status text -> m->dsn_summary. */
void mime_dsn_fields(struct mime_msg *m, const char *text);
/* text/rfc822-headers text -> m->dsn_original_id (if not set yet). */
void mime_dsn_original(struct mime_msg *m, const char *text);

/* mime_envelope.c: From (address, display name) and the To/Cc addresses
 * into m. */
void mime_envelope(struct mailimf_fields *f, struct mime_msg *m, const char *hint);

/* mime_repair.c: the bytes before the header block to skip (an mbox
 * "From " line or one junk line followed by real fields), else 0. */
size_t mime_preamble_len(const char *raw, size_t len);
/* raw with the closing delimiters of the multiparts it leaves open
 * appended, so that an unterminated part runs to the end of the mail;
 * NULL when every multipart is closed. Caller frees; *out_len is set. */
char *mime_close_open_parts(const char *raw, size_t len, size_t max_depth, size_t *out_len);

/* mime_repair.c: the first charset the mail declares (a charset=
 * parameter or an encoded word) other than ASCII and UTF-8, into out;
 * "" when none. */
void mime_declared_charset(const char *raw, size_t len, char out[48]);

#endif

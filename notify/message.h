/* message.h - builds an outgoing RFC 5322 / MIME message.
 *
 * Pure: no I/O, no store, no curl; the sender fills a message_in and
 * sends the bytes. What it guarantees:
 * - Every header line is CRLF-terminated, folded under 78 characters where
 *   it can be and never over 998; no value can add a header line: text
 *   fields (subject, display names) lose their control characters and are
 *   RFC 2047 encoded (UTF-8, B) when they are not plain ASCII; addresses
 *   and Message-IDs with anything but visible ASCII are refused.
 * - Bodies are UTF-8 with CRLF line ends, 7bit when they are short-lined
 *   ASCII, quoted-printable otherwise; with an HTML alternative the
 *   message is multipart/alternative with a boundary no QP body can
 *   contain ("=_" starts it; QP always encodes '=').
 * - The same input gives the same bytes (the boundary derives from the
 *   Message-ID), so a retried mail is the mail that was meant. */
#ifndef TD_NOTIFY_MESSAGE_H
#define TD_NOTIFY_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/model.h"

/* A file sent with the mail (bytes borrowed). */
struct message_attachment {
    const char *name;           /* UTF-8; RFC 2231 encoded when not plain */
    const char *content_type;   /* "type/subtype"; unsafe ones become
                                   application/octet-stream */
    const unsigned char *data;
    size_t size;
    const char *content_id;     /* non-NULL: an inline part ("<...>"),
                                   Content-Disposition: inline */
};

struct message_in {
    const char *from_name;      /* display names: any UTF-8, NULL = none */
    const char *from_addr;      /* addr-spec, required */
    const char *to_name;
    const char *to_addr;        /* required */
    const char *reply_to_name;
    const char *reply_to_addr;  /* NULL: no Reply-To */
    const char *const *cc;      /* addr-specs shown in a Cc header (the
                                   mail itself goes to to_addr only) */
    size_t n_cc;
    const char *subject;        /* UTF-8 */
    const char *message_id;     /* "<id@domain>", required */
    const char *in_reply_to;    /* "<...>" or NULL */
    const char *const *references; /* each "<...>" */
    size_t n_references;
    const char *auto_submitted; /* "auto-replied", "auto-generated" or NULL */
    const char *x_loop;         /* the support address, or NULL */
    const char *ticket;         /* X-Ticketd-Ticket value, or NULL */
    td_time date;               /* ms since the epoch */
    const char *text;           /* UTF-8, LF or CRLF line ends, required */
    const char *html;           /* NULL: text only */
    const struct message_attachment *attachments; /* then multipart/mixed */
    size_t n_attachments;
};

/* Appends the whole message to out. TD_INVALID for a missing or unsafe
 * address or Message-ID, or text that is not UTF-8. */
bool message_build(const struct message_in *m, struct buf *out, struct td_err *err);

/* Building blocks, exposed for tests. */
/* "Name: value" with value RFC 2047 encoded as needed, folded, CRLF. */
void message_header_text(struct buf *b, const char *name, const char *value);
/* "Name: display <addr>" (From, To, Reply-To), display encoded as needed,
 * folded, CRLF. addr must be message_addr_safe. */
void message_header_mailbox(struct buf *b, const char *name, const char *display,
                            const char *addr);
/* Quoted-printable of s (LF or CRLF ends -> CRLF), lines <= 76. */
void message_qp(struct buf *b, const char *s);
/* One attachment body part (message_part.c): its headers with the file
 * name (RFC 2231 when needed), base64 in lines of 76. */
void message_attachment_part(struct buf *b, const struct message_attachment *a);
/* True for a Message-ID we are willing to put in a header. */
bool message_id_safe(const char *id);
/* True for an addr-spec we are willing to put in a header / RCPT TO. */
bool message_addr_safe(const char *addr);

#endif

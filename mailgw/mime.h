/* mime.h - one raw mail, understood: headers, sender, threading ids,
 * readable UTF-8 text, attachments, and a delivery status report's
 * essentials.
 *
 * The MIME structure comes from libetpan's parser (mailmime_parse);
 * what it leaves undone (charsets, RFC 2047/2231, HTML, limits) is done
 * here. Work is bounded before libetpan sees the mail: the raw size, the
 * number of MIME entities and delimiter lines are counted in one linear
 * pass, because libetpan's parser is quadratic in the nesting depth.
 *
 * Failure (TD_TOO_LARGE, TD_INVALID) means the mail cannot be ingested
 * safely and belongs in quarantine; err->msg is the reason an admin
 * reads. Oddities that do not stop ingestion (unknown charset, broken
 * bytes, dropped parts) are listed in notes. */
#ifndef MGW_MIME_H
#define MGW_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/strv.h"

struct mime_limits {
    size_t max_bytes;       /* the whole raw mail */
    size_t max_parts;       /* MIME entities */
    size_t max_depth;       /* nesting of multiparts and messages */
    size_t max_text;        /* bytes of body text kept */
    size_t max_html;        /* bytes of HTML handed to the HTML parser */
    size_t max_attachments; /* more are dropped with a note */
};

#define MIME_DEFAULT_LIMITS                                                               \
    ((struct mime_limits){ 25u << 20, 500, 32, 1u << 20, 4u << 20, 100 })

/* A top-level header field: name as written, value unfolded but not
 * decoded (NUL-free: a NUL in the header section fails the parse). */
struct mime_header {
    char *name;
    char *value;
};

struct mime_attachment {
    char *name;          /* UTF-8, no path, no control characters */
    char *content_type;  /* "type/subtype", lower case */
    unsigned char *data; /* decoded bytes */
    size_t size;
    bool is_inline;      /* an inline image rather than a file */
};

struct mime_msg {
    struct mime_header *headers;
    size_t n_headers;
    size_t header_len;       /* bytes of the header section in the raw mail */

    char *message_id;        /* without <>, NULL when absent or unusable */
    char *in_reply_to;       /* the first id, without <>, or NULL */
    struct strv references;  /* without <>, oldest first */
    char *subject;           /* decoded, one line, "" when absent */
    char *from_addr;         /* as written (validated later), NULL if none */
    char *from_name;         /* decoded display name or NULL */
    const char *from_field;  /* NULL: from_addr is the first From's; else
                                where it came from ("a second From") */
    struct strv recipients;  /* To and Cc addresses as written */

    char *text;              /* the body as UTF-8 text, never NULL */
    bool text_from_html;     /* rendered from text/html */
    struct mime_attachment *atts;
    size_t n_atts;

    /* multipart/report with a message/delivery-status part */
    bool is_dsn;
    char *dsn_original_id;   /* Message-ID of the mail that bounced */
    char *dsn_summary;       /* "rcpt: action status" lines, or NULL */

    struct strv notes;       /* non-fatal problems, for logs and notes */
};

bool mime_parse(const char *raw, size_t len, const struct mime_limits *lim, struct mime_msg *out,
                struct td_err *err);
void mime_msg_clear(struct mime_msg *m);

/* The value of the first (or the i-th) header called name
 * (case-insensitive), or NULL. */
const char *mime_header(const struct mime_msg *m, const char *name);
const char *mime_header_nth(const struct mime_msg *m, const char *name, size_t i);

/* Internal to mime*.c: the header section (mime_header.c). */
bool mime_headers_split(const char *raw, size_t len, struct mime_msg *m, struct td_err *err);
/* The ids in a Message-ID / In-Reply-To / References value, in order,
 * without <> (ids with white space or over 998 bytes are skipped). */
void mime_msgids(const char *value, struct strv *out);
/* The address in a header value like `"Name" <a@b>` or `a@b (Name)`;
 * NULL if there is none. Caller frees. */
char *mime_addr_extract(const char *value);

#endif

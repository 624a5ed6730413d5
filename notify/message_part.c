/* message_part.c - attachment body parts of an outgoing mail (see
 * message.h message_attachment_part). */
#include "notify/message.h"
#include "core/mem.h"
#include "core/text.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64_LINE 76

/* type/subtype of RFC 2045 token characters only, else a safe default:
 * the value comes from whoever uploaded the file. */
static const char *safe_type(const char *t)
{
    if (t == NULL || strlen(t) > 100)
        return "application/octet-stream";
    int slashes = 0;
    for (const char *c = t; *c; c++) {
        if (*c == '/')
            slashes++;
        else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                   strchr("!#$&^_.+-", *c)))
            return "application/octet-stream";
    }
    return slashes == 1 && t[0] != '/' && t[strlen(t) - 1] != '/' ? t : "application/octet-stream";
}

static bool plain_name(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c >= 0x7F || *c == '"' || *c == '\\')
            return false;
    return s[0] != '\0' && strlen(s) <= 60;
}

/* filename="x" or, for anything else, RFC 2231 filename*=utf-8''%XX. */
static void filename_param(struct buf *b, const char *name)
{
    if (name == NULL || !utf8_valid(name, strlen(name)) || name[0] == '\0')
        name = "attachment";
    if (plain_name(name)) {
        buf_printf(b, ";\r\n filename=\"%s\"", name);
        return;
    }
    buf_puts(b, ";\r\n filename*=utf-8''");
    size_t col = 20;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || (*c && strchr("!#$&+-.^_`|~", *c));
        if (keep) {
            buf_putc(b, (char)*c);
            col++;
        } else {
            buf_printf(b, "%%%02X", *c);
            col += 3;
        }
        if (col > 900) /* a header line may not exceed 998 */
            break;
    }
}

void message_attachment_part(struct buf *b, const struct message_attachment *a)
{
    buf_printf(b, "Content-Type: %s", safe_type(a->content_type));
    if (a->content_id && message_id_safe(a->content_id))
        buf_printf(b, "\r\nContent-ID: %s\r\nContent-Disposition: inline", a->content_id);
    else
        buf_puts(b, "\r\nContent-Disposition: attachment");
    filename_param(b, a->name);
    buf_puts(b, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    size_t enc_len = sodium_base64_encoded_len(a->size, sodium_base64_VARIANT_ORIGINAL);
    char *enc = td_calloc(1, enc_len);
    sodium_bin2base64(enc, enc_len, a->data, a->size, sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(enc);
    for (size_t i = 0; i < n; i += B64_LINE) {
        size_t k = n - i < B64_LINE ? n - i : B64_LINE;
        buf_append(b, enc + i, k);
        buf_puts(b, "\r\n");
    }
    free(enc);
}

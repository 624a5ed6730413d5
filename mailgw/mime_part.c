/* mime_part.c - one MIME part as libetpan parsed it: its type, its
 * parameters (RFC 2231 continuations and charsets, RFC 2047 words in
 * plain ones), its disposition, its file name made safe, its decoded
 * bytes. Private to mime*.c (mime_int.h). */
#include "mime_int.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "rfc2047.h"

#define MAX_NAME_BYTES 200


static void lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* "type/subtype" in lower case (caller frees). */
char *mime_part_type(struct mailmime *mime)
{
    struct mailmime_content *ct = mime->mm_content_type;
    if (ct == NULL || ct->ct_type == NULL)
        return td_strdup(mime->mm_type == MAILMIME_MULTIPLE ? "multipart/mixed" : "text/plain");
    const char *type = "application";
    struct mailmime_type *t = ct->ct_type;
    if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type) {
        switch (t->tp_data.tp_discrete_type->dt_type) {
        case MAILMIME_DISCRETE_TYPE_TEXT: type = "text"; break;
        case MAILMIME_DISCRETE_TYPE_IMAGE: type = "image"; break;
        case MAILMIME_DISCRETE_TYPE_AUDIO: type = "audio"; break;
        case MAILMIME_DISCRETE_TYPE_VIDEO: type = "video"; break;
        case MAILMIME_DISCRETE_TYPE_EXTENSION:
            type = t->tp_data.tp_discrete_type->dt_extension ? t->tp_data.tp_discrete_type->dt_extension
                                                              : "application";
            break;
        default: break;
        }
    } else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type) {
        switch (t->tp_data.tp_composite_type->ct_type) {
        case MAILMIME_COMPOSITE_TYPE_MESSAGE: type = "message"; break;
        case MAILMIME_COMPOSITE_TYPE_MULTIPART: type = "multipart"; break;
        case MAILMIME_COMPOSITE_TYPE_EXTENSION:
            type = t->tp_data.tp_composite_type->ct_token ? t->tp_data.tp_composite_type->ct_token
                                                          : "application";
            break;
        default: break;
        }
    }
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s/%s", type, ct->ct_subtype ? ct->ct_subtype : "octet-stream");
    char *s = buf_steal(&b);
    lower(s);
    /* A type is a token: anything else in it is rubbish from the sender. */
    for (char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 127)
            *c = '_';
    return s;
}

const char *mime_part_param(struct mailmime *mime, const char *name)
{
    if (mime->mm_content_type == NULL)
        return NULL;
    clist *l = mime->mm_content_type->ct_parameters;
    for (clistiter *it = l ? clist_begin(l) : NULL; it; it = clist_next(it)) {
        struct mailmime_parameter *p = clist_content(it);
        if (p->pa_name && strcasecmp(p->pa_name, name) == 0)
            return p->pa_value;
    }
    return NULL;
}

static struct mailmime_disposition *disposition(struct mailmime *mime)
{
    if (mime->mm_mime_fields == NULL)
        return NULL;
    clist *l = mime->mm_mime_fields->fld_list;
    for (clistiter *it = l ? clist_begin(l) : NULL; it; it = clist_next(it)) {
        struct mailmime_field *f = clist_content(it);
        if (f->fld_type == MAILMIME_FIELD_DISPOSITION)
            return f->fld_data.fld_disposition;
    }
    return NULL;
}

/* One parameter as (name, value) from either list. */
struct param {
    const char *name, *value;
};

static size_t params_of(struct mailmime *mime, bool disp, struct param *out, size_t max)
{
    size_t n = 0;
    if (disp) {
        struct mailmime_disposition *d = disposition(mime);
        clist *l = d ? d->dsp_parms : NULL;
        for (clistiter *it = l ? clist_begin(l) : NULL; it && n < max; it = clist_next(it)) {
            struct mailmime_disposition_parm *p = clist_content(it);
            if (p->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
                out[n++] = (struct param){ "filename", p->pa_data.pa_filename };
            else if (p->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER && p->pa_data.pa_parameter)
                out[n++] = (struct param){ p->pa_data.pa_parameter->pa_name,
                                           p->pa_data.pa_parameter->pa_value };
        }
    } else if (mime->mm_content_type) {
        clist *l = mime->mm_content_type->ct_parameters;
        for (clistiter *it = l ? clist_begin(l) : NULL; it && n < max; it = clist_next(it)) {
            struct mailmime_parameter *p = clist_content(it);
            out[n++] = (struct param){ p->pa_name, p->pa_value };
        }
    }
    return n;
}

/* A parameter value by RFC 2231 (name*=, name*0*=, name*1=...) or
 * plain name= (which Outlook and others fill with RFC 2047 words).
 * NULL when absent; caller frees. */
static char *param_decoded(struct mailmime *mime, bool disp, const char *name, const char *hint)
{
    struct param ps[64];
    size_t n = params_of(mime, disp, ps, 64);
    size_t nl = strlen(name);
    const char *seg[32] = { 0 };
    bool ext[32] = { 0 };
    const char *plain = NULL, *whole_ext = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *pn = ps[i].name, *pv = ps[i].value;
        if (pn == NULL || pv == NULL || strncasecmp(pn, name, nl) != 0)
            continue;
        const char *rest = pn + nl;
        if (*rest == '\0') {
            plain = pv;
        } else if (strcmp(rest, "*") == 0) {
            whole_ext = pv;
        } else if (rest[0] == '*' && rest[1] >= '0' && rest[1] <= '9') {
            char *end = NULL;
            long k = strtol(rest + 1, &end, 10);
            if (k >= 0 && k < 32 && end && (*end == '\0' || strcmp(end, "*") == 0)) {
                seg[k] = pv;
                ext[k] = *end == '*';
            }
        }
    }
    if (whole_ext)
        return rfc2231_decode_hint(whole_ext, hint);
    if (seg[0]) {
        struct buf b = BUF_INIT;
        if (!ext[0])
            buf_puts(&b, "''"); /* no charset: undeclared */
        for (int k = 0; k < 32 && seg[k]; k++) {
            if (ext[k]) {
                buf_puts(&b, seg[k]);
            } else {
                for (const char *c = seg[k]; *c; c++) {
                    if (*c == '%' || *c == '\'')
                        buf_printf(&b, "%%%02X", (unsigned char)*c);
                    else
                        buf_putc(&b, *c);
                }
            }
        }
        char *raw = buf_steal(&b);
        char *r = rfc2231_decode_hint(raw, hint);
        free(raw);
        return r;
    }
    if (plain)
        return rfc2047_decode_hint(plain, strlen(plain), hint, NULL);
    return NULL;
}

/* The decoded bytes of a part's body (transfer encoding undone). */
bool mime_part_bytes(struct mailmime_data *d, char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
        return false;
    const char *src = d->dt_data.dt_text.dt_data;
    size_t len = d->dt_data.dt_text.dt_length;
    if (src == NULL)
        return true;
    if (!d->dt_encoded) {
        *out = td_malloc(len + 1);
        memcpy(*out, src, len);
        (*out)[len] = '\0';
        *n = len;
        return true;
    }
    size_t idx = 0;
    char *res = NULL;
    size_t res_len = 0;
    int r = mailmime_part_parse(src, len, &idx, d->dt_encoding, &res, &res_len);
    if (r != MAILIMF_NO_ERROR || res == NULL)
        return false;
    *out = td_malloc(res_len + 1);
    memcpy(*out, res, res_len);
    (*out)[res_len] = '\0';
    *n = res_len;
    mmap_string_unref(res);
    return true;
}

char *mime_part_clean_name(const char *in)
{
    if (in == NULL)
        return NULL;
    const char *base = in;
    for (const char *p = in; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    struct buf b = BUF_INIT;
    for (const char *p = base; *p; p++) {
        unsigned char c = (unsigned char)*p;
        buf_putc(&b, c < 0x20 || c == 0x7F ? '_' : (char)c);
    }
    char *s = buf_steal(&b);
    /* trim, cap at a UTF-8 boundary */
    char *start = s;
    while (*start == ' ' || *start == '.')
        start++;
    size_t n = strlen(start);
    while (n > 0 && start[n - 1] == ' ')
        n--;
    if (n > MAX_NAME_BYTES) {
        n = MAX_NAME_BYTES;
        while (n > 0 && ((unsigned char)start[n] & 0xC0) == 0x80)
            n--;
    }
    char *r = n ? td_strndup(start, n) : NULL;
    free(s);
    return r;
}

const char *mime_part_ext(const char *type)
{
    static const struct { const char *type, *ext; } map[] = {
        { "image/png", ".png" },        { "image/jpeg", ".jpg" },   { "image/gif", ".gif" },
        { "application/pdf", ".pdf" },  { "text/plain", ".txt" },   { "text/html", ".html" },
        { "text/calendar", ".ics" },    { "message/rfc822", ".eml" }, { "text/csv", ".csv" },
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].type, type) == 0)
            return map[i].ext;
    return ".bin";
}

bool mime_part_is_attachment(struct mailmime *mime)
{
    struct mailmime_disposition *d = disposition(mime);
    return d && d->dsp_type && d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
}

bool mime_part_is_inline(struct mailmime *mime)
{
    struct mailmime_disposition *d = disposition(mime);
    return d && d->dsp_type && d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_INLINE;
}

bool mime_part_has_cid(struct mailmime *mime)
{
    if (mime->mm_mime_fields == NULL)
        return false;
    clist *l = mime->mm_mime_fields->fld_list;
    for (clistiter *it = l ? clist_begin(l) : NULL; it; it = clist_next(it)) {
        struct mailmime_field *f = clist_content(it);
        if (f->fld_type == MAILMIME_FIELD_ID)
            return true;
    }
    return false;
}

char *mime_part_name(struct mailmime *mime, const char *hint)
{
    char *raw = param_decoded(mime, true, "filename", hint);
    if (raw == NULL)
        raw = param_decoded(mime, false, "name", hint);
    char *clean = mime_part_clean_name(raw);
    free(raw);
    return clean;
}


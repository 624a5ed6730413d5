/* multipart.c - multipart/form-data (RFC 7578) over a body already in
 * memory (the server bounded its size).
 *
 * Why not MHD's post processor: it streams parts through callbacks,
 * which would spread one upload over many calls and states; the body is
 * bounded and in memory anyway, so a small parser over it is simpler to
 * reason about and to fuzz. Only what form-data uses is supported: one
 * level of parts, Content-Disposition with name and filename, and
 * Content-Type. Part data is not copied: parts point into the body. */
#include "api_int.h"

#include "core/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 70
#define MAX_PART_HEADERS 8192

bool multipart_is_form(const char *ct)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "multipart/form-data", 19) == 0 &&
           (ct[19] == ';' || ct[19] == ' ' || ct[19] == '\0');
}

/* Reads the value of parameter `name` from a header's "; a=b; c="d""
 * list into out. Quoted strings may contain backslash escapes. */
static bool header_param(const char *h, size_t hlen, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = h, *end = h + hlen;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (semi == NULL)
            return false;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) <= nlen || strncasecmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        p += nlen + 1;
        size_t o = 0;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (o + 1 >= outlen)
                    return false;
                out[o++] = *p++;
            }
            if (p >= end)
                return false; /* unterminated quote */
        } else {
            while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
                if (o + 1 >= outlen)
                    return false;
                out[o++] = *p++;
            }
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

static bool boundary_of(const char *ct, char *out, size_t outlen)
{
    char b[MAX_BOUNDARY + 2];
    if (!header_param(ct, strlen(ct), "boundary", b, sizeof b))
        return false;
    size_t len = strlen(b);
    if (len == 0 || len > MAX_BOUNDARY || len + 3 > outlen)
        return false;
    out[0] = out[1] = '-';
    memcpy(out + 2, b, len + 1);
    return true;
}

/* One part's header block [h, h + len) into part. */
static bool part_headers(const char *h, size_t len, struct mp_part *part, struct td_err *err)
{
    bool disposition = false;
    const char *end = h + len;
    while (h < end) {
        const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
        size_t llen = eol ? (size_t)(eol - h) : (size_t)(end - h);
        if (llen > 19 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
            const char *v = h + 20;
            size_t vlen = llen - 20;
            while (vlen && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0)
                return td_fail(err, TD_INVALID, "a part is not form-data");
            if (!header_param(v, vlen, "name", part->name, sizeof part->name) || !part->name[0])
                return td_fail(err, TD_INVALID, "a part has no field name");
            char fname[1024];
            if (header_param(v, vlen, "filename", fname, sizeof fname)) {
                free(part->filename); /* a second Content-Disposition (fuzz_request found it) */
                part->filename = td_strdup(fname);
            }
            disposition = true;
        } else if (llen > 12 && strncasecmp(h, "Content-Type:", 13) == 0) {
            const char *v = h + 13;
            size_t vlen = llen - 13;
            while (vlen && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            if (vlen > 255)
                return td_fail(err, TD_INVALID, "a part's Content-Type is too long");
            free(part->content_type);
            part->content_type = td_strndup(v, vlen);
        }
        /* Other part headers (Content-Transfer-Encoding is deprecated by
         * RFC 7578) are ignored. */
        h += llen + (eol ? 2 : 0);
    }
    if (!disposition)
        return td_fail(err, TD_INVALID, "a part has no Content-Disposition");
    return true;
}

bool multipart_parse(const char *content_type, const char *body, size_t len,
                     struct mp_form *form, struct td_err *err)
{
    memset(form, 0, sizeof *form);
    char delim[MAX_BOUNDARY + 3];
    if (content_type == NULL || !boundary_of(content_type, delim, sizeof delim))
        return td_fail(err, TD_INVALID, "multipart/form-data needs a boundary of 1 to 70 characters");
    size_t dlen = strlen(delim);
    const char *end = body + len;
    /* The first delimiter: at the very start, or after a preamble line. */
    const char *p;
    if (len >= dlen && memcmp(body, delim, dlen) == 0) {
        p = body + dlen;
    } else {
        char crlf_delim[MAX_BOUNDARY + 5];
        snprintf(crlf_delim, sizeof crlf_delim, "\r\n%s", delim);
        const char *d = memmem(body, len, crlf_delim, dlen + 2);
        if (d == NULL)
            goto malformed;
        p = d + dlen + 2;
    }
    char next[MAX_BOUNDARY + 5];
    snprintf(next, sizeof next, "\r\n%s", delim);
    size_t nlen = dlen + 2;
    for (;;) {
        /* After a delimiter: "--" ends the body, else padding and CRLF. */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return true;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            goto malformed;
        p += 2;
        if (form->n >= MP_MAX_PARTS) {
            multipart_free(form);
            return td_fail(err, TD_INVALID, "at most %d parts in a form", MP_MAX_PARTS);
        }
        const char *hend;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p; /* no headers at all */
        } else {
            size_t window = (size_t)(end - p) < MAX_PART_HEADERS ? (size_t)(end - p) : MAX_PART_HEADERS;
            hend = memmem(p, window, "\r\n\r\n", 4);
            if (hend == NULL)
                goto malformed;
        }
        struct mp_part *part = &form->parts[form->n++];
        if (!part_headers(p, (size_t)(hend - p), part, err)) {
            multipart_free(form);
            return false;
        }
        p = hend + (hend == p ? 2 : 4);
        const char *d = memmem(p, (size_t)(end - p), next, nlen);
        if (d == NULL)
            goto malformed;
        part->data = (const unsigned char *)p;
        part->len = (size_t)(d - p);
        p = d + nlen;
    }
malformed:
    multipart_free(form);
    return td_fail(err, TD_INVALID, "the multipart/form-data body is malformed");
}

void multipart_free(struct mp_form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->parts[i].filename);
        free(form->parts[i].content_type);
    }
    memset(form, 0, sizeof *form);
}

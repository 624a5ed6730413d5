/* mime_header.c - the top-level header section of a raw mail, split
 * into fields by hand (not by libetpan) so that every field is seen
 * exactly as it was written, including the ones loop and trust checks
 * read (Auto-Submitted, X-Loop, Authentication-Results, ...), and so that
 * a NUL or an absurd number of fields is caught before anything else. */
#include "mime.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_FIELDS 2000
#define MAX_HEADER_BYTES (1u << 20)
#define MAX_MSGID 998

static bool name_char(unsigned char c)
{
    return c > 32 && c < 127 && c != ':';
}

bool mime_headers_split(const char *raw, size_t len, struct mime_msg *m, struct td_err *err)
{
    /* Where does the header end? At the first empty line. */
    size_t end = len, body = len;
    if (len > 0 && raw[0] == '\n')
        end = 0, body = 1;
    else if (len > 1 && raw[0] == '\r' && raw[1] == '\n')
        end = 0, body = 2;
    for (size_t i = 0; end != 0 && i < len; i++) {
        if (raw[i] != '\n')
            continue;
        if (i + 1 < len && raw[i + 1] == '\n') {
            end = i + 1;
            body = i + 2;
            break;
        }
        if (i + 2 < len && raw[i + 1] == '\r' && raw[i + 2] == '\n') {
            end = i + 1;
            body = i + 3;
            break;
        }
    }
    if (end > MAX_HEADER_BYTES)
        return td_fail(err, TD_INVALID, "the header section is over %u bytes", MAX_HEADER_BYTES);
    if (memchr(raw, '\0', end) != NULL)
        return td_fail(err, TD_INVALID, "NUL byte in the header section");
    m->header_len = body;

    size_t cap = 0;
    size_t i = 0;
    struct buf val = BUF_INIT;
    while (i < end) {
        size_t ls = i;
        const char *nl = memchr(raw + i, '\n', end - i);
        size_t le = nl ? (size_t)(nl - raw) : end;
        i = le + 1;
        /* Gather continuation lines. */
        while (i < end && (raw[i] == ' ' || raw[i] == '\t')) {
            nl = memchr(raw + i, '\n', end - i);
            le = nl ? (size_t)(nl - raw) : end;
            i = le + 1;
        }
        size_t fe = le > end ? end : le; /* field is raw[ls..fe) */
        size_t n = ls;
        while (n < fe && name_char((unsigned char)raw[n]))
            n++;
        if (n == ls || n >= fe || raw[n] != ':' || n - ls > 76) {
            if (ls == 0 && fe - ls > 5 && strncmp(raw, "From ", 5) == 0)
                continue; /* an mbox separator line */
            continue; /* a line without a field name: nothing to keep */
        }
        if (m->n_headers >= MAX_FIELDS) {
            buf_free(&val);
            return td_fail(err, TD_INVALID, "more than %d header fields", MAX_FIELDS);
        }
        buf_reset(&val);
        size_t v = n + 1;
        while (v < fe && (raw[v] == ' ' || raw[v] == '\t'))
            v++;
        for (size_t k = v; k < fe; k++) {
            if (raw[k] == '\r' || raw[k] == '\n')
                continue; /* unfolding: the line break goes, the blank stays */
            buf_putc(&val, raw[k]);
        }
        while (val.len > 0 && (val.data[val.len - 1] == ' ' || val.data[val.len - 1] == '\t'))
            val.data[--val.len] = '\0';
        if (m->n_headers == cap) {
            cap = cap ? cap * 2 : 32;
            m->headers = td_realloc(m->headers, cap * sizeof *m->headers);
        }
        m->headers[m->n_headers].name = td_strndup(raw + ls, n - ls);
        m->headers[m->n_headers].value = td_strdup(val.data ? val.data : "");
        m->n_headers++;
    }
    buf_free(&val);
    return true;
}

const char *mime_header_nth(const struct mime_msg *m, const char *name, size_t nth)
{
    for (size_t i = 0; i < m->n_headers; i++)
        if (strcasecmp(m->headers[i].name, name) == 0 && nth-- == 0)
            return m->headers[i].value;
    return NULL;
}

const char *mime_header(const struct mime_msg *m, const char *name)
{
    return mime_header_nth(m, name, 0);
}

void mime_msgids(const char *value, struct strv *out)
{
    if (value == NULL)
        return;
    const char *p = value;
    while ((p = strchr(p, '<')) != NULL) {
        const char *q = strchr(p + 1, '>');
        if (q == NULL)
            break;
        size_t n = (size_t)(q - p - 1);
        bool ok = n > 0 && n <= MAX_MSGID;
        for (const char *c = p + 1; ok && c < q; c++)
            if ((unsigned char)*c <= ' ' || *c == 0x7F || *c == '<')
                ok = false;
        if (ok) {
            char *id = td_strndup(p + 1, n);
            if (!strv_contains(out, id))
                strv_push(out, id);
            free(id);
        }
        p = q + 1;
        if (out->n >= 200)
            break; /* References lists longer than this are noise */
    }
}

static bool addr_char(unsigned char c)
{
    return c > 32 && c < 127 && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' &&
           c != ';' && c != '"' && c != '[' && c != ']' && c != '\\';
}

char *mime_addr_extract(const char *value)
{
    if (value == NULL)
        return NULL;
    /* "Name" <a@b>: the last <...> holding an '@'. */
    const char *lt = NULL;
    for (const char *p = value; (p = strchr(p, '<')) != NULL; p++) {
        const char *gt = strchr(p, '>');
        if (gt && memchr(p, '@', (size_t)(gt - p)))
            lt = p;
    }
    if (lt) {
        const char *gt = strchr(lt, '>');
        return td_strndup(lt + 1, (size_t)(gt - lt - 1));
    }
    /* a@b (Name): the first token with an '@'. */
    const char *at = strchr(value, '@');
    if (at == NULL)
        return NULL;
    const char *s = at, *e = at + 1;
    while (s > value && addr_char((unsigned char)s[-1]))
        s--;
    while (*e && addr_char((unsigned char)*e))
        e++;
    if (s == at || e == at + 1)
        return NULL;
    return td_strndup(s, (size_t)(e - s));
}

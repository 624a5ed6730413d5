/* mail_check.h - reading mails back in tests: header lines (unfolded,
 * RFC 2047 decoded), bodies (7bit, quoted-printable, base64, one level of
 * multipart), and the files an SMTP sink saved. Header-only; independent
 * of the code under test (its own decoders), so a bug in notify/message.c
 * cannot hide itself. */
#ifndef TD_TEST_MAIL_CHECK_H
#define TD_TEST_MAIL_CHECK_H

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mc_header {
    char *name;
    char *raw;      /* unfolded value, as on the wire */
};

struct mc_mail {
    char *file;     /* where it came from (sink), or NULL */
    char *data;     /* the whole mail */
    struct mc_header *h;
    size_t n_h;
    char *body;     /* raw body (after the blank line) */
    bool crlf;      /* every line of the header part ended in CRLF */
    bool long_line; /* a header line over 998 characters */
};

static inline char *mc_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static inline void mc_parse(struct mc_mail *m, const char *data)
{
    memset(m, 0, sizeof *m);
    m->data = strdup(data);
    m->crlf = true;
    const char *p = data;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 998)
            m->long_line = true;
        bool cr = len > 0 && p[len - 1] == '\r';
        if (!cr)
            m->crlf = false;
        size_t l = cr ? len - 1 : len;
        if (l == 0) {
            m->body = strdup(eol ? eol + 1 : "");
            return;
        }
        if ((*p == ' ' || *p == '\t') && m->n_h > 0) {
            struct mc_header *last = &m->h[m->n_h - 1];
            size_t old = strlen(last->raw);
            last->raw = realloc(last->raw, old + l + 1);
            memcpy(last->raw + old, p, l);
            last->raw[old + l] = '\0';
        } else {
            const char *colon = memchr(p, ':', l);
            m->h = realloc(m->h, (m->n_h + 1) * sizeof *m->h);
            struct mc_header *h = &m->h[m->n_h++];
            if (colon == NULL) {
                h->name = mc_strndup(p, l);
                h->raw = strdup("");
            } else {
                h->name = mc_strndup(p, (size_t)(colon - p));
                const char *v = colon + 1;
                while (v < p + l && (*v == ' ' || *v == '\t'))
                    v++;
                h->raw = mc_strndup(v, (size_t)(p + l - v));
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    m->body = strdup("");
}

static inline void mc_free(struct mc_mail *m)
{
    for (size_t i = 0; i < m->n_h; i++) {
        free(m->h[i].name);
        free(m->h[i].raw);
    }
    free(m->h);
    free(m->body);
    free(m->data);
    free(m->file);
    memset(m, 0, sizeof *m);
}

static inline size_t mc_count(const struct mc_mail *m, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_h; i++)
        n += strcasecmp(m->h[i].name, name) == 0;
    return n;
}

/* The raw (unfolded) value of the first such header, or NULL. */
static inline const char *mc_raw(const struct mc_mail *m, const char *name)
{
    for (size_t i = 0; i < m->n_h; i++)
        if (strcasecmp(m->h[i].name, name) == 0)
            return m->h[i].raw;
    return NULL;
}

static inline int mc_b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Appends the base64 decoding of s[0..n) (skipping white space). */
static inline size_t mc_b64(const char *s, size_t n, char *out)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = mc_b64val((unsigned char)s[i]);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            out[o++] = (char)((acc >> (bits - 8)) & 0xFF);
            bits -= 8;
        }
    }
    return o;
}

static inline int mc_hex(int c)
{
    return isdigit(c) ? c - '0' : (toupper(c) >= 'A' && toupper(c) <= 'F') ? toupper(c) - 'A' + 10 : -1;
}

/* Quoted-printable body -> text with LF line ends. */
static inline char *mc_qp(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t o = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '=' && (p[1] == '\r' || p[1] == '\n')) { /* soft break */
            p += p[1] == '\r' ? 2 : 1;
            continue;
        }
        if (*p == '=' && mc_hex((unsigned char)p[1]) >= 0 && mc_hex((unsigned char)p[2]) >= 0) {
            out[o++] = (char)(mc_hex((unsigned char)p[1]) * 16 + mc_hex((unsigned char)p[2]));
            p += 2;
            continue;
        }
        if (*p == '\r' && p[1] == '\n')
            continue;
        out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

/* A header value with RFC 2047 words decoded (B and Q, UTF-8 assumed);
 * white space between adjacent encoded words dropped. Caller frees. */
static inline char *mc_decode_words(const char *raw)
{
    size_t n = strlen(raw);
    char *out = malloc(n * 2 + 1);
    size_t o = 0;
    bool prev_word = false;
    const char *p = raw;
    while (*p) {
        if (p[0] == '=' && p[1] == '?') {
            const char *q1 = strchr(p + 2, '?');
            const char *q2 = q1 ? strchr(q1 + 1, '?') : NULL;
            const char *end = q2 ? strstr(q2 + 1, "?=") : NULL;
            if (end) {
                if (prev_word) /* drop the white space between words */
                    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
                        o--;
                char enc = (char)toupper((unsigned char)q1[1]);
                const char *t = q2 + 1;
                size_t tl = (size_t)(end - t);
                if (enc == 'B') {
                    o += mc_b64(t, tl, out + o);
                } else {
                    for (size_t i = 0; i < tl; i++) {
                        if (t[i] == '_')
                            out[o++] = ' ';
                        else if (t[i] == '=' && i + 2 < tl + 1 && mc_hex((unsigned char)t[i + 1]) >= 0) {
                            out[o++] = (char)(mc_hex((unsigned char)t[i + 1]) * 16 + mc_hex((unsigned char)t[i + 2]));
                            i += 2;
                        } else {
                            out[o++] = t[i];
                        }
                    }
                }
                p = end + 2;
                prev_word = true;
                continue;
            }
        }
        if (*p != ' ' && *p != '\t')
            prev_word = false;
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* Decoded value of the first such header (caller frees), or NULL. */
static inline char *mc_header(const struct mc_mail *m, const char *name)
{
    const char *raw = mc_raw(m, name);
    return raw ? mc_decode_words(raw) : NULL;
}

/* The text of the part with this content type (text/plain, text/html),
 * decoded, LF line ends; NULL if none. Caller frees. */
static inline char *mc_text(const struct mc_mail *m, const char *type)
{
    const char *ct = mc_raw(m, "Content-Type");
    const char *cte = mc_raw(m, "Content-Transfer-Encoding");
    if (ct && strncasecmp(ct, "multipart/", 10) == 0) {
        const char *b = strstr(ct, "boundary=");
        if (!b)
            return NULL;
        b += 9;
        char boundary[200];
        size_t bl = 0;
        if (*b == '"')
            b++;
        while (b[bl] && b[bl] != '"' && b[bl] != ';' && bl < sizeof boundary - 3)
            bl++;
        snprintf(boundary, sizeof boundary, "--%.*s", (int)bl, b);
        const char *part = strstr(m->body, boundary);
        while (part) {
            part += strlen(boundary);
            if (part[0] == '-' && part[1] == '-')
                return NULL;
            const char *next = strstr(part, boundary);
            if (!next)
                return NULL;
            while (*part == '\r' || *part == '\n')
                part++;
            char *chunk = mc_strndup(part, (size_t)(next - part));
            struct mc_mail sub;
            mc_parse(&sub, chunk);
            free(chunk);
            const char *sct = mc_raw(&sub, "Content-Type");
            if (sct && strncasecmp(sct, "multipart/", 10) == 0) {
                /* nested (alternative inside mixed): search it too */
                char *t = mc_text(&sub, type);
                if (t) {
                    mc_free(&sub);
                    return t;
                }
            }
            if (sct && strncasecmp(sct, type, strlen(type)) == 0) {
                char *t = mc_text(&sub, type);
                mc_free(&sub);
                return t;
            }
            mc_free(&sub);
            part = next;
        }
        return NULL;
    }
    if (ct && strncasecmp(ct, type, strlen(type)) != 0)
        return NULL;
    if (cte && strcasecmp(cte, "quoted-printable") == 0)
        return mc_qp(m->body);
    if (cte && strcasecmp(cte, "base64") == 0) {
        char *out = malloc(strlen(m->body) + 1);
        size_t n = mc_b64(m->body, strlen(m->body), out);
        out[n] = '\0';
        return out;
    }
    char *out = malloc(strlen(m->body) + 1);
    size_t o = 0;
    for (const char *p = m->body; *p; p++)
        if (!(*p == '\r' && p[1] == '\n'))
            out[o++] = *p;
    out[o] = '\0';
    return out;
}

/* ---- the SMTP sink's Maildir ---- */

struct mc_box {
    struct mc_mail *v;
    size_t n;
};

static inline char *mc_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t r;
    while ((r = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0)
            s = realloc(s, cap *= 2);
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

/* Every mail in dir/new, in no particular order. */
static inline void mc_box_read(const char *maildir, struct mc_box *box)
{
    memset(box, 0, sizeof *box);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/new", maildir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *data = mc_read_file(path);
        if (!data)
            continue;
        box->v = realloc(box->v, (box->n + 1) * sizeof *box->v);
        mc_parse(&box->v[box->n], data);
        box->v[box->n].file = strdup(path);
        box->n++;
        free(data);
    }
    closedir(d);
}

static inline void mc_box_free(struct mc_box *box)
{
    for (size_t i = 0; i < box->n; i++)
        mc_free(&box->v[i]);
    free(box->v);
    memset(box, 0, sizeof *box);
}

/* Removes every mail from dir/new. */
static inline void mc_box_empty(const char *maildir)
{
    struct mc_box box;
    mc_box_read(maildir, &box);
    for (size_t i = 0; i < box.n; i++)
        remove(box.v[i].file);
    mc_box_free(&box);
}

/* Mails whose X-RcptTo (added by the sink) or To contains `to`, and
 * (when subject_part is set) whose decoded Subject contains it. */
static inline size_t mc_box_count(const struct mc_box *box, const char *to, const char *subject_part)
{
    size_t n = 0;
    for (size_t i = 0; i < box->n; i++) {
        const char *rcpt = mc_raw(&box->v[i], "X-RcptTo");
        if (!rcpt)
            rcpt = mc_raw(&box->v[i], "To");
        if (to && (!rcpt || strcasestr(rcpt, to) == NULL))
            continue;
        if (subject_part) {
            char *s = mc_header(&box->v[i], "Subject");
            bool hit = s && strstr(s, subject_part);
            free(s);
            if (!hit)
                continue;
        }
        n++;
    }
    return n;
}

#endif

/* message.c - see message.h. */
#include "notify/message.h"
#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FOLD_AT 78        /* preferred maximum line length */
#define EW_CHUNK 42       /* raw bytes per encoded word: 56 base64 + 12 = 68 */
#define QP_LINE 76
#define MAX_PLAIN_WORD 70 /* a longer word cannot be folded: encode instead */

/* ---- Header lines with folding ---- */

struct hdr {
    struct buf *b;
    size_t col;     /* characters on the current line */
    int on_line;    /* tokens on the current line */
};

static void hdr_begin(struct hdr *h, struct buf *b, const char *name)
{
    h->b = b;
    buf_puts(b, name);
    buf_putc(b, ':');
    h->col = strlen(name) + 1;
    h->on_line = 0;
}

/* Appends a token after one space, folding first when the line would
 * grow past FOLD_AT (never before the first token of a line). */
static void hdr_token(struct hdr *h, const char *tok, size_t len)
{
    if (h->on_line > 0 && h->col + 1 + len > FOLD_AT) {
        buf_puts(h->b, "\r\n");
        h->col = 0;
        h->on_line = 0;
    }
    buf_putc(h->b, ' ');
    buf_append(h->b, tok, len);
    h->col += 1 + len;
    h->on_line++;
}

static void hdr_end(struct hdr *h)
{
    buf_puts(h->b, "\r\n");
}

/* value with control characters as spaces and, if it is not UTF-8,
 * every non-ASCII byte as '?'. Caller frees. */
static char *sanitize(const char *value)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    bool utf8 = utf8_valid(v, n);
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\0')
            s[i] = '\0';
        else if (c < 0x20 || c == 0x7F)
            s[i] = ' ';
        else if (c >= 0x80 && !utf8)
            s[i] = '?';
        else
            s[i] = (char)c;
    }
    return s;
}

static bool plain_ascii(const char *s)
{
    if (strstr(s, "=?") != NULL)
        return false; /* would be read as an encoded word */
    size_t word = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80)
            return false;
        word = *p == ' ' ? 0 : word + 1;
        if (word > MAX_PLAIN_WORD)
            return false;
    }
    return true;
}

/* Emits s as RFC 2047 B encoded words, split on UTF-8 boundaries. */
static void hdr_encoded_words(struct hdr *h, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t take = n - i < EW_CHUNK ? n - i : EW_CHUNK;
        /* Back up to the start of a UTF-8 sequence. */
        while (take < n - i && take > 0 && ((unsigned char)s[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - i < EW_CHUNK ? n - i : EW_CHUNK; /* not UTF-8: cannot happen */
        char b64[sodium_base64_ENCODED_LEN(EW_CHUNK, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        char word[100];
        int len = snprintf(word, sizeof word, "=?UTF-8?B?%s?=", b64);
        hdr_token(h, word, (size_t)len);
        i += take;
    }
}

/* Plain words, or encoded words when the text needs them. */
static void hdr_text(struct hdr *h, const char *clean)
{
    if (!plain_ascii(clean)) {
        hdr_encoded_words(h, clean);
        return;
    }
    const char *p = clean;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len)
            hdr_token(h, p, len);
        p += len;
    }
}

void message_header_text(struct buf *b, const char *name, const char *value)
{
    char *clean = sanitize(value);
    struct hdr h;
    hdr_begin(&h, b, name);
    hdr_text(&h, clean);
    hdr_end(&h);
    free(clean);
}

void message_header_mailbox(struct buf *b, const char *name, const char *display,
                            const char *addr)
{
    char *clean = sanitize(display);
    /* Trim: a name of only spaces is no name. */
    char *d = clean;
    while (*d == ' ')
        d++;
    size_t dl = strlen(d);
    while (dl > 0 && d[dl - 1] == ' ')
        d[--dl] = '\0';
    struct hdr h;
    hdr_begin(&h, b, name);
    if (dl > 0) {
        if (plain_ascii(d) && dl <= 60) {
            struct buf q = BUF_INIT;
            buf_putc(&q, '"');
            for (const char *p = d; *p; p++) {
                if (*p == '"' || *p == '\\')
                    buf_putc(&q, '\\');
                buf_putc(&q, *p);
            }
            buf_putc(&q, '"');
            hdr_token(&h, q.data, q.len);
            buf_free(&q);
        } else {
            hdr_encoded_words(&h, d);
        }
    }
    struct buf a = BUF_INIT;
    buf_printf(&a, "<%s>", addr);
    hdr_token(&h, a.data, a.len);
    buf_free(&a);
    hdr_end(&h);
    free(clean);
}

/* ---- Checks ---- */

static bool visible(unsigned char c)
{
    return c > 0x20 && c < 0x7F;
}

bool message_id_safe(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>')
        return false;
    int ats = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!visible(c) || c == '<' || c == '>' || c == '"' || c == '\\')
            return false;
        ats += c == '@';
    }
    return ats == 1 && id[1] != '@' && id[n - 2] != '@';
}

bool message_addr_safe(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    if (n < 3 || n > 254)
        return false;
    const char *at = strrchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || (size_t)(at - addr) > 64)
        return false;
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!visible(c) || strchr("<>()[]\\,;:\"", c) != NULL)
            return false;
        if (c == '@' && p != at)
            return false;
    }
    return true;
}

/* ---- Bodies ---- */

static void qp_line(struct buf *b, const char *s, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tok[4];
        size_t tl;
        bool last = i + 1 == n;
        bool lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
        /* Lines starting with "." or "From " survive any transport. */
        if (i == 0 && (c == '.' || (c == 'F' && n >= 5 && memcmp(s, "From ", 5) == 0)))
            lit = false;
        if (lit) {
            tok[0] = (char)c;
            tl = 1;
        } else {
            snprintf(tok, sizeof tok, "=%02X", c);
            tl = 3;
        }
        /* Soft break so that the line with its '=' stays within 76. */
        size_t room = last ? QP_LINE : QP_LINE - 1;
        if (col + tl > room) {
            buf_puts(b, "=\r\n");
            col = 0;
        }
        buf_append(b, tok, tl);
        col += tl;
    }
    buf_puts(b, "\r\n");
}

void message_qp(struct buf *b, const char *s)
{
    const char *p = s ? s : "";
    while (*p) {
        size_t len = strcspn(p, "\n");
        size_t l = len;
        if (l > 0 && p[l - 1] == '\r')
            l--;
        qp_line(b, p, l);
        p += len;
        if (*p == '\n')
            p++;
    }
}

/* Short-lined printable ASCII (tabs allowed): can go as 7bit. */
static bool seven_bit_ok(const char *s)
{
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            col = 0;
            continue;
        }
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (*p >= 0x80 || (*p < 0x20 && *p != '\t') || *p == 0x7F)
            return false;
        if (++col > 900)
            return false;
    }
    return true;
}

static void seven_bit(struct buf *b, const char *s)
{
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, "\n");
        size_t l = len;
        if (l > 0 && p[l - 1] == '\r')
            l--;
        buf_append(b, p, l);
        buf_puts(b, "\r\n");
        p += len;
        if (*p == '\n')
            p++;
    }
}

static void part_headers(struct buf *b, const char *type, const char *cte)
{
    buf_printf(b, "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: %s\r\n", type, cte);
}

static void date_header(struct buf *b, td_time ms)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday % 7],
               tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
               tm.tm_sec);
}

/* A boundary no QP or base64 body can contain ("=_" starts it), derived
 * from the Message-ID so a retried mail has the same bytes. */
static void boundary_hex(const char *message_id, const char *salt, char hex[17])
{
    unsigned char d[8];
    crypto_generichash(d, sizeof d, (const unsigned char *)message_id, strlen(message_id),
                       (const unsigned char *)salt, salt[0] ? strlen(salt) : 0);
    sodium_bin2hex(hex, 17, d, sizeof d);
}

/* The text, or text + HTML as multipart/alternative: Content-* headers,
 * blank line, body. */
static void body_part(struct buf *b, const struct message_in *m, const char *text)
{
    if (m->html == NULL) {
        bool plain = seven_bit_ok(text);
        part_headers(b, "text/plain", plain ? "7bit" : "quoted-printable");
        buf_puts(b, "\r\n");
        if (plain)
            seven_bit(b, text);
        else
            message_qp(b, text);
        return;
    }
    char hex[17];
    boundary_hex(m->message_id, "", hex);
    buf_printf(b, "Content-Type: multipart/alternative; boundary=\"=_td_%s\"\r\n\r\n", hex);
    buf_puts(b, "This is a multi-part message in MIME format.\r\n");
    buf_printf(b, "--=_td_%s\r\n", hex);
    part_headers(b, "text/plain", "quoted-printable");
    buf_puts(b, "\r\n");
    message_qp(b, text);
    buf_printf(b, "--=_td_%s\r\n", hex);
    part_headers(b, "text/html", "quoted-printable");
    buf_puts(b, "\r\n");
    message_qp(b, m->html);
    buf_printf(b, "--=_td_%s--\r\n", hex);
}

bool message_build(const struct message_in *m, struct buf *out, struct td_err *err)
{
    if (!message_addr_safe(m->from_addr))
        return td_fail(err, TD_INVALID, "unsafe From address");
    if (!message_addr_safe(m->to_addr))
        return td_fail(err, TD_INVALID, "unsafe recipient address '%.100s'", m->to_addr ? m->to_addr : "");
    if (m->reply_to_addr && !message_addr_safe(m->reply_to_addr))
        return td_fail(err, TD_INVALID, "unsafe Reply-To address");
    if (!message_id_safe(m->message_id))
        return td_fail(err, TD_INVALID, "unsafe Message-ID");
    for (size_t i = 0; i < m->n_cc; i++)
        if (!message_addr_safe(m->cc[i]))
            return td_fail(err, TD_INVALID, "unsafe Cc address");
    if (m->x_loop && !message_addr_safe(m->x_loop))
        return td_fail(err, TD_INVALID, "unsafe X-Loop address");
    const char *text = m->text ? m->text : "";
    if (!utf8_valid(text, strlen(text)) || (m->html && !utf8_valid(m->html, strlen(m->html))))
        return td_fail(err, TD_INVALID, "mail body is not valid UTF-8");

    struct buf *b = out;
    date_header(b, m->date);
    message_header_mailbox(b, "From", m->from_name, m->from_addr);
    message_header_mailbox(b, "To", m->to_name, m->to_addr);
    if (m->reply_to_addr)
        message_header_mailbox(b, "Reply-To", m->reply_to_name, m->reply_to_addr);
    if (m->n_cc > 0) {
        struct hdr h;
        hdr_begin(&h, b, "Cc");
        for (size_t i = 0; i < m->n_cc; i++) {
            char tok[400];
            int k = snprintf(tok, sizeof tok, "%s%s", m->cc[i], i + 1 < m->n_cc ? "," : "");
            if (k > 0 && (size_t)k < sizeof tok)
                hdr_token(&h, tok, (size_t)k);
        }
        hdr_end(&h);
    }
    message_header_text(b, "Subject", m->subject);
    buf_printf(b, "Message-ID: %s\r\n", m->message_id);
    if (m->in_reply_to && message_id_safe(m->in_reply_to))
        buf_printf(b, "In-Reply-To: %s\r\n", m->in_reply_to);
    struct hdr h;
    bool any = false;
    for (size_t i = 0; i < m->n_references; i++) {
        if (!message_id_safe(m->references[i]))
            continue; /* an inbound id we cannot repeat safely */
        if (!any)
            hdr_begin(&h, b, "References");
        any = true;
        hdr_token(&h, m->references[i], strlen(m->references[i]));
    }
    if (any)
        hdr_end(&h);
    if (m->auto_submitted) {
        message_header_text(b, "Auto-Submitted", m->auto_submitted);
        buf_puts(b, "X-Auto-Response-Suppress: All\r\n");
    }
    if (m->x_loop)
        buf_printf(b, "X-Loop: %s\r\n", m->x_loop);
    if (m->ticket)
        message_header_text(b, "X-Ticketd-Ticket", m->ticket);
    buf_puts(b, "MIME-Version: 1.0\r\n");

    if (m->n_attachments == 0) {
        body_part(b, m, text);
        return true;
    }
    /* multipart/mixed: the text (or the alternative) first, then the files. */
    char hex[17];
    boundary_hex(m->message_id, "mixed", hex);
    buf_printf(b, "Content-Type: multipart/mixed; boundary=\"=_tm_%s\"\r\n\r\n", hex);
    buf_puts(b, "This is a multi-part message in MIME format.\r\n");
    buf_printf(b, "--=_tm_%s\r\n", hex);
    body_part(b, m, text);
    for (size_t i = 0; i < m->n_attachments; i++) {
        buf_printf(b, "--=_tm_%s\r\n", hex);
        message_attachment_part(b, &m->attachments[i]);
    }
    buf_printf(b, "--=_tm_%s--\r\n", hex);
    return true;
}
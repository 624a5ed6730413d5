/* mime.c - see mime.h.
 *
 * Which text is "the body": in multipart/alternative the text/plain
 * part wins unless it is empty, else the richest multipart, else the
 * last non-empty alternative (text/html rendered to text); the other
 * alternatives are still searched for attachments and
 * inline images, but their text is not used twice. Inline text parts of
 * a multipart/mixed are joined in order (Apple Mail splits a message
 * around inline images that way). An attached message/rfc822 is kept as
 * one .eml attachment, not flattened into the text.
 *
 * mime_header.c splits the header section, mime_part.c reads one part
 * as libetpan sees it, mime_dsn.c reads delivery status reports; this
 * file bounds the work, walks the tree and assembles the result. */
#include "mime_int.h"

#include <libetpan/libetpan.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "flowed.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/text.h"
#include "html_text.h"
#include "rfc2047.h"

#define MIME_PAD 16

struct walk {
    const struct mime_limits *lim;
    struct mime_msg *m;
    struct buf text;
    bool text_full;
    bool plain_seen;
    size_t parts;
    size_t dropped;
    size_t att_cap;
    const char *hint;  /* the charset the mail declares somewhere, or "" */
    struct td_err *err;
};

/* ---- text ------------------------------------------------------------ */

/* CRLF and lone CR to LF. */
static void normalize_newlines(struct buf *b)
{
    size_t w = 0;
    for (size_t r = 0; r < b->len; r++) {
        if (b->data[r] == '\r') {
            b->data[w++] = '\n';
            if (r + 1 < b->len && b->data[r + 1] == '\n')
                r++;
        } else {
            b->data[w++] = b->data[r];
        }
    }
    b->len = w;
    if (b->data)
        b->data[w] = '\0';
}

static void add_text(struct walk *w, const char *utf8, size_t n)
{
    if (w->text_full || n == 0)
        return;
    while (n > 0 && (utf8[n - 1] == '\n' || utf8[n - 1] == ' '))
        n--;
    if (n == 0)
        return;
    if (w->text.len > 0)
        buf_puts(&w->text, "\n\n");
    size_t room = w->lim->max_text > w->text.len ? w->lim->max_text - w->text.len : 0;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)utf8[n] & 0xC0) == 0x80)
            n--;
        w->text_full = true;
        strv_push(&w->m->notes, "the text was cut at the size limit");
    }
    buf_append(&w->text, utf8, n);
    if (w->text_full)
        buf_puts(&w->text, "\n[ticketd: the rest of the text was cut]");
}

/* A text part's body as normalised UTF-8 in out. */
static void text_of(struct walk *w, struct mailmime *mime, const char *bytes, size_t n,
                    struct buf *out)
{
    bool lossy = false;
    const char *cs = mime_part_param(mime, "charset");
    charset_to_utf8_hint(cs, w->hint, bytes, n, out, &lossy);
    if (lossy) {
        struct buf note = BUF_INIT;
        buf_printf(&note, "text in charset '%.40s' had bytes that could not be converted",
                   cs ? cs : "(undeclared)");
        if (!strv_contains(&w->m->notes, note.data))
            strv_push(&w->m->notes, note.data);
        buf_free(&note);
    }
    normalize_newlines(out);
}

/* ---- attachments ----------------------------------------------------- */

/* Takes ownership of data and name. */
static void add_attachment(struct walk *w, char *name, const char *type, char *data, size_t size,
                           bool is_inline)
{
    struct mime_msg *m = w->m;
    if (m->n_atts >= w->lim->max_attachments) {
        w->dropped++;
        free(name);
        free(data);
        return;
    }
    if (name == NULL) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s-%zu%s", is_inline ? "inline" : "attachment", m->n_atts + 1, mime_part_ext(type));
        name = buf_steal(&b);
    }
    if (m->n_atts == w->att_cap) {
        w->att_cap = w->att_cap ? w->att_cap * 2 : 4;
        m->atts = td_realloc(m->atts, w->att_cap * sizeof *m->atts);
    }
    struct mime_attachment *a = &m->atts[m->n_atts++];
    a->name = name;
    a->content_type = td_strdup(type);
    a->data = (unsigned char *)data;
    a->size = size;
    a->is_inline = is_inline;
}

/* ---- the walk --------------------------------------------------------- */

static bool walk(struct walk *w, struct mailmime *mime, size_t depth, bool want_text,
                 bool in_report);

static bool walk_single(struct walk *w, struct mailmime *mime, bool want_text, bool in_report)
{
    char *type = mime_part_type(mime);
    char *name = mime_part_name(mime, w->hint);
    bool attach_disp = mime_part_is_attachment(mime);
    char *bytes = NULL;
    size_t n = 0;
    if (!mime_part_bytes(mime->mm_body ? mime->mm_body : mime->mm_data.mm_single, &bytes, &n)) {
        strv_push(&w->m->notes, "a part whose transfer encoding could not be decoded was skipped");
        free(type);
        free(name);
        return true;
    }
    bool is_text_body = !attach_disp && name == NULL;
    if (in_report && (strcmp(type, "message/delivery-status") == 0 ||
                      strcmp(type, "message/global-delivery-status") == 0)) {
        struct buf t = BUF_INIT;
        text_of(w, mime, bytes, n, &t);
        mime_dsn_fields(w->m, t.data ? t.data : "");
        w->m->is_dsn = true;
        buf_free(&t);
        free(bytes);
        free(type);
        free(name);
        return true;
    }
    if (in_report && (strcmp(type, "text/rfc822-headers") == 0 ||
                      strcmp(type, "message/global-headers") == 0)) {
        struct buf t = BUF_INIT;
        text_of(w, mime, bytes, n, &t);
        mime_dsn_original(w->m, t.data ? t.data : "");
        buf_free(&t);
        free(bytes);
        free(type);
        free(name);
        return true;
    }
    if (!attach_disp && strncmp(type, "multipart/", 10) == 0) {
        /* libetpan gave up on the structure (no usable boundary): the
         * body is all there is, so it is the text, with a word why. */
        if (want_text) {
            struct buf t = BUF_INIT;
            text_of(w, mime, bytes, n, &t);
            add_text(w, t.data ? t.data : "", t.len);
            w->plain_seen = true;
            buf_free(&t);
            struct buf note = BUF_INIT;
            buf_printf(&note, "this mail says it is %.60s but its parts cannot be told apart "
                              "(no usable boundary); its body is shown as it arrived", type);
            strv_push(&w->m->notes, note.data);
            buf_free(&note);
        }
        free(bytes);
        free(name);
        free(type);
        return true;
    }
    if (is_text_body && strcmp(type, "text/plain") == 0) {
        if (want_text) {
            struct buf t = BUF_INIT;
            text_of(w, mime, bytes, n, &t);
            flowed_decode(&t, mime_part_param(mime, "format"), mime_part_param(mime, "delsp"));
            add_text(w, t.data ? t.data : "", t.len);
            w->plain_seen = true;
            buf_free(&t);
        }
        free(bytes);
        free(type);
        return true;
    }
    if (is_text_body && strcmp(type, "text/html") == 0) {
        if (!want_text) {
            free(bytes);
            free(type);
            return true;
        }
        struct buf t = BUF_INIT;
        text_of(w, mime, bytes, n, &t);
        char *txt = html_text(t.data ? t.data : "", t.len, w->lim->max_html, w->lim->max_text);
        if (txt != NULL) {
            add_text(w, txt, strlen(txt));
            if (!w->plain_seen)
                w->m->text_from_html = true;
            free(txt);
            free(bytes);
            buf_free(&t);
        } else {
            strv_push(&w->m->notes, "the HTML body is too large or too deeply nested to render; "
                                    "it is attached instead");
            add_attachment(w, td_strdup("message.html"), "text/html", bytes, n, false);
            buf_free(&t);
        }
        free(type);
        return true;
    }
    bool is_inline = !attach_disp && strncmp(type, "image/", 6) == 0 &&
                     (mime_part_is_inline(mime) || mime_part_has_cid(mime));
    add_attachment(w, name, type, bytes, n, is_inline);
    free(type);
    return true;
}

static bool is_plain_leaf(struct mailmime *c)
{
    if (c->mm_type != MAILMIME_SINGLE || mime_part_is_attachment(c))
        return false;
    char *t = mime_part_type(c);
    bool yes = strcmp(t, "text/plain") == 0;
    free(t);
    return yes;
}

/* A leaf whose decoded body has more than white space: an empty
 * text/plain beside a real text/html must not win the alternative. */
static bool leaf_has_text(struct mailmime *c)
{
    if (c->mm_type != MAILMIME_SINGLE)
        return true;
    char *bytes = NULL;
    size_t n = 0;
    if (!mime_part_bytes(c->mm_body ? c->mm_body : c->mm_data.mm_single, &bytes, &n))
        return false;
    bool text = false;
    for (size_t i = 0; i < n && !text; i++)
        text = bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\r' && bytes[i] != '\n';
    free(bytes);
    return text;
}

static bool walk_multipart(struct walk *w, struct mailmime *mime, size_t depth, bool want_text)
{
    char *type = mime_part_type(mime);
    clist *kids = mime->mm_data.mm_multipart.mm_mp_list;
    bool ok = true;
    if (strcmp(type, "multipart/alternative") == 0) {
        /* Which child carries the text: a non-empty plain, else the last
         * multipart, else the last non-empty child (normally text/html),
         * else the last child. */
        struct mailmime *chosen = NULL, *last_multi = NULL, *last_full = NULL, *last = NULL;
        for (clistiter *it = kids ? clist_begin(kids) : NULL; it; it = clist_next(it)) {
            struct mailmime *c = clist_content(it);
            bool full = leaf_has_text(c);
            if (chosen == NULL && is_plain_leaf(c) && full)
                chosen = c;
            if (c->mm_type == MAILMIME_MULTIPLE)
                last_multi = c;
            if (full)
                last_full = c;
            last = c;
        }
        if (chosen == NULL)
            chosen = last_multi ? last_multi : last_full ? last_full : last;
        for (clistiter *it = kids ? clist_begin(kids) : NULL; ok && it; it = clist_next(it)) {
            struct mailmime *c = clist_content(it);
            ok = walk(w, c, depth + 1, want_text && c == chosen, false);
        }
    } else {
        bool report = strcmp(type, "multipart/report") == 0;
        for (clistiter *it = kids ? clist_begin(kids) : NULL; ok && it; it = clist_next(it))
            ok = walk(w, clist_content(it), depth + 1, want_text, report);
    }
    free(type);
    return ok;
}

static bool walk_message(struct walk *w, struct mailmime *mime, bool in_report)
{
    struct mailimf_fields *f = mime->mm_data.mm_message.mm_fields;
    if (in_report) {
        /* The returned original: we only need to know which mail it was. */
        for (clistiter *it = f && f->fld_list ? clist_begin(f->fld_list) : NULL; it;
             it = clist_next(it)) {
            struct mailimf_field *x = clist_content(it);
            if (x->fld_type == MAILIMF_FIELD_MESSAGE_ID && x->fld_data.fld_message_id &&
                x->fld_data.fld_message_id->mid_value && w->m->dsn_original_id == NULL)
                w->m->dsn_original_id = td_strdup(x->fld_data.fld_message_id->mid_value);
        }
        return true;
    }
    char *bytes = NULL;
    size_t n = 0;
    if (!mime_part_bytes(mime->mm_body, &bytes, &n)) {
        strv_push(&w->m->notes, "an attached message could not be decoded and was skipped");
        return true;
    }
    char *name = mime_part_name(mime, w->hint);
    if (name == NULL) {
        for (clistiter *it = f && f->fld_list ? clist_begin(f->fld_list) : NULL; it;
             it = clist_next(it)) {
            struct mailimf_field *x = clist_content(it);
            if (x->fld_type == MAILIMF_FIELD_SUBJECT && x->fld_data.fld_subject &&
                x->fld_data.fld_subject->sbj_value) {
                const char *sv = x->fld_data.fld_subject->sbj_value;
                char *subj = rfc2047_decode_hint(sv, strlen(sv), w->hint, NULL);
                struct buf b = BUF_INIT;
                buf_printf(&b, "%.150s.eml", subj[0] ? subj : "message");
                free(subj);
                char *tmp = buf_steal(&b);
                name = mime_part_clean_name(tmp);
                free(tmp);
                break;
            }
        }
    }
    add_attachment(w, name, "message/rfc822", bytes, n, false);
    return true;
}

static bool walk(struct walk *w, struct mailmime *mime, size_t depth, bool want_text,
                 bool in_report)
{
    if (depth > w->lim->max_depth)
        return td_fail(w->err, TD_INVALID, "MIME parts are nested deeper than %zu levels",
                       w->lim->max_depth);
    if (++w->parts > w->lim->max_parts)
        return td_fail(w->err, TD_INVALID, "more than %zu MIME parts", w->lim->max_parts);
    switch (mime->mm_type) {
    case MAILMIME_SINGLE:
        return walk_single(w, mime, want_text, in_report);
    case MAILMIME_MULTIPLE:
        return walk_multipart(w, mime, depth, want_text);
    case MAILMIME_MESSAGE:
        return walk_message(w, mime, in_report);
    default:
        return true;
    }
}

/* ---- the pre-scan ------------------------------------------------------ */

/* Counts lines starting with "content-type:" and with "--": each MIME
 * entity needs one of the first to nest, each part one of the second. */
static bool prescan(const char *raw, size_t len, const struct mime_limits *lim,
                    struct td_err *err)
{
    size_t types = 0, delims = 0;
    for (size_t i = 0; i < len;) {
        if (len - i >= 13 && strncasecmp(raw + i, "content-type:", 13) == 0)
            types++;
        else if (len - i >= 2 && raw[i] == '-' && raw[i + 1] == '-')
            delims++;
        const char *nl = memchr(raw + i, '\n', len - i);
        if (nl == NULL)
            break;
        i = (size_t)(nl - raw) + 1;
    }
    if (types > lim->max_parts)
        return td_fail(err, TD_INVALID, "more than %zu MIME parts (%zu Content-Type fields)",
                       lim->max_parts, types);
    if (delims > 4 * lim->max_parts + 100)
        return td_fail(err, TD_INVALID, "more than %zu MIME parts (%zu boundary lines)",
                       lim->max_parts, delims);
    return true;
}

/* ---- the top ------------------------------------------------------------- */

/* A decoded header that holds control characters (an RFC 2047 word
 * for CR LF, say) is only data: they are spaces in the result, and
 * outgoing mail never copies a header raw (notify/ encodes its own). */
static void header_text(struct mime_msg *m, const char *name, const char *hint, char **out)
{
    const char *v = mime_header(m, name);
    bool ctl = false;
    *out = rfc2047_decode_hint(v ? v : "", v ? strlen(v) : 0, hint, &ctl);
    if (ctl) {
        struct buf note = BUF_INIT;
        buf_printf(&note, "the %s header decodes to control characters; they are shown as "
                          "spaces", name);
        strv_push(&m->notes, note.data);
        buf_free(&note);
    }
}

/* Nothing readable came out of a body that is not empty: the parser
 * gave up somewhere. The raw body is kept as the text, with a note,
 * rather than an empty comment nobody can explain. */
static void raw_body_fallback(struct mime_msg *m, const char *raw, size_t len, size_t header_len,
                              const char *hint)
{
    size_t b = header_len < len ? header_len : len;
    bool blank = true;
    for (size_t i = b; i < len && blank; i++)
        blank = raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n';
    if (blank)
        return;
    struct buf t = BUF_INIT;
    size_t n = len - b > (1u << 20) ? (1u << 20) : len - b;
    charset_to_utf8_hint(NULL, hint, raw + b, n, &t, NULL);
    normalize_newlines(&t);
    free(m->text);
    m->text = buf_steal(&t);
    strv_push(&m->notes, "no readable text was found in this mail's MIME structure; its raw "
                         "body is shown as it arrived");
}

bool mime_parse(const char *raw, size_t len, const struct mime_limits *lim, struct mime_msg *out,
                struct td_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > lim->max_bytes)
        return td_fail(err, TD_TOO_LARGE, "the mail is %zu bytes; the limit is %zu", len,
                       lim->max_bytes);
    /* An mbox "From " line or one junk line above the fields is not
     * part of the mail (mime_repair.c). */
    size_t skip = mime_preamble_len(raw, len);
    raw += skip;
    len -= skip;
    if (!prescan(raw, len, lim, err) || !mime_headers_split(raw, len, out, err))
        goto fail;
    out->header_len += skip;
    /* The charset for undeclared 8-bit text: what the mail declares
     * elsewhere, else what a detector says of the whole mail. */
    char hint[48];
    mime_declared_charset(raw, len, hint);
    if (hint[0] == '\0' && !utf8_valid(raw, len))
        (void)charset_detect(raw, len, hint);
    header_text(out, "Subject", hint, &out->subject);
    struct strv ids = STRV_INIT;
    mime_msgids(mime_header(out, "Message-ID"), &ids);
    if (ids.n)
        out->message_id = td_strdup(ids.v[0]);
    strv_clear(&ids);
    mime_msgids(mime_header(out, "In-Reply-To"), &ids);
    if (ids.n)
        out->in_reply_to = td_strdup(ids.v[0]);
    strv_clear(&ids);
    mime_msgids(mime_header(out, "References"), &out->references);

    /* libetpan's decoders read a byte or two past the end of a part that
     * ends in a broken escape (a quoted-printable "=" at the very end;
     * found by tests/fuzz): it gets a copy with NUL padding, so such a
     * read stays inside memory we own. */
    size_t in_len = 0;
    char *fixed = mime_close_open_parts(raw, len, lim->max_depth, &in_len);
    if (fixed == NULL)
        in_len = len;
    char *pad = td_malloc(in_len + MIME_PAD);
    memcpy(pad, fixed ? fixed : raw, in_len);
    memset(pad + in_len, 0, MIME_PAD);
    free(fixed);
    size_t idx = 0;
    struct mailmime *mime = NULL;
    int r = mailmime_parse(pad, in_len, &idx, &mime);
    if (r != MAILIMF_NO_ERROR || mime == NULL) {
        free(pad);
        td_fail(err, TD_INVALID, "libetpan cannot parse the MIME structure (error %d)", r);
        goto fail;
    }
    struct walk w = { .lim = lim, .m = out, .text = BUF_INIT, .hint = hint, .err = err };
    bool ok = true;
    if (mime->mm_type == MAILMIME_MESSAGE) {
        mime_envelope(mime->mm_data.mm_message.mm_fields, out, hint);
        if (mime->mm_data.mm_message.mm_msg_mime)
            ok = walk(&w, mime->mm_data.mm_message.mm_msg_mime, 1, true, false);
    } else {
        ok = walk(&w, mime, 1, true, false);
    }
    mailmime_free(mime);
    free(pad);
    out->text = buf_steal(&w.text);
    if (!ok)
        goto fail;
    if (w.dropped) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "%zu attachments over the limit of %zu were dropped", w.dropped,
                   lim->max_attachments);
        strv_push(&out->notes, b.data);
        buf_free(&b);
    }
    /* libetpan could not read From: take the address from the raw field. */
    if (out->from_addr == NULL) {
        out->from_addr = mime_addr_extract(mime_header(out, "From"));
        if (out->from_addr)
            strv_push(&out->notes, "the From field is malformed; its address was used");
    }
    for (char *c = out->from_name; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F)
            *c = ' '; /* data, like the Subject's */
    if (out->text == NULL)
        out->text = td_strdup("");
    if (out->text[0] == '\0' && out->n_atts == 0)
        raw_body_fallback(out, raw, len, out->header_len - skip, hint);
    return true;
fail:
    mime_msg_clear(out);
    return false;
}

void mime_msg_clear(struct mime_msg *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->message_id);
    free(m->in_reply_to);
    strv_clear(&m->references);
    free(m->subject);
    free(m->from_addr);
    free(m->from_name);
    strv_clear(&m->recipients);
    free(m->text);
    for (size_t i = 0; i < m->n_atts; i++) {
        free(m->atts[i].name);
        free(m->atts[i].content_type);
        free(m->atts[i].data);
    }
    free(m->atts);
    free(m->dsn_original_id);
    free(m->dsn_summary);
    strv_clear(&m->notes);
    memset(m, 0, sizeof *m);
}

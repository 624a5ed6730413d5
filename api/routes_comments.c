/* routes_comments.c - comments of a ticket and attachment downloads.
 *
 * POST /tickets/{n}/comments takes JSON {body, internal, cc} or, to
 * upload files, multipart/form-data with the fields "body", "internal"
 * ("true"/"false"), "cc" (comma-separated) and any number of file parts
 * named "attachment". cc: addresses that join the conversation
 * (core/participant.h) and get this comment.
 * Size limits: the server bounds the whole upload ([api]
 * max_upload_bytes); core bounds each attachment and the text.
 *
 * GET /attachments/{id} serves the bytes only if the actor may see the
 * comment holding them (core: comment_attachment_get). They are served
 * as a download (Content-Disposition: attachment, a sandboxing CSP,
 * nosniff) so an uploaded HTML file cannot run as the API's origin. */
#include "api_int.h"

#include "core/comment.h"
#include "core/id.h"
#include "core/mem.h"
#include "core/participant.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

void h_comments_list(struct api_req *r, struct api_resp *out)
{
    int64_t number, offset, limit;
    if (!param_ticket(r, &number, out) || !query_page(r, &offset, &limit, out))
        return;
    struct td_comment_list list = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!comment_list(r->api->core, &r->user, number, &list, &err)) {
        problem_from_err(out, &err);
        return;
    }
    /* Oldest first; comments are only ever appended, so an offset is a
     * stable cursor. */
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < list.n && i < (size_t)(offset + limit); i++)
        json_array_append_new(items, json_comment(&list.v[i]));
    json_t *next = query_page_next(offset, limit, list.n);
    size_t total = list.n;
    comment_list_clear(&list);
    resp_json(out, 200, json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor", next, "total",
                                  (json_int_t)total));
}

/* cc (may be NULL or empty): addresses that join the conversation
 * before the comment is written, so they are mailed it too. */
static void add_and_reply(struct api_req *r, struct api_resp *out, int64_t number,
                          const struct comment_new *in, const struct strv *cc)
{
    struct td_comment c;
    struct td_err err;
    td_err_clear(&err);
    if (cc && cc->n > 0 &&
        !participant_add_emails(r->api->core, &r->user, number, cc, NULL, &err)) {
        problem_from_err(out, &err);
        return;
    }
    if (!comment_add(r->api->core, &r->user, number, in, &c, &err)) {
        problem_from_err(out, &err);
        return;
    }
    resp_json(out, 201, json_comment(&c));
    comment_clear(&c);
}

static void create_multipart(struct api_req *r, struct api_resp *out, int64_t number,
                             const char *ctype)
{
    struct mp_form form;
    struct td_err err;
    td_err_clear(&err);
    if (!multipart_parse(ctype, r->body.data ? r->body.data : "", r->body.len, &form, &err)) {
        problem_from_err(out, &err);
        return;
    }
    struct field_errors fe = { .n = 0 };
    struct attachment_in atts[MP_MAX_PARTS];
    size_t n_atts = 0;
    char *body = NULL;
    struct strv cc = STRV_INIT;
    bool internal = false, seen_body = false, seen_internal = false, seen_cc = false;
    for (size_t i = 0; i < form.n; i++) {
        struct mp_part *p = &form.parts[i];
        if (strcmp(p->name, "attachment") == 0) {
            if (p->filename == NULL) {
                field_error(&fe, "attachment", "must be a file part (with a filename)");
                continue;
            }
            atts[n_atts++] = (struct attachment_in){ p->filename, p->content_type, p->data, p->len,
                                                     false };
        } else if (strcmp(p->name, "body") == 0 && !seen_body && p->filename == NULL) {
            seen_body = true;
            /* Core checks UTF-8 and size; a NUL inside would cut the text
             * short silently, so refuse it here. */
            if (memchr(p->data, '\0', p->len) != NULL)
                field_error(&fe, "body", "must not contain NUL characters");
            else
                body = td_strndup((const char *)p->data, p->len);
        } else if (strcmp(p->name, "cc") == 0 && !seen_cc && p->filename == NULL) {
            seen_cc = true; /* comma-separated addresses */
            char *list = td_strndup((const char *)p->data, p->len);
            for (char *save = NULL, *tok = strtok_r(list, ", \t\r\n", &save); tok;
                 tok = strtok_r(NULL, ", \t\r\n", &save))
                strv_push(&cc, tok);
            free(list);
        } else if (strcmp(p->name, "internal") == 0 && !seen_internal && p->filename == NULL) {
            seen_internal = true;
            if (p->len == 4 && memcmp(p->data, "true", 4) == 0)
                internal = true;
            else if (!(p->len == 5 && memcmp(p->data, "false", 5) == 0))
                field_error(&fe, "internal", "must be true or false");
        } else {
            field_error(&fe, p->name, "unknown or repeated form field");
        }
    }
    if (fe.n > 0) {
        problem_fields(out, "bad form fields", &fe);
    } else {
        struct comment_new in = {
            .body = body ? body : "",
            .internal = internal,
            .source = SOURCE_API,
            .attachments = atts,
            .n_attachments = n_atts,
        };
        add_and_reply(r, out, number, &in, &cc);
    }
    strv_clear(&cc);
    free(body);
    multipart_free(&form);
}

void h_comments_create(struct api_req *r, struct api_resp *out)
{
    int64_t number;
    if (!param_ticket(r, &number, out))
        return;
    const char *ctype = req_header(r, "Content-Type");
    if (multipart_is_form(ctype)) {
        create_multipart(r, out, number, ctype);
        return;
    }
    if (r->body.len > r->api->set.max_request_bytes) {
        /* Only multipart uploads get the larger limit. */
        problem(out, 413, "too_large", "a JSON body is larger than the limit; upload files as multipart/form-data", NULL);
        return;
    }
    const char *body = NULL;
    bool internal = false;
    struct strv cc = STRV_INIT;
    const struct jf_field fields[] = {
        { "body", JF_STRING, true, &body, NULL },
        { "internal", JF_BOOL, false, &internal, NULL },
        { "cc", JF_STRING_ARRAY, false, &cc, NULL },
    };
    json_t *doc;
    if (!json_in_parse(r, fields, 3, false, &doc, out)) {
        strv_clear(&cc);
        return;
    }
    struct comment_new in = { .body = body, .internal = internal, .source = SOURCE_API };
    add_and_reply(r, out, number, &in, &cc);
    strv_clear(&cc);
    json_decref(doc);
}

/* Content-Disposition with an ASCII fallback and the UTF-8 name
 * (RFC 6266 / 8187). */
static void disposition(struct api_resp *out, const char *name)
{
    char ascii[128], ext[600];
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && a + 1 < sizeof ascii; p++)
        ascii[a++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '/') ? (char)*p : '_';
    ascii[a] = '\0';
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p && e + 4 < sizeof ext; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("!#$&+-.^_`|~", *p)) {
            ext[e++] = (char)*p;
        } else {
            ext[e++] = '%';
            ext[e++] = hex[*p >> 4];
            ext[e++] = hex[*p & 15];
        }
    }
    ext[e] = '\0';
    resp_header(out, "Content-Disposition", "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                a ? ascii : "attachment", e ? ext : "attachment");
}

/* The stored type if it is a plain token/token, else octet-stream. */
static const char *safe_type(const char *t)
{
    if (t == NULL || t[0] == '\0' || strlen(t) > 100)
        return "application/octet-stream";
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return "application/octet-stream";
    return t;
}

void h_attachment_get(struct api_req *r, struct api_resp *out)
{
    if (r->n_params < 1 || !id_valid(r->params[0])) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "id", "an attachment id is 24 lower-case hex characters");
        problem_fields(out, "bad attachment id in the path", &fe);
        return;
    }
    struct td_attachment a;
    struct td_err err;
    td_err_clear(&err);
    if (!comment_attachment_get(r->api->core, &r->user, r->params[0], &a, &err)) {
        problem_from_err(out, &err);
        return;
    }
    /* The type string must outlive the response headers: copy it into
     * the header buffer before the attachment is cleared. */
    resp_header(out, "Content-Type", "%s", safe_type(a.content_type));
    disposition(out, a.name ? a.name : "attachment");
    resp_header(out, "Content-Security-Policy", "default-src 'none'; sandbox");
    resp_bytes(out, 200, NULL, a.data, a.size);
    a.data = NULL; /* now the response's */
    attachment_clear(&a);
}

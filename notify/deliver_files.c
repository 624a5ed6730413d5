/* deliver_files.c - see deliver_files.h. */
#include "notify/deliver_files.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

static void human_size(size_t n, char *out, size_t len)
{
    if (n < 1024)
        snprintf(out, len, "%zu bytes", n);
    else if (n < 1024 * 1024)
        snprintf(out, len, "%.1f KB", (double)n / 1024.0);
    else
        snprintf(out, len, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

static void html_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        default: buf_putc(b, *s);
        }
    }
}

static void list_line(struct deliver_files *f, const char *name, size_t size, const char *state)
{
    char sz[32];
    human_size(size, sz, sizeof sz);
    buf_printf(&f->text, "- %s (%s)%s\n", name, sz, state);
    buf_puts(&f->html, "<li>");
    html_escape(&f->html, name);
    buf_printf(&f->html, " (%s)", sz);
    html_escape(&f->html, state);
    buf_puts(&f->html, "</li>\n");
}

bool deliver_files_load(struct store *st, const json_t *files, size_t max_total,
                        bool always_list, const char *where, struct deliver_files *out,
                        struct td_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = json_is_array(files) ? json_array_size(files) : 0;
    if (n == 0)
        return true;
    out->owned = td_calloc(n, sizeof *out->owned);
    out->v = td_calloc(n, sizeof *out->v);
    size_t total = 0;
    bool listed_any = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(files, i);
        const char *id = json_string_value(json_object_get(f, "id"));
        const char *name = json_string_value(json_object_get(f, "name"));
        json_int_t size = json_integer_value(json_object_get(f, "size"));
        bool is_inline = json_is_true(json_object_get(f, "inline"));
        if (id == NULL || size < 0)
            continue;
        if (name == NULL || name[0] == '\0')
            name = "attachment";
        const char *state = "";
        if (total + (size_t)size <= max_total) {
            struct td_attachment a;
            struct td_err e;
            td_err_clear(&e);
            if (st->ops->attachment_get(st, id, &a, &e)) {
                total += a.size;
                out->owned[out->n_owned++] = a;
                const char *cid = NULL;
                if (is_inline && out->n_cids < DELIVER_MAX_INLINE) {
                    /* An image of an HTML mail stays in the HTML. */
                    char *slot = out->cids[out->n_cids++];
                    snprintf(slot, DELIVER_CID_LEN, "<att-%.24s@ticketd>", a.id);
                    cid = slot;
                    buf_printf(&out->inline_html, "<p><img src=\"cid:att-%.24s@ticketd\" alt=\"", a.id);
                    html_escape(&out->inline_html, name);
                    buf_puts(&out->inline_html, "\"></p>\n");
                }
                out->v[out->n++] = (struct message_attachment){ a.name ? a.name : name,
                                                                a.content_type, a.data, a.size,
                                                                cid };
                state = cid ? ", shown in the mail" : ", attached";
            } else if (e.code == TD_UNAVAILABLE) {
                deliver_files_clear(out);
                if (err)
                    *err = e;
                return false;
            } else {
                state = ", no longer available";
            }
        } else {
            state = where && where[0] ? ", too large to attach: get it from the ticket"
                                      : ", too large to attach: reply to ask for it";
        }
        if (always_list || (strcmp(state, ", attached") != 0 && strcmp(state, ", shown in the mail") != 0)) {
            list_line(out, name, (size_t)size, state);
            listed_any = true;
        }
    }
    if (!listed_any) {
        buf_free(&out->html);
        if (out->inline_html.len)
            buf_append(&out->html, out->inline_html.data, out->inline_html.len);
    } else {
        struct buf t = BUF_INIT, h = BUF_INIT;
        buf_printf(&t, "\nFiles:\n%s", out->text.data);
        if (out->inline_html.len)
            buf_append(&h, out->inline_html.data, out->inline_html.len);
        if (where && where[0])
            buf_printf(&t, "Ticket: %s\n", where);
        buf_puts(&h, "<p>Files:</p><ul>\n");
        buf_append(&h, out->html.data, out->html.len);
        buf_puts(&h, "</ul>\n");
        if (where && where[0]) {
            buf_puts(&h, "<p>Ticket: ");
            html_escape(&h, where);
            buf_puts(&h, "</p>\n");
        }
        buf_free(&out->text);
        buf_free(&out->html);
        out->text = t;
        out->html = h;
    }
    return true;
}

void deliver_files_clear(struct deliver_files *f)
{
    for (size_t i = 0; i < f->n_owned; i++)
        attachment_clear(&f->owned[i]);
    free(f->owned);
    free(f->v);
    buf_free(&f->text);
    buf_free(&f->html);
    buf_free(&f->inline_html);
    memset(f, 0, sizeof *f);
}

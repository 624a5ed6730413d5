/* template.c - see template.h.
 *
 * Templates are validated once at load (every {{name}} known, UTF-8,
 * header part well-formed) and kept as text; rendering re-scans them,
 * which costs nothing next to sending a mail and keeps one scanner for
 * both. */
#include "template.h"
#include "buf.h"
#include "mem.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const template_var_names[] = {
    "ticket_number", "subject", "status", "old_status", "priority", "queue",
    "author", "author_email", "body", "ticket_url", "requester", "requester_email",
    "assignee", "assignee_email", "recipient", "recipient_email", "support_address",
    /* Account mails (notify.h "Account mails"): not about a ticket. */
    "claim_token", "claim_valid_minutes", "mail_subject", "confirm_token",
    "reset_link", "reset_token", "reset_valid_minutes", "claim_url",
    /* webhook_disabled (hooks/) */
    "webhook_id", "webhook_url", "webhook_reason",
    /* Conversations (issue 10): the others of the conversation, and the
     * agent an agent's reply is from. */
    "cc", "via",
    /* Alias confirmation (core/alias.h). */
    "alias", "agent_email", "confirm_link", "confirm_valid_hours",
    /* sla_escalated (core/sla_escalate.h): which due time passed, when,
     * and the [sla NAME] policy. */
    "sla_due", "sla_due_at", "sla_policy",
    NULL,
};

#define MAX_VAR_NAME 64

struct tpl {
    char *kind;
    char *path;      /* the .txt it came from */
    char *subject;   /* template text of the Subject value */
    char *text;      /* body template */
    char *html;      /* NULL: none */
};

struct template_set {
    struct tpl *v;
    size_t n;
};

bool template_var_known(const char *name)
{
    for (size_t i = 0; template_var_names[i]; i++)
        if (strcmp(template_var_names[i], name) == 0)
            return true;
    return false;
}

enum ctx { CTX_HEADER, CTX_TEXT, CTX_HTML };

static void put_escaped(struct buf *b, const char *v, enum ctx ctx)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        unsigned char c = *p;
        switch (ctx) {
        case CTX_HEADER:
            buf_putc(b, (c < 0x20 || c == 0x7F) ? ' ' : (char)c);
            break;
        case CTX_TEXT:
            if (c != '\r') /* line ends are LF here; the MIME layer makes CRLF */
                buf_putc(b, (char)c);
            break;
        case CTX_HTML:
            if (c == '&')
                buf_puts(b, "&amp;");
            else if (c == '<')
                buf_puts(b, "&lt;");
            else if (c == '>')
                buf_puts(b, "&gt;");
            else if (c == '"')
                buf_puts(b, "&quot;");
            else if (c == '\'')
                buf_puts(b, "&#39;");
            else if (c == '\n')
                buf_puts(b, "<br>\n");
            else if (c != '\r')
                buf_putc(b, (char)c);
            break;
        }
    }
}

/* Scans s for {{name}}. With out == NULL it only validates (err names
 * path:line); else it appends the rendering to out. */
static bool scan(const char *s, const char *path, int first_line, enum ctx ctx,
                 const struct template_var *vars, size_t n_vars, struct buf *out,
                 struct td_err *err)
{
    int line = first_line;
    const char *p = s;
    while (*p) {
        const char *open = strstr(p, "{{");
        const char *lit_end = open ? open : p + strlen(p);
        for (const char *q = p; q < lit_end; q++)
            if (*q == '\n')
                line++;
        if (out)
            buf_append(out, p, (size_t)(lit_end - p));
        if (open == NULL)
            break;
        const char *close = strstr(open + 2, "}}");
        const char *nl = strchr(open + 2, '\n');
        if (close == NULL || (nl && nl < close))
            return td_fail(err, TD_INVALID, "%s:%d: '{{' without '}}' on the same line", path, line);
        const char *a = open + 2, *z = close;
        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        char name[MAX_VAR_NAME + 1];
        size_t nlen = (size_t)(z - a);
        if (nlen == 0 || nlen > MAX_VAR_NAME) {
            return td_fail(err, TD_INVALID, "%s:%d: empty or overlong variable name", path, line);
        }
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        if (!template_var_known(name))
            return td_fail(err, TD_INVALID, "%s:%d: unknown variable {{%s}}", path, line, name);
        if (out) {
            const char *v = NULL;
            for (size_t i = 0; i < n_vars; i++)
                if (strcmp(vars[i].name, name) == 0)
                    v = vars[i].value;
            put_escaped(out, v ? v : "", ctx);
        }
        p = close + 2;
    }
    return true;
}

static bool read_file(const char *path, char **out, bool *missing, struct td_err *err)
{
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            *missing = true;
            return false;
        }
        return td_fail(err, TD_INVALID, "cannot open %s: %s", path, strerror(errno));
    }
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > TEMPLATE_MAX_BYTES) {
            ok = td_fail(err, TD_INVALID, "%s is larger than %d bytes", path, TEMPLATE_MAX_BYTES);
            break;
        }
        buf_append(&b, chunk, n);
    }
    if (ok && ferror(f))
        ok = td_fail(err, TD_INVALID, "cannot read %s", path);
    fclose(f);
    if (ok && (memchr(b.data ? b.data : "", '\0', b.len) != NULL || !utf8_valid(b.data ? b.data : "", b.len)))
        ok = td_fail(err, TD_INVALID, "%s is not valid UTF-8 text", path);
    if (!ok) {
        buf_free(&b);
        return false;
    }
    /* CRLF -> LF: templates edited on any system render the same. */
    char *s = buf_steal(&b);
    char *w = s;
    for (const char *r = s; *r; r++)
        if (!(r[0] == '\r' && r[1] == '\n'))
            *w++ = *r;
    *w = '\0';
    *out = s;
    return true;
}

/* Splits a .txt into its Subject and body, validating both. */
static bool parse_txt(struct tpl *t, char *s, struct td_err *err)
{
    int line = 0;
    char *p = s;
    int body_line = 1;
    for (;;) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            return td_fail(err, TD_INVALID, "%s:%d: the header part must end with an empty line",
                           t->path, line);
        *nl = '\0';
        if (*p == '\0') {
            p = nl + 1;
            body_line = line + 1;
            break;
        }
        char *colon = strchr(p, ':');
        if (colon == NULL)
            return td_fail(err, TD_INVALID, "%s:%d: expected 'Subject: ...'", t->path, line);
        *colon = '\0';
        if (strcasecmp(p, "Subject") != 0)
            return td_fail(err, TD_INVALID, "%s:%d: unknown header '%.40s' (only Subject)",
                           t->path, line, p);
        if (t->subject)
            return td_fail(err, TD_INVALID, "%s:%d: Subject given twice", t->path, line);
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        for (char *q = v; *q; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return td_fail(err, TD_INVALID, "%s:%d: control character in Subject", t->path, line);
        if (!scan(v, t->path, line, CTX_HEADER, NULL, 0, NULL, err))
            return false;
        t->subject = td_strdup(v);
        p = nl + 1;
    }
    if (t->subject == NULL || t->subject[0] == '\0')
        return td_fail(err, TD_INVALID, "%s: no Subject", t->path);
    if (!scan(p, t->path, body_line, CTX_TEXT, NULL, 0, NULL, err))
        return false;
    t->text = td_strdup(p);
    return true;
}

static void tpl_clear(struct tpl *t)
{
    free(t->kind);
    free(t->path);
    free(t->subject);
    free(t->text);
    free(t->html);
    memset(t, 0, sizeof *t);
}

void template_set_free(struct template_set *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->n; i++)
        tpl_clear(&ts->v[i]);
    free(ts->v);
    free(ts);
}

static bool kind_ok(const char *k)
{
    if (k == NULL || *k == '\0' || strlen(k) > 64)
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static bool load_one(const char *const *dirs, size_t n_dirs, const char *kind, struct tpl *t,
                     struct td_err *err)
{
    memset(t, 0, sizeof *t);
    t->kind = td_strdup(kind);
    for (size_t d = 0; d < n_dirs; d++) {
        if (dirs[d] == NULL || dirs[d][0] == '\0')
            continue;
        char path[1024];
        int n = snprintf(path, sizeof path, "%s/%s.txt", dirs[d], kind);
        if (n < 0 || (size_t)n >= sizeof path)
            return td_fail(err, TD_INVALID, "template directory path too long: %.100s", dirs[d]);
        char *s = NULL;
        bool missing;
        if (!read_file(path, &s, &missing, err)) {
            if (missing)
                continue;
            return false;
        }
        t->path = td_strdup(path);
        bool ok = parse_txt(t, s, err);
        free(s);
        if (!ok)
            return false;
        snprintf(path, sizeof path, "%s/%s.html", dirs[d], kind);
        if (read_file(path, &s, &missing, err)) {
            ok = scan(s, path, 1, CTX_HTML, NULL, 0, NULL, err);
            if (ok)
                t->html = s;
            else
                free(s);
            return ok;
        }
        return missing;
    }
    struct buf where = BUF_INIT;
    for (size_t d = 0; d < n_dirs; d++)
        if (dirs[d] && dirs[d][0])
            buf_printf(&where, "%s%s", where.len ? ", " : "", dirs[d]);
    td_fail(err, TD_INVALID, "no template %s.txt in %s", kind, where.len ? where.data : "(no directory)");
    buf_free(&where);
    return false;
}

bool template_set_load(const char *const *dirs, size_t n_dirs, const char *const *kinds,
                       size_t n_kinds, struct template_set **out, struct td_err *err)
{
    struct template_set *ts = td_calloc(1, sizeof *ts);
    ts->v = td_calloc(n_kinds ? n_kinds : 1, sizeof *ts->v);
    for (size_t i = 0; i < n_kinds; i++) {
        if (!kind_ok(kinds[i])) {
            template_set_free(ts);
            return td_fail(err, TD_INVALID, "bad template name '%.64s'", kinds[i] ? kinds[i] : "");
        }
        bool ok = load_one(dirs, n_dirs, kinds[i], &ts->v[ts->n], err);
        ts->n++;
        if (!ok) {
            template_set_free(ts);
            return false;
        }
    }
    *out = ts;
    return true;
}

static const struct tpl *find(const struct template_set *ts, const char *kind)
{
    for (size_t i = 0; ts && kind && i < ts->n; i++)
        if (strcmp(ts->v[i].kind, kind) == 0)
            return &ts->v[i];
    return NULL;
}

const char *template_set_path(const struct template_set *ts, const char *kind)
{
    const struct tpl *t = find(ts, kind);
    return t ? t->path : NULL;
}

void template_output_clear(struct template_output *o)
{
    if (o == NULL)
        return;
    free(o->subject);
    free(o->text);
    free(o->html);
    memset(o, 0, sizeof *o);
}

bool template_render(const struct template_set *ts, const char *kind,
                     const struct template_var *vars, size_t n_vars, struct template_output *out,
                     struct td_err *err)
{
    const struct tpl *t = find(ts, kind);
    if (t == NULL)
        return td_fail(err, TD_NOT_FOUND, "no template '%.64s'", kind ? kind : "");
    struct buf s = BUF_INIT, x = BUF_INIT, h = BUF_INIT;
    /* Validated at load: these scans cannot fail. */
    (void)scan(t->subject, t->path, 1, CTX_HEADER, vars, n_vars, &s, NULL);
    (void)scan(t->text, t->path, 1, CTX_TEXT, vars, n_vars, &x, NULL);
    if (t->html)
        (void)scan(t->html, t->path, 1, CTX_HTML, vars, n_vars, &h, NULL);
    /* Trim the subject: a value may have been only white space. */
    char *subj = buf_steal(&s);
    char *a = subj;
    while (*a == ' ')
        a++;
    size_t len = strlen(a);
    while (len > 0 && a[len - 1] == ' ')
        a[--len] = '\0';
    memset(out, 0, sizeof *out);
    out->subject = td_strdup(a);
    free(subj);
    out->text = buf_steal(&x);
    out->html = t->html ? buf_steal(&h) : NULL;
    buf_free(&h);
    return true;
}

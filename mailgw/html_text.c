/* html_text.c - see html_text.h.
 *
 * Two bounds keep hostile HTML cheap: a linear pre-scan estimates the
 * nesting depth from the tags (void elements and those with optional
 * end tags do not count) and refuses documents deeper than
 * HTML_TEXT_MAX_DEPTH before gumbo sees them, and the tree walk uses an
 * explicit stack, so depth never turns into C recursion. */
#include "html_text.h"

#include <gumbo.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

/* ---- the pre-scan --------------------------------------------------- */

static bool uncounted(const char *name, size_t n)
{
    static const char *const tags[] = { "br",  "img",    "hr",    "meta",  "link", "input",
                                        "area", "base",  "col",   "embed", "param", "source",
                                        "track", "wbr",  "p",     "li",    "td",   "th",
                                        "tr",   "option", "dt",   "dd",    "!",    "?" };
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
        if (strlen(tags[i]) == n && strncasecmp(tags[i], name, n) == 0)
            return true;
    return false;
}

static size_t estimate_depth(const char *s, size_t len)
{
    size_t depth = 0, max = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '<')
            continue;
        bool end = s[i + 1] == '/';
        size_t j = i + 1 + (end ? 1 : 0), start = j;
        while (j < len && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                           (s[j] >= '0' && s[j] <= '9')))
            j++;
        if (j == start || uncounted(s + start, j - start))
            continue;
        /* Self-closing "<x ... />": look for the end of the tag. */
        const char *gt = memchr(s + j, '>', len - j);
        bool self_closing = gt && gt > s + j && gt[-1] == '/';
        if (end) {
            if (depth > 0)
                depth--;
        } else if (!self_closing) {
            depth++;
            if (depth > max)
                max = depth;
        }
    }
    return max;
}

/* ---- the text emitter ------------------------------------------------ */

struct emit {
    struct buf out;
    size_t max;
    int quote;        /* blockquote depth */
    int pending_nl;   /* newlines owed before the next text */
    int pending_quote; /* quote depth when they were first owed */
    bool space;       /* a space owed before the next word */
    bool any;         /* something was written */
    bool line_start;
    bool full;
};

static void want_nl(struct emit *e, int n)
{
    if (e->any && e->pending_nl == 0)
        e->pending_quote = e->quote;
    if (e->any && e->pending_nl < n)
        e->pending_nl = n;
    e->space = false;
}

static void start_line(struct emit *e)
{
    for (int i = 0; i < e->quote; i++)
        buf_puts(&e->out, "> ");
}

static void put(struct emit *e, const char *s, size_t n)
{
    if (e->full || n == 0)
        return;
    for (int i = 0; i < e->pending_nl; i++) {
        /* No trailing blanks: "> " on an empty line becomes ">". */
        while (e->out.len > 0 && e->out.data[e->out.len - 1] == ' ')
            e->out.data[--e->out.len] = '\0';
        buf_putc(&e->out, '\n');
        /* A blank line belongs to the quote only if it is inside it on
         * both sides. */
        int q = e->quote < e->pending_quote ? e->quote : e->pending_quote;
        if (i + 1 < e->pending_nl && q > 0) {
            for (int k = 0; k < q; k++)
                buf_putc(&e->out, '>');
        }
    }
    if (e->pending_nl > 0 || !e->any) {
        e->line_start = true;
        e->space = false;
    }
    e->pending_nl = 0;
    if (e->line_start) {
        start_line(e);
        e->line_start = false;
    } else if (e->space) {
        buf_putc(&e->out, ' ');
    }
    e->space = false;
    buf_append(&e->out, s, n);
    e->any = true;
    if (e->out.len > e->max) {
        e->out.len = e->max;
        /* Do not leave half a UTF-8 sequence behind. */
        while (e->out.len > 0 && ((unsigned char)e->out.data[e->out.len] & 0xC0) == 0x80)
            e->out.len--;
        e->out.data[e->out.len] = '\0';
        buf_puts(&e->out, "\n[ticketd: the rest of the HTML text was cut]");
        e->full = true;
    }
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Text node: white space collapses to single spaces; U+00A0 counts as a
 * space too (mail HTML is full of &nbsp;). */
static void put_text(struct emit *e, const char *s, bool pre)
{
    if (pre) {
        const char *p = s;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n && p[n - 1] == '\r')
                n--;
            put(e, p, n);
            if (!nl)
                break;
            if (e->pending_nl == 0)
                e->pending_quote = e->quote;
            e->pending_nl++;
            p = nl + 1;
        }
        return;
    }
    size_t i = 0;
    while (s[i]) {
        if (is_ws((unsigned char)s[i]) || ((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] == 0xA0)) {
            if (e->any && !e->line_start)
                e->space = true;
            i += (unsigned char)s[i] == 0xC2 ? 2 : 1;
            continue;
        }
        size_t j = i;
        while (s[j] && !is_ws((unsigned char)s[j]) &&
               !((unsigned char)s[j] == 0xC2 && (unsigned char)s[j + 1] == 0xA0))
            j++;
        put(e, s + i, j - i);
        i = j;
    }
}

/* ---- the walk -------------------------------------------------------- */

static bool skipped(GumboTag t)
{
    return t == GUMBO_TAG_HEAD || t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE ||
           t == GUMBO_TAG_TITLE || t == GUMBO_TAG_TEMPLATE || t == GUMBO_TAG_NOSCRIPT ||
           t == GUMBO_TAG_SVG || t == GUMBO_TAG_OBJECT || t == GUMBO_TAG_IFRAME;
}

/* Newlines around an element: 2 = paragraph break, 1 = line break. */
static int block_kind(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
    case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_UL:
    case GUMBO_TAG_OL: case GUMBO_TAG_TABLE: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE:
        return 2;
    case GUMBO_TAG_DIV: case GUMBO_TAG_TR: case GUMBO_TAG_LI: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_FORM:
    case GUMBO_TAG_CENTER: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_DL: case GUMBO_TAG_DT:
    case GUMBO_TAG_DD: case GUMBO_TAG_BODY: case GUMBO_TAG_HR: case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_FIGURE: case GUMBO_TAG_NAV: case GUMBO_TAG_MAIN: case GUMBO_TAG_ASIDE:
        return 1;
    default:
        return 0;
    }
}

struct frame {
    GumboNode *node;
    unsigned next;
    size_t link_start; /* output length when an <a> opened */
};

static const char *attr(GumboNode *n, const char *name)
{
    GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
    return a ? a->value : NULL;
}

static void open_element(struct emit *e, GumboNode *n, int *pre)
{
    GumboTag t = n->v.element.tag;
    int b = block_kind(t);
    if (b)
        want_nl(e, b);
    switch (t) {
    case GUMBO_TAG_BR:
        if (!e->any)
            break;
        if (e->pending_nl == 0)
            e->pending_quote = e->quote;
        e->pending_nl++;
        e->space = false;
        break;
    case GUMBO_TAG_LI:
        put(e, "-", 1);
        e->space = true;
        break;
    case GUMBO_TAG_TD: case GUMBO_TAG_TH:
        if (e->any && !e->line_start && e->pending_nl == 0)
            e->space = true;
        break;
    case GUMBO_TAG_HR:
        put(e, "________________________________", 32);
        want_nl(e, 1);
        break;
    case GUMBO_TAG_IMG: {
        const char *alt = attr(n, "alt");
        if (alt && *alt) {
            put(e, "[", 1);
            put_text(e, alt, false);
            e->space = false;
            put(e, "]", 1);
        }
        break;
    }
    case GUMBO_TAG_BLOCKQUOTE:
        e->quote++;
        break;
    case GUMBO_TAG_PRE:
        (*pre)++;
        break;
    default:
        break;
    }
}

static void close_element(struct emit *e, GumboNode *n, size_t link_start, int *pre)
{
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_A) {
        const char *href = attr(n, "href");
        if (href && (strncasecmp(href, "http://", 7) == 0 || strncasecmp(href, "https://", 8) == 0 ||
                     strncasecmp(href, "mailto:", 7) == 0)) {
            const char *shown = href;
            if (strncasecmp(href, "mailto:", 7) == 0)
                shown = href + 7;
            const char *text = e->out.data ? e->out.data + link_start : "";
            while (*text == ' ')
                text++;
            if (link_start < e->out.len && strstr(text, shown) == NULL) {
                e->space = true;
                put(e, "<", 1);
                e->space = false;
                put(e, href, strlen(href));
                put(e, ">", 1);
            } else if (link_start >= e->out.len) {
                put(e, shown, strlen(shown));
            }
        }
    }
    if (t == GUMBO_TAG_BLOCKQUOTE && e->quote > 0) {
        want_nl(e, 2);
        e->quote--;
    }
    if (t == GUMBO_TAG_PRE && *pre > 0)
        (*pre)--;
    int b = block_kind(t);
    if (b)
        want_nl(e, b);
}

char *html_text(const char *html, size_t len, size_t max_in, size_t max_out)
{
    if (len > max_in || estimate_depth(html, len) > HTML_TEXT_MAX_DEPTH)
        return NULL;
    GumboOutput *doc = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
    if (doc == NULL)
        return NULL;
    struct emit e = { .out = BUF_INIT, .max = max_out ? max_out : (size_t)-1 / 4 };
    size_t cap = 64, n = 0;
    struct frame *stack = td_malloc(cap * sizeof *stack);
    stack[n++] = (struct frame){ doc->root, 0, 0 };
    int pre = 0;
    if (doc->root->type == GUMBO_NODE_ELEMENT)
        open_element(&e, doc->root, &pre);
    while (n > 0 && !e.full) {
        struct frame *f = &stack[n - 1];
        GumboVector *kids = &f->node->v.element.children;
        if (f->next >= kids->length) {
            close_element(&e, f->node, f->link_start, &pre);
            n--;
            continue;
        }
        GumboNode *c = kids->data[f->next++];
        switch (c->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_CDATA:
            put_text(&e, c->v.text.text, pre > 0);
            break;
        case GUMBO_NODE_WHITESPACE:
            if (pre > 0)
                put_text(&e, c->v.text.text, true);
            else if (e.any && !e.line_start)
                e.space = true;
            break;
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE:
            if (skipped(c->v.element.tag))
                break;
            if (n == cap) {
                cap *= 2;
                stack = td_realloc(stack, cap * sizeof *stack);
            }
            open_element(&e, c, &pre);
            stack[n++] = (struct frame){ c, 0, e.out.len };
            break;
        default:
            break;
        }
    }
    free(stack);
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    /* Trim trailing white space and blank lines. */
    while (e.out.len > 0 && (e.out.data[e.out.len - 1] == ' ' || e.out.data[e.out.len - 1] == '\n'))
        e.out.data[--e.out.len] = '\0';
    return buf_steal(&e.out);
}

/* quote.c - see quote.h.
 *
 * Works on lines, in two passes. The first finds where unquoted history
 * (or a forward) starts below the sender's own text: everything from
 * there on is history (dropped) or forwarded content (kept verbatim).
 * The second works on the sender's part: it peels from the end, in a
 * loop, signatures, footers and trailing quote blocks (a quoted
 * history above a signature goes too), then classifies the quote blocks
 * left between answers. Nothing is removed that would leave no
 * unquoted text of the sender's own. */
#include "quote.h"

#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "quote_int.h"

#define MAX_KEPT_QUOTE 3

struct doc {
    struct line *lines;
    size_t n;
    bool *keep;
};

static void split(const char *text, struct doc *d)
{
    size_t cap = 64;
    d->n = 0;
    d->lines = td_malloc(cap * sizeof *d->lines);
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        if (d->n == cap) {
            cap *= 2;
            d->lines = td_realloc(d->lines, cap * sizeof *d->lines);
        }
        d->lines[d->n++] = (struct line){ p, nl ? (size_t)(nl - p) : strlen(p) };
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    d->keep = td_malloc(d->n * sizeof *d->keep);
    for (size_t i = 0; i < d->n; i++)
        d->keep[i] = true;
}

/* Unquoted, non-blank, kept text in [from, to) that is more than a
 * phone's "Sent from my iPhone". */
static bool own_text(const struct doc *d, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (d->keep[i] && !quote_line_blank(d->lines[i]) && !quote_line_quoted(d->lines[i]) &&
            !quote_phone_line(d->lines[i]))
            return true;
    return false;
}

static size_t next_nonblank(const struct doc *d, size_t i)
{
    while (i < d->n && quote_line_blank(d->lines[i]))
        i++;
    return i;
}

/* Pass 1: the first line of unquoted history below the sender's text,
 * or d->n. *fwd is set to the first line of a forward, kept whole. */
static size_t find_history(const struct doc *d, bool fwd_subject, size_t *fwd)
{
    bool content = false;
    *fwd = d->n;
    for (size_t i = 0; i < d->n; i++) {
        struct line l = d->lines[i];
        if (quote_line_blank(l) || quote_line_quoted(l))
            continue;
        if (quote_forward_marker(l)) {
            *fwd = i;
            return i;
        }
        if (quote_original_message(l) || quote_header_block_at(d->lines, d->n, i)) {
            if (fwd_subject)
                *fwd = i;
            /* At the very top, a header block is the message itself. */
            return content || fwd_subject ? i : d->n;
        }
        size_t k = quote_attribution_at(d->lines, d->n, i);
        if (k > 0) {
            size_t next = next_nonblank(d, i + k);
            /* Unquoted history under an attribution (Lotus, Yahoo); "As
             * I wrote:" in the sender's own text is not one. */
            if (content && next < d->n && !quote_line_quoted(d->lines[next]) &&
                quote_attribution_dated(d->lines, i, k))
                return i;
            i += k - 1;
            continue;
        }
        content = true;
    }
    return d->n;
}

/* The first line of an attribution ending just above line i (blank
 * lines between allowed), or i when there is none. */
static size_t intro_above(const struct doc *d, size_t i)
{
    size_t a = i;
    while (a > 0 && quote_line_blank(d->lines[a - 1]))
        a--;
    for (size_t k = 3; k >= 1; k--)
        if (k <= a && quote_attribution_at(d->lines, d->n, a - k) == k)
            return a - k;
    return i;
}

static void drop(struct doc *d, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        d->keep[i] = false;
}

/* Pass 2a: signatures, footers and quote blocks at the end of [0, end).
 * Every line of [0, end) is kept here, so "some of the sender's own
 * text stays" is "the first such line is above the cut": computed once,
 * which keeps hostile inputs (thousands of peelable blocks) linear. */
static size_t peel_tail(struct doc *d, size_t end)
{
    size_t first_own = 0;
    while (first_own < end && !own_text(d, first_own, first_own + 1))
        first_own++;
    for (;;) {
        while (end > 0 && quote_line_blank(d->lines[end - 1]))
            end--;
        size_t cut = quote_sig_trim(d->lines, end);
        if (cut < end && first_own < cut) {
            end = cut;
            continue;
        }
        size_t k = end;
        while (k > 0 && (quote_line_quoted(d->lines[k - 1]) || quote_line_blank(d->lines[k - 1])))
            k--;
        if (k < end) {
            k = intro_above(d, next_nonblank(d, k));
            if (first_own < k) {
                end = k;
                continue;
            }
        }
        return end;
    }
}

/* The next quote block at or after *i in [0, end): quoted lines and
 * the blank lines between them. False when there is none. */
static bool next_block(const struct doc *d, size_t *i, size_t end, size_t *s, size_t *e)
{
    while (*i < end && !quote_line_quoted(d->lines[*i]))
        (*i)++;
    if (*i >= end)
        return false;
    *s = *i;
    *e = *i + 1;
    for (;;) {
        size_t x = *e < end ? next_nonblank(d, *e) : end;
        if (x < end && quote_line_quoted(d->lines[x]))
            *e = x + 1;
        else
            break;
    }
    *i = *e;
    return true;
}

/* Pass 2b: the quote blocks between answers in [0, end). One block with
 * no text of the sender's above it, or under an attribution, is a
 * bottom-posted history: it goes. Otherwise each block is the question
 * of the answer below it: its last paragraph (at most MAX_KEPT_QUOTE
 * lines, so a question hard-wrapped by mutt or Outlook stays whole)
 * stays, the rest of the block and its attribution go. */
static void quote_blocks(struct doc *d, size_t end)
{
    size_t s, e, i = 0, nb = 0, first_intro = end;
    while (next_block(d, &i, end, &s, &e)) {
        if (nb++ == 0)
            first_intro = intro_above(d, s);
    }
    if (nb == 0)
        return;
    bool lead = false;
    for (size_t k = 0; k < first_intro; k++)
        if (!quote_line_blank(d->lines[k]) && !quote_line_quoted(d->lines[k]))
            lead = true;
    for (i = 0; next_block(d, &i, end, &s, &e);) {
        size_t intro = intro_above(d, s);
        /* "Hi Peter," above "On ... wrote:" and the whole quote is still
         * a bottom-posted history, not a question. */
        if (nb == 1 && (!lead || intro < s)) {
            drop(d, intro, e);
            continue;
        }
        /* the last paragraph: non-empty quoted lines ending the block */
        size_t p = e;
        while (p > s && e - p < MAX_KEPT_QUOTE && !quote_line_quoted_empty(d->lines[p - 1]) &&
               quote_line_quoted(d->lines[p - 1]))
            p--;
        drop(d, intro, p);
    }
}

/* The kept lines; where lines were removed, at most one blank line
 * (and one if the removed part held one: a paragraph break stays). */
static char *render(const struct doc *d)
{
    struct buf out = BUF_INIT;
    bool gap = false, gap_blank = false, prev_blank = true;
    for (size_t i = 0; i < d->n; i++) {
        bool b = quote_line_blank(d->lines[i]);
        if (!d->keep[i]) {
            gap = true;
            gap_blank = gap_blank || b;
            continue;
        }
        if (b && (out.len == 0 || (prev_blank && gap)))
            continue;
        if (out.len && !b && !prev_blank && gap_blank)
            buf_putc(&out, '\n');
        if (out.len)
            buf_putc(&out, '\n');
        buf_append(&out, d->lines[i].s, d->lines[i].n);
        prev_blank = b;
        if (!b)
            gap = gap_blank = false;
    }
    /* no trailing blank lines or CR */
    while (out.len && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == '\r' ||
                       out.data[out.len - 1] == ' ' || out.data[out.len - 1] == '\t'))
        out.data[--out.len] = '\0';
    return buf_steal(&out);
}

char *quote_strip_reply(const char *text, const char *subject)
{
    if (text == NULL)
        return NULL;
    struct doc d;
    split(text, &d);
    size_t fwd;
    size_t own_end = find_history(&d, quote_subject_is_forward(subject), &fwd);
    drop(&d, own_end, fwd);
    size_t end = peel_tail(&d, own_end);
    drop(&d, end, own_end);
    quote_blocks(&d, end);
    bool changed = false;
    for (size_t i = 0; i < d.n; i++)
        if (!d.keep[i] && !quote_line_blank(d.lines[i]))
            changed = true;
    char *r = NULL;
    if (changed && own_text(&d, 0, d.n))
        r = render(&d);
    free(d.lines);
    free(d.keep);
    return r;
}

char *quote_strip(const char *text)
{
    return quote_strip_reply(text, NULL);
}

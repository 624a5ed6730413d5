/* thread.c - see thread.h. */
#include "thread.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/model.h"

#define MAX_REFERENCES_TRIED 50

bool thread_token_init(const char *fmt, struct thread_token *out, struct td_err *err)
{
    const char *n = fmt ? strstr(fmt, "{n}") : NULL;
    if (n == NULL || strstr(n + 3, "{n}") != NULL)
        return td_fail(err, TD_INVALID, "[mailgw] ticket_token must contain {n} once, like [#{n}]");
    size_t pl = (size_t)(n - fmt), sl = strlen(n + 3);
    if (pl == 0 || pl >= sizeof out->prefix || sl >= sizeof out->suffix)
        return td_fail(err, TD_INVALID,
                       "[mailgw] ticket_token needs 1 to 31 characters before {n} and at most 31 after");
    for (const char *c = fmt; *c; c++)
        if ((unsigned char)*c < 0x20)
            return td_fail(err, TD_INVALID, "[mailgw] ticket_token has a control character");
    memcpy(out->prefix, fmt, pl);
    out->prefix[pl] = '\0';
    memcpy(out->suffix, n + 3, sl + 1);
    return true;
}

/* Finds the token at or after s; start and len say where it is. */
static int64_t token_at(const struct thread_token *t, const char *s, const char **start,
                        size_t *len)
{
    size_t pl = strlen(t->prefix), sl = strlen(t->suffix);
    for (const char *p = s; (p = strstr(p, t->prefix)) != NULL; p++) {
        const char *d = p + pl;
        int64_t v = 0;
        size_t nd = 0;
        while (d[nd] >= '0' && d[nd] <= '9' && nd < 15) {
            v = v * 10 + (d[nd] - '0');
            nd++;
        }
        if (nd == 0 || (d[nd] >= '0' && d[nd] <= '9') || strncmp(d + nd, t->suffix, sl) != 0)
            continue;
        if (v <= 0)
            continue;
        *start = p;
        *len = pl + nd + sl;
        return v;
    }
    return 0;
}

int64_t thread_token_find(const struct thread_token *t, const char *subject)
{
    const char *start;
    size_t len;
    return subject ? token_at(t, subject, &start, &len) : 0;
}

static const char *const prefixes[] = {
    "re", "aw", "fwd", "fw", "wg", "sv", "vs", "tr", "rv", "r", "antw", "antwort", "odp",
    "ynt", "ilt", "ant", "res", "enc", "rif", "vb", "vl", "doorst", "atb", "vá", "trs",
    "πρβ", "απ", "σχετ", "השב", "הועבר", "رد", "回复", "答复", "转发", "回覆", "轉寄",
    "返信", "転送", "답장", "전달", "отв", "пересл",
};

/* Length of a reply/forward prefix at s ("Re:", "RE :", "Re[2]:", "AW："), 0 if none. */
static size_t prefix_len(const char *s)
{
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t k = strlen(prefixes[i]);
        if (strncasecmp(s, prefixes[i], k) != 0)
            continue;
        const char *p = s + k;
        if (*p == '[' || *p == '(') {
            char close = *p == '[' ? ']' : ')';
            const char *q = p + 1;
            while (*q >= '0' && *q <= '9')
                q++;
            if (q == p + 1 || *q != close)
                continue;
            p = q + 1;
        }
        while (*p == ' ')
            p++;
        if (*p == ':')
            return (size_t)(p + 1 - s);
        if (strncmp(p, "\xef\xbc\x9a", 3) == 0) /* full-width colon */
            return (size_t)(p + 3 - s);
    }
    return 0;
}

char *thread_subject_clean(const struct thread_token *t, const char *subject, size_t max_cp)
{
    /* Remove every token. */
    struct buf b = BUF_INIT;
    const char *s = subject ? subject : "";
    for (;;) {
        const char *start;
        size_t len;
        if (token_at(t, s, &start, &len) == 0) {
            buf_puts(&b, s);
            break;
        }
        buf_append(&b, s, (size_t)(start - s));
        buf_putc(&b, ' ');
        s = start + len;
    }
    if (b.data == NULL)
        buf_puts(&b, "");
    /* Strip prefixes (repeatedly: "Re: AW: Fwd: x"). */
    const char *p = b.data;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t k = prefix_len(p);
        if (k == 0)
            break;
        p += k;
    }
    /* Collapse white space, cap at max_cp code points. */
    struct buf out = BUF_INIT;
    size_t cps = 0;
    bool space = false;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t') {
            space = out.len > 0;
            continue;
        }
        bool lead = (c & 0xC0) != 0x80;
        if (lead) {
            if (cps + (space ? 1 : 0) >= max_cp)
                break;
            if (space) {
                buf_putc(&out, ' ');
                cps++;
            }
            cps++;
            space = false;
        }
        buf_putc(&out, (char)c);
    }
    buf_free(&b);
    if (out.len == 0)
        buf_puts(&out, "(no subject)");
    return buf_steal(&out);
}

bool thread_find_msgid(struct store *st, const char *msgid, int64_t *ticket, struct td_err *err)
{
    char alt[1024];
    int n = snprintf(alt, sizeof alt, "<%s>", msgid);
    const char *forms[2] = { msgid, (n > 0 && (size_t)n < sizeof alt) ? alt : NULL };
    for (int i = 0; i < 2; i++) {
        if (forms[i] == NULL)
            continue;
        struct td_err e;
        td_err_clear(&e);
        if (st->ops->ticket_find_by_msgid(st, forms[i], ticket, &e))
            return true;
        if (e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            return false;
        }
        td_err_clear(&e);
        if (st->ops->msgid_get(st, forms[i], ticket, &e))
            return true;
        if (e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            return false;
        }
    }
    return td_fail(err, TD_NOT_FOUND, "no thread holds %.200s", msgid);
}

/* true + *found when the id is known; true + !*found when not; false on
 * a store failure. */
static bool lookup(struct store *st, const char *id, int64_t *ticket, bool *found,
                   struct td_err *err)
{
    struct td_err e;
    td_err_clear(&e);
    *found = thread_find_msgid(st, id, ticket, &e);
    if (*found || e.code == TD_NOT_FOUND)
        return true;
    if (err)
        *err = e;
    return false;
}

bool thread_resolve(struct store *st, const struct thread_token *t, const struct mime_msg *m,
                    int64_t *ticket, enum thread_how *how, struct td_err *err)
{
    *ticket = 0;
    *how = THREAD_NONE;
    int64_t n = thread_token_find(t, m->subject);
    if (n > 0) {
        struct td_ticket tk;
        struct td_err e;
        td_err_clear(&e);
        if (st->ops->ticket_get(st, n, &tk, &e)) {
            ticket_clear(&tk);
            *ticket = n;
            *how = THREAD_TOKEN;
            return true;
        }
        if (e.code != TD_NOT_FOUND) {
            if (err)
                *err = e;
            return false;
        }
    }
    bool found = false;
    if (m->in_reply_to) {
        if (!lookup(st, m->in_reply_to, ticket, &found, err))
            return false;
        if (found) {
            *how = THREAD_IN_REPLY_TO;
            return true;
        }
    }
    size_t tried = 0;
    for (size_t i = m->references.n; i-- > 0 && tried < MAX_REFERENCES_TRIED; tried++) {
        if (!lookup(st, m->references.v[i], ticket, &found, err))
            return false;
        if (found) {
            *how = THREAD_REFERENCES;
            return true;
        }
    }
    *ticket = 0;
    return true;
}

const char *thread_how_name(enum thread_how h)
{
    switch (h) {
    case THREAD_TOKEN: return "token";
    case THREAD_IN_REPLY_TO: return "in-reply-to";
    case THREAD_REFERENCES: return "references";
    default: return "new";
    }
}

/* loop.c - see loop.h. */
#include "loop.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void verdict(struct loop_verdict *out, enum loop_kind k, const char *fmt, const char *a)
{
    out->kind = k;
    snprintf(out->reason, sizeof out->reason, fmt, a ? a : "");
}

bool loop_is_own_address(const struct strv *own, const char *addr)
{
    if (addr == NULL || own == NULL)
        return false;
    const char *at = strrchr(addr, '@');
    if (at == NULL)
        return false;
    for (size_t i = 0; i < own->n; i++) {
        const char *o = own->v[i];
        const char *oat = strrchr(o, '@');
        if (oat == NULL)
            continue;
        size_t ol = (size_t)(oat - o);
        if (strcasecmp(at, oat) != 0)
            continue;
        size_t al = (size_t)(at - addr);
        if (strncasecmp(addr, o, ol) == 0 && (al == ol || (al > ol && addr[ol] == '+')))
            return true;
    }
    return false;
}

/* The first word of a header value, lower case, in out. */
static void first_word(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    while (*v == ' ' || *v == '\t')
        v++;
    while (*v && *v != ';' && *v != ' ' && *v != '\t' && *v != '(' && n + 1 < cap) {
        char c = *v++;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[n] = '\0';
}

void loop_check(const struct strv *own, const char *loop_id, const struct mime_msg *m,
                const char *sender, struct loop_verdict *out)
{
    out->kind = LOOP_NONE;
    out->reason[0] = '\0';
    if (sender && loop_is_own_address(own, sender)) {
        verdict(out, LOOP_OWN, "sent from the support address %.100s", sender);
        return;
    }
    if (loop_id && *loop_id) {
        const char *v;
        for (size_t i = 0; (v = mime_header_nth(m, "X-Loop", i)) != NULL; i++)
            if (strcasestr(v, loop_id)) {
                verdict(out, LOOP_OWN, "carries our own X-Loop: %.100s", loop_id);
                return;
            }
    }
    if (m->is_dsn) {
        verdict(out, LOOP_BOUNCE, "a delivery status report%s", "");
        return;
    }
    if (sender) {
        const char *at = strchr(sender, '@');
        size_t l = at ? (size_t)(at - sender) : strlen(sender);
        if ((l == 13 && strncasecmp(sender, "mailer-daemon", 13) == 0) ||
            (l == 10 && strncasecmp(sender, "postmaster", 10) == 0)) {
            verdict(out, LOOP_BOUNCE, "from %.100s", sender);
            return;
        }
    }
    char w[40];
    const char *v = mime_header(m, "Auto-Submitted");
    if (v) {
        first_word(v, w, sizeof w);
        if (strcmp(w, "no") != 0) {
            verdict(out, LOOP_AUTO, "Auto-Submitted: %.60s", w);
            return;
        }
    }
    v = mime_header(m, "Precedence");
    if (v) {
        first_word(v, w, sizeof w);
        if (strcmp(w, "bulk") == 0 || strcmp(w, "junk") == 0 || strcmp(w, "list") == 0) {
            verdict(out, LOOP_AUTO, "Precedence: %.60s", w);
            return;
        }
    }
    static const char *const auto_headers[] = { "X-Auto-Response-Suppress", "List-Id",
                                                "X-Autoreply", "X-Autorespond" };
    for (size_t i = 0; i < sizeof auto_headers / sizeof *auto_headers; i++)
        if (mime_header(m, auto_headers[i])) {
            verdict(out, LOOP_AUTO, "has %s", auto_headers[i]);
            return;
        }
    v = mime_header(m, "Return-Path");
    if (v) {
        const char *p = v;
        while (*p == ' ')
            p++;
        if (strncmp(p, "<>", 2) == 0) {
            verdict(out, LOOP_AUTO, "empty Return-Path (a machine sent it)%s", "");
            return;
        }
    }
}

const char *loop_kind_name(enum loop_kind k)
{
    switch (k) {
    case LOOP_AUTO: return "auto";
    case LOOP_BOUNCE: return "bounce";
    case LOOP_OWN: return "own";
    default: return "none";
    }
}

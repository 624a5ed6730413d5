/* trust.c - see trust.h. */
#include "trust.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_TOKEN 256

/* ---- reply tokens ---------------------------------------------------- */

static bool token_chars(const char *s, size_t n)
{
    if (n == 0 || n > MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '='))
            return false;
    }
    return true;
}

/* "support+TOKEN@domain" for one of own: the token (caller frees). */
static char *token_of(const struct strv *own, const char *addr)
{
    const char *at = strrchr(addr, '@');
    if (at == NULL)
        return NULL;
    for (size_t i = 0; i < own->n; i++) {
        const char *o = own->v[i];
        const char *oat = strrchr(o, '@');
        if (oat == NULL || strcasecmp(at, oat) != 0)
            continue;
        size_t ol = (size_t)(oat - o);
        if (strncasecmp(addr, o, ol) != 0 || addr[ol] != '+')
            continue;
        const char *t = addr + ol + 1;
        size_t tl = (size_t)(at - t);
        if (token_chars(t, tl))
            return td_strndup(t, tl);
    }
    return NULL;
}

static bool try_token(const struct trust_cfg *cfg, const char *addr, const char *sender,
                      struct trust_result *out)
{
    if (addr == NULL)
        return false;
    char *tok = token_of(cfg->own, addr);
    if (tok == NULL)
        return false;
    int64_t ticket = 0;
    bool ok = cfg->verify(cfg->verify_ctx, tok, sender, &ticket);
    free(tok);
    if (ok) {
        out->how = TRUST_REPLY_TOKEN;
        out->token_ticket = ticket > 0 ? ticket : 0;
    }
    return ok;
}

/* ---- Authentication-Results (RFC 8601) -------------------------------- */

/* value without (comments), lower case. */
static char *strip_comments(const char *v)
{
    struct buf b = BUF_INIT;
    int depth = 0;
    bool quoted = false;
    for (const char *p = v; *p; p++) {
        char c = *p;
        if (quoted) {
            if (c == '"')
                quoted = false;
            else if (depth == 0)
                buf_putc(&b, c);
            continue;
        }
        if (c == '"' && depth == 0) {
            quoted = true;
            continue;
        }
        if (c == '(') {
            depth++;
            continue;
        }
        if (c == ')' && depth > 0) {
            depth--;
            continue;
        }
        if (depth == 0)
            buf_putc(&b, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
    return buf_steal(&b);
}

/* d equals domain, or domain is a subdomain of d (relaxed alignment). */
static bool aligned(const char *d, size_t dl, const char *domain)
{
    size_t n = strlen(domain);
    if (dl == 0)
        return false;
    if (dl == n && strncmp(d, domain, n) == 0)
        return true;
    return n > dl && domain[n - dl - 1] == '.' && strncmp(domain + n - dl, d, dl) == 0;
}

/* The value of "ptype.prop=" in the clause, or NULL; *len its length. */
static const char *prop(const char *clause, const char *name, size_t *len)
{
    size_t k = strlen(name);
    for (const char *p = clause; (p = strstr(p, name)) != NULL; p += k) {
        if (p != clause && p[-1] != ' ' && p[-1] != '\t')
            continue;
        const char *v = p + k;
        size_t n = 0;
        while (v[n] && v[n] != ' ' && v[n] != '\t' && v[n] != ';')
            n++;
        *len = n;
        return v;
    }
    return NULL;
}

static bool clause_passes(const char *c, const char *domain)
{
    while (*c == ' ' || *c == '\t')
        c++;
    size_t len;
    const char *v;
    if (strncmp(c, "dmarc=pass", 10) == 0) {
        v = prop(c, "header.from=", &len);
        if (v == NULL)
            return true; /* DMARC is about the From domain by definition */
        const char *at = memchr(v, '@', len);
        if (at) {
            len -= (size_t)(at + 1 - v);
            v = at + 1;
        }
        return aligned(v, len, domain);
    }
    if (strncmp(c, "dkim=pass", 9) == 0) {
        v = prop(c, "header.d=", &len);
        if (v && aligned(v, len, domain))
            return true;
        v = prop(c, "header.i=", &len);
        const char *at = v ? memchr(v, '@', len) : NULL;
        return at && aligned(at + 1, len - (size_t)(at + 1 - v), domain);
    }
    if (strncmp(c, "spf=pass", 8) == 0) {
        v = prop(c, "smtp.mailfrom=", &len);
        if (v == NULL)
            return false;
        const char *at = memchr(v, '@', len);
        if (at)
            return aligned(at + 1, len - (size_t)(at + 1 - v), domain);
        return aligned(v, len, domain);
    }
    return false;
}

bool trust_auth_results_pass(const struct strv *authserv_ids, const char *value,
                             const char *sender_domain, bool *from_trusted_id)
{
    *from_trusted_id = false;
    char *v = strip_comments(value);
    char *semi = strchr(v, ';');
    /* authserv-id [version] */
    char *id = v;
    while (*id == ' ' || *id == '\t')
        id++;
    size_t il = 0;
    while (id[il] && id[il] != ' ' && id[il] != '\t' && id[il] != ';')
        il++;
    bool trusted = false;
    for (size_t i = 0; authserv_ids && i < authserv_ids->n; i++)
        if (strlen(authserv_ids->v[i]) == il && strncasecmp(authserv_ids->v[i], id, il) == 0)
            trusted = true;
    *from_trusted_id = trusted;
    bool pass = false;
    if (trusted && semi) {
        for (char *c = semi + 1; c && !pass;) {
            char *next = strchr(c, ';');
            if (next)
                *next = '\0';
            pass = clause_passes(c, sender_domain);
            c = next ? next + 1 : NULL;
        }
    }
    free(v);
    return pass;
}

/* ---- the check -------------------------------------------------------- */

void trust_check(const struct trust_cfg *cfg, const struct mime_msg *m, const char *sender,
                 struct trust_result *out)
{
    out->how = TRUST_NONE;
    out->token_ticket = 0;
    if (sender == NULL)
        return;
    if (cfg->verify && cfg->own) {
        for (size_t i = 0; i < m->recipients.n; i++)
            if (try_token(cfg, m->recipients.v[i], sender, out))
                return;
        static const char *const env[] = { "Delivered-To", "X-Original-To", "Envelope-To" };
        for (size_t k = 0; k < sizeof env / sizeof *env; k++) {
            const char *v;
            for (size_t i = 0; (v = mime_header_nth(m, env[k], i)) != NULL && i < 10; i++) {
                char *a = mime_addr_extract(v);
                bool ok = a && try_token(cfg, a, sender, out);
                free(a);
                if (ok)
                    return;
            }
        }
    }
    const char *at = strrchr(sender, '@');
    if (at == NULL || cfg->authserv_ids == NULL || cfg->authserv_ids->n == 0)
        return;
    const char *v;
    for (size_t i = 0; (v = mime_header_nth(m, "Authentication-Results", i)) != NULL; i++) {
        bool from_trusted = false;
        bool pass = trust_auth_results_pass(cfg->authserv_ids, v, at + 1, &from_trusted);
        if (from_trusted) {
            /* The topmost header of our own MTA decides, pass or not. */
            if (pass)
                out->how = TRUST_AUTH_RESULTS;
            return;
        }
    }
}

const char *trust_how_name(enum trust_how h)
{
    switch (h) {
    case TRUST_REPLY_TOKEN: return "reply-token";
    case TRUST_AUTH_RESULTS: return "authentication-results";
    default: return "none";
    }
}

/* routes_web.c - the web console's files (web/), served at /.
 *
 * The files are built into the binary (api/web_embed.sh generates the
 * table web_assets[] with each file, its gzip -9 copy and a digest), so
 * ticketd stays one process with nothing to install beside it and the
 * console always matches the API it was built with.
 *
 * Caching: every answer carries a strong ETag (the digest; "-gz" for the
 * gzipped representation, which is another representation of the same
 * resource) and Cache-Control: no-cache, so browsers revalidate and get
 * 304 Not Modified without a body when nothing changed. Paths carry no
 * version: a new ticketd build changes the ETags.
 *
 * Security headers on every file: a Content-Security-Policy that allows
 * scripts, styles and connections to this origin only - no inline
 * script or style, no eval, no framing (frame-ancestors 'none') - image
 * previews from blob: URLs the console makes itself, nosniff (server.c),
 * and Referrer-Policy: no-referrer so the fragment-free URL of a ticket
 * never leaves for another site. The console itself uses hash routes
 * (/#/tickets/7), so "/" is the only HTML document. */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char console_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

const struct web_asset *web_find(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < web_n_assets; i++)
        if (strcmp(web_assets[i].path, path) == 0)
            return &web_assets[i];
    return NULL;
}

/* Skips optional white space. */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool web_accepts_gzip(const char *ae)
{
    if (ae == NULL)
        return false;
    /* A list of coding[;q=value]; gzip (or *) counts unless its q is 0. */
    for (const char *p = ae; *p;) {
        p = ows(p);
        size_t n = strcspn(p, ",;");
        bool named = (n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*');
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        p += strcspn(p, ",;");
        double q = 1.0;
        while (*p == ';') {
            p = ows(p + 1);
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                q = strtod(p + 2, NULL);
            p += strcspn(p, ",;");
        }
        if (named && q > 0.0)
            return true;
        if (*p == ',')
            p++;
    }
    return false;
}

bool web_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return false;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        p = ows(p);
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0) /* If-None-Match compares weakly */
            p += 2;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (end == NULL)
                return false;
            if ((size_t)(end - p - 1) == el && strncmp(p + 1, etag, el) == 0)
                return true;
            p = end + 1;
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return false;
}

bool web_serve(struct api_req *r, struct api_resp *out)
{
    const struct web_asset *a = web_find(r->path);
    if (a == NULL)
        return false;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        problem(out, 405, "method_not_allowed", "the console's files are read-only", NULL);
        resp_header(out, "Allow", "GET, HEAD");
        return true;
    }
    bool gz = web_accepts_gzip(req_header(r, "Accept-Encoding"));
    char tag[64];
    snprintf(tag, sizeof tag, "%s%s", a->etag, gz ? "-gz" : "");
    resp_header(out, "ETag", "\"%s\"", tag);
    resp_header(out, "Cache-Control", "no-cache");
    resp_header(out, "Vary", "Accept-Encoding");
    resp_header(out, "Content-Security-Policy", "%s", console_csp);
    resp_header(out, "Referrer-Policy", "no-referrer");
    resp_header(out, "Cross-Origin-Opener-Policy", "same-origin");
    if (web_etag_matches(req_header(r, "If-None-Match"), tag)) {
        resp_empty(out, 304);
        return true;
    }
    if (gz)
        resp_header(out, "Content-Encoding", "gzip");
    if (gz)
        resp_static(out, 200, a->type, a->gz, (size_t)(a->gz_end - a->gz));
    else
        resp_static(out, 200, a->type, a->raw, (size_t)(a->raw_end - a->raw));
    return true;
}

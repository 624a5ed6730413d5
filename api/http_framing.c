/* http_framing.c - refuses requests whose body length is ambiguous
 * (RFC 9112 6.3), whatever libmicrohttpd would make of them.
 *
 * Why here and not trust MHD 0.9.75: with two Content-Length headers it
 * uses one of them, with "Content-Length : 2" (space before the colon)
 * it sees no length at all, and with Transfer-Encoding next to
 * Content-Length it picks one; in each case the bytes that another
 * parser (a proxy in front of us) took for the body are read by MHD as
 * the next request on the connection - request smuggling. A front proxy
 * and ticketd must agree on where a request ends, and the only safe
 * agreement is to refuse anything two parsers could read differently.
 * The caller answers 400 with "Connection: close", so nothing after these
 * headers is ever parsed. */
#include "api_int.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool all_digits(const char *v)
{
    if (v == NULL || *v == '\0' || strlen(v) > 18)
        return false;
    for (; *v; v++)
        if (*v < '0' || *v > '9')
            return false;
    return true;
}

void framing_init(struct framing *f)
{
    memset(f, 0, sizeof *f);
}

void framing_add(struct framing *f, const char *key, const char *value)
{
    /* A field name is a token: no whitespace or control characters. */
    if (key == NULL || *key == '\0')
        f->name_bad = true;
    for (const char *p = key ? key : ""; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            f->name_bad = true;
    if (key == NULL)
        return;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!all_digits(value))
            f->cl_bad = true;
        else if (f->n_cl == 0)
            snprintf(f->cl, sizeof f->cl, "%s", value);
        else if (strcmp(f->cl, value) != 0)
            f->cl_differs = true;
        f->n_cl++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_te++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            f->te_bad = true;
    }
}

const char *framing_verdict(const struct framing *f)
{
    if (f->name_bad)
        return "a header field name contains whitespace (none is allowed before the colon)";
    if (f->cl_bad)
        return "Content-Length is not a plain decimal number";
    if (f->cl_differs)
        return "the request has differing Content-Length headers";
    if (f->n_cl > 0 && f->n_te > 0)
        return "the request has both Content-Length and Transfer-Encoding";
    if (f->n_te > 1 || f->te_bad)
        return "the only Transfer-Encoding accepted is a single \"chunked\"";
    return NULL;
}

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    framing_add(cls, key, value);
    return MHD_YES;
}

bool framing_ok(struct MHD_Connection *conn, char *why, size_t why_len)
{
    struct framing f;
    framing_init(&f);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_header, &f);
    const char *reason = framing_verdict(&f);
    if (reason == NULL)
        return true;
    snprintf(why, why_len, "%s", reason);
    return false;
}

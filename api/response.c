/* response.c - filling a struct api_resp (server.c sends it). */
#include "api_int.h"

#include "core/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void resp_free(struct api_resp *out)
{
    if (out == NULL)
        return;
    if (!out->body_static)
        free(out->body);
    if (out->stream && out->stream_free) /* never handed to MHD */
        out->stream_free(out->stream_cls);
    memset(out, 0, sizeof *out);
}

void resp_header(struct api_resp *out, const char *name, const char *fmt, ...)
{
    size_t i;
    for (i = 0; i < out->n_headers; i++) /* replace: one value per name */
        if (strcmp(out->headers[i].name, name) == 0)
            break;
    if (i == API_MAX_HEADERS)
        abort(); /* a programming error: raise API_MAX_HEADERS */
    if (i == out->n_headers)
        out->n_headers++;
    out->headers[i].name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->headers[i].value, sizeof out->headers[i].value, fmt, ap);
    va_end(ap);
}

static void set_body(struct api_resp *out, unsigned status, const char *type, char *body,
                     size_t len)
{
    if (!out->body_static)
        free(out->body);
    out->status = status;
    out->content_type = type;
    out->body = body;
    out->len = len;
    out->body_static = false;
}

void resp_json(struct api_resp *out, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s == NULL) { /* only when j holds something jansson cannot print */
        s = td_strdup("{\"type\":\"urn:ticketd:problem:internal\",\"title\":\"Internal Server "
                      "Error\",\"status\":500,\"detail\":\"the response could not be encoded\"}");
        status = 500;
        set_body(out, status, "application/problem+json", s, strlen(s));
        return;
    }
    set_body(out, status, "application/json", s, strlen(s));
}

void resp_empty(struct api_resp *out, unsigned status)
{
    set_body(out, status, NULL, NULL, 0);
}

void resp_bytes(struct api_resp *out, unsigned status, const char *content_type,
                unsigned char *data, size_t len)
{
    set_body(out, status, content_type, (char *)data, len);
}

void resp_static(struct api_resp *out, unsigned status, const char *content_type,
                 const void *data, size_t len)
{
    set_body(out, status, content_type, (char *)(uintptr_t)data, len);
    out->body_static = true; /* set_body freed the old body; this one is never freed */
}

bool resp_has_header(const struct api_resp *out, const char *name)
{
    for (size_t i = 0; i < out->n_headers; i++)
        if (strcasecmp(out->headers[i].name, name) == 0)
            return true;
    return false;
}

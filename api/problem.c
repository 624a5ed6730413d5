/* problem.c - every error response is an RFC 9457 problem document:
 *
 *   {"type": "urn:ticketd:problem:not_found", "title": "Not Found",
 *    "status": 404, "detail": "ticket #7 not found",
 *    "errors": [{"field": "subject", "message": "is required"}]}
 *
 * The type names a stable problem kind (td_code_name() for core errors,
 * a few HTTP-only kinds such as invalid_token, rate_limited) so clients
 * branch on it, not on the prose in detail. problem_status_of() is the
 * one and only place a td_code becomes an HTTP status. */
#include "api_int.h"
#include "core/log.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

unsigned problem_status_of(enum td_code code)
{
    switch (code) {
    case TD_OK: return 200;
    case TD_INVALID: return 400;
    case TD_UNAUTHORIZED: return 401;
    case TD_FORBIDDEN: return 403;
    case TD_NOT_FOUND: return 404;
    case TD_CONFLICT: return 409;
    case TD_STALE: return 412;
    case TD_TOO_LARGE: return 413;
    case TD_UNAVAILABLE: return 503;
    case TD_INTERNAL: return 500;
    }
    return 500;
}

static const char *status_title(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* snprintf may cut a UTF-8 sequence in half; JSON strings must not end
 * in one. Backs off to the last complete character. */
static void utf8_trim(char *s)
{
    size_t len = strlen(s);
    for (int i = 0; i < 4 && len > 0 && !utf8_valid(s, len); i++)
        s[--len] = '\0';
}

void field_error(struct field_errors *fe, const char *field, const char *fmt, ...)
{
    if (fe->n >= API_MAX_FIELD_ERRORS)
        return;
    snprintf(fe->v[fe->n].field, sizeof fe->v[fe->n].field, "%s", field);
    utf8_trim(fe->v[fe->n].field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fe->v[fe->n].message, sizeof fe->v[fe->n].message, fmt, ap);
    va_end(ap);
    utf8_trim(fe->v[fe->n].message);
    fe->n++;
}

void problem(struct api_resp *out, unsigned status, const char *kind, const char *detail,
             const struct field_errors *fe)
{
    char type[96];
    snprintf(type, sizeof type, "urn:ticketd:problem:%s", kind);
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "title", json_string(status_title(status)));
    json_object_set_new(j, "status", json_integer(status));
    /* Core messages quote validated input, but a message truncated to
     * fit struct td_err may end in half a character. */
    char text[512];
    snprintf(text, sizeof text, "%s", detail ? detail : status_title(status));
    utf8_trim(text);
    json_t *d = json_string(text);
    json_object_set_new(j, "detail", d ? d : json_string("(unprintable detail)"));
    if (fe != NULL && fe->n > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < fe->n; i++) {
            json_t *m = json_string(fe->v[i].message);
            json_array_append_new(arr, json_pack("{s:s, s:o}", "field", fe->v[i].field, "message",
                                                 m ? m : json_string("invalid")));
        }
        json_object_set_new(j, "errors", arr);
    }
    resp_json(out, status, j);
    out->content_type = "application/problem+json";
}

void problem_from_err(struct api_resp *out, const struct td_err *err)
{
    enum td_code code = err ? err->code : TD_INTERNAL;
    if (code == TD_OK)
        code = TD_INTERNAL; /* a failure without a code is a bug */
    const char *detail = err && err->msg[0] ? err->msg : td_code_name(code);
    if (code == TD_INTERNAL || code == TD_UNAVAILABLE) {
        /* The operator needs the real message; the client gets it only
         * when it is about availability (no internals in responses). */
        log_event(code == TD_INTERNAL ? LOG_ERROR : LOG_WARN, "request_failed",
                  LF_S("request_id", api_current_request_id), LF_S("code", td_code_name(code)),
                  LF_S("msg", detail));
        if (code == TD_INTERNAL)
            detail = "internal error; the request id in the log tells the operator more";
    }
    problem(out, problem_status_of(code), td_code_name(code), detail, NULL);
    if (code == TD_UNAUTHORIZED)
        resp_header(out, "WWW-Authenticate", "Bearer realm=\"ticketd\"");
}

void problem_fields(struct api_resp *out, const char *detail, const struct field_errors *fe)
{
    problem(out, 400, "invalid", detail, fe);
}

void problem_rate_limited(struct api_resp *out, const char *detail, int64_t retry_after_s)
{
    problem(out, 429, "rate_limited", detail, NULL);
    resp_header(out, "Retry-After", "%lld", (long long)retry_after_s);
}

void problem_unauthorized(struct api_resp *out, const char *reason)
{
    problem(out, 401, "invalid_token", reason, NULL);
    /* RFC 6750 section 3: the reason goes in error_description, which
     * must not contain '"' or '\\'; our reasons are fixed ASCII. */
    char clean[160];
    size_t i = 0;
    for (; reason[i] && i + 1 < sizeof clean; i++)
        clean[i] = (reason[i] == '"' || reason[i] == '\\' || (unsigned char)reason[i] < 0x20 ||
                    (unsigned char)reason[i] > 0x7e)
                       ? '\''
                       : reason[i];
    clean[i] = '\0';
    resp_header(out, "WWW-Authenticate",
                "Bearer realm=\"ticketd\", error=\"invalid_token\", error_description=\"%s\"", clean);
}

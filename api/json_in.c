/* json_in.c - strict request bodies.
 *
 * A body is accepted only when it is exactly what the endpoint
 * documents: Content-Type application/json (415 otherwise), one JSON
 * object, valid UTF-8 (jansson checks; NUL escapes are refused, so every
 * string is a clean C string), no duplicate keys, no member the endpoint
 * does not know, each member of its type (1.0 is not an integer, "true"
 * is not a boolean), integers within int64 (jansson refuses bigger ones).
 * Everything wrong is reported at once, per field, as a 400. Nesting
 * depth is bounded by jansson itself (2048), size by the server (413).
 *
 * The parsed document stays alive while the handler uses the borrowed
 * strings; the caller json_decref()s it. */
#include "api_int.h"

#include "core/strv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ARRAY 100

bool json_in_is_json(const char *ct)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char media[] = "application/json";
    if (strncasecmp(ct, media, sizeof media - 1) != 0)
        return false;
    const char *p = ct + sizeof media - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return true;
    if (*p != ';')
        return false;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    /* The only parameter JSON has any use for, and only as UTF-8. */
    if (strncasecmp(p, "charset=", 8) != 0)
        return false;
    p += 8;
    const char *v = p;
    if (*v == '"')
        v++;
    if (strncasecmp(v, "utf-8", 5) != 0)
        return false;
    v += 5;
    if (*p == '"' && *v++ != '"')
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '\0';
}

static const char *type_name(enum jf_type t)
{
    switch (t) {
    case JF_STRING: return "a string";
    case JF_STRING_NULL: return "a string or null";
    case JF_BOOL: return "true or false";
    case JF_INT: return "an integer";
    case JF_STRING_ARRAY: return "an array of strings";
    }
    return "?";
}

static bool take(const struct jf_field *f, json_t *v, struct field_errors *fe)
{
    bool ok = false;
    switch (f->type) {
    case JF_STRING:
        if ((ok = json_is_string(v)))
            *(const char **)f->out = json_string_value(v);
        break;
    case JF_STRING_NULL:
        if ((ok = json_is_string(v) || json_is_null(v)))
            *(const char **)f->out = json_is_null(v) ? NULL : json_string_value(v);
        break;
    case JF_BOOL:
        if ((ok = json_is_boolean(v)))
            *(bool *)f->out = json_is_true(v);
        break;
    case JF_INT:
        if ((ok = json_is_integer(v)))
            *(int64_t *)f->out = (int64_t)json_integer_value(v);
        break;
    case JF_STRING_ARRAY: {
        if (!json_is_array(v))
            break;
        if (json_array_size(v) > MAX_ARRAY) {
            field_error(fe, f->name, "must have at most %d elements", MAX_ARRAY);
            return false;
        }
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
            if (!json_is_string(el)) {
                field_error(fe, f->name, "element %zu must be a string", i);
                return false;
            }
        }
        struct strv *sv = f->out;
        json_array_foreach(v, i, el)
            strv_push(sv, json_string_value(el));
        ok = true;
        break;
    }
    }
    if (!ok) {
        field_error(fe, f->name, "must be %s", type_name(f->type));
        return false;
    }
    if (f->present)
        *f->present = true;
    return true;
}

/* The parser; keep: on field errors the document and the fields that
 * were fine stay the caller's (json_in_collect), else they are dropped. */
static bool parse_buf(const char *body, size_t len, const struct jf_field *fields, size_t n,
                      bool keep, json_t **doc, struct field_errors *fe, char *detail,
                      size_t detail_len)
{
    *doc = NULL;
    json_error_t je;
    json_t *root = len == 0 ? json_object() : json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(detail, detail_len, "the body is not valid JSON: %s (line %d, column %d)", je.text,
                 je.line, je.column);
        return false;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(detail, detail_len, "the body must be a JSON object");
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(fields[i].name, key) == 0;
        if (!known)
            field_error(fe, key, "unknown field");
    }
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(root, fields[i].name);
        if (v == NULL) {
            if (fields[i].required)
                field_error(fe, fields[i].name, "is required");
            continue;
        }
        take(&fields[i], v, fe);
    }
    if (fe->n > 0 && !keep) {
        /* Arrays copied so far belong to the caller's strv: clear them so
         * a failed parse leaves nothing behind. */
        for (size_t i = 0; i < n; i++)
            if (fields[i].type == JF_STRING_ARRAY)
                strv_clear(fields[i].out);
        json_decref(root);
        snprintf(detail, detail_len, "the request body has %zu invalid field%s", fe->n,
                 fe->n == 1 ? "" : "s");
        return false;
    }
    *doc = root;
    return true;
}

bool json_in_parse_buf(const char *body, size_t len, const struct jf_field *fields, size_t n,
                       json_t **doc, struct field_errors *fe, char *detail, size_t detail_len)
{
    return parse_buf(body, len, fields, n, false, doc, fe, detail, detail_len);
}

/* Content-Type and emptiness: false with the problem in out. */
static bool body_acceptable(struct api_req *r, bool allow_empty, struct api_resp *out)
{
    if (r->body.len == 0 && !allow_empty) {
        problem(out, 400, "invalid", "a JSON request body is required", NULL);
        return false;
    }
    if (r->body.len > 0 && !json_in_is_json(req_header(r, "Content-Type"))) {
        problem(out, 415, "unsupported_media_type",
                "the request body must be application/json (UTF-8)", NULL);
        return false;
    }
    return true;
}

bool json_in_collect(struct api_req *r, const struct jf_field *fields, size_t n, bool allow_empty,
                     json_t **doc, struct field_errors *fe, struct api_resp *out)
{
    *doc = NULL;
    if (!body_acceptable(r, allow_empty, out))
        return false;
    char detail[320];
    if (!parse_buf(r->body.data, r->body.len, fields, n, true, doc, fe, detail, sizeof detail)) {
        problem(out, 400, "invalid", detail, NULL);
        return false;
    }
    return true;
}

bool json_in_parse(struct api_req *r, const struct jf_field *fields, size_t n, bool allow_empty,
                   json_t **doc, struct api_resp *out)
{
    *doc = NULL;
    if (!body_acceptable(r, allow_empty, out))
        return false;
    struct field_errors fe = { .n = 0 };
    char detail[320];
    if (!json_in_parse_buf(r->body.data, r->body.len, fields, n, doc, &fe, detail, sizeof detail)) {
        problem(out, 400, "invalid", detail, &fe);
        return false;
    }
    return true;
}

/* openapi_check.h - api/openapi.json and a checker of values against its
 * schemas, for tests/api/test_api_openapi*.c.
 *
 * The schema checker covers the JSON Schema subset the document uses
 * (type, properties, required, additionalProperties, items, enum,
 * minimum, maximum, minLength, pattern, minProperties, format date-time,
 * $ref) and refuses any other validation keyword, so the subset cannot
 * silently grow past what is checked. */
#ifndef TD_TEST_OPENAPI_CHECK_H
#define TD_TEST_OPENAPI_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <regex.h>

#include "api/api_int.h"
#include "core/text.h"
#include "tests/api/api_fixture.h"

static inline json_t *load_doc(void)
{
    size_t len;
    const char *text = openapi_doc(&len);
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        fail_msg("api/openapi.json: %s (line %d)", je.text, je.line);
    return doc;
}

/* ---- the schema checker ------------------------------------------------- */

static inline json_t *resolve(json_t *doc, const char *ref)
{
    static const char prefix[] = "#/components/schemas/";
    if (strncmp(ref, prefix, sizeof prefix - 1) != 0)
        return NULL;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                           ref + sizeof prefix - 1);
}

static inline bool type_is(const char *t, json_t *v)
{
    if (strcmp(t, "object") == 0)
        return json_is_object(v);
    if (strcmp(t, "array") == 0)
        return json_is_array(v);
    if (strcmp(t, "string") == 0)
        return json_is_string(v);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(t, "null") == 0)
        return json_is_null(v);
    return false;
}

static const char *const known_keywords[] = {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "enum",
    "minimum", "maximum", "minLength", "pattern", "minProperties", "format", "oneOf",
    /* annotations, no validation */
    "description", "default", "contentMediaType", "title", "example", NULL,
};

/* Validates v against schema; on failure err says where and why. */
static inline bool check(json_t *doc, json_t *schema, json_t *v, const char *where, char *err,
                  size_t len, int depth)
{
    if (depth > 32)
        return snprintf(err, len, "%s: schema nesting too deep", where), false;
    if (!json_is_object(schema))
        return snprintf(err, len, "%s: schema is not an object", where), false;
    const char *key;
    json_t *kv;
    json_object_foreach(schema, key, kv) {
        bool known = false;
        for (size_t i = 0; known_keywords[i] && !known; i++)
            known = strcmp(known_keywords[i], key) == 0;
        if (!known)
            return snprintf(err, len, "%s: unsupported schema keyword '%s'", where, key), false;
    }
    json_t *ref = json_object_get(schema, "$ref");
    if (ref) {
        json_t *target = resolve(doc, json_string_value(ref));
        if (target == NULL)
            return snprintf(err, len, "%s: unresolved $ref %s", where, json_string_value(ref)), false;
        if (!check(doc, target, v, where, err, len, depth + 1))
            return false;
    }
    json_t *one = json_object_get(schema, "oneOf");
    if (one) { /* exactly one alternative validates */
        size_t i, matches = 0;
        json_t *alt;
        char sub[512];
        json_array_foreach(one, i, alt) matches += check(doc, alt, v, where, sub, sizeof sub, depth + 1);
        if (matches != 1)
            return snprintf(err, len, "%s: matches %zu of the oneOf alternatives, not 1", where,
                            matches), false;
    }
    json_t *type = json_object_get(schema, "type");
    if (type) {
        bool ok = false;
        if (json_is_string(type)) {
            ok = type_is(json_string_value(type), v);
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t) ok |= type_is(json_string_value(t), v);
        }
        if (!ok) {
            char *want = json_dumps(type, JSON_ENCODE_ANY);
            snprintf(err, len, "%s: not of type %s", where, want);
            free(want);
            return false;
        }
    }
    json_t *en = json_object_get(schema, "enum");
    if (en) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e) found |= json_equal(e, v);
        if (!found)
            return snprintf(err, len, "%s: not one of the enum values", where), false;
    }
    if (json_is_string(v)) {
        json_t *ml = json_object_get(schema, "minLength");
        if (ml && (json_int_t)utf8_length(json_string_value(v), json_string_length(v)) <
                      json_integer_value(ml))
            return snprintf(err, len, "%s: shorter than minLength", where), false;
        json_t *pat = json_object_get(schema, "pattern");
        if (pat) {
            regex_t re;
            if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) != 0)
                return snprintf(err, len, "%s: bad pattern", where), false;
            int r = regexec(&re, json_string_value(v), 0, NULL, 0);
            regfree(&re);
            if (r != 0)
                return snprintf(err, len, "%s: '%s' does not match %s", where,
                                json_string_value(v), json_string_value(pat)), false;
        }
        json_t *fmt = json_object_get(schema, "format");
        td_time t;
        if (fmt && strcmp(json_string_value(fmt), "date-time") == 0 &&
            !time_parse_rfc3339(json_string_value(v), &t))
            return snprintf(err, len, "%s: '%s' is not a date-time", where, json_string_value(v)), false;
    }
    if (json_is_number(v)) {
        json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        if (mn && json_number_value(v) < json_number_value(mn))
            return snprintf(err, len, "%s: below minimum", where), false;
        if (mx && json_number_value(v) > json_number_value(mx))
            return snprintf(err, len, "%s: above maximum", where), false;
    }
    if (json_is_object(v)) {
        json_t *props = json_object_get(schema, "properties");
        json_t *addl = json_object_get(schema, "additionalProperties");
        json_t *req = json_object_get(schema, "required");
        json_t *minp = json_object_get(schema, "minProperties");
        if (minp && json_object_size(v) < (size_t)json_integer_value(minp))
            return snprintf(err, len, "%s: fewer than minProperties", where), false;
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r) {
            if (json_object_get(v, json_string_value(r)) == NULL)
                return snprintf(err, len, "%s: required member '%s' is missing", where,
                                json_string_value(r)), false;
        }
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", where, k);
            json_t *ps = json_object_get(props, k);
            if (ps) {
                if (!check(doc, ps, m, sub, err, len, depth + 1))
                    return false;
            } else if (json_is_false(addl)) {
                return snprintf(err, len, "%s: member not in the schema", sub), false;
            } else if (json_is_object(addl) && !check(doc, addl, m, sub, err, len, depth + 1)) {
                return false;
            }
        }
    }
    if (json_is_array(v)) {
        json_t *items = json_object_get(schema, "items");
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", where, i);
            if (items && !check(doc, items, el, sub, err, len, depth + 1))
                return false;
        }
    }
    return true;
}

static inline void lower(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

#endif

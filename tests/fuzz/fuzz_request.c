/* fuzz_request.c - fuzz target for everything the REST API parses from
 * a request before a handler trusts it: the strict JSON body parser
 * (json_in_parse_buf, with every field type), multipart/form-data
 * (multipart_parse, the boundary taken from the input's first line), the
 * request-framing rules (http_framing.c, over the input read as a header
 * block), and the small parsers of paths and queries (ticket numbers,
 * cursors, RFC 3339 times, Content-Type checks). No server, no store.
 *
 * Built two ways: by tests/fuzz/run.sh with clang's libFuzzer, and into
 * tests/fuzz/test_fuzz.c (the deterministic driver `make check` runs).
 * Any crash, sanitizer report or leak is a bug; so is an accepted JSON
 * body that is not an object or a string field that is not a C string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/auth.h"
#include "core/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void req_json(const char *s, size_t n)
{
    const char *str = NULL, *maybe = NULL;
    bool flag = false, has_maybe = false;
    int64_t num = 0;
    struct strv tags = STRV_INIT;
    const struct jf_field fields[] = {
        { "subject", JF_STRING, false, &str, NULL },
        { "flag", JF_BOOL, false, &flag, NULL },
        { "num", JF_INT, false, &num, NULL },
        { "maybe", JF_STRING_NULL, false, &maybe, &has_maybe },
        { "tags", JF_STRING_ARRAY, false, &tags, NULL },
    };
    json_t *doc = NULL;
    struct field_errors fe = { .n = 0 };
    char detail[320];
    if (json_in_parse_buf(s, n, fields, 5, &doc, &fe, detail, sizeof detail)) {
        if (!json_is_object(doc) || (str && strlen(str) > n))
            abort();
        json_decref(doc);
    } else if (doc != NULL || fe.n > API_MAX_FIELD_ERRORS) {
        abort();
    }
    strv_clear(&tags);
}

static void req_multipart(const char *s, size_t n)
{
    /* First line: the Content-Type; the rest: the body. */
    const char *nl = memchr(s, '\n', n);
    size_t cl = nl ? (size_t)(nl - s) : n;
    if (cl > 512)
        cl = 512;
    char ctype[520];
    memcpy(ctype, s, cl);
    ctype[cl] = '\0';
    if (strlen(ctype) < 8)
        snprintf(ctype, sizeof ctype, "multipart/form-data; boundary=XyZ");
    const char *body = nl ? nl + 1 : s + n;
    size_t blen = (size_t)(s + n - body);
    struct mp_form form;
    struct td_err err;
    if (multipart_parse(ctype, body, blen, &form, &err)) {
        if (form.n > MP_MAX_PARTS)
            abort();
        for (size_t i = 0; i < form.n; i++)
            if (form.parts[i].data + form.parts[i].len > (const unsigned char *)body + blen ||
                form.parts[i].data < (const unsigned char *)body)
                abort();
        multipart_free(&form);
    }
    (void)multipart_is_form(ctype);
    (void)json_in_is_json(ctype);
}

static void req_headers(const char *s, size_t n)
{
    struct framing f;
    framing_init(&f);
    size_t i = 0;
    while (i < n) {
        const char *line = s + i;
        const char *end = memchr(line, '\n', n - i);
        size_t len = end ? (size_t)(end - line) : n - i;
        i += len + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        const char *colon = memchr(line, ':', len);
        if (colon == NULL)
            continue;
        char name[256], value[512];
        size_t nl = (size_t)(colon - line), vl = len - nl - 1;
        if (nl >= sizeof name || vl >= sizeof value)
            continue;
        memcpy(name, line, nl);
        name[nl] = '\0';
        const char *v = colon + 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        memcpy(value, v, vl);
        value[vl] = '\0';
        framing_add(&f, name, value);
    }
    (void)framing_verdict(&f);
}

static void req_small(const char *s, size_t n)
{
    char line[256];
    size_t l = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, s, l);
    line[l] = '\0';
    int64_t num;
    if (parse_number(line, &num) && num <= 0)
        abort();
    int64_t after;
    bool asc;
    (void)cursor_decode(line, &after, &asc);
    td_time t;
    (void)time_parse_rfc3339(line, &t);
    (void)tokens_well_formed(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Own, NUL-terminated copy: the parsers get exactly size bytes. */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    req_json(s, size);
    req_multipart(s, size);
    req_headers(s, size);
    req_small(s, size);
    free(s);
    return 0;
}

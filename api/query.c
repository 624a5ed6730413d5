/* query.c - query strings, path parameters and list cursors.
 *
 * Query arguments are as strict as bodies: an argument the endpoint does
 * not know, or one given twice, is a 400 naming it (a typo such as
 * ?stauts=open must not silently list everything).
 *
 * Cursors are opaque to clients: base64url("c1:" order ":" number).
 * Pagination is keyset pagination on the ticket number, which is unique
 * and only grows, so a page boundary never moves when tickets are
 * created meanwhile: nothing is skipped or repeated. */
#include "api_int.h"

#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

struct qcheck {
    const char *const *allowed;
    struct field_errors *fe;
    const char *seen[16];
    size_t n_seen;
};

static bool check_one(void *arg, const char *key, const char *value)
{
    struct qcheck *q = arg;
    const char *name = NULL;
    for (size_t i = 0; q->allowed[i] && name == NULL; i++)
        if (strcmp(q->allowed[i], key) == 0)
            name = q->allowed[i];
    if (!utf8_valid(key, strlen(key))) {
        field_error(q->fe, "query", "an argument name is not valid UTF-8");
        return true;
    }
    if (name == NULL) {
        field_error(q->fe, key, "unknown query argument");
        return true;
    }
    for (size_t i = 0; i < q->n_seen; i++)
        if (q->seen[i] == name) {
            field_error(q->fe, key, "given more than once");
            return true;
        }
    if (q->n_seen < sizeof q->seen / sizeof q->seen[0])
        q->seen[q->n_seen++] = name;
    if (value != NULL && !utf8_valid(value, strlen(value)))
        field_error(q->fe, key, "is not valid UTF-8");
    return true;
}

bool query_check(struct api_req *r, const char *const *allowed, struct field_errors *fe)
{
    struct qcheck q = { .allowed = allowed, .fe = fe, .n_seen = 0 };
    size_t before = fe->n;
    req_query_each(r, check_one, &q);
    return fe->n == before;
}

bool parse_number(const char *s, int64_t *out)
{
    if (s == NULL || s[0] < '1' || s[0] > '9')
        return false;
    int64_t v = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 18)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool param_ticket(struct api_req *r, int64_t *out, struct api_resp *resp)
{
    if (r->n_params < 1 || !parse_number(r->params[0], out)) {
        struct field_errors fe = { .n = 0 };
        field_error(&fe, "number", "a ticket number is a positive integer, as in /tickets/42");
        problem_fields(resp, "bad ticket number in the path", &fe);
        return false;
    }
    return true;
}

void cursor_encode(int64_t after, bool ascending, char *out, size_t len)
{
    char raw[40];
    int n = snprintf(raw, sizeof raw, "c1:%c:%lld", ascending ? 'a' : 'd', (long long)after);
    if (n < 0 || (size_t)n >= sizeof raw ||
        len < sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        if (len)
            out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void cursor_encode_updated(int64_t updated, int64_t number, char *out, size_t len)
{
    char raw[64];
    int n = snprintf(raw, sizeof raw, "c2:u:%lld:%lld", (long long)updated, (long long)number);
    if (n < 0 || (size_t)n >= sizeof raw ||
        len < sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        if (len)
            out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool cursor_decode_updated(const char *s, int64_t *updated, int64_t *number)
{
    unsigned char raw[64];
    size_t n = 0;
    if (s == NULL || strlen(s) > 80 ||
        sodium_base642bin(raw, sizeof raw - 1, s, strlen(s), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[n] = '\0';
    if (strlen((const char *)raw) != n || strncmp((const char *)raw, "c2:u:", 5) != 0)
        return false;
    char *colon = strchr((char *)raw + 5, ':');
    if (colon == NULL)
        return false;
    *colon = '\0';
    return parse_number((const char *)raw + 5, updated) && parse_number(colon + 1, number);
}

bool cursor_decode(const char *s, int64_t *after, bool *ascending)
{
    unsigned char raw[40];
    size_t n = 0;
    if (s == NULL || strlen(s) > 60 ||
        sodium_base642bin(raw, sizeof raw - 1, s, strlen(s), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[n] = '\0';
    if (n < 6 || strlen((const char *)raw) != n || memcmp(raw, "c1:", 3) != 0 ||
        (raw[3] != 'a' && raw[3] != 'd') || raw[4] != ':')
        return false;
    if (!parse_number((const char *)raw + 5, after))
        return false;
    *ascending = raw[3] == 'a';
    return true;
}

bool query_page(struct api_req *r, int64_t *offset, int64_t *limit, struct api_resp *out)
{
    static const char *const args[] = { "limit", "cursor", NULL };
    struct field_errors fe = { .n = 0 };
    *offset = 0;
    *limit = r->api->set.page_max;
    const char *v;
    if (query_check(r, args, &fe)) {
        if ((v = req_query(r, "limit")) != NULL &&
            (!parse_number(v, limit) || *limit > (int64_t)r->api->set.page_max))
            field_error(&fe, "limit", "must be an integer from 1 to %u", r->api->set.page_max);
        bool asc = true;
        if ((v = req_query(r, "cursor")) != NULL && (!cursor_decode(v, offset, &asc) || !asc))
            field_error(&fe, "cursor", "is not a cursor this server returned");
    }
    if (fe.n == 0)
        return true;
    problem_fields(out, "bad query arguments", &fe);
    return false;
}

json_t *query_page_next(int64_t offset, int64_t limit, size_t total)
{
    if (offset + limit >= (int64_t)total)
        return json_null();
    char cur[80];
    cursor_encode(offset + limit, true, cur, sizeof cur);
    return json_string(cur);
}

/* ---- Link: <...>; rel="next" (RFC 8288) ---- */

struct link_ctx {
    struct buf *b;
};

static void url_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            buf_append(b, (const char *)p, 1);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            buf_append(b, e, 3);
        }
    }
}

static bool link_arg(void *arg, const char *key, const char *value)
{
    struct link_ctx *c = arg;
    if (strcmp(key, "cursor") == 0)
        return true; /* replaced */
    buf_append(c->b, "&", 1);
    url_escape(c->b, key);
    if (value) {
        buf_append(c->b, "=", 1);
        url_escape(c->b, value);
    }
    return true;
}

void link_next(struct api_req *r, struct api_resp *out, const char *cursor)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "<%s?cursor=", r->path);
    url_escape(&b, cursor);
    struct link_ctx c = { &b };
    req_query_each(r, link_arg, &c);
    buf_printf(&b, ">; rel=\"next\"");
    if (b.len < sizeof out->headers[0].value)
        resp_header(out, "Link", "%.*s", (int)b.len, b.data);
    buf_free(&b);
}

/* test_api_openapi.c - api/openapi.json stays true to the server.
 *
 * 1. Every route in api_routes[] is documented, and every documented
 *    operation is a route (same method, same path template).
 * 2. The document is well formed for what we use: every $ref resolves,
 *    every path parameter is declared, every operation has responses.
 * 3. Every example validates against its schema.
 * 4. Live: a real ticketd (SQLite) answers a scripted session; each
 *    response's status must be documented for its operation and its body
 *    must validate against the documented schema.
 *
 * The schema checker covers the JSON Schema subset the document uses
 * (type, properties, required, additionalProperties, items, enum,
 * minimum, maximum, minLength, pattern, minProperties, format date-time,
 * $ref) and refuses any other validation keyword, so the subset cannot
 * silently grow past what is checked. */
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

static json_t *load_doc(void)
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

static json_t *resolve(json_t *doc, const char *ref)
{
    static const char prefix[] = "#/components/schemas/";
    if (strncmp(ref, prefix, sizeof prefix - 1) != 0)
        return NULL;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                           ref + sizeof prefix - 1);
}

static bool type_is(const char *t, json_t *v)
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
static bool check(json_t *doc, json_t *schema, json_t *v, const char *where, char *err,
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

/* ---- 1 and 2: routes vs document --------------------------------------------- */

static void lower(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static const char *const http_methods[] = { "get", "put", "post", "delete", "options", "head",
                                            "patch", "trace", NULL };

static void test_routes_documented(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    int failures = 0;
    for (size_t i = 0; i < api_n_routes; i++) {
        char m[16];
        lower(m, api_routes[i].method, sizeof m);
        if (json_object_get(json_object_get(paths, api_routes[i].pattern), m) == NULL) {
            print_error("route %s %s is not documented\n", api_routes[i].method, api_routes[i].pattern);
            failures++;
        }
    }
    /* Generated clients name methods by operationId: one on every
     * operation, unique. And the document names no fixed server. */
    json_t *op_ids = json_object();
    json_t *server;
    size_t si;
    json_array_foreach(json_object_get(doc, "servers"), si, server) {
        const char *url = json_string_value(json_object_get(server, "url"));
        if (url == NULL || strstr(url, "127.0.0.1") || strstr(url, "localhost")) {
            print_error("servers[%zu] pins a host: %s\n", si, url ? url : "(none)");
            failures++;
        }
    }
    const char *path;
    json_t *ops;
    json_object_foreach(paths, path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            bool is_method = false;
            for (size_t k = 0; http_methods[k]; k++)
                is_method |= strcmp(http_methods[k], method) == 0;
            if (!is_method)
                continue; /* "parameters", "summary"... at path level */
            const char *op_id = json_string_value(json_object_get(op, "operationId"));
            if (op_id == NULL || json_object_get(op_ids, op_id) != NULL) {
                print_error("%s %s: %s operationId %s\n", method, path,
                            op_id ? "duplicate" : "no", op_id ? op_id : "");
                failures++;
            } else {
                json_object_set_new(op_ids, op_id, json_true());
            }
            bool routed = false;
            for (size_t i = 0; i < api_n_routes && !routed; i++) {
                char m[16];
                lower(m, api_routes[i].method, sizeof m);
                routed = strcmp(m, method) == 0 && strcmp(api_routes[i].pattern, path) == 0;
            }
            if (!routed) {
                print_error("documented %s %s is not a route\n", method, path);
                failures++;
            }
            if (json_object_size(json_object_get(op, "responses")) == 0) {
                print_error("%s %s documents no responses\n", method, path);
                failures++;
            }
            /* Every {param} of the template is declared as a path parameter. */
            for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
                char name[64];
                size_t n = strcspn(p + 1, "}");
                snprintf(name, sizeof name, "%.*s", (int)n, p + 1);
                bool declared = false;
                size_t k;
                json_t *prm;
                json_array_foreach(json_object_get(op, "parameters"), k, prm) {
                    const char *pref = json_string_value(json_object_get(prm, "$ref"));
                    static const char pprefix[] = "#/components/parameters/";
                    if (pref && strncmp(pref, pprefix, sizeof pprefix - 1) == 0)
                        prm = json_object_get(json_object_get(json_object_get(doc, "components"),
                                                              "parameters"),
                                              pref + sizeof pprefix - 1);
                    const char *in = json_string_value(json_object_get(prm, "in"));
                    const char *pn = json_string_value(json_object_get(prm, "name"));
                    declared |= in && pn && strcmp(in, "path") == 0 && strcmp(pn, name) == 0;
                }
                if (!declared) {
                    print_error("%s %s does not declare path parameter %s\n", method, path, name);
                    failures++;
                }
            }
        }
    }
    json_decref(op_ids);
    json_decref(doc);
    if (failures)
        fail_msg("%d mismatches between api_routes[] and api/openapi.json", failures);
}

/* ---- 3: examples ------------------------------------------------------------------ */

static void test_examples_validate(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    int failures = 0, examples = 0;
    const char *path;
    json_t *ops;
    json_object_foreach(json_object_get(doc, "paths"), path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            const char *status;
            json_t *resp;
            json_object_foreach(json_object_get(op, "responses"), status, resp) {
                const char *ctype;
                json_t *media;
                json_object_foreach(json_object_get(resp, "content"), ctype, media) {
                    json_t *schema = json_object_get(media, "schema");
                    json_t *example = json_object_get(media, "example");
                    if (schema == NULL) {
                        print_error("%s %s %s %s: no schema\n", method, path, status, ctype);
                        failures++;
                        continue;
                    }
                    if (example == NULL)
                        continue;
                    examples++;
                    char where[256], err[512];
                    snprintf(where, sizeof where, "%s %s %s example", method, path, status);
                    if (!check(doc, schema, example, where, err, sizeof err, 0)) {
                        print_error("%s\n", err);
                        failures++;
                    }
                }
            }
        }
    }
    /* Every named schema is well formed on its own (refs resolve...). */
    const char *name;
    json_t *schema;
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name, schema) {
        char err[512];
        json_t *nothing = json_null();
        /* Validating null exercises the keywords and $refs at the top. */
        if (!check(doc, schema, nothing, name, err, sizeof err, 0) && strstr(err, "not of type") == NULL &&
            strstr(err, "enum") == NULL) {
            print_error("schema %s: %s\n", name, err);
            failures++;
        }
        json_decref(nothing);
    }
    /* The checker itself catches what it should. */
    json_t *ticket = json_pack("{s:s}", "$ref", "#/components/schemas/Ticket");
    json_t *bad = json_pack("{s:i, s:s}", "number", 0, "subject", "x");
    char err[512];
    assert_false(check(doc, ticket, bad, "bad ticket", err, sizeof err, 0));
    json_decref(bad);
    json_decref(ticket);
    json_decref(doc);
    if (failures)
        fail_msg("%d example/schema problems in api/openapi.json", failures);
    assert_true(examples >= 20);
}

/* ---- 4: live responses ---------------------------------------------------------- */

struct live {
    struct tdsrv *s;
    json_t *doc;
    int checked, failures;
};

/* The response h of method+pattern must be documented and valid. */
static void live_check(struct live *l, const char *method, const char *pattern,
                       const struct http *h, int line)
{
    char m[16], st[8], ct[128];
    lower(m, method, sizeof m);
    snprintf(st, sizeof st, "%ld", h->status);
    l->checked++;
    json_t *op = json_object_get(json_object_get(json_object_get(l->doc, "paths"), pattern), m);
    json_t *resp = json_object_get(json_object_get(op, "responses"), st);
    if (resp == NULL) {
        print_error("line %d: %s %s answered %s, which is not documented: %.*s\n", line, method,
                    pattern, st, (int)h->body.len, h->body.data ? h->body.data : "");
        l->failures++;
        return;
    }
    json_t *content = json_object_get(resp, "content");
    if (content == NULL) {
        if (h->body.len != 0) {
            print_error("line %d: %s %s %s: documented without a body, got one\n", line, method,
                        pattern, st);
            l->failures++;
        }
        return;
    }
    snprintf(ct, sizeof ct, "%.*s", (int)strcspn(h->content_type, ";"), h->content_type);
    /* Documented media types may carry parameters (text/plain;
     * version=0.0.4): compare the type/subtype only. */
    json_t *media = NULL;
    const char *key;
    json_t *mv;
    json_object_foreach(content, key, mv) {
        if (media == NULL && strncmp(key, ct, strlen(ct)) == 0 &&
            (key[strlen(ct)] == '\0' || key[strlen(ct)] == ';'))
            media = mv;
    }
    if (media == NULL && json_object_get(content, "application/octet-stream") != NULL)
        return; /* any bytes (attachments keep their own type) */
    if (media == NULL) {
        print_error("line %d: %s %s %s: Content-Type %s is not documented\n", line, method,
                    pattern, st, ct);
        l->failures++;
        return;
    }
    if (strcmp(ct, "application/json") != 0 && strcmp(ct, "application/problem+json") != 0)
        return;
    char where[256], err[512];
    snprintf(where, sizeof where, "%s %s %s (line %d)", method, pattern, st, line);
    if (h->json == NULL || !check(l->doc, json_object_get(media, "schema"), h->json, where, err, sizeof err, 0)) {
        print_error("%s: %s\n", where, h->json ? err : "body is not JSON");
        l->failures++;
    }
}

#define LIVE(method, pattern, h) live_check(&l, (method), (pattern), (h), __LINE__)

static void test_live_responses(void **state)
{
    (void)state;
    struct tdsrv srv;
    struct tdsrv *s = &srv;
    if (!tdsrv_start(s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");
    struct live l = { s, load_doc(), 0, 0 };
    struct http h;
    char path[160];
    const char *J = "application/json";

    http_get(s, "/healthz", NULL, &h);
    LIVE("GET", "/healthz", &h);
    http_clear(&h);
    http_get(s, "/readyz", NULL, &h);
    LIVE("GET", "/readyz", &h);
    http_clear(&h);
    http_get(s, "/metrics", NULL, &h);
    LIVE("GET", "/metrics", &h);
    http_clear(&h);
    http_get(s, "/api/v1/openapi.json", NULL, &h);
    LIVE("GET", "/api/v1/openapi.json", &h);
    size_t doc_len;
    const char *doc_text = openapi_doc(&doc_len);
    assert_int_equal(h.body.len, doc_len);
    assert_memory_equal(h.body.data, doc_text, doc_len);
    http_clear(&h);

    /* auth */
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\",\"name\":\"Live\"}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\"}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/register", NULL, &h, "{\"email\":1}");
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_req(s, "POST", "/api/v1/auth/register", NULL, "text/plain", "x", 1, NULL, &h);
    LIVE("POST", "/api/v1/auth/register", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"live and let live\"}");
    LIVE("POST", "/api/v1/auth/login", &h);
    char refresh[128];
    snprintf(refresh, sizeof refresh, "%s", jstr(&h, "refresh_token") ? jstr(&h, "refresh_token") : "");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"live@example.org\",\"password\":\"wrong wrong wrong\"}");
    LIVE("POST", "/api/v1/auth/login", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/refresh", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/refresh", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/logout", NULL, &h, "{\"refresh_token\":\"%s\"}", refresh);
    LIVE("POST", "/api/v1/auth/logout", &h);
    http_clear(&h);
    http_get(s, "/api/v1/me", s->cust1.access, &h);
    LIVE("GET", "/api/v1/me", &h);
    http_clear(&h);
    http_get(s, "/api/v1/me", "garbage", &h);
    LIVE("GET", "/api/v1/me", &h);
    http_clear(&h);

    /* tickets */
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"live\",\"body\":\"b\",\"tags\":[\"x\"],\"priority\":\"low\"}");
    LIVE("POST", "/api/v1/tickets", &h);
    long long n = jint(&h, "number");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h, "{\"subject\":\"\",\"body\":\"b\"}");
    LIVE("POST", "/api/v1/tickets", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h,
              "{\"subject\":\"s\",\"body\":\"b\",\"requester_id\":\"%s\"}", s->cust2.u.id);
    LIVE("POST", "/api/v1/tickets", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets?limit=1", s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets?limit=nope", s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", n);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    char etag[96];
    snprintf(etag, sizeof etag, "If-Match: %s", h.etag);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/tickets/x", s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->cust1.access, &h, "{\"priority\":\"high\"}");
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    const char *const ifm[] = { etag, NULL };
    const char *body = "{\"priority\":\"high\",\"subject\":\"live 2\"}";
    http_req(s, "PATCH", path, s->agent1.access, J, body, strlen(body), ifm, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_req(s, "PATCH", path, s->agent1.access, J, body, strlen(body), ifm, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    http_req(s, "PATCH", path, s->agent1.access, "text/plain", body, strlen(body), NULL, &h);
    LIVE("PATCH", "/api/v1/tickets/{number}", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/claim", n);
    http_req(s, "POST", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    http_req(s, "POST", path, s->agent2.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    http_req(s, "POST", path, s->cust1.access, NULL, NULL, 0, NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/claim", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/assign", n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"assignee_id\":null}");
    LIVE("POST", "/api/v1/tickets/{number}/assign", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"assignee_id\":\"%s\"}", s->cust1.u.id);
    LIVE("POST", "/api/v1/tickets/{number}/assign", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", n);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"body\":\"note\",\"internal\":true}");
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    const char *form = "--b\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"x.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
    http_req(s, "POST", path, s->cust1.access, "multipart/form-data; boundary=b", form, strlen(form),
             NULL, &h);
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    char att[TD_ID_LEN + 1] = "";
    json_t *a = json_array_get(json_object_get(h.json, "attachments"), 0);
    snprintf(att, sizeof att, "%s", a ? json_string_value(json_object_get(a, "id")) : "");
    http_clear(&h);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"body\":\"n\",\"internal\":true}");
    LIVE("POST", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/comments", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", n);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/history", &h);
    http_clear(&h);
    /* conversations: participants and merge (routes_participants.c,
     * routes_merge.c) */
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants", n);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"emails\":[\"cc.live@example.org\"]}");
    LIVE("POST", "/api/v1/tickets/{number}/participants", &h);
    assert_int_equal(h.status, 200);
    json_t *first = json_array_get(json_object_get(h.json, "items"), 0);
    char pid[TD_ID_LEN + 1];
    snprintf(pid, sizeof pid, "%s", json_string_value(json_object_get(first, "id")));
    http_clear(&h);
    http_json(s, "POST", path, s->cust1.access, &h, "{}");
    LIVE("POST", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/participants", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/participants/%s", n, pid);
    http_req(s, "DELETE", path, s->cust2.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/tickets/{number}/participants/{user_id}", &h);
    http_clear(&h);
    http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/tickets/{number}/participants/{user_id}", &h);
    assert_int_equal(h.status, 204);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/tickets", s->cust1.access, &h, "{\"subject\":\"dup\",\"body\":\"b\"}");
    long long dup = jint(&h, "number");
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/merge", dup);
    http_json(s, "POST", path, s->cust1.access, &h, "{\"into\":%lld}", n);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", n);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    assert_int_equal(h.status, 200);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"into\":%lld}", dup + 100);
    LIVE("POST", "/api/v1/tickets/{number}/merge", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/history", dup);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}/history", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/tickets/%lld", dup);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/tickets/{number}", &h);
    assert_int_equal(jint(&h, "merged_into"), n);
    http_clear(&h);

    /* agents' aliases (routes_aliases.c); this server sends no mail */
    snprintf(path, sizeof path, "/api/v1/users/%.24s/aliases", s->agent1.u.id);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    assert_int_equal(h.status, 201);
    http_clear(&h);
    http_json(s, "POST", path, s->admin.access, &h, "{\"email\":\"al@home.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    http_json(s, "POST", path, s->agent1.access, &h, "{\"email\":\"al@phone.example\"}");
    LIVE("POST", "/api/v1/users/{id}/aliases", &h);
    assert_int_equal(h.status, 503);
    http_clear(&h);
    http_get(s, path, s->agent1.access, &h);
    LIVE("GET", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/users/{id}/aliases", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%.24s/aliases/al@home.example", s->agent1.u.id);
    http_req(s, "DELETE", path, s->agent1.access, NULL, NULL, 0, NULL, &h);
    LIVE("DELETE", "/api/v1/users/{id}/aliases/{email}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/auth/aliases/confirm?token=nope", NULL, &h);
    LIVE("GET", "/api/v1/auth/aliases/confirm", &h);
    http_clear(&h);

    snprintf(path, sizeof path, "/api/v1/attachments/%s", att);
    http_get(s, path, s->cust1.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    assert_int_equal(h.status, 200);
    http_clear(&h);
    http_get(s, path, s->cust2.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/attachments/zz", s->cust2.access, &h);
    LIVE("GET", "/api/v1/attachments/{id}", &h);
    http_clear(&h);

    /* users */
    http_get(s, "/api/v1/users?role=agent", s->admin.access, &h);
    LIVE("GET", "/api/v1/users", &h);
    http_clear(&h);
    http_get(s, "/api/v1/users", s->agent1.access, &h);
    LIVE("GET", "/api/v1/users", &h);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"new.agent@example.com\",\"role\":\"agent\",\"password\":\"" API_PW "\"}");
    LIVE("POST", "/api/v1/users", &h);
    char uid[TD_ID_LEN + 1];
    snprintf(uid, sizeof uid, "%s", jstr(&h, "id") ? jstr(&h, "id") : "");
    http_clear(&h);
    http_json(s, "POST", "/api/v1/users", s->admin.access, &h,
              "{\"email\":\"new.agent@example.com\",\"role\":\"agent\"}");
    LIVE("POST", "/api/v1/users", &h);
    http_clear(&h);
    snprintf(path, sizeof path, "/api/v1/users/%s", uid);
    http_get(s, path, s->admin.access, &h);
    LIVE("GET", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_get(s, "/api/v1/users/ffffffffffffffffffffffff", s->admin.access, &h);
    LIVE("GET", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->admin.access, &h, "{\"role\":\"admin\",\"disabled\":true}");
    LIVE("PATCH", "/api/v1/users/{id}", &h);
    http_clear(&h);
    http_json(s, "PATCH", path, s->agent1.access, &h, "{\"disabled\":false}");
    LIVE("PATCH", "/api/v1/users/{id}", &h);
    http_clear(&h);

    json_decref(l.doc);
    bool clean = tdsrv_stop(s);
    if (l.failures)
        fail_msg("%d of %d live responses do not match api/openapi.json", l.failures, l.checked);
    assert_true(clean);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_documented),
        cmocka_unit_test(test_examples_validate),
        cmocka_unit_test(test_live_responses),
    };
    int failed = cmocka_run_group_tests_name("api_openapi", tests, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

/* test_api_openapi.c - api/openapi.json stays true to the server
 * (openapi_check.h):
 *
 * 1. Every route in api_routes[] is documented, and every documented
 *    operation is a route (same method, same path template).
 * 2. The document is well formed for what we use: every $ref resolves,
 *    every path parameter is declared, every operation has responses.
 * 3. Every example validates against its schema.
 * (4, live responses: test_api_openapi_live.c.) */
#include "tests/api/openapi_check.h"

/* ---- 1 and 2: routes vs document --------------------------------------------- */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_documented),
        cmocka_unit_test(test_examples_validate),
    };
    return cmocka_run_group_tests_name("api_openapi", tests, NULL, NULL) ? 1 : 0;
}

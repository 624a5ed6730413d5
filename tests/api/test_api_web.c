/* test_api_web.c - the web console's files served at / (api/routes_web.c).
 *
 * Unit: Accept-Encoding and If-None-Match parsing; the embedded table
 * itself (every file of web/ is there, gzip copies are real gzip, the
 * first load fits in 100 KB compressed, the HTML has no inline script or
 * style the CSP would block, and no script writes markup from strings).
 * Live, on a real ticketd: content types, ETag and 304, gzip only when
 * asked for, the security headers, HEAD, 405 and 404, and that the API
 * beside it is unchanged (JSON, no-store, a CSP of its own). Storage is
 * not involved: SQLite only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "tests/api/api_fixture.h"

static void accept_encoding(void **state)
{
    (void)state;
    assert_true(web_accepts_gzip("gzip"));
    assert_true(web_accepts_gzip("gzip, deflate, br"));
    assert_true(web_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(web_accepts_gzip("*"));
    assert_false(web_accepts_gzip(NULL));
    assert_false(web_accepts_gzip(""));
    assert_false(web_accepts_gzip("identity"));
    assert_false(web_accepts_gzip("gzip;q=0"));
    assert_false(web_accepts_gzip("gzip; q=0.0, br"));
    assert_false(web_accepts_gzip("x-gzip2"));
}

static void if_none_match(void **state)
{
    (void)state;
    assert_true(web_etag_matches("\"abc\"", "abc"));
    assert_true(web_etag_matches("\"x\", \"abc\"", "abc"));
    assert_true(web_etag_matches("W/\"abc\"", "abc")); /* weak comparison */
    assert_true(web_etag_matches("*", "abc"));
    assert_false(web_etag_matches(NULL, "abc"));
    assert_false(web_etag_matches("\"abc-gz\"", "abc"));
    assert_false(web_etag_matches("\"ab\"", "abc"));
    assert_false(web_etag_matches("abc", "abc")); /* unquoted is no entity tag */
    assert_false(web_etag_matches("\"abc", "abc"));
}

static void embedded_table(void **state)
{
    (void)state;
    assert_true(web_n_assets >= 3);
    assert_non_null(web_find("/"));
    assert_string_equal(web_find("/")->path, "/index.html");
    assert_non_null(web_find("/app.css"));
    assert_non_null(web_find("/js/main.js"));
    assert_null(web_find("/README.md"));
    assert_null(web_find("/../Makefile"));
    size_t gz_total = 0;
    for (size_t i = 0; i < web_n_assets; i++) {
        const struct web_asset *a = &web_assets[i];
        size_t raw = (size_t)(a->raw_end - a->raw), gz = (size_t)(a->gz_end - a->gz);
        assert_true(raw > 0);
        assert_true(gz > 18 && a->gz[0] == 0x1f && a->gz[1] == 0x8b); /* gzip magic */
        gz_total += gz;
        /* The text must be searchable as a C string: copy it. */
        char *text = calloc(1, raw + 1);
        assert_non_null(text);
        memcpy(text, a->raw, raw);
        if (strstr(a->path, ".html")) {
            /* CSP script-src/style-src 'self': nothing inline. */
            for (const char *p = text; (p = strstr(p, "<script")) != NULL; p++) {
                const char *end = strchr(p, '>');
                assert_non_null(end);
                char tag[256];
                snprintf(tag, sizeof tag, "%.*s", (int)(end - p), p);
                if (strstr(tag, "src=") == NULL)
                    fail_msg("%s: an inline <script>", a->path);
            }
            if (strstr(text, "<style") || strstr(text, " style=") || strstr(text, " onclick="))
                fail_msg("%s: inline style or handler", a->path);
        }
        if (strstr(a->path, ".js")) {
            /* Text goes in by textContent only. */
            if (strstr(text, "innerHTML") || strstr(text, "outerHTML") ||
                strstr(text, "insertAdjacentHTML") || strstr(text, "document.write") ||
                strstr(text, "eval("))
                fail_msg("%s writes markup from strings", a->path);
            if (strstr(text, "localStorage") || strstr(text, "sessionStorage"))
                fail_msg("%s uses web storage (tokens live in memory only)", a->path);
        }
        free(text);
    }
    /* Everything the console has, compressed: an upper bound of the first load. */
    printf("web console: %zu files, %zu bytes gzipped\n", web_n_assets, gz_total);
    assert_true(gz_total < 100 * 1024);
}

static void live(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");
    struct http h;
    char v[768], etag[80], etag_gz[80];

    /* "/" is the console's page, uncompressed unless asked. */
    assert_int_equal(http_get(&s, "/", NULL, &h), 200);
    assert_string_equal(h.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(h.body.data, "/js/main.js"));
    assert_string_equal(http_header(&h, "Content-Encoding", v, sizeof v), "");
    assert_string_equal(http_header(&h, "Cache-Control", v, sizeof v), "no-cache");
    http_header(&h, "Content-Security-Policy", v, sizeof v);
    assert_non_null(strstr(v, "default-src 'self'"));
    assert_non_null(strstr(v, "frame-ancestors 'none'"));
    assert_null(strstr(v, "unsafe"));
    assert_string_equal(http_header(&h, "X-Content-Type-Options", v, sizeof v), "nosniff");
    assert_string_equal(http_header(&h, "Referrer-Policy", v, sizeof v), "no-referrer");
    assert_string_equal(http_header(&h, "Vary", v, sizeof v), "Accept-Encoding");
    snprintf(etag, sizeof etag, "%s", h.etag);
    assert_true(strlen(etag) > 10 && etag[0] == '"');
    const struct web_asset *idx = web_find("/");
    assert_int_equal(h.body.len, (size_t)(idx->raw_end - idx->raw));
    http_clear(&h);

    /* Revalidation: 304 without a body. */
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *hdr_inm[] = { inm, NULL };
    assert_int_equal(http_req(&s, "GET", "/index.html", NULL, NULL, NULL, 0, hdr_inm, &h), 304);
    assert_int_equal(h.body.len, 0);
    assert_string_equal(h.etag, etag);
    http_clear(&h);
    const char *hdr_other[] = { "If-None-Match: \"0123\"", NULL };
    assert_int_equal(http_req(&s, "GET", "/", NULL, NULL, NULL, 0, hdr_other, &h), 200);
    http_clear(&h);

    /* gzip when the client takes it: the precompressed bytes, another ETag. */
    const char *hdr_gz[] = { "Accept-Encoding: gzip, br", NULL };
    assert_int_equal(http_req(&s, "GET", "/js/main.js", NULL, NULL, NULL, 0, hdr_gz, &h), 200);
    assert_string_equal(h.content_type, "text/javascript; charset=utf-8");
    assert_string_equal(http_header(&h, "Content-Encoding", v, sizeof v), "gzip");
    const struct web_asset *js = web_find("/js/main.js");
    assert_int_equal(h.body.len, (size_t)(js->gz_end - js->gz));
    assert_memory_equal(h.body.data, js->gz, h.body.len);
    snprintf(etag_gz, sizeof etag_gz, "%s", h.etag);
    assert_non_null(strstr(etag_gz, "-gz\""));
    http_clear(&h);
    char inm_gz[160];
    snprintf(inm_gz, sizeof inm_gz, "If-None-Match: %s", etag_gz);
    const char *hdr_gz304[] = { "Accept-Encoding: gzip", inm_gz, NULL };
    assert_int_equal(http_req(&s, "GET", "/js/main.js", NULL, NULL, NULL, 0, hdr_gz304, &h), 304);
    http_clear(&h);
    const char *hdr_nogz[] = { "Accept-Encoding: gzip;q=0", inm_gz, NULL };
    assert_int_equal(http_req(&s, "GET", "/js/main.js", NULL, NULL, NULL, 0, hdr_nogz, &h), 200);
    assert_string_equal(http_header(&h, "Content-Encoding", v, sizeof v), "");
    assert_int_equal(h.body.len, (size_t)(js->raw_end - js->raw));
    http_clear(&h);

    assert_int_equal(http_get(&s, "/app.css", NULL, &h), 200);
    assert_string_equal(h.content_type, "text/css; charset=utf-8");
    http_clear(&h);
    assert_int_equal(http_req(&s, "HEAD", "/app.css", NULL, NULL, NULL, 0, NULL, &h), 200);
    assert_int_equal(h.body.len, 0);
    http_clear(&h);
    assert_int_equal(http_req(&s, "POST", "/", NULL, "text/plain", "x", 1, NULL, &h), 405);
    assert_string_equal(http_header(&h, "Allow", v, sizeof v), "GET, HEAD");
    http_clear(&h);
    assert_int_equal(http_get(&s, "/nope.js", NULL, &h), 404);
    http_clear(&h);
    assert_int_equal(http_get(&s, "/README.md", NULL, &h), 404);
    http_clear(&h);

    /* The API beside it: JSON, never cached, never a page. */
    assert_int_equal(http_get(&s, "/api/v1/tickets", NULL, &h), 401);
    assert_string_equal(http_header(&h, "Cache-Control", v, sizeof v), "no-store");
    assert_string_equal(http_header(&h, "Content-Security-Policy", v, sizeof v),
                        "default-src 'none'; frame-ancestors 'none'");
    http_clear(&h);
    assert_true(tdsrv_stop(&s));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_encoding),
        cmocka_unit_test(if_none_match),
        cmocka_unit_test(embedded_table),
        cmocka_unit_test(live),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

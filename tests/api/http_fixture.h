/* http_fixture.h - what the REST API's HTTP tests share: a real ticketd
 * process per storage backend (SQLite, MongoDB test server; narrow with
 * TICKETD_TEST_BACKENDS like the store tests), problem+json checks and a
 * few requests every test makes.
 *
 * test_api_http.c: the happy flow, the role table, registration,
 * ETag/If-Match, filters, attachments. test_api_http_auth.c: the JWT
 * attack list, tokens dying on account changes, refresh rotation, login
 * rate limiting. test_api_http_stress.c: concurrent claims and inserts,
 * malformed input (never a 5xx). */
#ifndef TD_TEST_HTTP_FIXTURE_H
#define TD_TEST_HTTP_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/api/api_fixture.h"

#define SRV(state) ((struct tdsrv *)*(state))

/* Fails the test with the response when the status is not `want`. */
#define EXPECT_STATUS(h, want)                                                           \
    do {                                                                                 \
        if ((h)->status != (want))                                                       \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status,      \
                     (int)(want), (int)((h)->body.len > 600 ? 600 : (h)->body.len),       \
                     (h)->body.data ? (h)->body.data : "");                              \
    } while (0)

/* A problem document of this status whose detail contains `reason`. */
static inline void expect_problem(const struct http *h, long status, const char *reason, int line)
{
    if (h->status != status)
        fail_msg("line %d: HTTP %ld, expected %ld: %.*s", line, h->status, status,
                 (int)h->body.len, h->body.data ? h->body.data : "");
    if (strncmp(h->content_type, "application/problem+json", 24) != 0)
        fail_msg("line %d: Content-Type '%s', expected application/problem+json", line,
                 h->content_type);
    if (jint(h, "status") != status || jstr(h, "type") == NULL || jstr(h, "title") == NULL)
        fail_msg("line %d: not a problem document: %.*s", line, (int)h->body.len, h->body.data);
    const char *detail = jstr(h, "detail");
    if (reason && (detail == NULL || strstr(detail, reason) == NULL))
        fail_msg("line %d: detail '%s' does not say '%s'", line, detail ? detail : "(none)",
                 reason);
}
#define EXPECT_PROBLEM(h, status, reason) expect_problem((h), (status), (reason), __LINE__)

/* Opens a ticket as u; returns its number. */
static inline int64_t open_ticket(struct tdsrv *s, const struct tduser *u, const char *subject)
{
    struct http h;
    http_json(s, "POST", "/api/v1/tickets", u->access, &h,
              "{\"subject\":\"%s\",\"body\":\"please help\"}", subject);
    EXPECT_STATUS(&h, 201);
    int64_t n = jint(&h, "number");
    assert_true(n > 0);
    http_clear(&h);
    return n;
}

/* Multipart comment with one file; returns the attachment id in id. */
static inline void upload(struct tdsrv *s, const struct tduser *u, int64_t ticket, bool internal,
                   const char *name, const void *data, size_t len, char id[TD_ID_LEN + 1])
{
    struct buf b = BUF_INIT;
    const char *bd = "XyZzyBoundary42";
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nfile attached\r\n", bd);
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"internal\"\r\n\r\n%s\r\n", bd,
               internal ? "true" : "false");
    /* The file name as a quoted-string: quotes and backslashes escaped. */
    buf_printf(&b, "--%s\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"", bd);
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_puts(&b, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    buf_append(&b, data, len);
    buf_printf(&b, "\r\n--%s--\r\n", bd);
    char path[96], ct[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%lld/comments", (long long)ticket);
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", bd);
    struct http h;
    http_req(s, "POST", path, u->access, ct, b.data, b.len, NULL, &h);
    buf_free(&b);
    EXPECT_STATUS(&h, 201);
    json_t *atts = json_object_get(h.json, "attachments");
    assert_int_equal(json_array_size(atts), 1);
    snprintf(id, TD_ID_LEN + 1, "%s", json_string_value(json_object_get(json_array_get(atts, 0), "id")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(atts, 0), "size")), (long long)len);
    http_clear(&h);
}

static inline int group_setup(void **state, enum store_backend b)
{
    struct tdsrv *s = calloc(1, sizeof *s);
    if (!tdsrv_start(s, b, NULL)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}
static inline int setup_sqlite(void **state) { return group_setup(state, STORE_BACKEND_SQLITE); }
static inline int setup_mongo(void **state) { return group_setup(state, STORE_BACKEND_MONGODB); }
static inline int group_teardown(void **state)
{
    struct tdsrv *s = *state;
    if (s == NULL) /* the setup failed and cleaned up */
        return 0;
    bool clean = tdsrv_stop(s);
    free(s);
    /* A failing teardown fails the group: ticketd did not exit cleanly. */
    return clean ? 0 : -1;
}

/* The group once per selected backend, each on its own ticketd. */
static inline int api_http_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
    char label[64];
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE)) {
        snprintf(label, sizeof label, "%s/sqlite", name);
        failed += _cmocka_run_group_tests(label, tests, n, setup_sqlite, group_teardown);
    }
    if (store_fixture_wanted(STORE_BACKEND_MONGODB)) {
        snprintf(label, sizeof label, "%s/mongodb", name);
        failed += _cmocka_run_group_tests(label, tests, n, setup_mongo, group_teardown);
    }
    return failed;
}

#endif

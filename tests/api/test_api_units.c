/* test_api_units.c - the pure parts of api/, without a server: the
 * status map, strict JSON input (plus a short, bounded fuzz run of the
 * parser), multipart, cursors, RFC 3339 times, JWT issue/verify, the
 * login rate limiter, and route matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "api/auth.h"
#include "core/strv.h"
#include "jwt_fixture.h"

/* ---- status map ---------------------------------------------------------- */

static void test_status_map(void **state)
{
    (void)state;
    assert_int_equal(problem_status_of(TD_INVALID), 400);
    assert_int_equal(problem_status_of(TD_UNAUTHORIZED), 401);
    assert_int_equal(problem_status_of(TD_FORBIDDEN), 403);
    assert_int_equal(problem_status_of(TD_NOT_FOUND), 404);
    assert_int_equal(problem_status_of(TD_CONFLICT), 409);
    assert_int_equal(problem_status_of(TD_STALE), 412);
    assert_int_equal(problem_status_of(TD_TOO_LARGE), 413);
    assert_int_equal(problem_status_of(TD_UNAVAILABLE), 503);
    assert_int_equal(problem_status_of(TD_INTERNAL), 500);
    assert_int_equal(problem_status_of((enum td_code)999), 500);

    struct api_resp out;
    memset(&out, 0, sizeof out);
    struct td_err err;
    td_fail(&err, TD_STALE, "ticket #3 changed");
    problem_from_err(&out, &err);
    assert_int_equal(out.status, 412);
    assert_string_equal(out.content_type, "application/problem+json");
    json_t *j = json_loadb(out.body, out.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "urn:ticketd:problem:stale");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "ticket #3 changed");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 412);
    json_decref(j);
    resp_free(&out);
    /* Internal errors never leak their message. */
    td_fail(&err, TD_INTERNAL, "sqlite: disk I/O error at /secret/path");
    problem_from_err(&out, &err);
    assert_int_equal(out.status, 500);
    assert_null(strstr(out.body, "/secret/path"));
    resp_free(&out);
    /* A detail cut in the middle of a UTF-8 character still encodes. */
    char msg[300];
    memset(msg, 'a', sizeof msg);
    memcpy(msg + 254, "\xc3\xa9", 2);
    msg[255] = '\0'; /* half of é */
    problem(&out, 400, "invalid", msg, NULL);
    j = json_loadb(out.body, out.len, 0, NULL);
    assert_non_null(j);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "detail"))), 254);
    json_decref(j);
    resp_free(&out);
}

/* ---- strict JSON ------------------------------------------------------------ */

struct parsed {
    const char *subject;
    bool flag;
    int64_t num;
    const char *maybe;
    bool has_maybe;
    struct strv tags;
};

static bool parse(const char *body, struct parsed *p, struct field_errors *fe, json_t **doc)
{
    memset(p, 0, sizeof *p);
    memset(fe, 0, sizeof *fe);
    const struct jf_field fields[] = {
        { "subject", JF_STRING, true, &p->subject, NULL },
        { "flag", JF_BOOL, false, &p->flag, NULL },
        { "num", JF_INT, false, &p->num, NULL },
        { "maybe", JF_STRING_NULL, false, &p->maybe, &p->has_maybe },
        { "tags", JF_STRING_ARRAY, false, &p->tags, NULL },
    };
    char detail[320];
    return json_in_parse_buf(body, strlen(body), fields, 5, doc, fe, detail, sizeof detail);
}

static void test_json_in(void **state)
{
    (void)state;
    struct parsed p;
    struct field_errors fe;
    json_t *doc;
    assert_true(parse("{\"subject\":\"s\",\"flag\":true,\"num\":-7,\"maybe\":null,\"tags\":[\"a\",\"b\"]}",
                      &p, &fe, &doc));
    assert_string_equal(p.subject, "s");
    assert_true(p.flag);
    assert_int_equal(p.num, -7);
    assert_true(p.has_maybe);
    assert_null(p.maybe);
    assert_int_equal(p.tags.n, 2);
    strv_clear(&p.tags);
    json_decref(doc);

    static const struct {
        const char *body;
        const char *field; /* the first field error, NULL: a whole-body error */
    } bad[] = {
        { "{}", "subject" },
        { "{\"subject\":1}", "subject" },
        { "{\"subject\":null}", "subject" },
        { "{\"subject\":\"s\",\"flag\":\"true\"}", "flag" },
        { "{\"subject\":\"s\",\"flag\":1}", "flag" },
        { "{\"subject\":\"s\",\"num\":1.0}", "num" },
        { "{\"subject\":\"s\",\"num\":\"1\"}", "num" },
        { "{\"subject\":\"s\",\"tags\":[\"a\",2]}", "tags" },
        { "{\"subject\":\"s\",\"tags\":{}}", "tags" },
        { "{\"subject\":\"s\",\"other\":1}", "other" },
        { "{\"subject\":\"s\",\"Subject\":\"t\"}", "Subject" },
        { "{\"subject\":\"s\",\"num\":123456789012345678901234567890}", NULL },
        { "{\"subject\":\"s\",\"subject\":\"t\"}", NULL },
        { "{\"subject\":\"\\u0000\"}", NULL },
        { "{\"subject\":\"\xff\"}", NULL },
        { "{\"subject\":\"\xc0\xaf\"}", NULL },
        { "{\"subject\":\"s\"} trailing", NULL },
        { "[]", NULL },
        { "1", NULL },
        { "{\"subject\":'s'}", NULL },
        { "{\"subject\":\"s\",}", NULL },
        { "{\"subject\":NaN}", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i].body, &p, &fe, &doc))
            fail_msg("accepted %s", bad[i].body);
        assert_null(doc);
        assert_int_equal(p.tags.n, 0); /* nothing left behind */
        if (bad[i].field == NULL) {
            assert_int_equal(fe.n, 0);
        } else {
            if (fe.n == 0)
                fail_msg("%s: no field error", bad[i].body);
            assert_string_equal(fe.v[0].field, bad[i].field);
        }
    }
    /* Every problem at once, capped. */
    assert_false(parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10}",
                       &p, &fe, &doc));
    assert_int_equal(fe.n, API_MAX_FIELD_ERRORS);

    assert_true(json_in_is_json("application/json"));
    assert_true(json_in_is_json("Application/JSON; charset=UTF-8"));
    assert_true(json_in_is_json("application/json;charset=\"utf-8\""));
    assert_false(json_in_is_json("application/json; charset=latin1"));
    assert_false(json_in_is_json("application/jsonx"));
    assert_false(json_in_is_json("text/json"));
    assert_false(json_in_is_json(NULL));
    assert_false(json_in_is_json("application/json; boundary=x"));
}

/* Mutates seed bodies for a bounded time: the parser must never crash,
 * leak (ASan build) or accept anything that is not an object. */
static void mutate(unsigned char *b, size_t *len, size_t cap, uint32_t *rng)
{
#define RND() (*rng ^= *rng << 13, *rng ^= *rng >> 17, *rng ^= *rng << 5, *rng)
    static const char *const tokens[] = { "{", "}", "[", "]", "\"", ":", ",", "\\u0000", "\\ud800",
                                          "null", "true", "1e999", "-0", "\xff", "\xc3", "\\" };
    int ops = 1 + (int)(RND() % 4);
    for (int k = 0; k < ops; k++) {
        size_t pos = *len ? RND() % *len : 0;
        switch (RND() % 5) {
        case 0: /* flip a bit */
            if (*len)
                b[pos] ^= (unsigned char)(1u << (RND() % 8));
            break;
        case 1: /* delete a span */
            if (*len) {
                size_t n = 1 + RND() % 4;
                if (pos + n > *len)
                    n = *len - pos;
                memmove(b + pos, b + pos + n, *len - pos - n);
                *len -= n;
            }
            break;
        case 2: { /* insert a token */
            const char *t = tokens[RND() % (sizeof tokens / sizeof tokens[0])];
            size_t n = strlen(t);
            if (*len + n < cap) {
                memmove(b + pos + n, b + pos, *len - pos);
                memcpy(b + pos, t, n);
                *len += n;
            }
            break;
        }
        case 3: /* truncate */
            *len = pos;
            break;
        default: /* random byte */
            if (*len)
                b[pos] = (unsigned char)RND();
        }
    }
#undef RND
}

static void test_json_fuzz(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"subject\":\"s\",\"flag\":true,\"num\":-7,\"maybe\":null,\"tags\":[\"a\",\"b\"]}",
        "{\"subject\":\"Gr\\u00fc\\u00dfe \xe2\x9c\x93\",\"tags\":[]}",
        "{\"subject\":\"s\",\"num\":9223372036854775807}",
        "{\"subject\":\"s\",\"maybe\":\"x\",\"x\":{\"y\":[1,2,{\"z\":null}]}}",
    };
    uint32_t rng = 0x9e3779b9u;
    unsigned char buf[512];
    long long deadline = mono_ms() + 1500;
    long iterations = 0, accepted = 0;
    while (mono_ms() < deadline && iterations < 400000) {
        for (int i = 0; i < 64; i++, iterations++) {
            const char *seed = seeds[iterations % 4];
            size_t len = strlen(seed);
            memcpy(buf, seed, len);
            mutate(buf, &len, sizeof buf - 1, &rng);
            buf[len] = '\0';
            struct parsed p;
            memset(&p, 0, sizeof p);
            struct field_errors fe = { .n = 0 };
            const struct jf_field fields[] = {
                { "subject", JF_STRING, true, &p.subject, NULL },
                { "flag", JF_BOOL, false, &p.flag, NULL },
                { "num", JF_INT, false, &p.num, NULL },
                { "maybe", JF_STRING_NULL, false, &p.maybe, &p.has_maybe },
                { "tags", JF_STRING_ARRAY, false, &p.tags, NULL },
            };
            json_t *doc = NULL;
            char detail[320];
            /* len, not strlen: embedded NULs are part of the input */
            if (json_in_parse_buf((const char *)buf, len, fields, 5, &doc, &fe, detail, sizeof detail)) {
                accepted++;
                assert_true(json_is_object(doc));
                assert_non_null(p.subject);
                assert_true(strlen(p.subject) == strlen(p.subject)); /* a C string */
                json_decref(doc);
            } else {
                assert_null(doc);
            }
            strv_clear(&p.tags);
        }
    }
    print_message("json fuzz: %ld inputs, %ld accepted\n", iterations, accepted);
    assert_true(iterations > 1000);
}

/* ---- multipart ------------------------------------------------------------- */

static void test_multipart(void **state)
{
    (void)state;
    const char *ct = "multipart/form-data; boundary=\"----b\"";
    const char body[] = "preamble\r\n------b\r\n"
                        "Content-Disposition: form-data; name=\"body\"\r\n\r\nhello\r\n"
                        "------b\r\n"
                        "content-disposition: form-data; name=\"attachment\"; filename=\"a \\\"q\\\".bin\"\r\n"
                        "Content-Type: image/png\r\n\r\n\x00\x01\r\n\x02\r\n"
                        "------b--\r\nepilogue";
    struct mp_form f;
    struct td_err err;
    assert_true(multipart_is_form(ct));
    assert_false(multipart_is_form("multipart/mixed; boundary=x"));
    assert_true(multipart_parse(ct, body, sizeof body - 1, &f, &err));
    assert_int_equal(f.n, 2);
    assert_string_equal(f.parts[0].name, "body");
    assert_null(f.parts[0].filename);
    assert_int_equal(f.parts[0].len, 5);
    assert_memory_equal(f.parts[0].data, "hello", 5);
    assert_string_equal(f.parts[1].name, "attachment");
    assert_string_equal(f.parts[1].filename, "a \"q\".bin");
    assert_string_equal(f.parts[1].content_type, "image/png");
    assert_int_equal(f.parts[1].len, 5);
    assert_memory_equal(f.parts[1].data, "\x00\x01\r\n\x02", 5);
    multipart_free(&f);

    static const char *const bad[] = {
        "",
        "------b\r\n",
        "------b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end",
        "------b\r\nContent-Type: text/plain\r\n\r\nx\r\n------b--",
        "------b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nx\r\n------b--",
        "------b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n------b--",
        "------b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nx\r\n------b--",
        "------bX\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (multipart_parse(ct, bad[i], strlen(bad[i]), &f, &err))
            fail_msg("accepted multipart case %zu", i);
        assert_int_equal(err.code, TD_INVALID);
    }
    assert_false(multipart_parse("multipart/form-data", body, sizeof body - 1, &f, &err));
    assert_false(multipart_parse("multipart/form-data; boundary=", body, sizeof body - 1, &f, &err));

    /* Fuzz: mutated forms parse or fail cleanly, parts inside the body. */
    uint32_t rng = 12345;
    unsigned char buf[600];
    long long deadline = mono_ms() + 500;
    long n = 0;
    while (mono_ms() < deadline && n < 200000) {
        size_t len = sizeof body - 1;
        memcpy(buf, body, len);
        mutate(buf, &len, sizeof buf - 1, &rng);
        buf[len] = '\0';
        if (multipart_parse(ct, (const char *)buf, len, &f, &err)) {
            for (size_t i = 0; i < f.n; i++)
                assert_true(f.parts[i].data >= buf && f.parts[i].data + f.parts[i].len <= buf + len);
            multipart_free(&f);
        }
        n++;
    }
}

/* ---- cursors, times, numbers ---------------------------------------------- */

static void test_cursor_time_number(void **state)
{
    (void)state;
    char c[80];
    int64_t after;
    bool asc;
    cursor_encode(12345, true, c, sizeof c);
    assert_true(cursor_decode(c, &after, &asc));
    assert_int_equal(after, 12345);
    assert_true(asc);
    cursor_encode(7, false, c, sizeof c);
    assert_true(cursor_decode(c, &after, &asc));
    assert_int_equal(after, 7);
    assert_false(asc);
    assert_null(strchr(c, '=')); /* URL-safe, no padding */
    static const char *const bad_cursors[] = { "", "x", "YzE6eDo1", "YzE6ZDo", "YzE6ZDowMQ",
                                               "YzE6ZDotMQ", "Yz+6ZDo1", "YzE6ZDo1AA" };
    for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++)
        if (cursor_decode(bad_cursors[i], &after, &asc))
            fail_msg("accepted cursor '%s'", bad_cursors[i]);

    td_time t;
    assert_true(time_parse_rfc3339("1970-01-01T00:00:00Z", &t));
    assert_int_equal(t, 0);
    assert_true(time_parse_rfc3339("2026-11-25T10:00:00.5Z", &t));
    assert_int_equal(t, 1795600800500LL);
    assert_true(time_parse_rfc3339("2026-11-25T12:00:00+02:00", &t));
    assert_int_equal(t, 1795600800000LL);
    assert_true(time_parse_rfc3339("2026-11-25t10:00:00.123456789z", &t));
    assert_int_equal(t, 1795600800123LL);
    static const char *const bad_times[] = { "", "2026-11-25", "2026-11-25T10:00:00",
                                             "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                             "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00Zjunk",
                                             "2026-11-25 10:00:00Z", "1969-12-31T23:59:59Z" };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++)
        if (time_parse_rfc3339(bad_times[i], &t))
            fail_msg("accepted time '%s'", bad_times[i]);
    json_t *j = json_time(1795600800123LL);
    assert_string_equal(json_string_value(j), "2026-11-25T10:00:00.123Z");
    json_decref(j);

    int64_t n;
    assert_true(parse_number("1", &n) && n == 1);
    assert_true(parse_number("999999999999999999", &n));
    assert_false(parse_number("0", &n));
    assert_false(parse_number("01", &n));
    assert_false(parse_number("-1", &n));
    assert_false(parse_number("+1", &n));
    assert_false(parse_number("1x", &n));
    assert_false(parse_number("9999999999999999999", &n));
    assert_false(parse_number("", &n));
    assert_false(parse_number(NULL, &n));
}

/* ---- JWT ---------------------------------------------------------------- */

static void test_jwt_unit(void **state)
{
    (void)state;
    struct api_settings s = jwt_settings();
    struct td_user u = jwt_agent();
    char *tok = NULL;
    struct td_err err;
    int64_t now = 1800000000;
    assert_true(jwt_issue(&s, &u, now, &tok, &err));
    struct jwt_claims c;
    assert_true(jwt_verify_token(&s, tok, now + 10, &c, &err));
    assert_string_equal(c.sub, u.id);
    assert_int_equal(c.role, ROLE_AGENT);
    assert_int_equal(c.ver, 42);
    assert_int_equal(c.exp, now + 900);
    /* Expiry with leeway, not before with leeway. */
    assert_true(jwt_verify_token(&s, tok, now + 900 + 29, &c, &err));
    assert_false(jwt_verify_token(&s, tok, now + 900 + 30, &c, &err));
    assert_string_equal(err.msg, "token expired");
    assert_true(jwt_verify_token(&s, tok, now - 29, &c, &err));
    assert_false(jwt_verify_token(&s, tok, now - 31, &c, &err));
    assert_int_equal(err.code, TD_UNAUTHORIZED);
    /* Another secret, issuer, audience. */
    struct api_settings o = s;
    o.jwt_secret = (unsigned char *)"another secret of sufficient length!";
    o.jwt_secret_len = strlen((const char *)o.jwt_secret);
    assert_false(jwt_verify_token(&o, tok, now, &c, &err));
    assert_string_equal(err.msg, "bad signature");
    o = s;
    o.issuer = (char *)"other";
    assert_false(jwt_verify_token(&o, tok, now, &c, &err));
    assert_string_equal(err.msg, "wrong issuer");
    o = s;
    o.audience = (char *)"other";
    assert_false(jwt_verify_token(&o, tok, now, &c, &err));
    assert_string_equal(err.msg, "wrong audience");
    /* Every single-character change of the token is refused (the last
     * character of the signature also carries 4 unused bits, so it only
     * counts when its value changes the decoded bytes). */
    size_t len = strlen(tok);
    int accepted = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : (saved == '.' ? 'x' : 'A');
        accepted += jwt_verify_token(&s, tok, now, &c, &err);
        tok[i] = saved;
    }
    assert_int_equal(accepted, 0);
    free(tok);
}

/* ---- rate limiter ------------------------------------------------------------ */

static void test_ratelimit(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(3, 60000);
    int64_t retry = 0, t = 1000000;
    for (int i = 0; i < 3; i++) {
        assert_true(ratelimit_allowed(rl, "acct:a", t, &retry));
        ratelimit_failure(rl, "acct:a", t + i);
    }
    assert_false(ratelimit_allowed(rl, "acct:a", t + 10, &retry));
    assert_int_equal(retry, 60);
    assert_true(ratelimit_allowed(rl, "acct:b", t + 10, &retry));
    assert_false(ratelimit_allowed(rl, "acct:a", t + 59999, &retry));
    assert_true(ratelimit_allowed(rl, "acct:a", t + 60000, &retry)); /* window over */
    ratelimit_failure(rl, "acct:a", t + 60001);
    assert_true(ratelimit_allowed(rl, "acct:a", t + 60002, &retry)); /* a new window */
    ratelimit_failure(rl, "acct:a", t + 60003);
    ratelimit_failure(rl, "acct:a", t + 60004);
    assert_false(ratelimit_allowed(rl, "acct:a", t + 60005, &retry));
    ratelimit_reset(rl, "acct:a");
    assert_true(ratelimit_allowed(rl, "acct:a", t + 60006, &retry));
    /* Far more keys than slots: memory stays bounded, recent keys count. */
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "addr:%d", i);
        ratelimit_failure(rl, key, t + i);
    }
    for (int i = 0; i < 3; i++)
        ratelimit_failure(rl, "acct:hot", t + 30000);
    assert_false(ratelimit_allowed(rl, "acct:hot", t + 30001, &retry));
    ratelimit_free(rl);
}

/* ---- routes ----------------------------------------------------------------------- */

static void test_router(void **state)
{
    (void)state;
    struct api_req r;
    unsigned status;
    char allow[64];
    for (size_t i = 0; i < api_n_routes; i++) {
        char path[200];
        const char *p = api_routes[i].pattern;
        size_t o = 0;
        while (*p && o + 30 < sizeof path) {
            if (*p == '{') {
                o += (size_t)snprintf(path + o, sizeof path - o, "%s",
                                      strncmp(p, "{number}", 8) == 0 ? "42" : "0123456789abcdef01234567");
                p = strchr(p, '}') + 1;
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = '\0';
        memset(&r, 0, sizeof r);
        r.method = api_routes[i].method;
        r.path = path;
        const struct api_route *got = router_match(&r, &status, allow, sizeof allow);
        if (got != &api_routes[i])
            fail_msg("%s %s does not route to its own entry", r.method, path);
        size_t braces = 0;
        for (const char *q = api_routes[i].pattern; *q; q++)
            braces += *q == '{';
        assert_int_equal(r.n_params, braces);
        /* Public: the operational endpoints outside /api, the document,
         * and the routes that issue tokens. Everything else needs one. */
        bool public = strncmp(path, "/api/", 5) != 0 || strcmp(path, "/api/v1/openapi.json") == 0 ||
                      strncmp(path, "/api/v1/auth/", 13) == 0;
        if ((!(api_routes[i].flags & ROUTE_AUTH)) != public)
            fail_msg("%s %s: public is %d", r.method, path, (int)public);
    }
    memset(&r, 0, sizeof r);
    r.method = "DELETE";
    r.path = "/api/v1/tickets/7";
    assert_null(router_match(&r, &status, allow, sizeof allow));
    assert_int_equal(status, 405);
    assert_string_equal(allow, "GET, PATCH");
    r.method = "HEAD";
    assert_non_null(router_match(&r, &status, allow, sizeof allow));
    r.method = "GET";
    r.path = "/api/v1/tickets/7/nope";
    assert_null(router_match(&r, &status, allow, sizeof allow));
    assert_int_equal(status, 404);
    r.path = "/api/v1/tickets//comments";
    assert_null(router_match(&r, &status, allow, sizeof allow));
    r.path = "/api/v1/tickets/";
    assert_null(router_match(&r, &status, allow, sizeof allow));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_json_in),
        cmocka_unit_test(test_json_fuzz),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_cursor_time_number),
        cmocka_unit_test(test_jwt_unit),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_router),
    };
    return cmocka_run_group_tests_name("api_units", tests, NULL, NULL);
}

/* test_api_reset.c - self-service password reset by a mailed one-time
 * link (POST /api/v1/auth/reset, /auth/reset/confirm; issue 14), over
 * real HTTP against `ticketd serve` on each storage backend, the mail
 * caught by the harness's SMTP sink.
 *
 * Covers: the flow (reset -> mail with the link and the token -> confirm
 * -> logged in with the new password); the reset ends every other
 * session (old access and refresh tokens are refused); a link used twice
 * is 410; the same 202 body, and answers that take the same time, for an
 * address with an account and one without (and no mail for the latter);
 * a password that breaks the rules does not spend the link; requests for
 * one address are rate limited (429). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "api/auth.h"
#include "core/store/store.h"
#include "tests/api/api_fixture.h"
#include "tests/notify/mail_check.h"

#define NEW_PW "a completely new password"
#define RESET_URL "https://support.example.com/#/reset?token="

struct rfx {
    struct tdsrv srv;
    struct harness_server sink;
};

#define RFX(state) ((struct rfx *)*(state))

static void expect(const struct http *h, long status, const char *kind, int line)
{
    if (h->status != status)
        fail_msg("line %d: HTTP %ld, expected %ld: %.*s", line, h->status, status, (int)h->body.len,
                 h->body.data ? h->body.data : "");
    if (kind) {
        char type[96];
        snprintf(type, sizeof type, "urn:ticketd:problem:%s", kind);
        const char *t = jstr(h, "type");
        if (t == NULL || strcmp(t, type) != 0)
            fail_msg("line %d: not a %s problem: %.*s", line, type, (int)h->body.len, h->body.data);
    }
}
#define EXPECT(h, status, kind) expect((h), (status), (kind), __LINE__)

static long reset(const struct rfx *f, const char *email, struct http *h)
{
    return http_json(&f->srv, "POST", "/api/v1/auth/reset", NULL, h, "{\"email\":\"%s\"}", email);
}

static long confirm(const struct rfx *f, const char *token, const char *password, struct http *h)
{
    return http_json(&f->srv, "POST", "/api/v1/auth/reset/confirm", NULL, h,
                     "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
}

/* Waits (20 s at most) for the reset mail to `to`; returns its token,
 * checking that the link carries the same one. */
static void await_reset_mail(const struct rfx *f, const char *to, char token[REFRESH_TOKEN_LEN + 1])
{
    long long deadline = api_now_ms() + 20000;
    for (;;) {
        struct mc_box box;
        mc_box_read(f->sink.maildir, &box);
        for (size_t i = 0; i < box.n; i++) {
            const struct mc_mail *m = &box.v[i];
            const char *rcpt = mc_raw(m, "X-RcptTo");
            if (rcpt == NULL || strcasestr(rcpt, to) == NULL)
                continue;
            char *text = mc_text(m, "text/plain");
            assert_non_null(text);
            assert_non_null(strstr(text, "30 minutes"));
            char link[600] = "";
            token[0] = '\0';
            for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
                if (strncmp(line, "    " RESET_URL, 4 + strlen(RESET_URL)) == 0)
                    snprintf(link, sizeof link, "%s", line + 4 + strlen(RESET_URL));
                else if (strncmp(line, "    ", 4) == 0 && strlen(line + 4) == REFRESH_TOKEN_LEN)
                    snprintf(token, REFRESH_TOKEN_LEN + 1, "%s", line + 4);
            }
            free(text);
            if (token[0] == '\0' || strcmp(link, token) != 0)
                fail_msg("mail %s: no token, or the link does not carry it", m->file);
            remove(m->file);
            mc_box_free(&box);
            return;
        }
        mc_box_free(&box);
        if (api_now_ms() > deadline)
            fail_msg("no reset mail to %s within 20 s", to);
        usleep(50 * 1000);
    }
}

static size_t reset_rows(const struct rfx *f, const char *to)
{
    struct store *st = NULL;
    struct td_err err;
    if (!store_open(f->srv.store_uri, &st, &err))
        fail_msg("store: %s", err.msg);
    struct td_outbox_list l = { NULL, 0 };
    assert_true(st->ops->outbox_list(st, -1, 0, &l, &err));
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        n += strcmp(l.v[i].kind, "password_reset") == 0 && strcmp(l.v[i].recipient, to) == 0;
    outbox_list_clear(&l);
    store_close(st);
    return n;
}

static void test_reset_flow(void **state)
{
    struct rfx *f = RFX(state);
    struct tdsrv *s = &f->srv;
    struct http h;
    reset(f, "Cust1@Example.org", &h);
    EXPECT(&h, 202, NULL);
    http_clear(&h);
    char token[REFRESH_TOKEN_LEN + 1];
    await_reset_mail(f, "cust1@example.org", token);

    /* the old session still works until the reset is done */
    assert_int_equal(http_get(s, "/api/v1/me", s->cust1.access, &h), 200);
    http_clear(&h);
    /* a bad password does not spend the link */
    confirm(f, token, "short", &h);
    EXPECT(&h, 400, "invalid");
    http_clear(&h);
    confirm(f, "not-a-token", NEW_PW, &h);
    EXPECT(&h, 400, "invalid_reset_token");
    http_clear(&h);

    confirm(f, token, NEW_PW, &h);
    EXPECT(&h, 200, NULL);
    assert_non_null(jstr(&h, "access_token"));
    char fresh[API_TOKEN_MAX];
    snprintf(fresh, sizeof fresh, "%s", jstr(&h, "access_token"));
    http_clear(&h);

    /* used twice: refused */
    confirm(f, token, "yet another password", &h);
    EXPECT(&h, 410, "reset_token_gone");
    http_clear(&h);

    /* every other session ended: old access and refresh tokens */
    http_get(s, "/api/v1/me", s->cust1.access, &h);
    EXPECT(&h, 401, NULL);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", s->cust1.refresh);
    EXPECT(&h, 401, NULL);
    http_clear(&h);
    assert_int_equal(http_get(s, "/api/v1/me", fresh, &h), 200);
    http_clear(&h);
    /* the old password is gone, the new one logs in */
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"cust1@example.org\",\"password\":\"" API_PW "\"}");
    EXPECT(&h, 401, NULL);
    http_clear(&h);
    http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"cust1@example.org\",\"password\":\"" NEW_PW "\"}");
    EXPECT(&h, 200, NULL);
    http_clear(&h);
}

static void test_same_answer_same_time(void **state)
{
    struct rfx *f = RFX(state);
    const char *addrs[] = { "agent2@example.com", "nobody-here@example.org" };
    char body[2][512];
    long long ms[2][3];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2; i++) {
            struct http h;
            long long t0 = api_now_ms();
            reset(f, addrs[i], &h);
            ms[i][round] = api_now_ms() - t0;
            EXPECT(&h, 202, NULL);
            snprintf(body[i], sizeof body[i], "%.*s", (int)h.body.len, h.body.data);
            http_clear(&h);
        }
    assert_string_equal(body[0], body[1]);
    for (int i = 0; i < 2; i++)
        for (int round = 0; round < 3; round++) {
            fprintf(stderr, "%s: %lld ms\n", addrs[i], ms[i][round]);
            assert_true(ms[i][round] >= 390); /* the floor */
        }
    /* medians within 150 ms of each other */
    long long a = ms[0][0] + ms[0][1] + ms[0][2], b = ms[1][0] + ms[1][1] + ms[1][2];
    assert_true(llabs(a - b) / 3 < 150);
    assert_int_equal(reset_rows(f, "agent2@example.com"), 3);
    assert_int_equal(reset_rows(f, "nobody-here@example.org"), 0);
}

static void test_reset_rate_limited(void **state)
{
    struct rfx *f = RFX(state);
    int limited_at = 0;
    for (int i = 1; i <= 10 && limited_at == 0; i++) {
        struct http h;
        reset(f, "cust2@example.org", &h);
        if (h.status == 429) {
            limited_at = i;
            assert_true(h.retry_after[0] != '\0');
        } else {
            EXPECT(&h, 202, NULL);
        }
        http_clear(&h);
    }
    assert_int_equal(limited_at, 6); /* login_max_failures_per_account = 5 */
}

static int group_setup(void **state, enum store_backend b)
{
    struct rfx *f = calloc(1, sizeof *f);
    if (f == NULL || !harness_smtp_start(&f->sink)) {
        free(f);
        return -1;
    }
    char extra[2048];
    snprintf(extra, sizeof extra,
             "login_max_failures_per_address = 1000\n"
             "[notify]\n"
             "support_address = support@example.com\n"
             "reset_url = " RESET_URL "\n"
             "builtin_templates_dir = %s/../../templates\n"
             "poll_ms = 50\n"
             "reconcile_interval_ms = 0\n"
             "[smtp]\n"
             "url = %s\n"
             "starttls = no\n",
             harness_support_dir(), f->sink.uri);
    if (!tdsrv_start_cmd(&f->srv, b, extra, "serve")) {
        harness_stop(&f->sink);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}
static int setup_sqlite(void **state) { return group_setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongo(void **state) { return group_setup(state, STORE_BACKEND_MONGODB); }
static int group_teardown(void **state)
{
    struct rfx *f = *state;
    bool clean = tdsrv_stop(&f->srv);
    harness_stop(&f->sink);
    free(f);
    return clean ? 0 : -1;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_flow),
        cmocka_unit_test(test_same_answer_same_time),
        cmocka_unit_test(test_reset_rate_limited),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_reset/sqlite", tests, setup_sqlite, group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_reset/mongodb", tests, setup_mongo, group_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

/* test_api_claim.c - a customer first created from a mail claims the
 * account (POST /api/v1/auth/claim, /auth/claim/confirm), over real HTTP
 * against `ticketd serve` (API + outbox sender) on each storage backend,
 * with the claim mail caught by the harness's SMTP sink.
 *
 * Covers: the whole flow (claim -> mail with the token -> confirm -> the
 * tokens work, login works); the same 202 body for every address and no
 * mail (no outbox row even) for unknown, staff, has-a-password and
 * disabled addresses; a used token (410), an expired one (410), one whose
 * account changed (410), an unknown or malformed one (400); a password
 * that breaks the rules does not use the token up; claim and refresh
 * tokens are not interchangeable; registration takes nothing over; claims are
 * rate limited; and claim is 503 for everyone when mail is off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "api/auth.h"
#include "core/id.h"
#include "core/store/store.h"
#include "tests/api/api_fixture.h"
#include "tests/notify/mail_check.h"

#define CLAIM_PW "my brand new password"

struct cfx {
    struct tdsrv srv;
    struct harness_server sink;
};

#define CFX(state) ((struct cfx *)*(state))

#define EXPECT_STATUS(h, want)                                                           \
    do {                                                                                 \
        if ((h)->status != (want))                                                       \
            fail_msg("line %d: HTTP %ld, expected %d: %.*s", __LINE__, (h)->status,      \
                     (int)(want), (int)((h)->body.len > 600 ? 600 : (h)->body.len),       \
                     (h)->body.data ? (h)->body.data : "");                              \
    } while (0)

/* A problem document of this status and kind whose detail says reason. */
static void expect_problem(const struct http *h, long status, const char *kind,
                           const char *reason, int line)
{
    if (h->status != status)
        fail_msg("line %d: HTTP %ld, expected %ld: %.*s", line, h->status, status,
                 (int)h->body.len, h->body.data ? h->body.data : "");
    if (strncmp(h->content_type, "application/problem+json", 24) != 0)
        fail_msg("line %d: Content-Type '%s', expected application/problem+json", line,
                 h->content_type);
    char type[96];
    snprintf(type, sizeof type, "urn:ticketd:problem:%s", kind);
    const char *t = jstr(h, "type"), *detail = jstr(h, "detail");
    if (jint(h, "status") != status || t == NULL || strcmp(t, type) != 0)
        fail_msg("line %d: not a %s problem: %.*s", line, type, (int)h->body.len, h->body.data);
    if (reason && (detail == NULL || strstr(detail, reason) == NULL))
        fail_msg("line %d: detail '%s' does not say '%s'", line, detail ? detail : "(none)",
                 reason);
}
#define EXPECT_PROBLEM(h, status, kind, reason) expect_problem((h), (status), (kind), (reason), __LINE__)

static const char *templates_dir(void)
{
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s/../../templates", harness_support_dir());
    return dir;
}

/* ---- direct store access (what the mail gateway and a clock would do) ---- */

struct direct {
    struct store *st;
    struct td_core core;
};

static void direct_open(const struct cfx *f, struct direct *d)
{
    struct td_err err;
    td_err_clear(&err);
    if (!core_init(&err) || !store_open(f->srv.store_uri, &d->st, &err))
        fail_msg("store %s: %s", f->srv.store_uri, err.msg);
    core_defaults(&d->core, d->st);
    d->core.pw_cost = PASSWORD_COST_MIN;
}

static void direct_close(struct direct *d)
{
    store_close(d->st);
    memset(d, 0, sizeof *d);
}

/* A password-less customer, as the mail gateway creates one. */
static void mail_customer(const struct cfx *f, const char *email, struct td_user *out)
{
    struct direct d;
    direct_open(f, &d);
    struct td_err err;
    td_err_clear(&err);
    if (!user_ensure_customer(&d.core, email, "From Mail", out, &err))
        fail_msg("user_ensure_customer %s: %s", email, err.msg);
    assert_null(out->pw_hash);
    direct_close(&d);
}

/* account_claim rows in the outbox to `to` (NULL: any recipient). */
static size_t claim_rows(const struct cfx *f, const char *to)
{
    struct direct d;
    direct_open(f, &d);
    struct td_outbox_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!d.st->ops->outbox_list(d.st, -1, 0, &l, &err))
        fail_msg("outbox_list: %s", err.msg);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i].kind, "account_claim") == 0 &&
            (to == NULL || strcmp(l.v[i].recipient, to) == 0)) {
            assert_int_equal(l.v[i].ticket, 0);
            n++;
        }
    outbox_list_clear(&l);
    direct_close(&d);
    return n;
}

/* ---- the mail ------------------------------------------------------------------ */

/* Waits (at most 20 s) for a mail to `to` in the sink; returns its
 * claim token (the indented line of the body) in token. */
static void await_claim_mail(const struct cfx *f, const char *to, char token[REFRESH_TOKEN_LEN + 1])
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
            char *subject = mc_header(m, "Subject");
            assert_non_null(subject);
            if (strstr(subject, "web access") == NULL) { /* another account mail */
                free(subject);
                continue;
            }
            if (strstr(subject, "[#") != NULL)
                fail_msg("a claim mail is about no ticket, yet its subject is '%s'", subject);
            free(subject);
            const char *auto_sub = mc_raw(m, "Auto-Submitted");
            assert_non_null(auto_sub);
            assert_non_null(strstr(auto_sub, "auto-generated"));
            char *text = mc_text(m, "text/plain");
            assert_non_null(text);
            assert_non_null(strstr(text, "60 minutes"));
            token[0] = '\0';
            for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n"))
                if (strncmp(line, "    ", 4) == 0 && strlen(line + 4) == REFRESH_TOKEN_LEN)
                    snprintf(token, REFRESH_TOKEN_LEN + 1, "%s", line + 4);
            free(text);
            if (token[0] == '\0')
                fail_msg("no claim token in the mail %s", m->file);
            /* ... and the console link with it ([notify] console_url). */
            char *again = mc_text(m, "text/plain");
            char link[128];
            snprintf(link, sizeof link, "    https://console.example.com/#/claim/%s", token);
            if (again == NULL || strstr(again, link) == NULL)
                fail_msg("no console claim link in the mail %s", m->file);
            free(again);
            remove(m->file);
            mc_box_free(&box);
            return;
        }
        mc_box_free(&box);
        if (api_now_ms() > deadline)
            fail_msg("no claim mail to %s within 20 s", to);
        usleep(50 * 1000);
    }
}

static long claim(const struct cfx *f, const char *email, struct http *h)
{
    return http_json(&f->srv, "POST", "/api/v1/auth/claim", NULL, h, "{\"email\":\"%s\"}", email);
}

static long confirm(const struct cfx *f, const char *token, const char *password, struct http *h)
{
    return http_json(&f->srv, "POST", "/api/v1/auth/claim/confirm", NULL, h,
                     "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
}

/* The one answer claim gives whatever the address. */
static char accepted_body[512];

static void expect_accepted(const struct http *h, int line)
{
    if (h->status != 202)
        fail_msg("line %d: HTTP %ld, expected 202: %.*s", line, h->status, (int)h->body.len,
                 h->body.data ? h->body.data : "");
    if (accepted_body[0] == '\0')
        snprintf(accepted_body, sizeof accepted_body, "%.*s", (int)h->body.len, h->body.data);
    else if (h->body.len != strlen(accepted_body) ||
             memcmp(h->body.data, accepted_body, h->body.len) != 0)
        fail_msg("line %d: claim answered differently for another address:\n%.*s\nvs\n%s", line,
                 (int)h->body.len, h->body.data, accepted_body);
}
#define EXPECT_ACCEPTED(h) expect_accepted((h), __LINE__)

/* ---- tests ---------------------------------------------------------------------- */

static void test_claim_flow(void **state)
{
    struct cfx *f = CFX(state);
    struct http h;
    struct td_user u;
    mail_customer(f, "Mailer@Example.org", &u);

    /* Registration does not take the address over: 202 like for any
     * address (no enumeration), and the account is left as it was. */
    http_json(&f->srv, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"mailer@example.org\",\"password\":\"" CLAIM_PW "\"}");
    EXPECT_STATUS(&h, 202);
    http_clear(&h);
    http_json(&f->srv, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"mailer@example.org\",\"password\":\"" CLAIM_PW "\"}");
    EXPECT_PROBLEM(&h, 401, "unauthorized", NULL);
    http_clear(&h);

    claim(f, "MAILER@example.org", &h);
    EXPECT_ACCEPTED(&h);
    http_clear(&h);
    char token[REFRESH_TOKEN_LEN + 1];
    await_claim_mail(f, "mailer@example.org", token);

    /* Not interchangeable with a refresh token, either way. */
    http_json(&f->srv, "POST", "/api/v1/auth/refresh", NULL, &h, "{\"refresh_token\":\"%s\"}", token);
    EXPECT_PROBLEM(&h, 401, "invalid_token", "unknown refresh token");
    http_clear(&h);
    confirm(f, f->srv.cust1.refresh, CLAIM_PW, &h);
    EXPECT_PROBLEM(&h, 400, "invalid_claim_token", "unknown claim token");
    http_clear(&h);
    confirm(f, "not-a-token", CLAIM_PW, &h);
    EXPECT_PROBLEM(&h, 400, "invalid_claim_token", NULL);
    http_clear(&h);

    /* A password that breaks the rules does not use the token up. */
    confirm(f, token, "short", &h);
    EXPECT_PROBLEM(&h, 400, "invalid", NULL);
    assert_non_null(json_object_get(h.json, "errors"));
    http_clear(&h);

    confirm(f, token, CLAIM_PW, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "token_type"), "Bearer");
    assert_non_null(jstr(&h, "refresh_token"));
    json_t *user = json_object_get(h.json, "user");
    assert_string_equal(json_string_value(json_object_get(user, "id")), u.id);
    assert_true(json_is_true(json_object_get(user, "has_password")));
    char access[API_TOKEN_MAX];
    snprintf(access, sizeof access, "%s", jstr(&h, "access_token"));
    http_clear(&h);
    http_get(&f->srv, "/api/v1/me", access, &h);
    EXPECT_STATUS(&h, 200);
    assert_string_equal(jstr(&h, "email"), "mailer@example.org");
    assert_string_equal(jstr(&h, "role"), "customer");
    http_clear(&h);

    /* Login works with the new password. */
    http_json(&f->srv, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"mailer@example.org\",\"password\":\"" CLAIM_PW "\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);

    /* The token works once. */
    confirm(f, token, "another new password", &h);
    EXPECT_PROBLEM(&h, 410, "claim_token_gone", "already used");
    http_clear(&h);
    http_json(&f->srv, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"mailer@example.org\",\"password\":\"another new password\"}");
    EXPECT_PROBLEM(&h, 401, "unauthorized", NULL);
    http_clear(&h);

    /* Now that it has a password: still 202 to register (nothing taken
     * over), and a claim sends nothing. */
    http_json(&f->srv, "POST", "/api/v1/auth/register", NULL, &h,
              "{\"email\":\"mailer@example.org\",\"password\":\"" CLAIM_PW "\"}");
    EXPECT_STATUS(&h, 202);
    http_clear(&h);
    claim(f, "mailer@example.org", &h);
    EXPECT_ACCEPTED(&h);
    http_clear(&h);
    assert_int_equal(claim_rows(f, "mailer@example.org"), 1);
    user_clear(&u);
}

static void test_claim_sends_nothing_elsewhere(void **state)
{
    struct cfx *f = CFX(state);
    struct http h;
    /* A password-less customer who is disabled. */
    struct td_user off;
    mail_customer(f, "disabled.mailer@example.org", &off);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/users/%s", off.id);
    http_json(&f->srv, "PATCH", path, f->srv.admin.access, &h, "{\"disabled\":true}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    /* An agent created without a password. */
    http_json(&f->srv, "POST", "/api/v1/users", f->srv.admin.access, &h,
              "{\"email\":\"nopw.agent@example.com\",\"role\":\"agent\"}");
    EXPECT_STATUS(&h, 201);
    http_clear(&h);

    const char *addresses[] = {
        "nobody.here@example.org",      /* unknown */
        "agent1@example.com",           /* staff with a password */
        "nopw.agent@example.com",       /* staff without one */
        "cust1@example.org",            /* a customer with a password */
        "disabled.mailer@example.org",  /* disabled */
        "support@example.com",          /* ourselves */
    };
    size_t before = claim_rows(f, NULL);
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        claim(f, addresses[i], &h);
        EXPECT_ACCEPTED(&h);
        http_clear(&h);
    }
    /* A claimable one last: once its mail is out, the others had every
     * chance; and none of them even has an outbox row. */
    struct td_user u;
    mail_customer(f, "marker@example.org", &u);
    claim(f, "marker@example.org", &h);
    EXPECT_ACCEPTED(&h);
    http_clear(&h);
    char token[REFRESH_TOKEN_LEN + 1];
    await_claim_mail(f, "marker@example.org", token);
    assert_int_equal(claim_rows(f, NULL), before + 1);
    struct mc_box box;
    mc_box_read(f->sink.maildir, &box);
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++)
        if (mc_box_count(&box, addresses[i], NULL) != 0)
            fail_msg("a mail went to %s", addresses[i]);
    mc_box_free(&box);

    /* Malformed input is 400, as anywhere. */
    claim(f, "not an address", &h);
    EXPECT_PROBLEM(&h, 400, "invalid", NULL);
    http_clear(&h);
    http_json(&f->srv, "POST", "/api/v1/auth/claim", NULL, &h, "{\"email\":\"a@b.c\",\"x\":1}");
    EXPECT_PROBLEM(&h, 400, "invalid", NULL);
    http_clear(&h);
    user_clear(&u);
    user_clear(&off);
}

/* Tokens the server did not send, written the way it does (store.h
 * td_refresh_token under claim_token_hash): an expired one, one whose
 * account changed since, one whose account got a password. */
static void plant_token(const struct cfx *f, const struct td_user *u, int64_t version,
                        td_time expires, char token[REFRESH_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, REFRESH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    struct td_refresh_token t;
    memset(&t, 0, sizeof t);
    claim_token_hash(token, t.hash);
    id_new(t.family);
    memcpy(t.user_id, u->id, sizeof t.user_id);
    t.token_version = version;
    t.created = td_now() - 2 * 3600 * 1000;
    t.expires = expires;
    struct direct d;
    direct_open(f, &d);
    struct td_err err;
    td_err_clear(&err);
    if (!d.st->ops->token_insert(d.st, &t, &err))
        fail_msg("token_insert: %s", err.msg);
    direct_close(&d);
}

static void test_claim_refusals(void **state)
{
    struct cfx *f = CFX(state);
    struct http h;
    struct td_user u;
    mail_customer(f, "late@example.org", &u);
    char token[REFRESH_TOKEN_LEN + 1];

    plant_token(f, &u, u.token_version, td_now() - 1000, token);
    confirm(f, token, CLAIM_PW, &h);
    EXPECT_PROBLEM(&h, 410, "claim_token_gone", "expired");
    http_clear(&h);

    plant_token(f, &u, u.token_version - 1, td_now() + 3600 * 1000, token);
    confirm(f, token, CLAIM_PW, &h);
    EXPECT_PROBLEM(&h, 410, "claim_token_gone", "account changed");
    http_clear(&h);

    /* None of these set a password. */
    http_json(&f->srv, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"late@example.org\",\"password\":\"" CLAIM_PW "\"}");
    EXPECT_PROBLEM(&h, 401, "unauthorized", NULL);
    http_clear(&h);

    /* An admin gave the account a password after the mail went out. */
    plant_token(f, &u, u.token_version, td_now() + 3600 * 1000, token);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/users/%s", u.id);
    http_json(&f->srv, "PATCH", path, f->srv.admin.access, &h, "{\"password\":\"set by the admin\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    confirm(f, token, CLAIM_PW, &h);
    EXPECT_PROBLEM(&h, 409, "conflict", "already has a password");
    http_clear(&h);
    http_json(&f->srv, "POST", "/api/v1/auth/login", NULL, &h,
              "{\"email\":\"late@example.org\",\"password\":\"set by the admin\"}");
    EXPECT_STATUS(&h, 200);
    http_clear(&h);
    user_clear(&u);
}

static void test_claim_rate_limited(void **state)
{
    struct cfx *f = CFX(state);
    struct http h;
    /* login_max_failures_per_account (5) claims per address and window,
     * whether or not the address has an account. */
    for (int i = 0; i < 5; i++) {
        claim(f, "hammered@example.org", &h);
        EXPECT_ACCEPTED(&h);
        http_clear(&h);
    }
    claim(f, "hammered@example.org", &h);
    EXPECT_PROBLEM(&h, 429, "rate_limited", NULL);
    assert_true(h.retry_after[0] != '\0');
    http_clear(&h);
    /* The account's login is not locked by claims. */
    assert_true(tdsrv_login(&f->srv, &f->srv.cust2));
}

/* Without outgoing mail, claim is 503 for every address alike. */
static void test_claim_without_mail(void **state)
{
    (void)state;
    struct tdsrv s;
    assert_true(tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL));
    const char *addresses[] = { "nobody@example.org", "cust1@example.org" };
    for (size_t i = 0; i < 2; i++) {
        struct http h;
        http_json(&s, "POST", "/api/v1/auth/claim", NULL, &h, "{\"email\":\"%s\"}", addresses[i]);
        EXPECT_PROBLEM(&h, 503, "unavailable", "outgoing mail");
        http_clear(&h);
    }
    assert_true(tdsrv_stop(&s));
}

/* ---- main ----------------------------------------------------------------------- */

static int group_setup(void **state, enum store_backend b)
{
    struct cfx *f = calloc(1, sizeof *f);
    if (f == NULL || !harness_smtp_start(&f->sink)) {
        free(f);
        return -1;
    }
    char extra[2048];
    snprintf(extra, sizeof extra,
             "login_max_failures_per_address = 1000\nregister_max_per_address = 1000\n"
             "[notify]\n"
             "support_address = support@example.com\n"
             "console_url = https://console.example.com/\n"
             "builtin_templates_dir = %s\n"
             "poll_ms = 50\n"
             "reconcile_interval_ms = 0\n"
             "lease_ms = 20000\n"
             "[smtp]\n"
             "url = %s\n"
             "starttls = no\n"
             "from = ACME Support <support@example.com>\n"
             "connect_timeout_ms = 2000\n"
             "timeout_ms = 5000\n",
             templates_dir(), f->sink.uri);
    if (!tdsrv_start_cmd(&f->srv, b, extra, "serve")) {
        harness_stop(&f->sink);
        free(f);
        return -1;
    }
    accepted_body[0] = '\0';
    *state = f;
    return 0;
}
static int setup_sqlite(void **state) { return group_setup(state, STORE_BACKEND_SQLITE); }
static int setup_mongo(void **state) { return group_setup(state, STORE_BACKEND_MONGODB); }
static int group_teardown(void **state)
{
    struct cfx *f = *state;
    if (f == NULL)
        return 0;
    bool clean = tdsrv_stop(&f->srv);
    harness_stop(&f->sink);
    free(f);
    return clean ? 0 : -1;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_flow),
        cmocka_unit_test(test_claim_sends_nothing_elsewhere),
        cmocka_unit_test(test_claim_refusals),
        cmocka_unit_test(test_claim_rate_limited),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_claim_without_mail),
    };
    int failed = 0;
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_claim/sqlite", tests, setup_sqlite, group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_MONGODB))
        failed += cmocka_run_group_tests_name("api_claim/mongodb", tests, setup_mongo, group_teardown);
    if (store_fixture_wanted(STORE_BACKEND_SQLITE))
        failed += cmocka_run_group_tests_name("api_claim/nomail", own_server, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

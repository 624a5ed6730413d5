/* api_fixture.h - a real ticketd process for API tests, and a small
 * libcurl client. Header-only so each test binary stays self-contained
 * (like tests/core/core_fixture.h).
 *
 * tdsrv_start() makes a fresh store (SQLite file in a temp dir, or a
 * fresh database on the MongoDB test server of tests/support/harness.h),
 * creates five users through core (admin, agent1, agent2, cust1, cust2;
 * password API_PW), writes a config with a random jwt_secret, starts
 * `BUILD/ticketd --config ... api` on a free 127.0.0.1 port and waits (at
 * most 15 s) until it answers /healthz. tdsrv_stop() sends SIGTERM, waits
 * (bounded) for a clean exit, and fails if ticketd exited non-zero or its
 * log holds a sanitizer report (so an ASan build of ticketd is checked
 * for leaks and UB too); the servers are always stopped and their temp
 * dirs removed. Every HTTP request has a 20 s timeout. */
#ifndef TD_TEST_API_FIXTURE_H
#define TD_TEST_API_FIXTURE_H

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/core.h"
#include "core/user.h"
#include "tests/support/harness.h"
#include "tests/support/store_fixture.h"

#define API_PW "a long enough password"
#define API_TOKEN_MAX 2048

struct tduser {
    struct td_user u;
    char access[API_TOKEN_MAX];
    char refresh[128];
};

struct tdsrv {
    enum store_backend backend;
    struct harness_server proc;  /* ticketd */
    struct harness_server mongo; /* the MongoDB test server, if used */
    char store_uri[768];
    char conf[300];
    char base[64];
    char secret[65];
    struct tduser admin, agent1, agent2, cust1, cust2;
};

/* ---- small helpers ---------------------------------------------------- */

static inline long long api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* BUILD/ticketd, from this binary's path BUILD/tests/api/test_x. */
static inline bool api_ticketd_path(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return false;
        *slash = '\0';
    }
    int w = snprintf(out, len, "%s/ticketd", exe);
    return w > 0 && (size_t)w < len && access(out, X_OK) == 0;
}

/* ---- HTTP client ---------------------------------------------------------- */

struct http {
    long status;
    struct buf body;
    json_t *json;           /* parsed body when it is JSON, else NULL */
    char content_type[128];
    char etag[64];
    char location[256];
    char retry_after[32];
    char www_auth[512];
    char request_id[40];
    struct buf headers;     /* every response header line, as received */
    bool curl_failed;
};

static inline void http_clear(struct http *h)
{
    buf_free(&h->body);
    buf_free(&h->headers);
    json_decref(h->json);
    memset(h, 0, sizeof *h);
}

static inline size_t http_body_cb(char *p, size_t size, size_t n, void *arg)
{
    buf_append(&((struct http *)arg)->body, p, size * n);
    return size * n;
}

static inline void http_header_value(const char *line, size_t len, const char *name, char *out,
                                     size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= outlen)
        vl = outlen - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static inline size_t http_header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct http *h = arg;
    size_t len = size * n;
    http_header_value(p, len, "Content-Type", h->content_type, sizeof h->content_type);
    http_header_value(p, len, "ETag", h->etag, sizeof h->etag);
    http_header_value(p, len, "Location", h->location, sizeof h->location);
    http_header_value(p, len, "Retry-After", h->retry_after, sizeof h->retry_after);
    http_header_value(p, len, "WWW-Authenticate", h->www_auth, sizeof h->www_auth);
    http_header_value(p, len, "X-Request-Id", h->request_id, sizeof h->request_id);
    if (strncmp(p, "HTTP/", 5) == 0)
        h->headers.len = 0; /* a new response (after 100 Continue): keep only its headers */
    buf_append(&h->headers, p, len);
    return len;
}

/* The local address requests are sent from (a 127.x.y.z, so tests can
 * be several clients); NULL: the system's choice (127.0.0.1). */
static const char *api_client_addr;
/* The value of the response header name ("" when absent). */
static inline const char *http_header(const struct http *h, const char *name, char *out,
                                      size_t outlen)
{
    out[0] = '\0';
    const char *p = h->headers.data;
    for (size_t left = h->headers.len; p && left > 0;) {
        const char *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) + 1 : left;
        http_header_value(p, n, name, out, outlen);
        if (out[0])
            break;
        p += n;
        left -= n;
    }
    return out;
}

/* One request. token: Bearer token or NULL. ctype NULL: no body header.
 * headers: extra "Name: value" lines, NULL-terminated, or NULL. Returns
 * the status (0 when curl itself failed). */
static inline long http_req(const struct tdsrv *s, const char *method, const char *path,
                            const char *token, const char *ctype, const void *body, size_t len,
                            const char *const *headers, struct http *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        out->curl_failed = true;
        return 0;
    }
    char url[2048], auth[API_TOKEN_MAX + 32], ct[256];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct curl_slist *hl = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        hl = curl_slist_append(hl, ct);
    }
    hl = curl_slist_append(hl, "Expect:"); /* unless a test asks for it */
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (api_client_addr)
        curl_easy_setopt(c, CURLOPT_INTERFACE, api_client_addr);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    } else {
        out->curl_failed = true;
        fprintf(stderr, "http %s %s: %s\n", method, path, curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (out->body.len && (strncmp(out->content_type, "application/json", 16) == 0 ||
                          strncmp(out->content_type, "application/problem+json", 24) == 0))
        out->json = json_loadb(out->body.data, out->body.len, 0, NULL);
    return out->status;
}

/* JSON body built printf-style. */
static inline long http_json(const struct tdsrv *s, const char *method, const char *path,
                             const char *token, struct http *out, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static inline long http_json(const struct tdsrv *s, const char *method, const char *path,
                             const char *token, struct http *out, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
    }
    long st = http_req(s, method, path, token, fmt ? "application/json" : NULL,
                       fmt ? (b.data ? b.data : "") : NULL, b.len, NULL, out);
    buf_free(&b);
    return st;
}

static inline long http_get(const struct tdsrv *s, const char *path, const char *token,
                            struct http *out)
{
    return http_req(s, "GET", path, token, NULL, NULL, 0, NULL, out);
}

static inline const char *jstr(const struct http *h, const char *key)
{
    return json_string_value(json_object_get(h->json, key));
}

static inline long long jint(const struct http *h, const char *key)
{
    return (long long)json_integer_value(json_object_get(h->json, key));
}

/* ---- server lifecycle ----------------------------------------------------- */

static inline bool tdsrv_make_users(struct tdsrv *s)
{
    struct td_err err;
    struct store *st = NULL;
    if (!core_init(&err) || !store_open(s->store_uri, &st, &err)) {
        fprintf(stderr, "fixture: store %s: %s\n", s->store_uri, err.msg);
        return false;
    }
    struct td_core core;
    core_defaults(&core, st);
    core.pw_cost = PASSWORD_COST_MIN;
    struct {
        struct tduser *u;
        const char *email;
        enum td_role role;
    } users[] = {
        { &s->admin, "admin@example.com", ROLE_ADMIN },
        { &s->agent1, "agent1@example.com", ROLE_AGENT },
        { &s->agent2, "agent2@example.com", ROLE_AGENT },
        { &s->cust1, "cust1@example.org", ROLE_CUSTOMER },
        { &s->cust2, "cust2@example.org", ROLE_CUSTOMER },
    };
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof users / sizeof users[0]; i++) {
        struct user_new in = { users[i].email, NULL, users[i].role, API_PW };
        ok = user_create(&core, NULL, &in, &users[i].u->u, &err);
        if (!ok)
            fprintf(stderr, "fixture: user %s: %s\n", users[i].email, err.msg);
    }
    store_close(st);
    return ok;
}

/* POST /auth/login; fills u->access and u->refresh. */
static inline bool tdsrv_login(const struct tdsrv *s, struct tduser *u)
{
    struct http h;
    long st = http_json(s, "POST", "/api/v1/auth/login", NULL, &h,
                        "{\"email\":\"%s\",\"password\":\"" API_PW "\"}", u->u.email);
    bool ok = st == 200 && jstr(&h, "access_token") && jstr(&h, "refresh_token");
    if (ok) {
        snprintf(u->access, sizeof u->access, "%s", jstr(&h, "access_token"));
        snprintf(u->refresh, sizeof u->refresh, "%s", jstr(&h, "refresh_token"));
    } else {
        fprintf(stderr, "fixture: login %s: HTTP %ld %.*s\n", u->u.email, st, (int)h.body.len,
                h.body.data ? h.body.data : "");
    }
    http_clear(&h);
    return ok;
}

static inline void tdsrv_clear_users(struct tdsrv *s)
{
    user_clear(&s->admin.u);
    user_clear(&s->agent1.u);
    user_clear(&s->agent2.u);
    user_clear(&s->cust1.u);
    user_clear(&s->cust2.u);
}

/* Prints sanitizer reports found in ticketd's log; true if there were. */
static inline bool tdsrv_log_has_reports(const struct tdsrv *s)
{
    char path[320];
    snprintf(path, sizeof path, "%s/server.log", s->proc.dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
            if (!found)
                fprintf(stderr, "ticketd log %s has a sanitizer report:\n", path);
            found = true;
        }
        if (found)
            fputs(line, stderr);
    }
    fclose(f);
    return found;
}

/* Stops ticketd (and the MongoDB server). False if ticketd did not exit
 * cleanly with status 0 or reported a sanitizer error. */
static inline bool tdsrv_stop(struct tdsrv *s)
{
    bool clean = true;
    if (s->proc.pid > 0) {
        /* Wait for the exit without reaping: harness_stop() reaps it (and
         * takes it off the harness's exit sweep). */
        pid_t pid = s->proc.pid;
        kill(pid, SIGTERM);
        siginfo_t info;
        memset(&info, 0, sizeof info);
        long long deadline = api_now_ms() + 15000;
        while (api_now_ms() < deadline) {
            memset(&info, 0, sizeof info);
            if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
                info.si_pid == pid)
                break;
            usleep(10 * 1000);
        }
        if (info.si_pid != pid) {
            fprintf(stderr, "ticketd did not stop within 15 s of SIGTERM\n");
            clean = false; /* harness_stop kills it */
        } else if (info.si_code != CLD_EXITED || info.si_status != 0) {
            fprintf(stderr, "ticketd ended with %s %d\n",
                    info.si_code == CLD_EXITED ? "exit status" : "signal", info.si_status);
            harness_log_tail(&s->proc, 40);
            clean = false;
        }
    }
    if (s->proc.dir[0] && tdsrv_log_has_reports(s))
        clean = false;
    harness_stop(&s->proc);
    harness_stop(&s->mongo);
    tdsrv_clear_users(s);
    return clean;
}

/* extra: more config lines (e.g. "[api]\nlogin_window = 5\n"), or NULL.
 * cmd: the ticketd command that runs it - "api", or "serve" when a test
 * needs the outbox sender too (the claim mail). */
static inline bool tdsrv_start_cmd(struct tdsrv *s, enum store_backend backend, const char *extra,
                                   const char *cmd)
{
    memset(s, 0, sizeof *s);
    s->backend = backend;
    char bin[PATH_MAX];
    if (!api_ticketd_path(bin, sizeof bin)) {
        fprintf(stderr, "fixture: cannot find the ticketd binary next to the tests\n");
        return false;
    }
    if (!harness_tempdir(s->proc.dir, sizeof s->proc.dir))
        return false;
    if (backend == STORE_BACKEND_SQLITE) {
        snprintf(s->store_uri, sizeof s->store_uri, "sqlite:%s/t.db", s->proc.dir);
    } else {
        if (!harness_mongo_start(&s->mongo))
            goto fail;
        unsigned char r[6];
        char db[32], hex[13];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(hex, sizeof hex, r, sizeof r);
        snprintf(db, sizeof db, "api_%s", hex);
        if (!harness_mongo_uri_with_db(s->mongo.uri, db, s->store_uri, sizeof s->store_uri))
            goto fail;
    }
    if (!tdsrv_make_users(s))
        goto fail;
    unsigned char key[24];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(s->secret, sizeof s->secret, key, sizeof key);
    int port = harness_free_port();
    snprintf(s->conf, sizeof s->conf, "%s/ticketd.conf", s->proc.dir);
    FILE *f = fopen(s->conf, "w");
    if (f == NULL || port <= 0)
        goto fail;
    /* RS256 (test_api_rs256.c) signs with keys from extra: no secret. */
    bool rs256 = extra && strstr(extra, "jwt_algorithm = RS256") != NULL;
    fprintf(f,
            "[store]\nuri = %s\n[core]\npassword_cost = min\n[log]\nlevel = warn\n"
            "[api]\nport = %d\n",
            s->store_uri, port);
    if (!rs256)
        fprintf(f, "jwt_secret = %s\n", s->secret);
    fprintf(f, "%s\n", extra ? extra : "");
    fclose(f);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", port);
    s->proc.port = port;
    const char *argv[] = { bin, "--config", s->conf, cmd, NULL };
    if (!harness_spawn(&s->proc, argv) || !harness_wait_ready(&s->proc, port, NULL, NULL, 15000))
        goto fail;
    /* Accepting is not answering: wait for a real response, bounded. */
    long long deadline = api_now_ms() + 15000;
    struct http h;
    while (http_get(s, "/healthz", NULL, &h) != 200) {
        http_clear(&h);
        if (api_now_ms() > deadline) {
            fprintf(stderr, "fixture: ticketd does not answer /healthz\n");
            goto fail;
        }
        usleep(20 * 1000);
    }
    http_clear(&h);
    struct tduser *all[] = { &s->admin, &s->agent1, &s->agent2, &s->cust1, &s->cust2 };
    for (size_t i = 0; i < 5; i++)
        if (!tdsrv_login(s, all[i]))
            goto fail;
    return true;
fail:
    harness_log_tail(&s->proc, 30);
    tdsrv_stop(s);
    return false;
}

static inline bool tdsrv_start(struct tdsrv *s, enum store_backend backend, const char *extra)
{
    return tdsrv_start_cmd(s, backend, extra, "api");
}

#endif

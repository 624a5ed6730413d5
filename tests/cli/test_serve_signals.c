/* test_serve_signals.c - the daemon's signals, on a real `ticketd api`:
 * SIGHUP re-reads [log] level (a level changed in the file takes effect
 * without a restart; a broken file keeps the running one), and SIGTERM
 * lets a request in flight finish, then exits 0 within a bounded time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "tests/api/api_fixture.h"

static size_t count_in_log(const struct tdsrv *s, const char *needle)
{
    char path[400];
    snprintf(path, sizeof path, "%s/server.log", s->proc.dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = 0;
    char line[4096];
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void rewrite_level(const struct tdsrv *s, const char *from, const char *to)
{
    struct buf text = BUF_INIT;
    FILE *f = fopen(s->conf, "r");
    assert_non_null(f);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, from, strlen(from)) == 0)
            buf_puts(&text, to);
        else
            buf_puts(&text, line);
    }
    fclose(f);
    f = fopen(s->conf, "w");
    assert_non_null(f);
    fputs(text.data, f);
    fclose(f);
    buf_free(&text);
}

/* Waits (bounded) until the log has at least n lines with needle. */
static bool wait_log(const struct tdsrv *s, const char *needle, size_t n)
{
    long long deadline = api_now_ms() + 10000;
    while (count_in_log(s, needle) < n) {
        if (api_now_ms() > deadline)
            return false;
        usleep(20 * 1000);
    }
    return true;
}

static void sighup_reloads_log_level(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL)) /* [log] level = warn */
        fail_msg("ticketd did not start");
    struct http h;
    assert_int_equal(http_get(&s, "/healthz", NULL, &h), 200);
    http_clear(&h);
    assert_int_equal(count_in_log(&s, "event=http_request "), 0); /* info: not logged at warn */

    rewrite_level(&s, "level = warn", "level = info\n");
    assert_int_equal(kill(s.proc.pid, SIGHUP), 0);
    assert_true(wait_log(&s, "event=log_reloaded level=info", 1));
    assert_int_equal(http_get(&s, "/healthz", NULL, &h), 200);
    http_clear(&h);
    assert_true(wait_log(&s, "event=http_request ", 1));

    /* a level that does not exist: the running one stays, and it says so */
    rewrite_level(&s, "level = info", "level = chatty\n");
    assert_int_equal(kill(s.proc.pid, SIGHUP), 0);
    assert_true(wait_log(&s, "event=log_reload_failed", 1));
    assert_int_equal(http_get(&s, "/healthz", NULL, &h), 200);
    http_clear(&h);
    assert_true(wait_log(&s, "event=http_request ", 2));
    rewrite_level(&s, "level = chatty", "level = warn\n"); /* tdsrv_stop reads no config */
    assert_true(tdsrv_stop(&s));
}

struct slow_req {
    const struct tdsrv *s;
    long status;
};

/* A comment upload whose body arrives slowly: in flight when SIGTERM comes. */
static size_t slow_read(char *buf, size_t size, size_t n, void *arg)
{
    int *left = arg;
    if (*left == 0)
        return 0;
    usleep(100 * 1000);
    (*left)--;
    size_t len = size * n < 1 ? size * n : 1;
    buf[0] = *left == 9 ? '{' : *left == 0 ? '}' : ' ';
    return len;
}

static void *slow_request(void *arg)
{
    struct slow_req *r = arg;
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/auth/login", r->s->base);
    int left = 10; /* "{", 8 blanks, "}" over about a second */
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, slow_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &left);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_cb);
    struct http h;
    memset(&h, 0, sizeof h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    buf_free(&h.body);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

static void sigterm_drains_and_exits(void **state)
{
    (void)state;
    struct tdsrv s;
    if (!tdsrv_start(&s, STORE_BACKEND_SQLITE, NULL))
        fail_msg("ticketd did not start");
    struct slow_req r = { &s, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_request, &r), 0);
    usleep(300 * 1000); /* the request has started sending its body */
    long long t0 = api_now_ms();
    assert_int_equal(kill(s.proc.pid, SIGTERM), 0);
    pthread_join(t, NULL);
    /* The request in flight got its answer (a 400: "{ }" lacks the
     * fields), not a reset connection. */
    assert_int_equal(r.status, 400);
    /* Exits by itself, bounded; not reaped here (harness_stop does). */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    while (api_now_ms() - t0 < 15000) {
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)s.proc.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid == s.proc.pid)
            break;
        usleep(10 * 1000);
    }
    assert_int_equal(info.si_pid, s.proc.pid);
    assert_int_equal(info.si_code, CLD_EXITED);
    assert_int_equal(info.si_status, 0);
    assert_true(tdsrv_stop(&s)); /* exit status 0, no sanitizer report */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct td_err err;
    if (!core_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sighup_reloads_log_level),
        cmocka_unit_test(sigterm_drains_and_exits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

/* test_log.c - core/log.c: the exact shape of a logfmt and a JSON line
 * (timestamp, quoting, escapes, integers), the level threshold, and a
 * timestamp that follows the clock within one thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/log.h"

/* Everything written to the pipe so far (non-blocking read of what is
 * there: every line is one write()). */
static size_t drain(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    return n;
}

static int open_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    return p[1];
}

static void assert_matches(const char *s, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int r = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    if (r != 0)
        fail_msg("'%s' does not match %s", s, pattern);
}

static void test_logfmt_line(void **state)
{
    (void)state;
    int p[2];
    log_setup(LOG_INFO, LOG_LOGFMT, open_pipe(p));
    log_event(LOG_INFO, "http_request", LF_S("route", "/api/v1/tickets/{n}"), LF_I("status", 200),
              LF_I("neg", -42), LF_S("empty", ""), LF_S("msg", "two words \"q\" back\\slash\nnl"),
              LF_S("ctl", "a\x01z"), LF_S("del", "x\x7f"));
    char got[2048];
    drain(p[0], got, sizeof got);
    assert_matches(got, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                        "level=info event=http_request ");
    const char *rest = strstr(got, " level=");
    assert_string_equal(rest, " level=info event=http_request route=/api/v1/tickets/{n} "
                              "status=200 neg=-42 empty=\"\" "
                              "msg=\"two words \\\"q\\\" back\\\\slash\\nnl\" ctl=\"a\\x01z\" del=\"x\\x7f\"\n");
    /* Below the threshold: nothing. */
    log_event(LOG_DEBUG, "quiet", LF_I("n", 1));
    assert_int_equal(drain(p[0], got, sizeof got), 0);
    log_setup(LOG_INFO, LOG_LOGFMT, 2);
    close(p[0]);
    close(p[1]);
}

static void test_json_line(void **state)
{
    (void)state;
    int p[2];
    log_setup(LOG_INFO, LOG_JSON, open_pipe(p));
    log_event(LOG_WARN, "odd \"event\"", LF_I("n", 9223372036854775807LL),
              LF_S("s", "tab\there \"q\" \\ \x02"));
    char got[2048];
    drain(p[0], got, sizeof got);
    assert_int_equal(got[strlen(got) - 1], '\n');
    json_error_t je;
    json_t *j = json_loads(got, 0, &je);
    if (j == NULL)
        fail_msg("not JSON: %s (%s)", got, je.text);
    assert_matches(json_string_value(json_object_get(j, "ts")),
                   "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "odd \"event\"");
    assert_true(json_integer_value(json_object_get(j, "n")) == 9223372036854775807LL);
    assert_string_equal(json_string_value(json_object_get(j, "s")), "tab\there \"q\" \\ \x02");
    json_decref(j);
    log_setup(LOG_INFO, LOG_LOGFMT, 2);
    close(p[0]);
    close(p[1]);
}

/* The seconds are formatted once per second and thread: a line written
 * after the clock moved on carries the new time, not the cached one. */
static void test_time_follows_clock(void **state)
{
    (void)state;
    int p[2];
    log_setup(LOG_INFO, LOG_LOGFMT, open_pipe(p));
    char first[512], second[512];
    log_event(LOG_INFO, "a");
    drain(p[0], first, sizeof first);
    struct timespec pause = { 1, 100 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    log_event(LOG_INFO, "b");
    drain(p[0], second, sizeof second);
    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ: compare up to the seconds. */
    assert_true(strncmp(first, second, strlen("ts=2026-12-04T16:01:02")) < 0);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char want[32];
    strftime(want, sizeof want, "ts=%Y-%m-%dT%H:", &tm);
    assert_memory_equal(second, want, strlen(want)); /* right day and hour, UTC */
    log_setup(LOG_INFO, LOG_LOGFMT, 2);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logfmt_line),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_time_follows_clock),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

/* sender_fixture.h - what the outbox sender's tests share: the SMTP sink
 * (aiosmtpd on a port and Maildir of our own, so the outage test can stop
 * it and start it again on the same port), a sender over a fresh store of
 * either backend, and helpers to read the mails it sent.
 *
 * tests/notify/test_sender.c: the mails each event produces, threading and
 * signed Reply-To, header injection, an SMTP outage, concurrent senders.
 * tests/notify/test_sender_refusals.c: refusals (TLS, AUTH, 5xx), loops,
 * template reload and config errors.
 * tests/notify/test_sender_parallel.c: a round's mails in flight at once.
 * smtp_server_start runs tests/support/smtp_reject.py for the last two. */
#ifndef TD_TEST_SENDER_FIXTURE_H
#define TD_TEST_SENDER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/id.h"
#include "core/reply_token.h"
#include "mail_check.h"
#include "notify/sender.h"
#include "tests/core/notify_fixture.h"
#include "tests/support/harness.h"

/* The SMTP sink: aiosmtpd (as harness_smtp_start runs it) on a port and
 * Maildir of our own, so the outage test can stop it and start it again
 * on the same port without losing the Maildir. One per run, emptied per
 * test. */
static struct {
    struct harness_server proc; /* its own temp dir: the server's log */
    char dir[256];              /* holds the Maildir */
    char maildir[300];
    char uri[64];
    int port;
    bool up;
} sink;

static inline void msleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static inline long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline const char *templates_dir(void)
{
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s/../../templates", harness_support_dir());
    return dir;
}

/* "key = value\n" unless extra sets key itself: a key set twice is an
 * error ("duplicate key"), so extra replaces a default rather than
 * following it. */
static inline const char *unless_in(const char *extra, const char *key, const char *line)
{
    for (const char *p = extra; p && (p = strstr(p, key)) != NULL; p++)
        if ((p == extra || p[-1] == '\n') && strncmp(p + strlen(key), " =", 2) == 0)
            return "";
    return line;
}

/* A sender for f's store, sending to url, with extra [notify]/[smtp]
 * lines (which may replace retry_base_ms, retry_max_ms and starttls). */
static inline struct sender *make_sender(struct nfx *f, struct store *st, const char *url, const char *extra)
{
    struct buf conf = BUF_INIT;
    buf_printf(&conf,
               "%s%s"
               "builtin_templates_dir = %s\n"
               "%s%s"
               "lease_ms = 20000\n"
               "[smtp]\n"
               "url = %s\n"
               "%s"
               "from = ACME Support <support@example.com>\n"
               "connect_timeout_ms = 2000\n"
               "timeout_ms = 5000\n"
               "%s",
               NFX_BASE_CONFIG, nfx_extra_config, templates_dir(),
               unless_in(extra, "retry_base_ms", "retry_base_ms = 50\n"),
               unless_in(extra, "retry_max_ms", "retry_max_ms = 200\n"), url,
               unless_in(extra, "starttls", "starttls = no\n"), extra ? extra : "");
    struct td_config *cfg;
    struct td_err err;
    struct sender_config sc;
    struct sender *s = NULL;
    if (!config_load_string(conf.data, &cfg, &err) || !sender_config_load(cfg, &sc, &err) ||
        !sender_new(&sc, st ? st : f->st, &s, &err))
        fail_msg("sender: %s", err.msg);
    reply_keys_wipe(&sc.keys);
    config_free(cfg);
    buf_free(&conf);
    return s;
}

/* Runs the sender on this thread until nothing is due (bounded). */
static inline size_t drain(struct sender *s)
{
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        bool handled = false;
        struct td_err err;
        if (!sender_run_once(s, &handled, &err))
            fail_msg("sender_run_once: %s", err.msg);
        if (!handled)
            return n;
        n++;
    }
    fail_msg("the outbox never ran dry");
    return n;
}

static inline bool sink_resume(void);

static inline int sfx_setup(void **state)
{
    if (!sink.up && !sink_resume()) /* a failed outage test left it down */
        return -1;
    mc_box_empty(sink.maildir);
    return nfx_setup(state);
}

/* Only acknowledgements: fewer mails to count. */
static inline int setup_no_agents(void **state)
{
    nfx_extra_config = "ticket_created_agents = no\n";
    return sfx_setup(state);
}

static inline void assert_header(const struct mc_mail *m, const char *name, const char *want)
{
    char *v = mc_header(m, name);
    if (v == NULL || strcmp(v, want) != 0)
        fail_msg("%s: '%s', want '%s'", name, v ? v : "(none)", want);
    free(v);
}

/* The only mail to `to` whose subject contains `subj`. */
static inline const struct mc_mail *only(const struct mc_box *box, const char *to, const char *subj)
{
    const struct mc_mail *hit = NULL;
    size_t n = 0;
    for (size_t i = 0; i < box->n; i++) {
        const char *rcpt = mc_raw(&box->v[i], "X-RcptTo");
        char *s = mc_header(&box->v[i], "Subject");
        if (rcpt && strstr(rcpt, to) && s && strstr(s, subj)) {
            hit = &box->v[i];
            n++;
        }
        free(s);
    }
    if (n != 1)
        fail_msg("%zu mails to %s with '%s' in the subject, want 1", n, to, subj);
    return hit;
}

static inline size_t rows_in(struct nfx *f, int state)
{
    return nfx_count(f, NULL, NULL, 0, state);
}

static inline void sink_pause(void)
{
    harness_stop(&sink.proc);
    sink.up = false;
}

static inline bool sink_resume(void)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", sink.port);
    const char *argv[] = { "/usr/bin/python3", "-u", "-m", "aiosmtpd", "-n", "-l", listen,
                           "-c", "aiosmtpd.handlers.Mailbox", sink.maildir, NULL };
    memset(&sink.proc, 0, sizeof sink.proc);
    sink.up = harness_tempdir(sink.proc.dir, sizeof sink.proc.dir) &&
              harness_spawn(&sink.proc, argv) &&
              harness_wait_ready(&sink.proc, sink.port, harness_probe_banner, "220", 10000);
    return sink.up;
}

static inline bool sink_start(void)
{
    if (!harness_tempdir(sink.dir, sizeof sink.dir))
        return false;
    snprintf(sink.maildir, sizeof sink.maildir, "%s/maildir", sink.dir);
    const char *subs[] = { "", "/new", "/cur", "/tmp" };
    for (int i = 0; i < 4; i++) {
        char sub[400];
        snprintf(sub, sizeof sub, "%s%s", sink.maildir, subs[i]);
        mkdir(sub, 0755);
    }
    for (int attempt = 0; attempt < 3; attempt++) { /* the port may be taken meanwhile */
        sink.port = harness_free_port();
        snprintf(sink.uri, sizeof sink.uri, "smtp://127.0.0.1:%d", sink.port);
        if (sink_resume())
            return true;
        harness_stop(&sink.proc);
    }
    return false;
}

static inline void sink_stop(void)
{
    harness_stop(&sink.proc);
    harness_rmtree(sink.dir);
}

/* tests/support/smtp_reject.py with extra arguments (NULL-terminated).
 * Implicit TLS: no banner in clear, so only the connection is awaited. */
static inline struct harness_server smtp_server_start(const char *const *extra, bool implicit_tls)
{
    struct harness_server r;
    memset(&r, 0, sizeof r);
    assert_true(harness_tempdir(r.dir, sizeof r.dir));
    snprintf(r.maildir, sizeof r.maildir, "%s/maildir", r.dir);
    char sub[400];
    const char *subs[] = { "", "/new", "/cur", "/tmp" };
    for (int i = 0; i < 4; i++) {
        snprintf(sub, sizeof sub, "%s%s", r.maildir, subs[i]);
        mkdir(sub, 0755);
    }
    r.port = harness_free_port();
    char port[16], script[1100];
    snprintf(port, sizeof port, "%d", r.port);
    snprintf(script, sizeof script, "%s/smtp_reject.py", harness_support_dir());
    const char *argv[32] = { "/usr/bin/python3", "-u", script, "--port", port, "--maildir", r.maildir };
    size_t n = 7;
    for (size_t i = 0; extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_true(harness_spawn(&r, argv));
    assert_true(harness_wait_ready(&r, r.port, implicit_tls ? NULL : harness_probe_banner, "220", 10000));
    snprintf(r.uri, sizeof r.uri, "%s://127.0.0.1:%d", implicit_tls ? "smtps" : "smtp", r.port);
    return r;
}

#define T(f) cmocka_unit_test_setup_teardown(f, sfx_setup, nfx_teardown)
#define TN(f) cmocka_unit_test_setup_teardown(f, setup_no_agents, nfx_teardown)

/* One SMTP sink for the run, then the group on every backend. */
static inline int sender_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
    struct td_err err;
    if (!core_init(&err))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (!sink_start()) {
        fprintf(stderr, "cannot start the SMTP sink\n");
        sink_stop();
        return 1;
    }
    int failed = store_fixture_run_all(name, tests, n);
    sink_stop();
    return failed ? 1 : 0;
}

#endif
